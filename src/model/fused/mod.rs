//! The fused time-axis filter bank: for every filter of a bank at once, a
//! "valid" convolution along time on each mel band, + bias, ReLU and a max
//! over a pooled region (a group of bands × all frames), keeping the arg-max.
//!
//! After max-over-time pooling only one window per (example, filter, band
//! group) matters, so the forward pass never materialises the convolution
//! output and the backward pass touches only the arg-max windows.
//!
//! Layout of this module (burn's custom-cubecl-kernel example):
//! - `mod.rs` (here): the backend-extension trait [`FilterBankBackend`], the
//!   packed bank description [`BankLayout`] and the tensor-level entry point
//!   [`filter_bank`];
//! - `backward.rs`: the implementation for `Autodiff<B>` (gradient registration);
//! - `cpu.rs`: the `NdArray` implementation (rayon + AVX2/FMA kernels);
//! - `kernel/`: the CubeCL kernels and the `CubeBackend` (CUDA, wgpu)
//!   implementation, with the forward's window search split into bounded
//!   chunks (`kernel/forward.rs`);
//! - `reference.rs`: the same computation with burn's generic ops (conv2d +
//!   ReLU + max_pool2d), used by the model for every other bank and by the tests.
//!
//! # Tensor layouts
//! - `x`: `[batch, bands, frames]`, row-major.
//! - `weight`: the bank's filters packed in filter order, `[taps]` with
//!   `taps = Σ widths`; filter `k` occupies `offsets[k] .. offsets[k] + widths[k]`.
//! - `bias`: `[filters]`.
//! - output: `[batch, filters, pooled_bands]`; `arg-max`: same shape, integer
//!   `band * frames + start_frame` of the winning window (first maximum in
//!   (band, frame) order; ties keep the earlier window).
//!
//! Must not know about datasets, files or training.

mod backward;
mod cpu;
pub mod kernel;
pub mod reference;

use std::sync::Arc;

use burn::tensor::{
    ops::{FloatTensor, IntTensor},
    Tensor, TensorPrimitive,
};

use super::arch::{FilterGroup, PoolExtent};
use super::dense::DenseBackend;
pub use super::grads::OpGrads;
use super::pooled::PooledConvBackend;

/// Errors describing a bank the fused op cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FusedError {
    /// A filter of the bank is not one band high.
    #[error("bank group {group}: fused time filters must be 1 band high, got {height} (use the generic path)")]
    NotTemporal {
        /// Index of the offending group.
        group: usize,
        /// Its height.
        height: usize,
    },
    /// A filter is wider than the input chunk.
    #[error("bank group {group}: filter width {width} exceeds the chunk's {frames} frames; use shorter filters or longer chunks")]
    TooWide {
        /// Index of the offending group.
        group: usize,
        /// Its width.
        width: usize,
        /// Frames of the input.
        frames: usize,
    },
    /// The frequency pooling leaves no band group.
    #[error(
        "frequency pool of {pool} bands exceeds the input's {bands} bands; lower the pool factor"
    )]
    PoolTooLarge {
        /// Bands per pooled group.
        pool: usize,
        /// Bands of the input.
        bands: usize,
    },
    /// A bank without filters, or a zero-width filter.
    #[error("bank group {group} is empty or has zero-width filters")]
    Empty {
        /// Index of the offending group.
        group: usize,
    },
}

/// The static description of one fused bank: every filter's width and offset
/// in the packed weight vector, and the frequency pooling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BankLayout {
    widths: Vec<usize>,
    offsets: Vec<usize>,
    pool_freq: PoolExtent,
}

