# tempora — task runner. `just --list` shows every recipe.
#
# Everything builds in the release profile: burn's generic code is unusably slow
# unoptimised, and one profile means the dependency tree compiles once.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Show the recipes.
default:
    @just --list

# Build the release binary (target/release/tempora).
build:
    cargo build --release --locked

# Regenerate Table 1: real Ballroom if TEMPORA_BALLROOM is set, else the embedded corpus.
# `just reproduce` picks the protocol for the device (paper on CUDA, quick on CPU);
# `just reproduce paper` forces the paper protocol, `just reproduce quick` the quick one.
reproduce protocol="auto": build
    ./target/release/tempora reproduce --protocol {{protocol}}

# Formatting, unit, integration and snapshot tests, CLI checks (what CI runs).
test: build
    cargo fmt --check
    cargo test --release --locked --all-targets -- --test-threads 2

# Lints, warnings as errors.
lint:
    cargo clippy --release --locked --all-targets -- -D warnings

# Feature extraction speed: 698 x 30 s synthetic clips, cold and warm cache, vs librosa/essentia when importable.
bench-features: build
    python3 benches/bench_features.py --tempora ./target/release/tempora

# Training-step speed (batch 50) of the Table 1 models, vs PyTorch when importable.
bench-train:
    cargo bench --locked --bench bench_train
