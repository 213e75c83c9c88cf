#!/usr/bin/env bash
# GPU readiness in one command, from prebuilt binaries (no Rust needed):
#   1. the CPU-vs-GPU cross-checks on every runtime found (CUDA, and wgpu
#      wherever a Vulkan/Metal/DX12 adapter exists): the fused filter-bank op,
#      the pooled convolution and the dense op (output and every gradient),
#      two training steps of each Table 1 model, `tempora devices`, and
#      Table 1's tiny profile on wgpu;
#   2. the training-step benchmark on CUDA against PyTorch + cuDNN (when
#      python3 can import torch);
#   3. `tempora run` of Table 1's tiny profile on CUDA, end to end;
#   4. with GPU_CHECK_PAPER=1: `tempora reproduce --protocol paper` (all of
#      Table 1, 10 folds x 2 hops, on the embedded synthetic:full corpus),
#      with its wall time per phase (features, training, report), the
#      trainings in flight and the GPU's utilisation sampled every 2 s.
# Prints one summary. Exit status: 0 when everything that ran passed (also
# when no GPU runtime is found: the summary then says so), 1 otherwise.
#
# Usage: check.sh   (from the bundle folder `just gpu-bundle` writes); each
# section stops after GPU_CHECK_SECTION_TIMEOUT seconds (default 300).
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== tempora GPU check (build $(cat COMMIT 2>/dev/null || echo unknown))"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader || true
    nvidia-smi | grep -o 'CUDA Version: [0-9.]*' || true
else
    echo "nvidia-smi: not found"
fi

# burn compiles its CUDA kernels at run time with NVRTC; a PyTorch wheel
# ships one when the system has none on the library path.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so'; then
    for dir in /usr/local/cuda/lib64 $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
        lib=$(find "$dir" -name 'libnvrtc.so*' 2>/dev/null | grep -v builtins | head -n 1)
        if [ -n "$lib" ]; then
            export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            echo "NVRTC: $lib"
            break
        fi
    done
fi

summary=()
failed=0
record() { # name status detail
    summary+=("$(printf '%-34s %-8s %s' "$1" "$2" "$3")")
    [ "$2" = FAIL ] && failed=1
    return 0
}

echo; echo "== 1. CPU vs GPU cross-checks (every runtime found)"
./bin/tempora devices 2>&1 | tee "$log/devices"
TEMPORA_BIN="$PWD/bin/tempora" TEMPORA_EXPERIMENTS="$PWD/experiments" \
    timeout "${GPU_CHECK_SECTION_TIMEOUT:-300}" ./bin/gpu-tests gpu:: --test-threads 1 --nocapture 2>&1 | tee "$log/tests"
tests_rc=${PIPESTATUS[0]}
has_cuda=1
grep -q 'SKIPPED: .*no CUDA device' "$log/tests" && has_cuda=0
if [ "$has_cuda" = 0 ] && grep -q 'SKIPPED: .*no wgpu adapter' "$log/tests"; then
    echo; echo "== summary"
    echo "NOT RUN: neither a CUDA device nor a wgpu adapter was found on this machine; nothing was checked."
    grep -m2 -o 'no CUDA device.*\|no wgpu adapter.*' "$log/tests" | sed 's/^/  /'
    exit 0
fi
for runtime in CUDA wgpu; do
    op=$(grep -o "max |CPU - $runtime| = [0-9.e+-]*" "$log/tests" | awk '{print $NF}' | sort -g | tail -n 1)
    model=$(grep -o "max |CPU - $runtime| / max |logit| = [0-9.e+-]*" "$log/tests" | awk '{print $NF}' | sort -g | tail -n 1)
    [ -n "$op$model" ] || continue
    record "cross-checks on $runtime" "$([ "$tests_rc" = 0 ] && echo PASS || echo FAIL)" \
        "worst op diff ${op:-?}, worst relative logit diff ${model:-?}"
