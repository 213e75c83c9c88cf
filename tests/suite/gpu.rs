//! CPU against every GPU runtime present: CUDA where a device exists, wgpu
//! wherever an adapter exists (a real GPU, or lavapipe, Mesa's Vulkan device
//! on the CPU, which CI installs). Checked from identical weights and inputs:
//! the fused filter-bank op (output and every gradient) on shapes that take
//! both of its kernels, the paper's 40 × 250 input with P-net's and
//! O-net + P-net's widths among them; the pooled convolution and the dense
//! op (output and every gradient); every Table 1 model's logits before and
//! after one SGD step; and, on wgpu, `tempora run` of Table 1's tiny profile
//! end to end.
//!
//! A runtime that is absent says SKIPPED and why (past libtest's capture);
//! under `CI=true` a missing wgpu adapter is a failure (CI has lavapipe).
//! `just gpu-check` runs these from a prebuilt bundle on a machine without a
//! Rust toolchain.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use burn::backend::cuda::CudaDevice;
use burn::backend::ndarray::NdArrayDevice;
use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Cuda, NdArray, Wgpu};
use burn::optim::SgdConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempora::device::{resolve, wgpu_adapters, wgpu_device, ComputeDevice, DeviceChoice};
use tempora::model::dense::dense;
use tempora::model::device_fit::check_fits_device;
use tempora::model::fused::{filter_bank, BankLayout};
use tempora::model::pooled::{pooled_conv, PooledLayout};
use tempora::model::{
    paper, ArchConfig, FilterBankBackend, FilterBankNet, FilterGroup, PoolExtent,
};
use tempora::train::fit::train_step;

type CpuAd = Autodiff<NdArray>;

/// A GPU runtime found on this machine.
enum Gpu {
    Cuda(CudaDevice),
    Wgpu(WgpuDevice, ComputeDevice),
}

impl Gpu {
    /// `CUDA` or `wgpu`, for messages.
    fn name(&self) -> &'static str {
        match self {
            Gpu::Cuda(_) => "CUDA",
            Gpu::Wgpu(..) => "wgpu",
        }
    }

    /// Largest CPU-vs-GPU difference accepted for the ops: f32 sums of a few
    /// hundred products in another order (measured: ≤ 3e-6 on lavapipe, an
    /// H200 alike).
    fn op_tolerance(&self) -> f32 {
        1e-4
    }

    /// Largest logit difference accepted before and after one SGD step,
    /// relative to the largest logit.
    ///
    /// - CUDA: four times TF32's unit roundoff. burn's CUDA matmul runs f32
    ///   products on the tensor cores in TF32 (operands rounded to 10 mantissa
    ///   bits, relative error up to 2^-11 ≈ 4.9e-4 each).
    /// - wgpu: plain f32 everywhere (WGSL has no TF32), so only summation
    ///   order differs: measured ≤ 4e-6 on lavapipe (Black-box, the largest
    ///   dense layer); 1e-4 leaves room for a GPU's own order.
    ///
    /// Later steps are not compared: each update starts from the last one's
    /// rounding difference, and training amplifies it (Black-box reached
    /// 1.7e-2 on CUDA after a second update).
    fn model_tolerance(&self) -> f32 {
        match self {
            Gpu::Cuda(_) => 2e-3,
            Gpu::Wgpu(..) => 1e-4,
        }
    }
}

/// The GPU runtimes present, each named on stdout; an absent one says
/// SKIPPED. Under `CI=true` a machine without a wgpu adapter fails.
fn gpus(test: &str) -> Vec<Gpu> {
    let mut found = Vec::new();
    match resolve(DeviceChoice::Cuda(0)) {
        Ok(device) => {
            println!("{test}: {}", device.describe());
            found.push(Gpu::Cuda(CudaDevice::new(0)));
        }
        Err(why) => common::skip(&format!(
            "CUDA part: no CUDA device on this machine ({why})"
        )),
    }
    let mut usable = 0;
    for adapter in wgpu_adapters() {
        let compute = ComputeDevice::Wgpu(adapter.index);
        match wgpu_device(adapter.index) {
            Ok(device) => {
                println!("{test}: {}", compute.describe());
                found.push(Gpu::Wgpu(device, compute));
                usable += 1;
            }
            Err(why) => common::skip(&format!("wgpu:{}: {why}", adapter.index)),
        }
    }
    if usable == 0 {
        let why = "wgpu part: no wgpu adapter on this machine (install a Vulkan driver; \
                   `apt-get install mesa-vulkan-drivers` gives lavapipe)";
        assert!(!common::in_ci(), "{why}; CI=true requires one");
        common::skip(why);
    }
    found
}

