//! Cross-checks of the pooled convolution: the CPU path and the generic
//! default path (what CUDA runs) against burn's `conv2d` + ReLU +
//! `max_pool2d` reference, outputs and every gradient, on the baselines'
//! shapes and on shapes with pooling remainders; dead ReLUs; thread-count
//! independence.

use burn::backend::{ndarray::NdArray, Autodiff};
use burn::tensor::{ops::FloatTensor, Tensor, TensorData, TensorPrimitive};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{generic, pooled_conv, PooledLayout};
use crate::model::arch::PoolExtent;
use crate::model::fused::reference::pooled_conv as reference;

type Cpu = NdArray<f32>;
type Ad = Autodiff<Cpu>;

/// `[batch, bands, frames]`, the layout.
type Shape = ([usize; 3], PooledLayout);

const fn layout(count: usize, height: usize, width: usize, pool: [PoolExtent; 2]) -> PooledLayout {
    PooledLayout {
        count,
        height,
        width,
        pool_freq: pool[0],
        pool_time: pool[1],
    }
}

use PoolExtent::{All, Factor};

const SHAPES: [Shape; 7] = [
    // Time baseline: 1×60 on 40 × 80, pooled over all bands, none in time.
    ([3, 40, 80], layout(6, 1, 60, [All, Factor(1)])),
    // Time-freq's frequency bank: 32×1, pooled over all frames.
    ([2, 40, 80], layout(5, 32, 1, [Factor(1), All])),
    // Black-box: 12×8, pooled 4 × 1 (29 rows: a trailing row dropped); 9
    // filters, so the pooling scans a full set of lanes and a remainder.
    ([2, 40, 80], layout(9, 12, 8, [Factor(4), Factor(1)])),
    // One frame wide (patches read in place) with a small pool window (the
    // dense weight gradient), and more filters than one set of lanes.
    ([3, 10, 12], layout(17, 3, 1, [Factor(2), Factor(2)])),
    // Remainders on both axes.
    ([3, 9, 17], layout(3, 2, 3, [Factor(3), Factor(4)])),
    // One output per filter.
    ([2, 6, 11], layout(7, 3, 5, [All, All])),
    // A filter as large as the input.
    ([2, 4, 6], layout(2, 4, 6, [Factor(1), Factor(1)])),
];

fn uniform(rng: &mut ChaCha8Rng, len: usize, bound: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-bound..bound)).collect()
}

fn values<B: burn::tensor::backend::Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 tensor")
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

/// Random inputs, weights, biases and a random linear loss on the output.
struct Case {
    dims: [usize; 3],
    layout: PooledLayout,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    r: Vec<f32>,
}

/// `(y, dx, dw, db)`.
type Results = [Vec<f32>; 4];

