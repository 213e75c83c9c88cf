//! The pooled convolution on a GPU (any CubeCL runtime: CUDA, wgpu): CubeCL
//! kernels and [`PooledConvBackend`] for `CubeBackend`, beside the CPU path
//! (`cpu/`) and cross-checked against it (tests/suite/gpu.rs).
//!
//! - Forward: one invocation per pooled output `(b, f, pr, pc)` scans its
//!   pool window in (row, column) order, computing each convolution output
//!   there, and keeps the first maximum; bias and ReLU follow (the same
//!   arg-max and values as ReLU before the pool: both are monotone). The full
//!   convolution output is never written to memory.
//! - Backward: one invocation per filter tap (`dweight`), per filter
//!   (`dbias`, the fused op's kernel) and per input value (`dx`, only when
//!   asked), each summing over
//!   the active pooled outputs (positive, so the ReLU passes gradient) in a
//!   fixed order: no atomics, deterministic.
//!
//! Layouts as in [`super`]: `x` `[batch, bands, frames]`, `weight`
//! `[count, 1, height, width]`, output and arg-max
//! `[batch, count, pooled_rows, pooled_cols]`, arg-max `row * cols + col`.

use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::Shape;
use burn_cubecl::{
    element::BoolElement, kernel::into_contiguous, ops::reshape, tensor::CubeTensor, CubeBackend,
    CubeRuntime, FloatElement, IntElement,
};
use cubecl::prelude::*;

use super::{OpGrads, PooledConvBackend, PooledLayout, PooledShape};
use crate::model::fused::kernel::{backward_bias_kernel, elementwise, empty, BELOW_ANY_SUM};

/// The most loop iterations one invocation of each kernel runs for `layout`
/// on a `[batch, bands, frames]` input, by kernel name: what a device with a
/// loop cap (lavapipe: 65,535) is checked against.
pub fn loop_iterations(
    layout: &PooledLayout,
    batch: usize,
    bands: usize,
    frames: usize,
) -> Vec<(&'static str, usize)> {
    let shape = layout.shape(bands, frames);
    let pooled = shape.pooled_rows * shape.pooled_cols;
    vec![
        (
            "pooled forward",
            shape.window_rows * shape.window_cols * layout.taps(),
        ),
        ("pooled weight gradient", batch * pooled),
        ("pooled bias gradient", batch * pooled),
        ("pooled input gradient", layout.count * layout.taps()),
    ]
}

/// Forward: one invocation per pooled output (see the module docs).
#[cube(launch)]
fn forward_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    argmax: &mut Tensor<I>,
    window_rows: u32,
    window_cols: u32,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= out.len() {
        terminate!();
    }
    let filters = out.shape(1);
    let pooled_rows = out.shape(2);
    let pooled_cols = out.shape(3);
    let bands = x.shape(1);
    let frames = x.shape(2);
    let height = w.shape(2);
    let width = w.shape(3);
    let cols = frames - width + 1;
    let taps = height * width;
    let (wr, wc) = (window_rows as usize, window_cols as usize);
    let pc = ABSOLUTE_POS % pooled_cols;
    let pr = (ABSOLUTE_POS / pooled_cols) % pooled_rows;
    let f = (ABSOLUTE_POS / (pooled_cols * pooled_rows)) % filters;
    let b = ABSOLUTE_POS / (pooled_cols * pooled_rows * filters);
    let mut best = F::new(BELOW_ANY_SUM);
    let mut best_i = 0usize;
    for dr in 0..wr {
        for dc in 0..wc {
            let r = pr * wr + dr;
            let c = pc * wc + dc;
            let mut acc = F::new(0.0);
            for i in 0..height {
                let row = (b * bands + r + i) * frames + c;
                let tap = f * taps + i * width;
                for j in 0..width {
                    acc += w[tap + j] * x[row + j];
                }
            }
            if acc > best {
                best = acc;
                best_i = r * cols + c;
            }
        }
    }
    out[ABSOLUTE_POS] = F::max(best + bias[f], F::new(0.0));
    argmax[ABSOLUTE_POS] = I::cast_from(best_i);
}

