#!/usr/bin/env bash
# Kill soak (`just soak [N] [SIGNAL]`): runs a real `tempora run` of a spec that
# takes tens of seconds, interrupts it N times at random moments with SIGNAL
# (KILL by default; TERM or INT to check the clean exit), lets it finish, and
# compares every cached result with an uninterrupted run of the same spec:
# every file of every entry byte for byte, except wall-clock fields (the
# `seconds` of test.json, the `seconds` column of epochs.csv, manifest.json's
# timing, report_input.json's seconds). Prints how many interruptions landed while a task was in progress.
#
# Environment: TEMPORA (binary, default target/release/tempora),
# SOAK_DIR (scratch folder, default target/soak), SOAK_SEED (random moments).
set -euo pipefail

N="${1:-20}"
SIGNAL="${2:-KILL}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${TEMPORA:-$ROOT/target/release/tempora}"
DIR="${SOAK_DIR:-$ROOT/target/soak}"
RANDOM="${SOAK_SEED:-16}"

rm -rf "$DIR"
mkdir -p "$DIR"
# A copy, so that a rebuild during the soak cannot mix two binaries.
cp "$BIN" "$DIR/tempora"
BIN="$DIR/tempora"
# table1.toml plus a profile sized to take tens of seconds on two cores.
cp "$ROOT/experiments/table1.toml" "$DIR/soak.toml"
cat >>"$DIR/soak.toml" <<'TOML'

[profile.soak]
description = "kill soak: synthetic:small, 3 folds, 2 epochs, three models"
dataset = "synthetic:small"
batch = 25
folds = 3
epochs = 2
hops = [250]
models = ["O-net", "O-net + P-net", "Time"]
TOML

run() { # run CACHE [extra args]: one `tempora run` in the background, pid in $PID
    local cache="$1"
    shift
    "$BIN" run "$DIR/soak.toml" --profile soak --cache "$cache" \
        --reports-dir "$DIR/reports-$(basename "$cache")" "$@" >>"$DIR/$(basename "$cache").log" 2>&1 &
    PID=$!
}

echo "soak: uninterrupted reference run"
start=$(date +%s)
run "$DIR/reference"
wait "$PID"
seconds=$(( $(date +%s) - start ))
echo "soak: reference took ${seconds}s; now $N x SIG$SIGNAL at random moments"

mid_task=0
finished=0
exits=""
# Moments uniform in [0.5 s, 2 x reference / N]: on average the N signals are
# spread over the whole computation instead of the first one finishing it.
window=$(awk -v s="$seconds" -v n="$N" 'BEGIN { w = 2 * s / n; printf "%.2f", (w < 1 ? 1 : w) }')
for i in $(seq 1 "$N"); do
    run "$DIR/soaked"
    delay=$(awk -v r="$RANDOM" -v w="$window" 'BEGIN { printf "%.2f", 0.5 + (r / 32767) * (w - 0.5) }')
    sleep "$delay"
    if kill -0 "$PID" 2>/dev/null; then
        # In progress = a work directory marked INCOMPLETE exists right now.
        if find "$DIR/soaked/work" -name INCOMPLETE 2>/dev/null | grep -q .; then
            mid_task=$((mid_task + 1))
        fi
        kill -s "$SIGNAL" "$PID" 2>/dev/null || true
    else
        finished=$((finished + 1))
    fi
    code=0
    { wait "$PID"; } 2>/dev/null || code=$?
    exits="$exits $code"
done
echo "soak: exit codes:$exits"
echo "soak: final run to completion"
run "$DIR/soaked"
wait "$PID"

python3 "$ROOT/scripts/soak_compare.py" "$DIR/reference" "$DIR/soaked"
echo "soak: $mid_task of $N SIG$SIGNAL landed while a task was in progress; $finished run(s) had finished before their signal"