impl BankLayout {
    /// Describes a bank of 1×n `groups` with frequency pooling `pool_freq`
    /// (time pooling is over all frames), checked against a `bands × frames` input.
    pub fn new(
        groups: &[FilterGroup],
        pool_freq: PoolExtent,
        bands: usize,
        frames: usize,
    ) -> Result<Self, FusedError> {
        let mut widths = Vec::new();
        for (index, g) in groups.iter().enumerate() {
            if g.height != 1 {
                return Err(FusedError::NotTemporal {
                    group: index,
                    height: g.height,
                });
            }
            if g.width == 0 || g.count == 0 {
                return Err(FusedError::Empty { group: index });
            }
            if g.width > frames {
                return Err(FusedError::TooWide {
                    group: index,
                    width: g.width,
                    frames,
                });
            }
            widths.extend(std::iter::repeat_n(g.width, g.count));
        }
        if widths.is_empty() {
            return Err(FusedError::Empty { group: 0 });
        }
        let layout = Self::from_widths(widths, pool_freq);
        if layout.pooled_bands(bands) == 0 {
            return Err(FusedError::PoolTooLarge {
                pool: layout.pool_size(bands),
                bands,
            });
        }
        Ok(layout)
    }

    fn from_widths(widths: Vec<usize>, pool_freq: PoolExtent) -> Self {
        let offsets = widths
            .iter()
            .scan(0, |acc, &w| {
                let start = *acc;
                *acc += w;
                Some(start)
            })
            .collect();
        Self {
            widths,
            offsets,
            pool_freq,
        }
    }

    /// Number of filters `K`.
    pub fn filters(&self) -> usize {
        self.widths.len()
    }

    /// Length of the packed weight vector (Σ widths).
    pub fn taps(&self) -> usize {
        self.widths.iter().sum()
    }

    /// Width of every filter, in filter order.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Offset of every filter in the packed weight vector.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Bands per pooled group on an input of `bands` bands.
    pub fn pool_size(&self, bands: usize) -> usize {
        match self.pool_freq {
            PoolExtent::All => bands,
            PoolExtent::Factor(f) => f.max(1),
        }
    }

    /// Pooled band groups `G` on an input of `bands` bands (trailing bands
    /// that do not fill a group are dropped, as max_pool2d does).
    pub fn pooled_bands(&self, bands: usize) -> usize {
        self.pool_freq.pooled_len(bands)
    }

    /// Multiply-adds ×2 of the useful convolution work for one example of
    /// `bands × frames` (the FLOP count benchmarks report).
    pub fn forward_flops(&self, bands: usize, frames: usize) -> u64 {
        let per_band: usize = self.widths.iter().map(|&n| 2 * n * (frames + 1 - n)).sum();
        (per_band * bands) as u64
    }
}

/// A backend that runs the fused filter bank (and the model's other ops:
/// the pooled convolution for the banks the fused op does not cover, the
/// dense layers).
///
/// Implemented for `NdArray` (CPU), `CubeBackend` (CUDA) and `Autodiff<B>`
/// of any of them. Generic training code needs
/// `B: AutodiffBackend + FilterBankBackend` and
/// `B::InnerBackend: FilterBankBackend` (validation runs on the inner backend).
pub trait FilterBankBackend: PooledConvBackend + DenseBackend {
    /// Forward pass: `(output [batch, filters, pooled_bands], arg-max)`.
    /// See the module documentation for layouts.
    fn filter_bank_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &BankLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>);

    /// Backward pass from the forward's `output` and `argmax` and the upstream
    /// gradient `grad` (same shape as the output). Only windows whose output is
    /// positive (ReLU active) receive gradient. `dx` is computed only when
    /// `need_dx` is true.
    fn filter_bank_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &BankLayout,
        need_dx: bool,
    ) -> OpGrads<Self>;
}

/// Runs the fused bank on `x` `[batch, bands, frames]` with packed `weight`
/// `[taps]` and `bias` `[filters]`; returns `[batch, filters, pooled_bands]`.
///
/// Differentiable on `Autodiff<B>` with respect to all three inputs.
pub fn filter_bank<B: FilterBankBackend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    layout: &Arc<BankLayout>,
) -> Tensor<B, 3> {
    let (out, _argmax) = B::filter_bank_forward(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
        layout,
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

#[cfg(test)]
mod tests;
