//! The dense op against burn's `matmul` (its own default methods, which the
//! CUDA backend runs): outputs and every gradient, on shapes that split the
//! products by rows and by columns; and thread-count independence.

use burn::backend::{ndarray::NdArray, Autodiff};
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dense;

type Ad = Autodiff<NdArray<f32>>;

/// `(batch, in, out)`: a wide layer (split by columns), a tall product (by
/// rows), sizes that leave partial blocks, one output.
const SHAPES: [(usize, usize, usize); 4] = [(50, 700, 200), (3, 37, 53), (70, 5, 9), (4, 33, 1)];

/// `(y, dx, dw, db)` of `x · w + b` under a random linear loss, through the
/// dense op or through burn's `matmul`.
fn run(seed: u64, (batch, inputs, outputs): (usize, usize, usize), op: bool) -> [Vec<f32>; 4] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut uniform =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let dev = Default::default();
    let x = Tensor::<Ad, 2>::from_data(
        TensorData::new(uniform(batch * inputs), [batch, inputs]),
        &dev,
    );
    let w = Tensor::<Ad, 2>::from_data(
        TensorData::new(uniform(inputs * outputs), [inputs, outputs]),
        &dev,
    );
    let b = Tensor::<Ad, 1>::from_data(TensorData::new(uniform(outputs), [outputs]), &dev);
    let r = Tensor::<Ad, 2>::from_data(
        TensorData::new(uniform(batch * outputs), [batch, outputs]),
        &dev,
    );
    let (x, w, b) = (x.require_grad(), w.require_grad(), b.require_grad());
    let y = if op {
        dense(x.clone(), w.clone(), b.clone())
    } else {
        x.clone().matmul(w.clone()) + b.clone().unsqueeze()
    };
    let grads = (y.clone() * r).sum().backward();
    let values = |t: Tensor<NdArray<f32>, 2>| t.into_data().to_vec::<f32>().expect("f32");
    [
        values(y.inner()),
        values(x.grad(&grads).expect("x is tracked")),
        values(w.grad(&grads).expect("w is tracked")),
        b.grad(&grads)
            .expect("b is tracked")
            .into_data()
            .to_vec::<f32>()
            .expect("f32"),
    ]
}

#[test]
fn dense_op_matches_matmul_forward_and_backward() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let (ours, theirs) = (run(i as u64, shape, true), run(i as u64, shape, false));
        for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(ours.iter().zip(&theirs)) {
            assert_eq!(a.len(), b.len(), "shape {i} {name}: lengths");
            let worst = a
                .iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-4, "shape {i} {name}: max abs diff {worst}");
        }
    }
}

#[test]
fn dense_results_do_not_depend_on_the_thread_count() {
    let run_with = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool");
        pool.install(|| SHAPES.map(|shape| run(9, shape, true)))
    };
    assert_eq!(run_with(1), run_with(4));
}
