//! `just bench-train`: examples per second of one full training step (batch
//! 50: forward, mean cross-entropy, backward, SGD update — the exact step
//! `train::fit` runs) for the Table 1 models and the CBMI baselines, ours
//! against PyTorch in the same run.
//!
//! - CPU: ours in a rayon pool of `TEMPORA_BENCH_THREADS` threads (default 2);
//!   PyTorch with `torch.set_num_threads` of the same count.
//! - CUDA: when a device initialises (`device::resolve(Auto)`), ours on
//!   `Autodiff<Cuda>` and PyTorch (+ cuDNN) on the same GPU.
//! - PyTorch runs through `benches/pytorch_reference.py bench` when
//!   `python3 -c "import torch"` works; otherwise the bench says it skipped.
//! - Ours runs with the allocator settings of the `tempora` binary
//!   (`heap::keep_freed_memory`); PyTorch with its own defaults.
//!
//! Arguments: an optional substring filter on model names
//! (`cargo bench --bench bench_train -- P-net`). Environment:
//! `TEMPORA_BENCH_STEPS` (timed steps, default 10; ten times as many on CUDA),
//! `TEMPORA_BENCH_THREADS`, `TEMPORA_BENCH_ONLY` (`cpu` or `cuda`: one table),
//! `TEMPORA_BENCH_IN_FLIGHT` (CUDA: trainings run at once for the second
//! table, default 4, as the device queue runs them; 1 leaves it out).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::backend::cuda::CudaDevice;
use burn::backend::ndarray::NdArrayDevice;
use burn::backend::{Autodiff, Cuda, NdArray};
use burn::optim::SgdConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use tempora::device::{resolve, ComputeDevice, DeviceChoice};
use tempora::model::{paper, ArchConfig, FilterBankBackend, FilterBankNet};
use tempora::train::fit::train_step;

/// Minibatch of the paper's protocol.
const BATCH: usize = 50;
/// Untimed steps before measuring.
const WARMUP_STEPS: usize = 2;

fn models() -> Vec<(&'static str, ArchConfig)> {
    vec![
        ("O-net", paper::o_net(1)),
        ("P-net", paper::p_net(1)),
        ("O-net + P-net", paper::o_p_net(1)),
        ("8x O-net + 8x P-net", paper::o_p_net(8)),
        ("Time", paper::time_baseline()),
        ("Time-freq", paper::time_freq_baseline()),
        ("Black-box", paper::black_box_baseline()),
    ]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Examples per second of `steps` training steps of `arch` on backend `B`.
fn ours<B>(arch: &ArchConfig, device: &B::Device, steps: usize) -> Result<f64, String>
where
    B: AutodiffBackend + FilterBankBackend,
    B::InnerBackend: FilterBankBackend,
{
    let mut model = FilterBankNet::<B>::init(arch, 1, device).map_err(|e| e.to_string())?;
    let mut optim = SgdConfig::new().init::<B, FilterBankNet<B>>();
    let input = Tensor::<B, 3>::random(
        [BATCH, arch.bands, arch.frames],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    let labels: Vec<i64> = (0..BATCH).map(|i| (i % arch.classes) as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [BATCH]), device);
    // As in training (and in PyTorch's loop), the host waits for the device
    // only when it reads the logits back: after the warm-up and after the
    // timed steps, not at every step.
    let mut started = Instant::now();
    let mut pending = Vec::new();
    for step in 0..WARMUP_STEPS + steps {
        if step == WARMUP_STEPS {
            read_back(std::mem::take(&mut pending))?;
            started = Instant::now();
        }
        let (trained, logits) = train_step(
            model,
            &mut optim,
            input.clone(),
            targets.clone(),
            0.01,
            step as u64,
        );
        model = trained;
        pending.push(logits);
    }
    read_back(pending)?;
    Ok((steps * BATCH) as f64 / started.elapsed().as_secs_f64())
}

/// Examples per second of `n` trainings of `arch` running at once on
/// threads of their own (as the device queue runs them): the sum of their
/// rates, each timed over its own steps while the others run.
fn in_flight_rate<B>(
    arch: &ArchConfig,
    device: &B::Device,
    steps: usize,
    n: usize,
) -> Result<f64, String>
where
    B: AutodiffBackend + FilterBankBackend,
    B::InnerBackend: FilterBankBackend,
{
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..n)
            .map(|_| scope.spawn(|| ours::<B>(arch, device, steps)))
            .collect();
        runs.into_iter()
            .map(|run| {
                run.join()
                    .map_err(|_| "a training thread panicked".to_owned())?
            })
            .sum()
    })
}

/// Reads `logits` back to the host in one transfer: waits for every step
/// that produced them.
fn read_back<B: Backend>(logits: Vec<Tensor<B, 2>>) -> Result<(), String> {
    if logits.is_empty() {
        return Ok(());
    }
    Tensor::cat(logits, 0)
        .into_data()
        .to_vec::<f32>()
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// Why PyTorch cannot be compared (`None` when `python3 -c "import torch"` works).
fn torch_missing() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import torch"])
        .output()
    {
        Err(e) => Some(format!("python3 could not be started ({e})")),
        Ok(o) if o.status.success() => None,
        Ok(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let last = stderr.lines().last().unwrap_or("no message").trim();
            Some(format!("python3 -c \"import torch\" failed ({last})"))
        }
    }
}

