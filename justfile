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

# Table 1 on the embedded corpus: plan, then train and test every model.
# `just reproduce` runs the CPU-sized `quick` profile; `just reproduce paper`
# runs the paper protocol (10 folds, 250 epochs: a GPU job, see `tempora plan`).
# Not built yet: the report step (reports/table1/) is not wired to the cache,
# so the run ends with the report task reported as unbound.
reproduce profile="quick": build
    ./target/release/tempora plan experiments/table1.toml {{ if profile == "paper" { "" } else { "--profile " + profile } }}
    ./target/release/tempora run experiments/table1.toml {{ if profile == "paper" { "" } else { "--profile " + profile } }}

# Formatting, unit, integration and snapshot tests, CLI checks (what CI runs).
test: build
    cargo fmt --check
    cargo test --release --locked --lib --bins --tests --no-fail-fast -- --test-threads 2

# Lints, warnings as errors.
lint:
    cargo clippy --release --locked --all-targets -- -D warnings

# Feature extraction speed: 698 x 30 s synthetic clips, cold and warm cache, vs librosa/essentia when importable.
bench-features: build
    test -d target/bench-corpus || ./target/release/tempora datasets synth --size full --out target/bench-corpus
    python3 benches/bench_features.py --tempora ./target/release/tempora --limit 100 \
        --dataset-cmd "{bin} features folder:{dir} --cache target/bench-cache" --clear target/bench-cache \
        target/bench-corpus

# Training-step speed (batch 50) of the Table 1 models, vs PyTorch when importable.
bench-train:
    cargo bench --locked --bench bench_train