/// Runs `$body` with `B` the autodiff backend of `$gpu` and `$dev` its device.
macro_rules! on_gpu {
    ($gpu:expr, |$b:ident, $dev:ident| $body:expr) => {
        match $gpu {
            Gpu::Cuda(device) => {
                type $b = Autodiff<Cuda>;
                let $dev = device;
                $body
            }
            Gpu::Wgpu(device, _) => {
                type $b = Autodiff<Wgpu>;
                let $dev = device;
                $body
            }
        }
    };
}

fn uniform(rng: &mut ChaCha8Rng, len: usize, bound: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-bound..bound)).collect()
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 tensor")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Compares `(y, dx, dw, dbias)` of the CPU and a GPU, collecting failures.
fn compare(
    label: &str,
    gpu: &Gpu,
    cpu: &[Vec<f32>; 4],
    other: &[Vec<f32>; 4],
    bad: &mut Vec<String>,
) {
    assert!(
        cpu[0].iter().any(|&v| v > 0.0),
        "{label}: some outputs active"
    );
    for (name, (a, b)) in ["y", "dx", "dw", "dbias"].iter().zip(cpu.iter().zip(other)) {
        let diff = max_abs_diff(a, b);
        println!("  {label}: {name} max |CPU - {}| = {diff:.2e}", gpu.name());
        if diff > gpu.op_tolerance() {
            bad.push(format!("{} {label} {name}: {diff:.2e}", gpu.name()));
        }
    }
}

