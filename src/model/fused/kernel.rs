//! The fused filter bank on CUDA (any CubeCL runtime): CubeCL kernels and
//! [`FilterBankBackend`] for `CubeBackend` (burn's `Cuda` without fusion).
//!
//! - Forward, shared-memory kernel: one cube per (example, band group); the
//!   group's input rows are loaded once into shared memory, then each thread
//!   scans every window of its filters (threads stride over filters) and
//!   writes the output and arg-max directly (no cross-thread reduction).
//!   Used when the rows fit in [`SHARED_ROWS_MAX_FLOATS`]; otherwise the
//!   global-memory kernel runs one thread per output.
//! - Backward: one thread per packed tap (`dweight`), one per filter
//!   (`dbias`), one per input value (`dx`, only when asked). Each thread
//!   sums over (example, group) in a fixed order: no atomics, deterministic.
//!
//! Ties and dead ReLUs follow the CPU kernel (first maximum in (band, frame)
//! order; no gradient where the output is zero). Window sums use the GPU's
//! own multiply-add order, so values agree with the CPU to rounding (the
//! cross-check tolerance is 1e-4), not bit for bit.

use burn::tensor::{
    ops::{FloatTensor, IntTensor, IntTensorOps},
    Shape, TensorData,
};
use burn_cubecl::{
    element::BoolElement, kernel::into_contiguous, ops::numeric::empty_device_contiguous_dtype,
    tensor::CubeTensor, CubeBackend, CubeRuntime, FloatElement, IntElement,
};
use cubecl::{calculate_cube_count_elemwise, prelude::*};

use super::{BankLayout, FilterBankBackend, OpGrads};

/// Largest `pool × frames` block staged in shared memory (32 KiB of f32,
/// within every CUDA GPU's default 48 KiB per block).
pub const SHARED_ROWS_MAX_FLOATS: usize = 8 * 1024;
/// Threads per cube of the shared-memory forward kernel.
const FORWARD_CUBE_THREADS: u32 = 128;
/// A value below every window sum (finite: NVRTC-safe literal).
const BELOW_ANY_SUM: f32 = -3.0e38;

/// Forward with the band group's rows in shared memory.
#[cube(launch)]
fn forward_shared_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    bias: &Tensor<F>,
    widths: &Tensor<I>,
    offsets: &Tensor<I>,
    out: &mut Tensor<F>,
    argmax: &mut Tensor<I>,
    #[comptime] pool: usize,
    #[comptime] frames: usize,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    let filters = out.shape(1);
    let groups = out.shape(2);
    let cube = CUBE_POS_X as usize;
    let b = cube / groups;
    let g = cube % groups;
    let mut rows = SharedMemory::<F>::new(pool * frames);
    let base = b * x.stride(0) + g * pool * x.stride(1);
    let mut i = UNIT_POS_X as usize;
    while i < pool * frames {
        let m = i / frames;
        let t = i % frames;
        rows[i] = x[base + m * x.stride(1) + t * x.stride(2)];
        i += CUBE_DIM_X as usize;
    }
    sync_cube();
    let mut k = UNIT_POS_X as usize;
    while k < filters {
        let n = u32::cast_from(widths[k]) as usize;
        let off = u32::cast_from(offsets[k]) as usize;
        let mut best = F::new(BELOW_ANY_SUM);
        let mut best_i = 0usize;
        for m in 0..pool {
            for t in 0..frames - n + 1 {
                let mut acc = F::new(0.0);
                for j in 0..n {
                    acc += w[off + j] * rows[m * frames + t + j];
                }
                if acc > best {
                    best = acc;
                    best_i = (g * pool + m) * frames + t;
                }
            }
        }
        let o = b * out.stride(0) + k * out.stride(1) + g * out.stride(2);
        out[o] = F::max(best + bias[k], F::new(0.0));
        argmax[o] = I::cast_from(best_i);
        k += CUBE_DIM_X as usize;
    }
}

