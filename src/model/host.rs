//! Host copies of `NdArray` tensors for the model's CPU ops (the fused
//! filter bank, the pooled convolution, the dense op), host values back
//! into tensors, and what the two arg-max ops' backward passes read and
//! return ([`HostBackward`]).
//!
//! burn's `into_data` on a shared tensor (the autodiff graph keeps its
//! inputs shared) walks it element by element through a dynamic-rank
//! iterator; an `f32` or `i64` tensor in standard layout is borrowed here
//! instead, and only other layouts go through `into_data`.

use std::borrow::Cow;

use burn::backend::ndarray::{NdArray, NdArrayTensor};
use burn::tensor::{
    backend::Backend,
    ops::{FloatTensor, IntTensor, IntTensorOps},
    read_sync, TensorData,
};

use super::OpGrads;

/// `[batch, bands, frames]` of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    /// Examples.
    pub batch: usize,
    /// Mel bands.
    pub bands: usize,
    /// Frames.
    pub frames: usize,
}

/// Copies a float tensor to the host as `f32`, with its shape.
fn host_f32<B: Backend>(t: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
    let data = read_sync(B::float_into_data(t)).expect("reading a CPU tensor cannot fail");
    let shape = data.shape.as_slice().to_vec();
    let values = data.convert::<f32>().into_vec::<f32>();
    (values.expect("converted to f32 above"), shape)
}

/// Host `f32` values as a float tensor of `B` (in its float element type).
pub(crate) fn float_tensor<B: Backend>(
    values: Vec<f32>,
    shape: &[usize],
    device: &B::Device,
) -> FloatTensor<B> {
    B::float_from_data(
        TensorData::new(values, shape.to_vec()).convert::<B::FloatElem>(),
        device,
    )
}

/// Host `i64` values as an integer tensor of `B` (in its int element type).
fn int_tensor<B: Backend>(values: Vec<i64>, shape: &[usize], device: &B::Device) -> IntTensor<B> {
    B::int_from_data(
        TensorData::new(values, shape.to_vec()).convert::<B::IntElem>(),
        device,
    )
}

/// An `NdArray` float tensor as `f32` on the host, with its shape. The
/// values of an `f32` tensor in standard layout are borrowed (the dense
/// layer's 13 MB weight matrix was copied twice a step); others are copied
/// through burn's `into_data`, which walks a tensor that is still shared (the
/// autodiff graph keeps the input) element by element through a
/// dynamic-rank iterator (it took longer than the whole fused O-net forward,
/// so it is only the fallback).
pub(crate) fn ndarray_f32_ref(t: &NdArrayTensor) -> (Cow<'_, [f32]>, Vec<usize>) {
    if let NdArrayTensor::F32(storage) = t {
        let view = storage.view();
        let shape = view.shape().to_vec();
        if let Some(values) = view.to_slice() {
            return (Cow::Borrowed(values), shape);
        }
    }
    let (values, shape) = host_f32::<NdArray<f32>>(t.clone());
    (Cow::Owned(values), shape)
}

/// An `NdArray` integer tensor as `i64` on the host; as
/// [`ndarray_f32_ref`], borrowed when the layout allows it (a Black-box
/// step's arg-max is 6.5 MB).
fn ndarray_i64_ref(t: &NdArrayTensor) -> Cow<'_, [i64]> {
    if let NdArrayTensor::I64(storage) = t {
        if let Some(values) = storage.view().to_slice() {
            return Cow::Borrowed(values);
        }
    }
    let values = read_sync(NdArray::<f32>::int_into_data(t.clone()))
        .expect("reading a CPU tensor cannot fail")
        .convert::<i64>()
        .into_vec::<i64>()
        .expect("converted to i64 above");
    Cow::Owned(values)
}

/// The input `[batch, bands, frames]` on the host (borrowed where it can
/// be), with its dimensions.
fn host_input(x: &NdArrayTensor) -> (Cow<'_, [f32]>, Dims) {
    let (x, shape) = ndarray_f32_ref(x);
    let dims = Dims {
        batch: shape[0],
        bands: shape[1],
        frames: shape[2],
    };
    (x, dims)
}

/// Gradients `(dx?, dweight, dbias)` computed on the host.
pub(crate) type HostGrads = (Option<Vec<f32>>, Vec<f32>, Vec<f32>);

/// What the backward pass of an arg-max op (the fused filter bank, the
/// pooled convolution) reads on the host: its input, weights, output,
/// arg-max and upstream gradient, borrowed where the layout allows it.
pub(crate) struct HostBackward<'a> {
    /// The input, `[batch, bands, frames]`.
    pub x: Cow<'a, [f32]>,
    /// The input's dimensions.
    pub dims: Dims,
    /// The weights.
    pub weight: Cow<'a, [f32]>,
    /// The forward pass's output.
    pub output: Cow<'a, [f32]>,
    /// The forward pass's arg-max.
    pub argmax: Cow<'a, [i64]>,
    /// The upstream gradient (the output's shape).
    pub grad: Cow<'a, [f32]>,
}

impl<'a> HostBackward<'a> {
    /// Reads the backward pass's tensors.
    pub(crate) fn read(
        x: &'a NdArrayTensor,
        weight: &'a NdArrayTensor,
        output: &'a NdArrayTensor,
        argmax: &'a NdArrayTensor,
        grad: &'a NdArrayTensor,
    ) -> Self {
        let (x, dims) = host_input(x);
        Self {
            x,
            dims,
            weight: ndarray_f32_ref(weight).0,
            output: ndarray_f32_ref(output).0,
            argmax: ndarray_i64_ref(argmax),
            grad: ndarray_f32_ref(grad).0,
        }
    }

    /// Host gradients `(dx?, dweight, dbias)` as tensors of `B`: `dx` in the
    /// input's shape, `dweight` in `weight_shape`, `dbias` one-dimensional.
    pub(crate) fn upload<B: Backend>(
        &self,
        (dx, dweight, dbias): HostGrads,
        weight_shape: &[usize],
        device: &B::Device,
    ) -> OpGrads<B> {
        let Dims {
            batch,
            bands,
            frames,
        } = self.dims;
        let bias_len = dbias.len();
        OpGrads {
            x: dx.map(|v| float_tensor::<B>(v, &[batch, bands, frames], device)),
            weight: float_tensor::<B>(dweight, weight_shape, device),
            bias: float_tensor::<B>(dbias, &[bias_len], device),
        }
    }
}

/// An arg-max op's forward pass on the host: `compute` gets the input, its
/// dimensions, the weights and the biases, and returns the output, the
/// arg-max and their shape, which come back as tensors of `B`.
pub(crate) fn forward_on_host<B: Backend>(
    x: &NdArrayTensor,
    weight: &NdArrayTensor,
    bias: &NdArrayTensor,
    device: &B::Device,
    compute: impl FnOnce(&[f32], Dims, &[f32], &[f32]) -> (Vec<f32>, Vec<i64>, Vec<usize>),
) -> (FloatTensor<B>, IntTensor<B>) {
    let (x, dims) = host_input(x);
    let (w, _) = ndarray_f32_ref(weight);
    let (b, _) = ndarray_f32_ref(bias);
    let (out, arg, shape) = compute(&x, dims, &w, &b);
    (
        float_tensor::<B>(out, &shape, device),
        int_tensor::<B>(arg, &shape, device),
    )
}