done
[ "$tests_rc" = 0 ] || record "GPU tests" FAIL "see section 1 (exit $tests_rc)"
if [ "$has_cuda" = 0 ]; then
    echo; echo "== summary (no CUDA device: the CUDA sections did not run)"
    printf '%s\n' "${summary[@]}"
    exit "$failed"
fi

echo; echo "== 2. training step on CUDA vs PyTorch + cuDNN (batch 50)"
TEMPORA_BENCH_ONLY=cuda timeout "${GPU_CHECK_SECTION_TIMEOUT:-300}" ./bin/bench-train 2>&1 | tee "$log/bench"
bench_rc=${PIPESTATUS[0]}
if [ "$bench_rc" = 0 ] && ! grep -q 'error' "$log/bench"; then
    ratios=$(awk '/^CUDA/{on=1; next} on && $NF ~ /x$/ {name=substr($0, 1, 22); gsub(/ +$/, "", name); printf "%s%s %s", sep, name, $NF; sep=", "}' "$log/bench")
    record "training benchmark" PASS "${ratios:-PyTorch not compared (see section 2)}"
else
    record "training benchmark" FAIL "see section 2 (exit $bench_rc)"
fi

echo; echo "== 3. tempora run experiments/table1.toml --profile tiny --device cuda"
started=$(date +%s)
if timeout "${GPU_CHECK_SECTION_TIMEOUT:-300}" ./bin/tempora run experiments/table1.toml --profile tiny --device cuda \
    --cache "$log/cache" --reports-dir "$log/reports" 2>&1 | tee "$log/run" | tail -n 40; then
    record "tiny profile on CUDA" PASS "$(( $(date +%s) - started )) s, report written"
else
    record "tiny profile on CUDA" FAIL "see section 3"
fi

if [ "${GPU_CHECK_PAPER:-0}" = 1 ]; then
    echo; echo "== 4. tempora reproduce --protocol paper --device cuda (synthetic:full)"
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 2000 \
        > "$log/utilisation" 2>/dev/null &
    sampler=$!
    started=$(date +%s)
    timeout "${GPU_CHECK_PAPER_TIMEOUT:-3600}" ./bin/tempora reproduce --protocol paper --device cuda \
        --cache "$log/paper-cache" --reports-dir "$log/paper-reports" 2>&1 | tee "$log/paper" | tail -n 40
    paper_rc=${PIPESTATUS[0]}
    wall=$(( $(date +%s) - started ))
    kill "$sampler" 2>/dev/null
    slots=$(grep -o 'device queue: up to [0-9]* training(s) at once' "$log/paper" | head -n 1 | awk '{print $5}')
    util=$(awk -F', ' '{s+=$1; n++; if ($1>m) m=$1; if ($2>u) u=$2} END {if (n) printf "mean %.0f%%, max %d%%, memory up to %d MiB", s/n, m, u}' "$log/utilisation")
    phases=$(python3 - "$log/paper-cache/logs" <<'PY' 2>/dev/null
import json, pathlib, sys
spans = {}
for log in pathlib.Path(sys.argv[1]).glob("*"):
    for line in log.read_text().splitlines():
        event = json.loads(line)
        kind = str(event.get("id", "")).split("/")[0]
        if event.get("event") in ("job_start", "job_end") and kind:
            first, last = spans.get(kind, (event["ts_ms"], event["ts_ms"]))
            spans[kind] = (min(first, event["ts_ms"]), max(last, event["ts_ms"]))
print(", ".join(f"{k} {(b - a) / 1000:.0f} s" for k, (a, b) in sorted(spans.items(), key=lambda s: s[1])))
PY
)
    detail="${wall} s (${phases:-phases unknown}); ${slots:-?} trainings in flight; GPU ${util:-utilisation unknown}"
    record "paper protocol, Table 1" "$([ "$paper_rc" = 0 ] && echo PASS || echo FAIL)" "$detail"
fi

echo; echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