/// Forward reading global memory: one thread per (example, filter, group).
#[cube(launch)]
fn forward_global_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    bias: &Tensor<F>,
    widths: &Tensor<I>,
    offsets: &Tensor<I>,
    out: &mut Tensor<F>,
    argmax: &mut Tensor<I>,
    pool: u32,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= out.len() {
        terminate!();
    }
    let filters = out.shape(1);
    let groups = out.shape(2);
    let frames = x.shape(2);
    let pool = pool as usize;
    let g = ABSOLUTE_POS % groups;
    let k = (ABSOLUTE_POS / groups) % filters;
    let b = ABSOLUTE_POS / (groups * filters);
    let n = u32::cast_from(widths[k]) as usize;
    let off = u32::cast_from(offsets[k]) as usize;
    let mut best = F::new(BELOW_ANY_SUM);
    let mut best_i = 0usize;
    for mm in 0..pool {
        let m = g * pool + mm;
        let base = b * x.stride(0) + m * x.stride(1);
        for t in 0..frames - n + 1 {
            let mut acc = F::new(0.0);
            for j in 0..n {
                acc += w[off + j] * x[base + (t + j) * x.stride(2)];
            }
            if acc > best {
                best = acc;
                best_i = m * frames + t;
            }
        }
    }
    out[ABSOLUTE_POS] = F::max(best + bias[k], F::new(0.0));
    argmax[ABSOLUTE_POS] = I::cast_from(best_i);
}

/// `dweight`: one thread per packed tap. `x`, `out`, `argmax`, `grad` are contiguous.
#[cube(launch)]
fn backward_weight_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    out: &Tensor<F>,
    argmax: &Tensor<I>,
    grad: &Tensor<F>,
    tap_filter: &Tensor<I>,
    offsets: &Tensor<I>,
    dw: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= dw.len() {
        terminate!();
    }
    let batch = out.shape(0);
    let filters = out.shape(1);
    let groups = out.shape(2);
    let example = x.shape(1) * x.shape(2);
    let k = u32::cast_from(tap_filter[ABSOLUTE_POS]) as usize;
    let j = ABSOLUTE_POS - u32::cast_from(offsets[k]) as usize;
    let mut acc = F::new(0.0);
    for b in 0..batch {
        for g in 0..groups {
            let o = (b * filters + k) * groups + g;
            if out[o] > F::new(0.0) {
                let pos = u32::cast_from(argmax[o]) as usize;
                acc += grad[o] * x[b * example + pos + j];
            }
        }
    }
    dw[ABSOLUTE_POS] = acc;
}

/// `dbias`: one thread per filter.
#[cube(launch)]
fn backward_bias_kernel<F: Float>(
    out: &Tensor<F>,
    grad: &Tensor<F>,
    db: &mut Tensor<F>,
    #[define(F)] _dtype: StorageType,
) {
    if ABSOLUTE_POS >= db.len() {
        terminate!();
    }
    let batch = out.shape(0);
    let filters = out.shape(1);
    let groups = out.shape(2);
    let k = ABSOLUTE_POS;
    let mut acc = F::new(0.0);
    for b in 0..batch {
        for g in 0..groups {
            let o = (b * filters + k) * groups + g;
            if out[o] > F::new(0.0) {
                acc += grad[o];
            }
        }
    }
    db[k] = acc;
}

/// `dx`: one thread per input value, summing the windows that cover it.
#[cube(launch)]
fn backward_input_kernel<F: Float, I: Int>(
    w: &Tensor<F>,
    out: &Tensor<F>,
    argmax: &Tensor<I>,
    grad: &Tensor<F>,
    widths: &Tensor<I>,
    offsets: &Tensor<I>,
    dx: &mut Tensor<F>,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= dx.len() {
        terminate!();
    }
    let filters = out.shape(1);
    let groups = out.shape(2);
    let example = dx.shape(1) * dx.shape(2);
    let b = ABSOLUTE_POS / example;
    let e = ABSOLUTE_POS % example;
    let mut acc = F::new(0.0);
    for k in 0..filters {
        let n = u32::cast_from(widths[k]) as usize;
        let off = u32::cast_from(offsets[k]) as usize;
        for g in 0..groups {
            let o = (b * filters + k) * groups + g;
            let pos = u32::cast_from(argmax[o]) as usize;
            // A window never crosses a band, so e in [pos, pos + n) is inside it.
            if out[o] > F::new(0.0) && e >= pos && e < pos + n {
                acc += grad[o] * w[off + e - pos];
            }
        }
    }
    dx[ABSOLUTE_POS] = acc;
}

/// Uploads host indices as an int tensor of the backend.
fn int_tensor<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement>(
    values: Vec<i64>,
    device: &R::Device,
) -> CubeTensor<R> {
    let len = values.len();
    let data = TensorData::new(values, [len]).convert::<I>();
    <CubeBackend<R, F, I, BT> as IntTensorOps<CubeBackend<R, F, I, BT>>>::int_from_data(
        data, device,
    )
}

