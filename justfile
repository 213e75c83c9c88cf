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

# Table 1 end to end: train and test what is missing, write reports/table1/,
# print the table. `auto`: the paper protocol on a CUDA device, the CPU-sized
# `quick` profile otherwise (the first line says which, and what the paper
# protocol would cost). `just reproduce paper` forces the paper protocol;
# any other word names a profile of experiments/table1.toml (e.g. `tiny`).
# Real Ballroom: TEMPORA_BALLROOM=/path/to/BallroomData just reproduce
reproduce profile="auto": build
    case "{{profile}}" in \
        auto|paper) ./target/release/tempora reproduce --protocol "{{profile}}" ;; \
        *) ./target/release/tempora reproduce --profile "{{profile}}" ;; \
    esac

# What CI runs (`.ci/run` calls it): formatting, clippy with warnings as
# errors, then every unit, integration and snapshot test. Tests run on as many
# threads as libtest finds cores; RUST_TEST_THREADS=N sets another number.
test: build
    cargo fmt --check
    cargo clippy --release --locked --all-targets -- -D warnings
    cargo test --release --locked --lib --bins --tests --no-fail-fast

# The same as `just test` (the name CI tools look for).
ci: test

# The code-version guard at work on a copy of the crate: a comment edit passes,
# a changed constant fails naming `train` (a few minutes).
code-change-demo:
    scripts/code-change-demo.sh

# Feature extraction speed: 698 x 30 s synthetic clips, cold and warm cache, vs librosa/essentia when importable.
bench-features: build
    test -d target/bench-corpus || ./target/release/tempora datasets synth --size full --out target/bench-corpus
    python3 benches/bench_features.py --tempora ./target/release/tempora --limit 100 \
        --dataset-cmd "{bin} features folder:{dir} --cache {cache}" --cache-root target/bench-cache \
        target/bench-corpus

# Fused filter-bank op alone (CPU, batch 50): forward GFLOP/s and share of the FMA
# peak measured in the same run; `just bench-fused O-net` for one model.
# TEMPORA_BENCH_PEAK_GFLOPS=N also prints the share of this CPU's nominal peak
# (cores x GHz x flops per cycle).
bench-fused model="":
    cargo bench --locked --bench bench_fused -- {{model}}

# Training-step speed (batch 50) of the Table 1 models, vs PyTorch when importable.
bench-train:
    cargo bench --locked --bench bench_train

# Build the GPU check bundle (target/gpu-check/): prebuilt binaries of tempora,
# the CPU-vs-CUDA cross-checks and the training benchmark, with check.sh.
# Copy the folder to a CUDA machine (no Rust needed) and run check.sh there.
gpu-bundle out="target/gpu-check":
    scripts/gpu/bundle.sh {{out}}

# GPU readiness here: build the bundle and run it (cross-checks, CUDA training
# speed vs PyTorch + cuDNN, Table 1's tiny profile on CUDA), one summary.
# Without a CUDA device it says so and checks nothing.
gpu-check: gpu-bundle
    GPU_CHECK_PAPER="${GPU_CHECK_PAPER:-1}" target/gpu-check/check.sh

# Kill soak: a real `tempora run` interrupted N times at random moments with
# SIGNAL (KILL, TERM or INT), then finished; every result must equal an
# uninterrupted run's (wall-clock fields aside). Prints how many landed mid-task.
soak n="20" signal="KILL": build
    scripts/soak.sh {{n}} {{signal}}

# Fuzz one reader of outside input for SECONDS (default 600) with cargo-fuzz
# (libFuzzer, nightly; debug assertions and overflow checks on): TARGET is spec, audio, package_manifest, frozen_plan,
# plan_record, cache_manifest or report_input. Without sanitizers (safe Rust:
# the findings are panics, hangs and runaway allocations), 2 GiB RSS limit,
# 10 s per input. Crashes land in fuzz/artifacts/TARGET/; keep each one,
# fixed, under tests/fuzz_regressions/TARGET/ (`just test` replays them).
fuzz target seconds="600":
    if [ "{{target}}" = audio ]; then python3 fuzz/make_audio_seeds.py; fi
    cargo +nightly fuzz run --sanitizer none --debug-assertions {{target}} fuzz/corpus/{{target}} -- \
        -max_total_time={{seconds}} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