impl Case {
    fn random(seed: u64, (dims, layout): Shape) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = layout.shape(dims[1], dims[2]);
        let out_len = dims[0] * layout.count * s.pooled_rows * s.pooled_cols;
        Self {
            x: uniform(&mut rng, dims.iter().product(), 1.0),
            w: uniform(&mut rng, layout.count * layout.taps(), 0.5),
            // Negative biases leave some outputs dead (ReLU at zero).
            b: uniform(&mut rng, layout.count, 0.8),
            r: uniform(&mut rng, out_len, 1.0),
            dims,
            layout,
        }
    }

    fn tensors<B: burn::tensor::backend::Backend>(
        &self,
    ) -> (Tensor<B, 3>, Tensor<B, 4>, Tensor<B, 1>) {
        let dev = Default::default();
        let l = &self.layout;
        (
            Tensor::from_data(TensorData::new(self.x.clone(), self.dims), &dev),
            Tensor::from_data(
                TensorData::new(self.w.clone(), [l.count, 1, l.height, l.width]),
                &dev,
            ),
            Tensor::from_data(TensorData::new(self.b.clone(), [l.count]), &dev),
        )
    }

    /// Outputs and gradients of `op` on the autodiff backend.
    fn run(
        &self,
        op: impl Fn(Tensor<Ad, 3>, Tensor<Ad, 4>, Tensor<Ad, 1>) -> Tensor<Ad, 4>,
    ) -> Results {
        let (x, w, b) = self.tensors::<Ad>();
        let (x, w, b) = (x.require_grad(), w.require_grad(), b.require_grad());
        let y = op(x.clone(), w.clone(), b.clone());
        let r = Tensor::<Ad, 4>::from_data(TensorData::new(self.r.clone(), y.dims()), &y.device());
        let grads = (y.clone() * r).sum().backward();
        [
            values(y.inner()),
            values(x.grad(&grads).expect("x is tracked")),
            values(w.grad(&grads).expect("w is tracked")),
            values(b.grad(&grads).expect("bias is tracked")),
        ]
    }

    /// The reference: `conv2d` + ReLU + `max_pool2d`, differentiated by burn.
    fn reference(&self) -> Results {
        let l = self.layout;
        self.run(|x, w, b| reference(x.unsqueeze_dim(1), w, b, l.pool_freq, l.pool_time))
    }

    /// The generic default methods called directly on `NdArray`.
    fn generic(&self) -> Results {
        let (x, w, b) = self.tensors::<Cpu>();
        let prim =
            |t: FloatTensor<Cpu>| Tensor::<Cpu, 4>::from_primitive(TensorPrimitive::Float(t));
        let (x, w, b) = (
            x.into_primitive().tensor(),
            w.into_primitive().tensor(),
            b.into_primitive().tensor(),
        );
        let (y, arg) = generic::forward::<Cpu>(x.clone(), w.clone(), b, &self.layout);
        let y = prim(y);
        let r = Tensor::<Cpu, 4>::from_data(TensorData::new(self.r.clone(), y.dims()), &y.device());
        let g = generic::backward::<Cpu>(
            x,
            w,
            y.clone().into_primitive().tensor(),
            arg,
            r.into_primitive().tensor(),
            &self.layout,
            true,
        );
        let flat = |t: FloatTensor<Cpu>| prim(t).into_data().to_vec::<f32>().expect("f32");
        [
            values(y),
            flat(g.x.expect("dx was asked for")),
            flat(g.weight),
            flat(g.bias),
        ]
    }
}

fn assert_results(what: &str, a: &Results, b: &Results) {
    for (name, (x, y)) in ["y", "dx", "dw", "db"].iter().zip(a.iter().zip(b)) {
        assert_close(
            &format!("{what} {name}"),
            x,
            y,
            2e-5 * (1.0 + y.len() as f32).sqrt(),
        );
    }
}

#[test]
fn cpu_path_matches_the_reference_forward_and_backward() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let case = Case::random(i as u64, shape);
        let l = case.layout;
        let ours = case.run(|x, w, b| pooled_conv(x, w, b, &l));
        assert_results(&format!("shape {i}"), &ours, &case.reference());
    }
}

#[test]
fn generic_path_matches_the_reference_forward_and_backward() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let case = Case::random(100 + i as u64, shape);
        assert_results(&format!("shape {i}"), &case.generic(), &case.reference());
    }
}

#[test]
fn dead_outputs_pass_no_gradient() {
    let mut case = Case::random(7, SHAPES[2]);
    case.b.iter_mut().for_each(|b| *b = -100.0);
    let l = case.layout;
    let [y, dx, dw, db] = case.run(|x, w, b| pooled_conv(x, w, b, &l));
    for (name, v) in [("y", y), ("dx", dx), ("dw", dw), ("db", db)] {
        assert!(v.iter().all(|&v| v == 0.0), "{name} is not all zero");
    }
}

#[test]
fn untracked_input_gets_no_dx_and_the_same_weight_gradients() {
    let case = Case::random(11, SHAPES[0]);
    let (x, w, b) = case.tensors::<Ad>();
    let (w, b) = (w.require_grad(), b.require_grad());
    let y = pooled_conv(x, w.clone(), b, &case.layout);
    let r = Tensor::<Ad, 4>::from_data(TensorData::new(case.r.clone(), y.dims()), &y.device());
    let grads = (y * r).sum().backward();
    let tracked = case.run(|x, w, b| pooled_conv(x, w, b, &case.layout));
    assert_eq!(values(w.grad(&grads).expect("w is tracked")), tracked[2]);
}

#[test]
fn cpu_results_do_not_depend_on_the_thread_count() {
    let case = Case::random(3, ([8, 40, 80], layout(6, 12, 8, [Factor(4), Factor(1)])));
    let l = case.layout;
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool");
        pool.install(|| case.run(|x, w, b| pooled_conv(x, w, b, &l)))
    };
    assert_eq!(run(1), run(3));
}