fn empty<R: CubeRuntime>(
    like: &CubeTensor<R>,
    shape: Vec<usize>,
    dtype: burn::tensor::DType,
) -> CubeTensor<R> {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::from(shape),
        dtype,
    )
}

fn elementwise<R: CubeRuntime>(like: &CubeTensor<R>, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(&like.client, units);
    (
        calculate_cube_count_elemwise(&like.client, units, cube_dim),
        cube_dim,
    )
}

fn as_i64(values: &[usize]) -> Vec<i64> {
    values.iter().map(|&v| v as i64).collect()
}

impl<R, F, I, BT> FilterBankBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn filter_bank_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &BankLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (x, weight, bias) = (
            into_contiguous(x),
            into_contiguous(weight),
            into_contiguous(bias),
        );
        let [batch, bands, frames] = x.meta.shape().dims::<3>();
        let (k, g, pool) = (
            layout.filters(),
            layout.pooled_bands(bands),
            layout.pool_size(bands),
        );
        let widths = int_tensor::<R, F, I, BT>(as_i64(layout.widths()), &x.device);
        let offsets = int_tensor::<R, F, I, BT>(as_i64(layout.offsets()), &x.device);
        let out = empty(&x, vec![batch, k, g], x.dtype);
        let argmax = empty(&x, vec![batch, k, g], I::dtype());
        let dtypes = [x.dtype.into(), argmax.dtype.into()];
        let client = x.client.clone();
        if pool * frames <= SHARED_ROWS_MAX_FLOATS {
            let cubes = CubeCount::Static((batch * g) as u32, 1, 1);
            forward_shared_kernel::launch::<R>(
                &client,
                cubes,
                CubeDim::new_1d(FORWARD_CUBE_THREADS),
                x.into_tensor_arg(),
                weight.into_tensor_arg(),
                bias.into_tensor_arg(),
                widths.into_tensor_arg(),
                offsets.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                argmax.clone().into_tensor_arg(),
                pool,
                frames,
                dtypes,
            );
        } else {
            let (cubes, cube_dim) = elementwise(&x, batch * k * g);
            forward_global_kernel::launch::<R>(
                &client,
                cubes,
                cube_dim,
                x.into_tensor_arg(),
                weight.into_tensor_arg(),
                bias.into_tensor_arg(),
                widths.into_tensor_arg(),
                offsets.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                argmax.clone().into_tensor_arg(),
                pool as u32,
                dtypes,
            );
        }
        (out, argmax)
    }

    fn filter_bank_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &BankLayout,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let x = into_contiguous(x);
        let (output, argmax, grad) = (
            into_contiguous(output),
            into_contiguous(argmax),
            into_contiguous(grad),
        );
        let client = x.client.clone();
        let dtypes = [x.dtype.into(), argmax.dtype.into()];
        let tap_filter: Vec<i64> = layout
            .widths()
            .iter()
            .enumerate()
            .flat_map(|(k, &n)| std::iter::repeat_n(k as i64, n))
            .collect();
        let tap_filter = int_tensor::<R, F, I, BT>(tap_filter, &x.device);
        let offsets = int_tensor::<R, F, I, BT>(as_i64(layout.offsets()), &x.device);
        let widths = int_tensor::<R, F, I, BT>(as_i64(layout.widths()), &x.device);

        let dw = empty(&x, vec![layout.taps()], x.dtype);
        let (cubes, cube_dim) = elementwise(&x, layout.taps());
        backward_weight_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            x.clone().into_tensor_arg(),
            output.clone().into_tensor_arg(),
            argmax.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            tap_filter.into_tensor_arg(),
            offsets.clone().into_tensor_arg(),
            dw.clone().into_tensor_arg(),
            dtypes,
        );

        let db = empty(&x, vec![layout.filters()], x.dtype);
        let (cubes, cube_dim) = elementwise(&x, layout.filters());
        backward_bias_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            output.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            db.clone().into_tensor_arg(),
            x.dtype.into(),
        );

        let dx = need_dx.then(|| {
            let weight = into_contiguous(weight);
            let dx = empty(&x, x.meta.shape().dims::<3>().to_vec(), x.dtype);
            let (cubes, cube_dim) = elementwise(&x, x.meta.num_elements());
            backward_input_kernel::launch::<R>(
                &client,
                cubes,
                cube_dim,
                weight.into_tensor_arg(),
                output.into_tensor_arg(),
                argmax.into_tensor_arg(),
                grad.into_tensor_arg(),
                widths.into_tensor_arg(),
                offsets.into_tensor_arg(),
                dx.clone().into_tensor_arg(),
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
