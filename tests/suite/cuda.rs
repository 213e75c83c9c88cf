//! CPU against CUDA: the fused filter-bank op (output and every gradient, on
//! shapes that take both CUDA kernels) and every Table 1 model's
//! logits before and after one training step, from identical weights and inputs.
//!
//! These run only where `cuda:0` resolves (`device::resolve`);
//! elsewhere each test says SKIPPED and why (past libtest's capture). `just gpu-check` runs them
//! from a prebuilt bundle on a machine without a Rust toolchain.

use crate::common;

use std::sync::Arc;

use burn::backend::cuda::CudaDevice;
use burn::backend::ndarray::NdArrayDevice;
use burn::backend::{Autodiff, Cuda, NdArray};
use burn::optim::SgdConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempora::device::{resolve, DeviceChoice};
use tempora::model::fused::{filter_bank, BankLayout};
use tempora::model::{
    paper, ArchConfig, FilterBankBackend, FilterBankNet, FilterGroup, PoolExtent,
};
use tempora::train::fit::train_step;

type CpuAd = Autodiff<NdArray>;
type GpuAd = Autodiff<Cuda>;

/// Largest CPU-vs-CUDA difference accepted for the fused op (f32 sums of a
/// few hundred products in another order).
const OP_TOLERANCE: f32 = 1e-4;
/// Largest CPU-vs-CUDA logit difference accepted before and after one SGD
/// step, relative to the largest logit: four times TF32's unit roundoff.
/// burn's CUDA matmul runs f32 products on the tensor cores in TF32 (operands
/// rounded to 10 mantissa bits, relative error up to 2^-11 ≈ 4.9e-4 each).
/// Later steps are not compared: each update starts from the last one's
/// rounding difference, and training amplifies it (Black-box, the largest
/// dense layer, reached 1.7e-2 after a second update).
const MODEL_TOLERANCE: f32 = 2e-3;

/// The CUDA device, or `None` after printing why the test skips.
fn cuda_or_skip(test: &str) -> Option<CudaDevice> {
    match resolve(DeviceChoice::Cuda(0)) {
        Ok(device) => {
            println!("{test}: {}", device.describe());
            Some(CudaDevice::new(0))
        }
        Err(why) => {
            common::skip(&format!("no CUDA device found on this machine ({why})"));
            None
        }
    }
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

/// One fused-op case: input `[batch, bands, frames]`, groups `(width, count)`.
struct OpCase {
    shape: [usize; 3],
    layout: Arc<BankLayout>,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    r: Vec<f32>,
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
        let out_len = batch * layout.filters() * layout.pooled_bands(bands);
        Self {
            x: uniform(&mut rng, batch * bands * frames, 1.0),
            w: uniform(&mut rng, layout.taps(), 0.5),
            b: uniform(&mut rng, layout.filters(), 0.3),
            r: uniform(&mut rng, out_len, 1.0),
            shape,
            layout,
        }
    }

    /// `(y, dx, dw, dbias)` under the linear loss `Σ r·y` on backend `B`.
    fn run<B: AutodiffBackend + FilterBankBackend>(&self, dev: &B::Device) -> [Vec<f32>; 4] {
        let x = Tensor::<B, 3>::from_data(TensorData::new(self.x.clone(), self.shape), dev)
            .require_grad();
        let w = Tensor::<B, 1>::from_data(TensorData::new(self.w.clone(), [self.w.len()]), dev)
            .require_grad();
        let b = Tensor::<B, 1>::from_data(TensorData::new(self.b.clone(), [self.b.len()]), dev)
            .require_grad();
        let y = filter_bank(x.clone(), w.clone(), b.clone(), &self.layout);
        let r = Tensor::<B, 3>::from_data(TensorData::new(self.r.clone(), y.dims()), dev);
        let grads = (y.clone() * r).sum().backward();
        let grad = |t: Option<Tensor<B::InnerBackend, 3>>| t.map(values).unwrap_or_default();
        [
            values(y.inner()),
            grad(x.grad(&grads)),
            values(w.grad(&grads).expect("weight is tracked")),
            values(b.grad(&grads).expect("bias is tracked")),
        ]
    }
}

#[test]
fn fused_op_agrees_on_cpu_and_cuda() {
    let Some(gpu) = cuda_or_skip("fused_op_agrees_on_cpu_and_cuda") else {
        return;
    };
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
        // The paper's input and O-net + P-net's widths, batch 4. Pooling all 40
        // bands makes a group's rows 40 × 250 floats, over the shared-memory
        // budget (`kernel::SHARED_ROWS_MAX_FLOATS`): the global-memory kernel.
        OpCase::new(4, [4, 40, 250], &[(165, 15), (64, 60)], PoolExtent::All),
        OpCase::new(5, [4, 40, 80], &[(25, 15), (64, 60)], PoolExtent::Factor(4)),
    ];
    for (i, case) in cases.iter().enumerate() {
        let cpu = case.run::<CpuAd>(&NdArrayDevice::Cpu);
        let cuda = case.run::<GpuAd>(&gpu);
        assert!(
            cpu[0].iter().any(|&v| v > 0.0),
            "case {i}: some outputs active"
        );
        for (name, (a, b)) in ["y", "dx", "dw", "dbias"].iter().zip(cpu.iter().zip(&cuda)) {
            let diff = max_abs_diff(a, b);
            println!(
                "  case {i} {:?}: {name} max |CPU - CUDA| = {diff:.2e}",
                case.shape
            );
            assert!(
                diff <= OP_TOLERANCE,
                "case {i} {name}: {diff} > {OP_TOLERANCE}"
            );
        }
    }
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
fn table1_models_train_alike_on_cpu_and_cuda() {
    let Some(gpu) = cuda_or_skip("table1_models_train_alike_on_cpu_and_cuda") else {
        return;
    };
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
        let cuda = two_steps::<GpuAd>(&arch, &gpu);
        for (step, (a, b)) in cpu.iter().zip(&cuda).enumerate() {
            let scale = a.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let diff = max_abs_diff(a, b) / scale;
            println!("  {name}, step {step}: max |CPU - CUDA| / max |logit| = {diff:.2e}");
            if diff > MODEL_TOLERANCE {
                too_far.push(format!("{name} step {step}: {diff:.2e}"));
            }
        }
    }
    assert!(
        too_far.is_empty(),
        "logits differ by more than {MODEL_TOLERANCE:e} (relative): {}",
        too_far.join(", ")
    );
}