/// `dweight`: one invocation per tap `(f, i, j)`.
#[cube(launch)]
fn weight_grad_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    out: &Tensor<F>,
    argmax: &Tensor<I>,
    grad: &Tensor<F>,
    dw: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= dw.len() {
        terminate!();
    }
    let batch = out.shape(0);
    let filters = out.shape(1);
    let pooled = out.shape(2) * out.shape(3);
    let bands = x.shape(1);
    let frames = x.shape(2);
    let height = dw.shape(2);
    let width = dw.shape(3);
    let cols = frames - width + 1;
    let taps = height * width;
    let f = ABSOLUTE_POS / taps;
    let i = (ABSOLUTE_POS % taps) / width;
    let j = ABSOLUTE_POS % width;
    let mut acc = F::new(0.0);
    for b in 0..batch {
        for p in 0..pooled {
            let o = (b * filters + f) * pooled + p;
            if out[o] > F::new(0.0) {
                let pos = u32::cast_from(argmax[o]) as usize;
                let (r, c) = (pos / cols, pos % cols);
                acc += grad[o] * x[(b * bands + r + i) * frames + c + j];
            }
        }
    }
    dw[ABSOLUTE_POS] = acc;
}

/// `dx`: one invocation per input value `(b, y, t)`, summing over the
/// convolution outputs whose window covers it and that won their pool.
#[cube(launch)]
fn input_grad_kernel<F: Float, I: Int>(
    w: &Tensor<F>,
    out: &Tensor<F>,
    argmax: &Tensor<I>,
    grad: &Tensor<F>,
    dx: &mut Tensor<F>,
    window_rows: u32,
    window_cols: u32,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= dx.len() {
        terminate!();
    }
    let filters = out.shape(1);
    let pooled_rows = out.shape(2);
    let pooled_cols = out.shape(3);
    let bands = dx.shape(1);
    let frames = dx.shape(2);
    let height = w.shape(2);
    let width = w.shape(3);
    let rows = bands - height + 1;
    let cols = frames - width + 1;
    let (wr, wc) = (window_rows as usize, window_cols as usize);
    let t = ABSOLUTE_POS % frames;
    let y = (ABSOLUTE_POS / frames) % bands;
    let b = ABSOLUTE_POS / (frames * bands);
    let mut acc = F::new(0.0);
    for f in 0..filters {
        for i in 0..height {
            for j in 0..width {
                // The convolution output at (y - i, t - j), when it exists
                // and lies in a pooled window.
                if y >= i && t >= j && y - i < rows && t - j < cols {
                    let (r, c) = (y - i, t - j);
                    let (pr, pc) = (r / wr, c / wc);
                    if pr < pooled_rows && pc < pooled_cols {
                        let o = ((b * filters + f) * pooled_rows + pr) * pooled_cols + pc;
                        let won = u32::cast_from(argmax[o]) as usize == r * cols + c;
                        if won && out[o] > F::new(0.0) {
                            acc += grad[o] * w[(f * height + i) * width + j];
                        }
                    }
                }
            }
        }
    }
    dx[ABSOLUTE_POS] = acc;
}

/// A contiguous `[batch, count, rows, cols]` tensor viewed as
/// `[batch, count, rows * cols]` (no copy).
fn per_filter<R: CubeRuntime>(t: CubeTensor<R>) -> CubeTensor<R> {
    let [batch, count, rows, cols] = t.meta.shape().dims::<4>();
    reshape(t, Shape::new([batch, count, rows * cols]))
}

/// The pool windows of `shape` as kernel scalars.
fn windows(shape: &PooledShape) -> (u32, u32) {
    (shape.window_rows as u32, shape.window_cols as u32)
}