/// `(y, dx, dw, dbias)` of `op` under the linear loss `Σ r·y`, with `r`
/// drawn from `seed` once the output's shape is known.
fn op_grads<B: AutodiffBackend, const DX: usize, const DW: usize, const DY: usize>(
    dev: &B::Device,
    (x, x_shape): (&[f32], [usize; DX]),
    (w, w_shape): (&[f32], [usize; DW]),
    b: &[f32],
    seed: u64,
    op: impl Fn(Tensor<B, DX>, Tensor<B, DW>, Tensor<B, 1>) -> Tensor<B, DY>,
) -> [Vec<f32>; 4] {
    let x = Tensor::<B, DX>::from_data(TensorData::new(x.to_vec(), x_shape), dev).require_grad();
    let w = Tensor::<B, DW>::from_data(TensorData::new(w.to_vec(), w_shape), dev).require_grad();
    let b = Tensor::<B, 1>::from_data(TensorData::new(b.to_vec(), [b.len()]), dev).require_grad();
    let y = op(x.clone(), w.clone(), b.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let r = uniform(&mut rng, y.shape().num_elements(), 1.0);
    let r = Tensor::<B, DY>::from_data(TensorData::new(r, y.dims()), dev);
    let grads = (y.clone() * r).sum().backward();
    [
        values(y.inner()),
        values(x.grad(&grads).expect("x is tracked")),
        values(w.grad(&grads).expect("weight is tracked")),
        values(b.grad(&grads).expect("bias is tracked")),
    ]
}

/// One fused-op case: input `[batch, bands, frames]`, groups `(width, count)`.
struct OpCase {
    shape: [usize; 3],
    layout: Arc<BankLayout>,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
}

impl OpCase {
    fn new(seed: u64, shape: [usize; 3], groups: &[(usize, usize)], pool: PoolExtent) -> Self {
        let [batch, bands, frames] = shape;
        let groups: Vec<FilterGroup> = groups
            .iter()
            .map(|&(width, count)| FilterGroup {
                height: 1,
                width,
                count,
            })
            .collect();
        let layout = Arc::new(BankLayout::new(&groups, pool, bands, frames).expect("valid layout"));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self {
            x: uniform(&mut rng, batch * bands * frames, 1.0),
            w: uniform(&mut rng, layout.taps(), 0.5),
            b: uniform(&mut rng, layout.filters(), 0.3),
            shape,
            layout,
        }
    }

    /// `(y, dx, dw, dbias)` under a linear loss on backend `B`.
    fn run<B: AutodiffBackend + FilterBankBackend>(&self, dev: &B::Device) -> [Vec<f32>; 4] {
        op_grads::<B, 3, 1, 3>(
            dev,
            (&self.x, self.shape),
            (&self.w, [self.w.len()]),
            &self.b,
            99,
            |x, w, b| filter_bank(x, w, b, &self.layout),
        )
    }
}

/// `(width, count)` of every group of a paper bank.
fn widths_of(arch: &ArchConfig) -> Vec<(usize, usize)> {
    arch.banks
        .iter()
        .flat_map(|bank| bank.groups.iter().map(|g| (g.width, g.count)))
        .collect()
}

#[test]
fn fused_op_agrees_on_cpu_and_every_gpu() {
    let gpus = gpus("fused_op_agrees_on_cpu_and_every_gpu");
    if gpus.is_empty() {
        return;
    }
    let cases = [
        // Small rows: the shared-memory kernel.
        OpCase::new(1, [3, 8, 30], &[(4, 5)], PoolExtent::Factor(4)),
        OpCase::new(
            2,
            [2, 12, 50],
            &[(3, 6), (2, 11), (1, 21), (5, 3)],
            PoolExtent::Factor(4),
        ),
        OpCase::new(3, [2, 6, 20], &[(2, 20), (1, 1)], PoolExtent::Factor(1)),
        // The paper's input with P-net's widths (46–216), bands pooled by 4:
        // the shared-memory kernel, each search split into chunks.
        OpCase::new(
            4,
            [2, 40, 250],
            &widths_of(&paper::p_net(1)),
            PoolExtent::Factor(4),
        ),
        // O-net + P-net's widths with all 40 bands pooled: a group's rows are
        // 40 × 250 floats, over the shared-memory budget, so the global-memory
        // kernel runs (≈ 3.4 k windows of 165 products for the widest O filter
        // in one search before the split).
        OpCase::new(
            5,
            [2, 40, 250],
            &widths_of(&paper::o_p_net(1)),
            PoolExtent::All,
        ),
        OpCase::new(6, [4, 40, 80], &[(25, 15), (64, 60)], PoolExtent::Factor(4)),
    ];
    let mut bad = Vec::new();
    for gpu in &gpus {
        for (i, case) in cases.iter().enumerate() {
            let cpu = case.run::<CpuAd>(&NdArrayDevice::Cpu);
            let other = on_gpu!(gpu, |G, dev| case.run::<G>(dev));
            compare(
                &format!("case {i} {:?}", case.shape),
                gpu,
                &cpu,
                &other,
                &mut bad,
            );
        }
    }
    assert!(bad.is_empty(), "over the tolerance: {}", bad.join(", "));
}

#[test]
fn pooled_conv_and_dense_agree_on_cpu_and_every_gpu() {
    let gpus = gpus("pooled_conv_and_dense_agree_on_cpu_and_every_gpu");
    if gpus.is_empty() {
        return;
    }
    // The CBMI baselines' banks on their 40 × 80 input: Time's 1 × 60 filters
    // pooled over all bands per frame, Time-freq's 32 × 1 filters, and
    // Black-box's 12 × 8 filters pooled 4 × 4.
    let layouts = [
        (1, 60, PoolExtent::All, PoolExtent::Factor(1)),
        (32, 1, PoolExtent::Factor(1), PoolExtent::All),
        (12, 8, PoolExtent::Factor(4), PoolExtent::Factor(4)),
    ]
    .map(|(height, width, pool_freq, pool_time)| PooledLayout {
        count: 8,
        height,
        width,
        pool_freq,
        pool_time,
    });
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let shape = [3, 40, 80];
    let x = uniform(&mut rng, 3 * 40 * 80, 1.0);
    let mut bad = Vec::new();
    for gpu in &gpus {
        for (i, layout) in layouts.iter().enumerate() {
            let w_shape = [layout.count, 1, layout.height, layout.width];
            let w = uniform(&mut rng, w_shape.iter().product(), 0.3);
            let b = uniform(&mut rng, layout.count, 0.2);
            let cpu = op_grads::<CpuAd, 3, 4, 4>(
                &NdArrayDevice::Cpu,
                (&x, shape),
                (&w, w_shape),
                &b,
                5,
                |x, w, b| pooled_conv(x, w, b, layout),
            );
            let other = on_gpu!(gpu, |G, dev| op_grads::<G, 3, 4, 4>(
                dev,
                (&x, shape),
                (&w, w_shape),
                &b,
                5,
                |x, w, b| pooled_conv(x, w, b, layout)
            ));
            compare(
                &format!("pooled conv {i} {w_shape:?}"),
                gpu,
                &cpu,
                &other,
                &mut bad,
            );
        }
        // Black-box's first dense layer's shape, batch 8.
        let (batch, inputs, outputs) = (8, 1_000, 200);
        let x = uniform(&mut rng, batch * inputs, 1.0);
        let w = uniform(&mut rng, inputs * outputs, 0.05);
        let b = uniform(&mut rng, outputs, 0.1);
        let (xs, ws) = ([batch, inputs], [inputs, outputs]);
        let cpu = op_grads::<CpuAd, 2, 2, 2>(&NdArrayDevice::Cpu, (&x, xs), (&w, ws), &b, 6, dense);
        let other = on_gpu!(gpu, |G, dev| op_grads::<G, 2, 2, 2>(
            dev,
            (&x, xs),
            (&w, ws),
            &b,
            6,
            dense
        ));
        compare("dense [8, 1000] x [1000, 200]", gpu, &cpu, &other, &mut bad);
    }
    assert!(bad.is_empty(), "over the tolerance: {}", bad.join(", "));
}

/// Logits of two SGD steps (batch 8, dropout off so both backends see the
/// same network) from the same seeded weights: the first step's logits come
/// from the initial weights, the second's from the once-updated ones.
fn two_steps<B>(arch: &ArchConfig, dev: &B::Device) -> Vec<Vec<f32>>
where
    B: AutodiffBackend + FilterBankBackend,
    B::InnerBackend: FilterBankBackend,
{
    const BATCH: usize = 8;
    let mut model = FilterBankNet::<B>::init(arch, 7, dev).expect("model builds");
    let mut optim = SgdConfig::new().init::<B, FilterBankNet<B>>();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = uniform(&mut rng, BATCH * arch.bands * arch.frames, 2.0);
    let input =
        Tensor::<B, 3>::from_data(TensorData::new(x, [BATCH, arch.bands, arch.frames]), dev);
    let labels: Vec<i64> = (0..BATCH).map(|i| (i % arch.classes) as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [BATCH]), dev);
    let mut logits = Vec::new();
    for step in 0..2 {
        let (next, out) = train_step(
            model,
            &mut optim,
            input.clone(),
            targets.clone(),
            0.01,
            step,
        );
        model = next;
        logits.push(values(out));
    }
    logits
}

