//! The fused filter bank on a GPU (any CubeCL runtime: CUDA, wgpu): CubeCL
//! kernels and [`FilterBankBackend`] for `CubeBackend` (burn's `Cuda` and
//! `Wgpu` without fusion).
//!
//! - Forward ([`forward`]): the window search of each (example, filter, band
//!   group) is split into chunks of a bounded number of loop iterations, one
//!   invocation each (rows staged in shared memory when they fit), then one
//!   reduction invocation per output keeps the first maximum.
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

mod forward;

pub(crate) use forward::BELOW_ANY_SUM;
use forward::{
    partial_global_kernel, partial_shared_kernel, reduce_kernel, ForwardSplit, FORWARD_CUBE_THREADS,
};

/// The most loop iterations one invocation of each GPU kernel of the fused
/// op runs for `layout` on a `[batch, bands, frames]` input, by kernel name:
/// what a device with a loop cap (lavapipe: 65,535) is checked against.
pub fn loop_iterations(
    layout: &BankLayout,
    batch: usize,
    bands: usize,
    frames: usize,
) -> Vec<(&'static str, usize)> {
    let (k, g, pool) = (
        layout.filters(),
        layout.pooled_bands(bands),
        layout.pool_size(bands),
    );
    let split = ForwardSplit::new(layout.widths(), pool, frames);
    vec![
        (
            "forward window search",
            split.partial_loop_iterations(layout.widths()),
        ),
        ("forward reduction", split.chunks),
        ("weight gradient", batch * g),
        ("bias gradient", batch * g),
        ("input gradient", k * g),
    ]
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

/// `dbias`: one thread per filter, over `out` and `grad` `[batch, filters,
/// outputs]` (the pooled convolution passes its `[.., rows, cols]` as one axis).
#[cube(launch)]
pub(crate) fn backward_bias_kernel<F: Float>(
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
pub(crate) fn int_tensor<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement>(
    values: Vec<i64>,
    device: &R::Device,
) -> CubeTensor<R> {
    let len = values.len();
    let data = TensorData::new(values, [len]).convert::<I>();
    <CubeBackend<R, F, I, BT> as IntTensorOps<CubeBackend<R, F, I, BT>>>::int_from_data(
        data, device,
    )
}

/// An uninitialised contiguous tensor on `like`'s device.
pub(crate) fn empty<R: CubeRuntime>(
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

/// Launch sizes for one invocation per unit.
pub(crate) fn elementwise<R: CubeRuntime>(
    like: &CubeTensor<R>,
    units: usize,
) -> (CubeCount, CubeDim) {
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
        let split = ForwardSplit::new(layout.widths(), pool, frames);
        let partial_shape = vec![batch, k, g, split.chunks];
        let partial_best = empty(&x, partial_shape.clone(), x.dtype);
        let partial_index = empty(&x, partial_shape, I::dtype());
        let out = empty(&x, vec![batch, k, g], x.dtype);
        let argmax = empty(&x, vec![batch, k, g], I::dtype());
        let dtypes = [x.dtype.into(), argmax.dtype.into()];
        let client = x.client.clone();
        if split.shared {
            let items = k * split.chunks;
            let cubes = CubeCount::Static(
                (batch * g) as u32,
                items.div_ceil(FORWARD_CUBE_THREADS) as u32,
                1,
            );
            partial_shared_kernel::launch::<R>(
                &client,
                cubes,
                CubeDim::new_1d(FORWARD_CUBE_THREADS as u32),
                x.into_tensor_arg(),
                weight.into_tensor_arg(),
                widths.into_tensor_arg(),
                offsets.into_tensor_arg(),
                partial_best.clone().into_tensor_arg(),
                partial_index.clone().into_tensor_arg(),
                pool,
                frames,
                dtypes,
            );
        } else {
            let (cubes, cube_dim) = elementwise(&x, batch * k * g * split.chunks);
            partial_global_kernel::launch::<R>(
                &client,
                cubes,
                cube_dim,
                x.into_tensor_arg(),
                weight.into_tensor_arg(),
                widths.into_tensor_arg(),
                offsets.into_tensor_arg(),
                partial_best.clone().into_tensor_arg(),
                partial_index.clone().into_tensor_arg(),
                pool as u32,
                dtypes,
            );
        }
        let (cubes, cube_dim) = elementwise(&out, batch * k * g);
        reduce_kernel::launch::<R>(
            &client,
            cubes,
            cube_dim,
            partial_best.into_tensor_arg(),
            partial_index.into_tensor_arg(),
            bias.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            argmax.clone().into_tensor_arg(),
            dtypes,
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::adapter::SOFTWARE_LOOP_CAP;
    use crate::model::{paper, BankAxis};

    #[test]
    fn every_table1_bank_fits_a_software_device_at_batch_50() {
        for k in [1, 8] {
            for arch in [paper::o_net(k), paper::p_net(k), paper::o_p_net(k)] {
                for bank in arch.banks.iter().filter(|b| b.axis == BankAxis::Time) {
                    let layout =
                        BankLayout::new(&bank.groups, bank.pool_freq, arch.bands, arch.frames)
                            .unwrap();
                    for (kernel, n) in loop_iterations(&layout, 50, arch.bands, arch.frames) {
                        assert!(n <= SOFTWARE_LOOP_CAP, "{k}x {}: {kernel} {n}", bank.name);
                    }
                }
            }
        }
    }
}