impl<R, F, I, BT> PooledConvBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn pooled_conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &PooledLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (x, weight, bias) = (
            into_contiguous(x),
            into_contiguous(weight),
            into_contiguous(bias),
        );
        let [batch, bands, frames] = x.meta.shape().dims::<3>();
        let shape = layout.shape(bands, frames);
        let dims = vec![batch, layout.count, shape.pooled_rows, shape.pooled_cols];
        let out = empty(&x, dims.clone(), x.dtype);
        let argmax = empty(&x, dims, I::dtype());
        let (cubes, cube_dim) = elementwise(&out, out.meta.num_elements());
        let (window_rows, window_cols) = windows(&shape);
        let dtypes = [x.dtype.into(), argmax.dtype.into()];
        forward_kernel::launch::<R>(
            &x.client.clone(),
            cubes,
            cube_dim,
            x.into_tensor_arg(),
            weight.into_tensor_arg(),
            bias.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            argmax.clone().into_tensor_arg(),
            window_rows,
            window_cols,
            dtypes,
        );
        (out, argmax)
    }

    fn pooled_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &PooledLayout,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let (x, weight) = (into_contiguous(x), into_contiguous(weight));
        let (output, argmax, grad) = (
            into_contiguous(output),
            into_contiguous(argmax),
            into_contiguous(grad),
        );
        let client = x.client.clone();
        let dtypes = [x.dtype.into(), argmax.dtype.into()];
        let [_, bands, frames] = x.meta.shape().dims::<3>();
        let (window_rows, window_cols) = windows(&layout.shape(bands, frames));

        let dw_shape = vec![layout.count, 1, layout.height, layout.width];
        let dw = empty(&x, dw_shape, x.dtype);
        let (cubes, cube_dim) = elementwise(&x, dw.meta.num_elements());
        weight_grad_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            x.clone().into_tensor_arg(),
            output.clone().into_tensor_arg(),
            argmax.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            dw.clone().into_tensor_arg(),
            dtypes,
        );

        // The fused op's bias kernel, over the pooled outputs as one axis.
        let db = empty(&x, vec![layout.count], x.dtype);
        let (cubes, cube_dim) = elementwise(&x, layout.count);
        backward_bias_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            per_filter(output.clone()).into_tensor_arg(),
            per_filter(grad.clone()).into_tensor_arg(),
            db.clone().into_tensor_arg(),
            x.dtype.into(),
        );

        let dx = need_dx.then(|| {
            let dx = empty(&x, x.meta.shape().dims::<3>().to_vec(), x.dtype);
            let (cubes, cube_dim) = elementwise(&x, x.meta.num_elements());
            input_grad_kernel::launch::<R>(
                &client,
                cubes,
                cube_dim,
                weight.into_tensor_arg(),
                output.into_tensor_arg(),
                argmax.into_tensor_arg(),
                grad.into_tensor_arg(),
                dx.clone().into_tensor_arg(),
                window_rows,
                window_cols,
                dtypes,
            );
            dx
        });
        OpGrads {
            x: dx,
            weight: dw,
            bias: db,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::adapter::SOFTWARE_LOOP_CAP;
    use crate::model::net::{bank_path, BankPath};
    use crate::model::paper;

    #[test]
    fn every_pooled_table1_bank_fits_a_software_device_at_batch_50() {
        let mut checked = 0;
        for (name, arch) in paper::table1() {
            for bank in &arch.banks {
                let Ok(BankPath::Pooled(layouts)) = bank_path(bank, &arch) else {
                    continue;
                };
                for layout in &layouts {
                    for (kernel, n) in loop_iterations(layout, 50, arch.bands, arch.frames) {
                        assert!(n <= SOFTWARE_LOOP_CAP, "{name} {}: {kernel} {n}", bank.name);
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 4, "Time, Time-freq's two banks, Black-box");
    }
}