#[test]
fn table1_models_train_alike_on_cpu_and_every_gpu() {
    let gpus = gpus("table1_models_train_alike_on_cpu_and_every_gpu");
    if gpus.is_empty() {
        return;
    }
    let models = [
        ("O-net", paper::o_net(1)),
        ("P-net", paper::p_net(1)),
        ("O-net + P-net", paper::o_p_net(1)),
        ("8x O-net + 8x P-net", paper::o_p_net(8)),
        ("Time", paper::time_baseline()),
        ("Time-freq", paper::time_freq_baseline()),
        ("Black-box", paper::black_box_baseline()),
    ];
    let mut too_far = Vec::new();
    for (name, mut arch) in models {
        arch.dropout = 0.0;
        let cpu = two_steps::<CpuAd>(&arch, &NdArrayDevice::Cpu);
        for gpu in &gpus {
            let other = on_gpu!(gpu, |G, dev| two_steps::<G>(&arch, dev));
            for (step, (a, b)) in cpu.iter().zip(&other).enumerate() {
                let scale = a.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let diff = max_abs_diff(a, b) / scale;
                println!(
                    "  {name}, step {step}: max |CPU - {}| / max |logit| = {diff:.2e}",
                    gpu.name()
                );
                if diff > gpu.model_tolerance() {
                    too_far.push(format!("{} {name} step {step}: {diff:.2e}", gpu.name()));
                }
            }
        }
    }
    assert!(
        too_far.is_empty(),
        "logits differ by more than the runtime's tolerance (relative): {}",
        too_far.join(", ")
    );
}

