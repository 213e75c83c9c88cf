//! Cross-checks of the fused op: against the generic reference (outputs and
//! every gradient), against finite differences, ties, dead ReLUs, the AVX2
//! kernel against the portable one, thread-count independence, and the host
//! copies of `NdArray` tensors.

use std::sync::Arc;

use burn::backend::{ndarray::NdArray, Autodiff};
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cpu::{self, BLOCK, TILE};
use super::reference::filter_bank_reference;
use super::{filter_bank, BankLayout};
use crate::model::arch::{FilterGroup, PoolExtent};
use crate::model::host::{ndarray_f32_ref, Dims};

type Cpu = NdArray<f32>;
type Ad = Autodiff<Cpu>;

fn uniform(rng: &mut ChaCha8Rng, len: usize, bound: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-bound..bound)).collect()
}

fn layout(
    groups: &[(usize, usize)],
    pool: PoolExtent,
    bands: usize,
    frames: usize,
) -> Arc<BankLayout> {
    let groups: Vec<FilterGroup> = groups
        .iter()
        .map(|&(width, count)| FilterGroup {
            height: 1,
            width,
            count,
        })
        .collect();
    Arc::new(BankLayout::new(&groups, pool, bands, frames).expect("valid test layout"))
}

fn values<const D: usize>(t: Tensor<Cpu, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 tensor")
}

/// Outputs and gradients `(y, dx, dw, db)` of `op` with a random linear loss.
type Op = fn(Tensor<Ad, 3>, Tensor<Ad, 1>, Tensor<Ad, 1>, &Arc<BankLayout>) -> Tensor<Ad, 3>;

struct Case {
    dims: Dims,
    layout: Arc<BankLayout>,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    r: Vec<f32>,
}

impl Case {
    fn random(seed: u64, dims: Dims, groups: &[(usize, usize)], pool: PoolExtent) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layout = layout(groups, pool, dims.bands, dims.frames);
        let out_len = dims.batch * layout.filters() * layout.pooled_bands(dims.bands);
        Self {
            x: uniform(&mut rng, dims.batch * dims.bands * dims.frames, 1.0),
            w: uniform(&mut rng, layout.taps(), 0.5),
            b: uniform(&mut rng, layout.filters(), 0.3),
            r: uniform(&mut rng, out_len, 1.0),
            dims,
            layout,
        }
    }

    fn run(&self, op: Op, track_x: bool) -> [Vec<f32>; 4] {
        let dev = Default::default();
        let Dims {
            batch,
            bands,
            frames,
        } = self.dims;
        let x = Tensor::<Ad, 3>::from_data(
            TensorData::new(self.x.clone(), [batch, bands, frames]),
            &dev,
        );
        let x = if track_x { x.require_grad() } else { x };
        let w = Tensor::<Ad, 1>::from_data(TensorData::new(self.w.clone(), [self.w.len()]), &dev)
            .require_grad();
        let b = Tensor::<Ad, 1>::from_data(TensorData::new(self.b.clone(), [self.b.len()]), &dev)
            .require_grad();
        let y = op(x.clone(), w.clone(), b.clone(), &self.layout);
        let r = Tensor::<Ad, 3>::from_data(TensorData::new(self.r.clone(), y.dims()), &dev);
        let grads = (y.clone() * r).sum().backward();
        let dx = x.grad(&grads).map(values).unwrap_or_default();
        let dw = values(w.grad(&grads).expect("w is tracked"));
        let db = values(b.grad(&grads).expect("bias is tracked"));
        [values(y.inner()), dx, dw, db]
    }
}

fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= tol, "{what}: max abs diff {worst} > {tol}");
}