/// `benches/pytorch_reference.py`: beside the working directory when it has
/// one (a prebuilt bench run from a copy of the repository, as `just
/// gpu-check` does), else in the source tree this bench was built from.
fn reference_script() -> PathBuf {
    let local = PathBuf::from("benches/pytorch_reference.py");
    if local.is_file() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(local)
    }
}

/// PyTorch's examples per second for `arch` on `device` (`cpu` or `cuda`).
fn pytorch(arch: &ArchConfig, device: &str, threads: usize, steps: usize) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let arch_path = dir.path().join("arch.json");
    let json = serde_json::to_vec(arch).map_err(|e| e.to_string())?;
    std::fs::write(&arch_path, json).map_err(|e| e.to_string())?;
    let script = reference_script();
    let output = Command::new("python3")
        .arg(script)
        .args(["bench", "--arch"])
        .arg(&arch_path)
        .args(["--device", device, "--threads", &threads.to_string()])
        .args([
            "--batch-size",
            &BATCH.to_string(),
            "--steps",
            &steps.to_string(),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(line.trim()).map_err(|e| e.to_string())?;
    value["examples_per_second"]
        .as_f64()
        .ok_or_else(|| format!("no examples_per_second in {line}"))
}

fn fmt(result: &Result<f64, String>) -> String {
    match result {
        Ok(v) => format!("{v:>10.1}"),
        Err(_) => format!("{:>10}", "error"),
    }
}

fn report(name: &str, ours: Result<f64, String>, torch: Option<Result<f64, String>>) {
    let ratio = match (&ours, &torch) {
        (Ok(a), Some(Ok(b))) => format!("{:>7.1}x", a / b),
        _ => format!("{:>8}", "-"),
    };
    let torch_col = torch.as_ref().map_or(format!("{:>10}", "skipped"), fmt);
    println!("{name:<22} {} {torch_col} {ratio}", fmt(&ours));
    for err in [ours.err(), torch.and_then(Result::err)]
        .into_iter()
        .flatten()
    {
        println!("    error: {}", err.trim());
    }
}

fn main() {
    // As the `tempora` binary does: keep per-step buffers in the process.
    tempora::heap::keep_freed_memory();
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let steps = env_usize("TEMPORA_BENCH_STEPS", 10);
    let threads = env_usize("TEMPORA_BENCH_THREADS", 2);
    let missing = torch_missing();
    if let Some(why) = &missing {
        println!(
            "SKIPPED: the PyTorch comparison: {why}; the pytorch column reads `skipped` \
             (install torch for python3 to compare)"
        );
    }
    let torch = missing.is_none();
    let selected: Vec<_> = models()
        .into_iter()
        .filter(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)))
        .collect();

    let only = std::env::var("TEMPORA_BENCH_ONLY").unwrap_or_default();
    if only != "cuda" {
        cpu_section(&selected, steps, threads, torch);
    }
    if only == "cpu" {
        return;
    }
    match resolve(DeviceChoice::Auto) {
        Ok(ComputeDevice::Cuda(index)) => {
            println!("\n{}: examples/s", ComputeDevice::Cuda(index).describe());
            println!(
                "{:<22} {:>10} {:>10} {:>8}",
                "model", "tempora", "pytorch", "ratio"
            );
            let device = CudaDevice::new(index);
            let mut alone = Vec::new();
            for (name, arch) in &selected {
                let ours = ours::<Autodiff<Cuda>>(arch, &device, steps * 10);
                alone.push(ours.clone().ok());
                let torch_device = format!("cuda:{index}");
                let reference = torch.then(|| pytorch(arch, &torch_device, threads, steps * 10));
                report(name, ours, reference);
            }
            let in_flight = env_usize("TEMPORA_BENCH_IN_FLIGHT", 4);
            if in_flight > 1 {
                println!(
                    "\n{in_flight} trainings in flight on the same GPU: examples/s, all together"
                );
                for ((name, arch), alone) in selected.iter().zip(alone) {
                    let together =
                        in_flight_rate::<Autodiff<Cuda>>(arch, &device, steps * 10, in_flight);
                    let gain = match (&together, alone) {
                        (Ok(t), Some(a)) => format!("{:.1}x one alone", t / a),
                        _ => "-".into(),
                    };
                    println!("{name:<22} {} ({gain})", fmt(&together));
                }
            }
        }
        _ => println!("\nCUDA: skipped (no CUDA device initialised)"),
    }
}

/// The CPU table: ours in a pool of `threads` threads against PyTorch with as many.
fn cpu_section(selected: &[(&str, ArchConfig)], steps: usize, threads: usize, torch: bool) {
    println!("\nCPU, {threads} threads, batch {BATCH}, {steps} steps: examples/s");
    println!(
        "{:<22} {:>10} {:>10} {:>8}",
        "model", "tempora", "pytorch", "ratio"
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool for the benchmark");
    for (name, arch) in selected {
        let ours = pool.install(|| ours::<Autodiff<NdArray>>(arch, &NdArrayDevice::Cpu, steps));
        let reference = torch.then(|| pytorch(arch, "cpu", threads, steps));
        report(name, ours, reference);
    }
}
