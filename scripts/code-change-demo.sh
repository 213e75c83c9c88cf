#!/usr/bin/env bash
# Shows the task code-version guard (src/plan/versions.rs) at work, on a copy
# of the crate so the checkout is never touched:
#   1. a comment edit, a reformatted line and an edit inside `#[cfg(test)]` in
#      a train source (src/train/schedule.rs): the guard test still passes;
#   2. a changed numeric constant in that file: the guard test fails, naming
#      `train` and no other kind.
# The copy builds into this checkout's target directory (its own units, the
# dependencies shared): the first build of its library tests takes minutes,
# the next two are incremental. Exit status 0 when both outcomes are as above.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tempora-code-change.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
file=src/train/schedule.rs
log="$work/guard.log"

crate="$work/crate"
mkdir -p "$crate"
tar -C "$root" --exclude=./target --exclude=./.git -cf - . | tar -C "$crate" -xf -

guard() {
    (cd "$crate" && cargo test --release --locked --lib every_kind_code_change_is_recorded) >"$log" 2>&1
}

# edit PATTERN REPLACEMENT: a literal one-line replacement that must apply.
edit() {
    grep -qF -- "$1" "$crate/$file" || { echo "demo: '$1' not found in $file; update this script" >&2; exit 1; }
    FROM="$1" TO="$2" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$crate/$file"
}

echo "== 0. the copy as it is: the guard passes"
guard || { cat "$log"; echo "demo: the guard already fails in this checkout: record the digests first" >&2; exit 1; }

echo "== 1. comment, formatting and test-only edits in $file: the guard still passes"
edit '//! Must not know about models or tensors.' '//! Must not know about models, tensors or files.'
edit '            self.reference_loss = Some(loss);' '            // The reference moves on.
            self.reference_loss   =   Some( loss );'
edit '            factor: 0.5,' '            factor: 0.25,'
diff -u "$root/$file" "$crate/$file" || true
if guard; then
    echo "passed, as it should"
else
    cat "$log"; echo "demo FAILED: a comment/format/test edit tripped the guard" >&2; exit 1
fi

echo "== 2. a changed constant in $file: the guard fails naming train"
edit '            counter: 0,' '            counter: 1,'
if guard; then
    echo "demo FAILED: a code change went unnoticed" >&2; exit 1
fi
if grep -q "task kind(s) train changed" "$log"; then
    sed -n '/the code of task kind/,/record: (/p' "$log"
    echo "failed naming train (and only train), as it should: demo OK"
else
    cat "$log"; echo "demo FAILED: the guard failed without naming train alone" >&2; exit 1
fi