/// An input shape, its filter groups `(count, width)` and the band pooling.
type Shape = (Dims, &'static [(usize, usize)], PoolExtent);

const SHAPES: [Shape; 4] = [
    (
        Dims {
            batch: 3,
            bands: 8,
            frames: 30,
        },
        &[(5, 4)],
        PoolExtent::Factor(4),
    ),
    (
        Dims {
            batch: 2,
            bands: 12,
            frames: 50,
        },
        &[(6, 3), (11, 2), (21, 1), (3, 5)],
        PoolExtent::Factor(4),
    ),
    (
        Dims {
            batch: 2,
            bands: 6,
            frames: 20,
        },
        &[(20, 2), (1, 1)],
        PoolExtent::Factor(1),
    ),
    (
        Dims {
            batch: 2,
            bands: 10,
            frames: 61,
        },
        &[(7, 9), (31, 3)],
        PoolExtent::All,
    ),
];

#[test]
fn fused_matches_the_generic_reference() {
    for (i, &(dims, groups, pool)) in SHAPES.iter().enumerate() {
        let case = Case::random(i as u64, dims, groups, pool);
        for track_x in [false, true] {
            let fused = case.run(filter_bank, track_x);
            let reference = case.run(filter_bank_reference, track_x);
            for (name, (a, b)) in ["y", "dx", "dw", "dbias"]
                .iter()
                .zip(fused.iter().zip(&reference))
            {
                assert_close(
                    &format!("shape {i} {name} (dx tracked: {track_x})"),
                    a,
                    b,
                    1e-5,
                );
            }
            assert!(
                fused[0].iter().any(|&v| v > 0.0),
                "shape {i}: some outputs active"
            );
            assert_eq!(fused[1].is_empty(), !track_x);
        }
    }
}

/// Central differences of the linear loss `Σ r·y` in the weights and biases.
/// The loss is piecewise linear in them: while no arg-max changes (checked,
/// parameters whose perturbation moves an arg-max are skipped) the quotient
/// is exact up to f32 rounding of the outputs (≈ 1e-6 summed), divided by
/// 2·eps = 2e-2, hence a 1e-3 tolerance.
#[test]
fn gradients_match_finite_differences() {
    let (dims, groups, pool) = SHAPES[1];
    let case = Case::random(42, dims, groups, pool);
    let [_, _, dw, db] = case.run(filter_bank, false);
    let (y0, arg0) = cpu::forward(&case.x, dims, &case.w, &case.b, &case.layout);
    let active = |y: &[f32]| y.iter().map(|&v| v > 0.0).collect::<Vec<_>>();
    let active0 = active(&y0);
    let loss = |w: &[f32], b: &[f32]| -> Option<f64> {
        let (y, arg) = cpu::forward(&case.x, dims, w, b, &case.layout);
        (arg == arg0 && active(&y) == active0)
            .then(|| y.iter().zip(&case.r).map(|(a, r)| f64::from(a * r)).sum())
    };
    let eps = 1e-2f32;
    let (mut checked, mut total) = (0, 0);
    for (params, analytic, is_w) in [(&case.w, &dw, true), (&case.b, &db, false)] {
        for i in 0..params.len() {
            let (mut plus, mut minus) = (params.clone(), params.clone());
            plus[i] += eps;
            minus[i] -= eps;
            let (lp, lm) = if is_w {
                (loss(&plus, &case.b), loss(&minus, &case.b))
            } else {
                (loss(&case.w, &plus), loss(&case.w, &minus))
            };
            total += 1;
            if let (Some(lp), Some(lm)) = (lp, lm) {
                let numeric = ((lp - lm) / (2.0 * f64::from(eps))) as f32;
                assert!(
                    (numeric - analytic[i]).abs() < 1e-3,
                    "param {i}: {numeric} vs {}",
                    analytic[i]
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked * 5 >= total * 4,
        "only {checked} of {total} parameters were checkable"
    );
}

#[test]
fn ties_pick_the_first_window_and_band() {
    let dims = Dims {
        batch: 1,
        bands: 4,
        frames: 60,
    };
    let period = 7;
    let row: Vec<f32> = (0..dims.frames)
        .map(|t| ((t % period) as f32 * 0.37).sin())
        .collect();
    // Bands 1 and 2 are identical periodic rows; bands 0 and 3 are all negative.
    let mut x = vec![-1.0f32; dims.bands * dims.frames];
    x[dims.frames..3 * dims.frames].copy_from_slice(&[row.clone(), row].concat());
    let layout = layout(&[(5, 3), (9, 2)], PoolExtent::All, dims.bands, dims.frames);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w = uniform(&mut rng, layout.taps(), 1.0);
    let (_, arg) = cpu::forward(&x, dims, &w, &vec![0.0; layout.filters()], &layout);
    for (k, &a) in arg.iter().enumerate() {
        let (band, start) = (a as usize / dims.frames, a as usize % dims.frames);
        assert!(
            band <= 1,
            "filter {k}: band {band} (ties go to the first band, or band 0)"
        );
        if band == 1 {
            assert!(
                start < period,
                "filter {k}: window {start} is not the first of its period"
            );
        }
    }
}

#[test]
fn dead_relu_passes_no_gradient() {
    let (dims, groups, pool) = SHAPES[0];
    let mut case = Case::random(5, dims, groups, pool);
    case.b.iter_mut().for_each(|b| *b = -100.0);
    let [y, dx, dw, db] = case.run(filter_bank, true);
    assert!(y.iter().all(|&v| v == 0.0));
    for g in [dx, dw, db] {
        assert!(g.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn simd_and_portable_kernels_agree_bit_for_bit() {
    let dims = Dims {
        batch: 2,
        bands: 8,
        frames: 250,
    };
    let groups = [(6, 5), (11, 5), (46, 1), (51, 1), (216, 2), (1, 3)];
    let case = Case::random(9, dims, &groups, PoolExtent::Factor(4));
    let (y_simd, a_simd) = cpu::forward(&case.x, dims, &case.w, &case.b, &case.layout);
    let (y_port, a_port) = cpu::forward_portable(&case.x, dims, &case.w, &case.b, &case.layout);
    assert_eq!(a_simd, a_port);
    assert!(y_simd
        .iter()
        .zip(&y_port)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    const { assert!(TILE % 8 == 0 && BLOCK > 1) };
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (dims, groups, pool) = SHAPES[1];
    let case = Case::random(17, dims, groups, pool);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| case.run(filter_bank, true))
    };
    let (one, two) = (run(1), run(2));
    for (a, b) in one.iter().zip(&two) {
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn host_copies_of_shared_and_strided_tensors_match_burns_into_data() {
    let device = Default::default();
    let values: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    let x = Tensor::<Cpu, 3>::from_data(TensorData::new(values.clone(), [2, 3, 4]), &device);
    // Shared (a clone stays alive, as the autodiff graph keeps the input):
    // the borrowing path.
    let kept = x.clone();
    let x = x.into_primitive().tensor();
    let (host, shape) = ndarray_f32_ref(&x);
    assert!(matches!(host, std::borrow::Cow::Borrowed(_)));
    assert_eq!((host.into_owned(), shape), (values, vec![2, 3, 4]));
    // Not in standard layout (transposed): the element-wise fallback, in
    // logical order.
    let swapped = kept.swap_dims(1, 2);
    let expected = swapped.clone().into_data().into_vec::<f32>().unwrap();
    let swapped = swapped.into_primitive().tensor();
    let (host, shape) = ndarray_f32_ref(&swapped);
    assert_eq!((host.into_owned(), shape), (expected, vec![2, 4, 3]));
}

/// [`super::reference::pooled_conv`]'s signature on the autodiff backend.
type PooledConv =
    fn(Tensor<Ad, 4>, Tensor<Ad, 4>, Tensor<Ad, 1>, PoolExtent, PoolExtent) -> Tensor<Ad, 4>;

#[test]
fn the_matrix_product_form_matches_conv2d() {
    use super::reference::{pooled_conv, pooled_conv_gemm};
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    // (bands, frames, count, height, width, pool over bands, pool over frames):
    // a 2-D bank, a time bank pooled over all bands (CBMI "Time"), a
    // frequency bank pooled over all frames, and remainders dropped by pooling.
    let cases = [
        (
            12,
            20,
            4,
            3,
            5,
            PoolExtent::Factor(2),
            PoolExtent::Factor(3),
        ),
        (10, 24, 3, 1, 7, PoolExtent::All, PoolExtent::Factor(1)),
        (16, 9, 5, 6, 1, PoolExtent::Factor(1), PoolExtent::All),
        (7, 11, 2, 2, 2, PoolExtent::Factor(4), PoolExtent::Factor(4)),
    ];
    for (bands, frames, count, height, width, pf, pt) in cases {
        let batch = 3;
        let x = Tensor::<Ad, 4>::from_data(
            TensorData::new(
                uniform(&mut rng, batch * bands * frames, 1.0),
                [batch, 1, bands, frames],
            ),
            &device,
        );
        let w_data = TensorData::new(
            uniform(&mut rng, count * height * width, 0.5),
            [count, 1, height, width],
        );
        let b_data = TensorData::new(uniform(&mut rng, count, 0.1), [count]);
        let run = |f: PooledConv| {
            let w = Tensor::<Ad, 4>::from_data(w_data.clone(), &device).require_grad();
            let b = Tensor::<Ad, 1>::from_data(b_data.clone(), &device).require_grad();
            let y = f(x.clone(), w.clone(), b.clone(), pf, pt);
            let dims = y.dims();
            // A weighted sum, so every output's gradient differs.
            let n = dims.iter().product::<usize>();
            let weights: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32 * 0.25).collect();
            let loss = (y.clone()
                * Tensor::<Ad, 1>::from_data(TensorData::new(weights, [n]), &device).reshape(dims))
            .sum();
            let grads = loss.backward();
            let flat = |t: Tensor<Cpu, 1>| t.into_data().into_vec::<f32>().unwrap();
            (
                dims,
                flat(y.inner().flatten::<1>(0, 3)),
                flat(w.grad(&grads).unwrap().flatten::<1>(0, 3)),
                flat(b.grad(&grads).unwrap()),
            )
        };
        let (dims_c, y_c, dw_c, db_c) = run(pooled_conv);
        let (dims_g, y_g, dw_g, db_g) = run(pooled_conv_gemm);
        assert_eq!(dims_c, dims_g);
        assert_close("output", &y_c, &y_g, 1e-5);
        assert_close("weight gradient", &dw_c, &dw_g, 1e-4);
        assert_close("bias gradient", &db_c, &db_g, 1e-4);
    }
}
