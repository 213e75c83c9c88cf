#!/usr/bin/env bash
# Builds the GPU check bundle: prebuilt, stripped binaries (tempora, the
# integration tests, whose `gpu::` module holds the CPU-vs-GPU checks for CUDA
# and wgpu, the training benchmark) with the files they read and check.sh, in
# one folder that runs on a GPU machine without Rust.
#
# Usage: scripts/gpu/bundle.sh [OUT]   (default target/gpu-check)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/gpu-check}

# The path of the executable cargo built for a `--no-run` test or bench target.
executable() {
    cargo "$@" --locked --no-run --message-format=json-render-diagnostics |
        grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4
}

echo "building the release binary, the GPU cross-checks and the training benchmark..."
cargo build --release --locked
tests=$(executable test --release --test suite)
bench=$(executable bench --bench bench_train)
[ -x "$tests" ] && [ -x "$bench" ] || { echo "error: cargo did not report the test and bench executables" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/benches" "$out/experiments"
cp target/release/tempora "$out/bin/tempora"
cp "$tests" "$out/bin/gpu-tests"
cp "$bench" "$out/bin/bench-train"
strip "$out"/bin/*
cp benches/pytorch_reference.py "$out/benches/"
cp experiments/table1.toml "$out/experiments/"
cp scripts/gpu/check.sh "$out/check.sh"
git rev-parse --short HEAD > "$out/COMMIT" 2>/dev/null || echo unknown > "$out/COMMIT"
du -sh "$out"
echo "bundle ready: copy $out to a GPU machine and run $out/check.sh there"