#[test]
fn a_software_adapter_refuses_a_kernel_past_its_loop_cap_and_takes_table1() {
    let Some(adapter) = wgpu_adapters().iter().find(|a| a.loop_cap().is_some()) else {
        common::skip("no software wgpu adapter on this machine");
        return;
    };
    let device = ComputeDevice::Wgpu(adapter.index);
    for arch in [
        paper::o_p_net(8),
        paper::time_baseline(),
        paper::black_box_baseline(),
    ] {
        check_fits_device(&arch, 50, device).expect("Table 1's models fit");
    }
    // 2,000 filters over 40 unpooled bands: the input gradient sums
    // 2,000 × 40 = 80,000 windows in one invocation.
    let mut arch = paper::o_net(1);
    arch.banks[0].groups = vec![FilterGroup {
        height: 1,
        width: 8,
        count: 2_000,
    }];
    arch.banks[0].pool_freq = PoolExtent::Factor(1);
    let err = check_fits_device(&arch, 50, device)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input gradient") && err.contains("80000") && err.contains("--device cpu"),
        "{err}"
    );
}

/// `tempora args` in `dir`, stdout and stderr captured. `TEMPORA_BIN` names
/// another binary (the GPU bundle's, on a machine without this checkout).
fn tempora(args: &[&str], dir: &Path) -> std::process::Output {
    let bin =
        std::env::var_os("TEMPORA_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_tempora").into());
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tempora")
}

#[test]
fn devices_lists_the_cpu_every_adapter_and_what_auto_picks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tempora(&["devices"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("cpu "), "{text}");
    for adapter in wgpu_adapters() {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("wgpu:{} ", adapter.index)))
            .unwrap_or_else(|| panic!("no line for wgpu:{}:\n{text}", adapter.index));
        assert!(line.contains(&adapter.name), "{line}");
        assert!(line.contains(&adapter.kind.to_string()), "{line}");
    }
    let auto = resolve(DeviceChoice::Auto).expect("auto resolves");
    assert!(text.contains(&format!("auto picks {auto}")), "{text}");
    if wgpu_adapters().iter().all(|a| !a.kind.is_hardware())
        && resolve(DeviceChoice::Cuda(0)).is_err()
    {
        assert!(
            text.contains("auto picks cpu"),
            "a software adapter is never auto's: {text}"
        );
    }
}

#[test]
fn tiny_table1_runs_end_to_end_on_wgpu() {
    let gpus = gpus("tiny_table1_runs_end_to_end_on_wgpu");
    let Some(Gpu::Wgpu(_, device)) = gpus.iter().find(|g| matches!(g, Gpu::Wgpu(..))) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // TEMPORA_EXPERIMENTS: the GPU bundle's copy of experiments/.
    let experiments = std::env::var("TEMPORA_EXPERIMENTS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/experiments").to_owned());
    let spec = format!("{experiments}/table1.toml");
    let name = device.to_string();
    // The same trainings one at a time (cache `alone`) and three at once
    // (cache `together`) on the device queue.
    let mut caches = Vec::new();
    for (cache, jobs) in [("alone", "1"), ("together", "3")] {
        let cache = dir.path().join(cache);
        let cache_arg = cache.to_string_lossy().into_owned();
        let args = [
            "run",
            &spec,
            "--profile",
            "tiny",
            "--device",
            &name,
            "--gpu-jobs",
            jobs,
            "--cache",
            &cache_arg,
        ];
        let out = tempora(&args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tiny run on {name} failed:\n{stderr}");
        assert!(
            stderr.contains(&format!("device queue: up to {jobs} training(s) at once")),
            "the choice is printed:\n{stderr}"
        );
        caches.push(common::train_outputs(&cache));
    }
    assert!(!caches[0].is_empty());
    assert!(
        caches[0] == caches[1],
        "concurrent trainings on {name} differ from the same trainings one at a time"
    );
    let md = std::fs::read_to_string(dir.path().join("reports/table1/report.md"))
        .expect("reports/table1/report.md");
    println!("{md}");
    assert!(md.contains("wgpu"), "the report names the device:\n{md}");
    // The tiny profile's three models, each with a result.
    for model in ["O-net", "O-net + P-net", "Time"] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {model} ")))
            .unwrap_or_else(|| panic!("no row for {model}:\n{md}"));
        assert!(row.contains(" ± "), "{model} has no accuracy: {row}");
    }
}
