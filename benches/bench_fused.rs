//! `cargo bench --bench bench_fused`: throughput of the fused time-axis filter
//! bank on the CPU (burn `NdArray`), batch 50 of 40 × 250 inputs, for the
//! Table 1 banks.
//!
//! For each model's banks it prints the forward alone (inner backend, the
//! useful convolution FLOPs per second: 2 × width × windows per filter and
//! band) and forward + backward through `Autodiff` (input untracked, as in
//! training). Environment: `TEMPORA_BENCH_THREADS` (rayon threads, default 2),
//! `TEMPORA_BENCH_STEPS` (timed repetitions, default 20),
//! `TEMPORA_BENCH_PEAK_GFLOPS` (when set, also prints the share of that peak;
//! the share of the FMA peak measured in the same run is always printed).
//! Argument: an optional model name, or a substring of names
//! (`cargo bench --bench bench_fused -- O-net`).

use std::sync::Arc;
use std::time::Instant;

use burn::backend::{ndarray::NdArray, Autodiff};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use tempora::model::fused::{filter_bank, BankLayout};
use tempora::model::{paper, ArchConfig};

/// Minibatch of the paper's protocol.
const BATCH: usize = 50;
/// Untimed repetitions before measuring.
const WARMUP: usize = 2;

type Cpu = NdArray<f32>;
type Ad = Autodiff<Cpu>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bank<B: Backend> {
    layout: Arc<BankLayout>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
}

fn banks<B: Backend>(arch: &ArchConfig, device: &B::Device) -> Vec<Bank<B>> {
    arch.banks
        .iter()
        .map(|bank| {
            let layout = BankLayout::new(&bank.groups, bank.pool_freq, arch.bands, arch.frames)
                .expect("paper banks are valid");
            let weight = Tensor::random([layout.taps()], Distribution::Uniform(-0.2, 0.2), device);
            let bias = Tensor::random([layout.filters()], Distribution::Uniform(-0.1, 0.1), device);
            Bank {
                layout: Arc::new(layout),
                weight,
                bias,
            }
        })
        .collect()
}

/// The fp32 FMA peak of this CPU with `threads` threads, measured now: each
/// thread runs independent AVX2 FMA chains (enough to cover the latency of both
/// FMA pipes), so the figure includes whatever clock the cores run at during the
/// benchmark. `None` without AVX2 + FMA.
fn measured_peak_gflops(threads: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return None;
        }
        /// 12 chains × 8 lanes × 2 flops per iteration.
        const CHAINS: usize = 12;
        #[target_feature(enable = "avx2,fma")]
        fn chains(iterations: u64) -> f32 {
            // Opaque inputs, so that nothing is folded at compile time; the
            // accumulators stay in registers for the whole loop.
            let a = std::hint::black_box(_mm256_set1_ps(0.999_999));
            let b = std::hint::black_box(_mm256_set1_ps(1e-7));
            let mut acc = [std::hint::black_box(_mm256_set1_ps(1.0)); CHAINS];
            for _ in 0..iterations {
                for v in acc.iter_mut() {
                    *v = _mm256_fmadd_ps(*v, a, b);
                }
            }
            let acc = std::hint::black_box(acc);
            let mut out = [0.0f32; 8];
            // SAFETY: `out` holds 8 f32.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc[0]) };
            out[0]
        }
        let iterations = 50_000_000u64;
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        // SAFETY: AVX2 and FMA were detected above.
                        scope.spawn(|| std::hint::black_box(unsafe { chains(iterations) }));
                    }
                });
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let flops = (threads as u64 * iterations * CHAINS as u64 * 8 * 2) as f64;
        Some(flops / best / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = threads;
        None
    }
}

/// Median seconds of `steps` runs of `f`.
fn time(steps: usize, mut f: impl FnMut()) -> f64 {
    (0..WARMUP).for_each(|_| f());
    let mut secs: Vec<f64> = (0..steps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    secs[steps / 2]
}

fn main() {
    // As the `tempora` binary does: keep per-step buffers in the process.
    tempora::heap::keep_freed_memory();
    let threads = env_usize("TEMPORA_BENCH_THREADS", 2);
    let steps = env_usize("TEMPORA_BENCH_STEPS", 20).max(1);
    let peak = std::env::var("TEMPORA_BENCH_PEAK_GFLOPS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    println!("fused filter bank, CPU, {threads} threads, batch {BATCH}, median of {steps}");
    let measured = measured_peak_gflops(threads);
    match measured {
        Some(p) => println!("fp32 FMA peak measured now with {threads} threads: {p:.0} GFLOP/s"),
        None => println!("fp32 FMA peak: not measured (no AVX2 + FMA)"),
    }
    println!(
        "{:<22} {:>10} {:>10} {:>9} {:>12} {:>12}",
        "model", "fwd ms", "fwd ex/s", "GFLOP/s", "fwd+bwd ms", "fwd+bwd ex/s"
    );
    let models = [
        ("O-net", paper::o_net(1)),
        ("P-net", paper::p_net(1)),
        ("O-net + P-net", paper::o_p_net(1)),
        ("8x O-net + 8x P-net", paper::o_p_net(8)),
    ];
    // `cargo bench --bench bench_fused -- NAME`: the model named NAME, or else
    // every model whose name contains NAME.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let exact = models
        .iter()
        .any(|(name, _)| Some(*name) == only.as_deref());
    for (name, arch) in models
        .into_iter()
        .filter(|(name, _)| match only.as_deref() {
            None => true,
            Some(o) if exact => *name == o,
            Some(o) => name.contains(o),
        })
    {
        pool.install(|| {
            let device = Default::default();
            let x = Tensor::<Cpu, 3>::random(
                [BATCH, arch.bands, arch.frames],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let inner = banks::<Cpu>(&arch, &device);
            let flops: u64 = inner
                .iter()
                .map(|b| b.layout.forward_flops(arch.bands, arch.frames))
                .sum::<u64>()
                * BATCH as u64;
            let fwd = time(steps, || {
                for b in &inner {
                    let y = filter_bank(x.clone(), b.weight.clone(), b.bias.clone(), &b.layout);
                    std::hint::black_box(y.into_data());
                }
            });
            let ad = banks::<Ad>(&arch, &device);
            let ad: Vec<Bank<Ad>> = ad
                .into_iter()
                .map(|b| Bank {
                    weight: b.weight.require_grad(),
                    bias: b.bias.require_grad(),
                    layout: b.layout,
                })
                .collect();
            let xa = Tensor::<Ad, 3>::from_inner(x.clone());
            let train = time(steps, || {
                let outs: Vec<Tensor<Ad, 2>> = ad
                    .iter()
                    .map(|b| {
                        filter_bank(xa.clone(), b.weight.clone(), b.bias.clone(), &b.layout)
                            .flatten(1, 2)
                    })
                    .collect();
                let grads = Tensor::cat(outs, 1).sum().backward();
                for b in &ad {
                    std::hint::black_box(b.weight.grad(&grads));
                }
            });
            let gflops = flops as f64 / fwd / 1e9;
            let share = peak
                .map(|p| format!(" ({:.0} % of {p} GFLOP/s)", 100.0 * gflops / p))
                .unwrap_or_default()
                + &measured
                    .map(|p| format!(" ({:.0} % of measured peak)", 100.0 * gflops / p))
                    .unwrap_or_default();
            println!(
                "{name:<22} {:>10.2} {:>10.0} {:>9.1} {:>12.2} {:>12.0}{share}",
                fwd * 1e3,
                BATCH as f64 / fwd,
                gflops,
                train * 1e3,
                BATCH as f64 / train
            );
        });
    }
}
