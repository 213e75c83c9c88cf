//! The burn module built from an [`ArchConfig`]: banks of filters side by
//! side on a `bands × frames` input, flattened and concatenated, optional
//! dense ReLU hidden layers, dropout, dense output (logits; softmax is in the loss).
//!
//! # Parameter names and layouts (the safetensors keys)
//! - `banks.{i}.groups.{j}.weight`: `[count, 1, height, width]` (PyTorch
//!   `Conv2d` layout: out channels, in channels, kernel height, kernel width);
//! - `banks.{i}.groups.{j}.bias`: `[count]`;
//! - `hidden.{l}.weight`: `[in, out]` (burn `Linear`; the transpose of PyTorch's);
//! - `hidden.{l}.bias`, `output.bias`: `[out]`; `output.weight`: `[in, out]`.
//!
//! # Feature order
//! The dense input is the concatenation, bank by bank in spec order, group
//! by group, of each group's pooled output flattened as
//! `(filter, pooled band, pooled frame)` (PyTorch `flatten(1)` of
//! `[batch, count, bands', frames']`).
//!
//! # Which path each bank takes
//! Time-axis banks pooled over all frames run the fused op
//! ([`super::fused::filter_bank`]); every other bank runs the pooled
//! convolution ([`super::pooled::pooled_conv`]), one call per filter group.
//! [`FilterBankNet::with_generic_banks`] forces burn's generic ops everywhere
//! (the convolution as a matrix product + ReLU + max_pool2d,
//! [`super::fused::reference::pooled_conv_gemm`]; tests compare both).

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{activation::relu, backend::Backend, Tensor, TensorData};

use super::arch::{ArchConfig, BankAxis, BankConfig, PoolExtent};
use super::dense::dense;
use super::fused::{filter_bank, reference::pooled_conv_gemm, BankLayout, FilterBankBackend};
use super::init::Initialiser;
use super::pooled::{pooled_conv, PooledLayout};
use super::ModelError;

/// The safetensors name of the weights of group `group` of bank `bank`
/// (see the module docs for the layout).
pub fn group_weight_name(bank: usize, group: usize) -> String {
    format!("banks.{bank}.groups.{group}.weight")
}

/// `count` filters of one shape and their biases.
#[derive(Module, Debug)]
pub struct ConvGroup<B: Backend> {
    /// `[count, 1, height, width]`.
    pub weight: Param<Tensor<B, 4>>,
    /// `[count]`.
    pub bias: Param<Tensor<B, 1>>,
}

/// How a bank is computed.
#[derive(Debug, Clone)]
pub(super) enum BankPath {
    /// The fused op over all groups at once.
    Fused(Arc<BankLayout>),
    /// The pooled convolution, one layout per group.
    Pooled(Vec<PooledLayout>),
    /// burn's generic ops: convolution as a matrix product + ReLU +
    /// max_pool2d per group.
    Generic,
}

/// One bank of the first layer.
#[derive(Module, Debug)]
pub struct Bank<B: Backend> {
    /// The bank's filter groups, in spec order.
    pub groups: Vec<ConvGroup<B>>,
    #[module(skip)]
    config: BankConfig,
    #[module(skip)]
    path: BankPath,
}

/// A single-layer filter-bank network (the paper's models and baselines).
#[derive(Module, Debug)]
pub struct FilterBankNet<B: Backend> {
    /// First-layer banks, in spec order.
    pub banks: Vec<Bank<B>>,
    /// Dense ReLU hidden layers.
    pub hidden: Vec<Linear<B>>,
    /// Dense output layer (logits).
    pub output: Linear<B>,
    dropout: Dropout,
    #[module(skip)]
    arch: ArchConfig,
}

fn param<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

pub(super) fn bank_path(bank: &BankConfig, arch: &ArchConfig) -> Result<BankPath, ModelError> {
    if bank.axis == BankAxis::Time && bank.pool_time == PoolExtent::All {
        let layout = BankLayout::new(&bank.groups, bank.pool_freq, arch.bands, arch.frames)
            .map_err(|source| ModelError::Bank {
                bank: bank.name.clone(),
                source,
            })?;
        Ok(BankPath::Fused(Arc::new(layout)))
    } else {
        let layouts = bank
            .groups
            .iter()
            .map(|g| PooledLayout {
                count: g.count,
                height: g.height,
                width: g.width,
                pool_freq: bank.pool_freq,
                pool_time: bank.pool_time,
            })
            .collect();
        Ok(BankPath::Pooled(layouts))
    }
}

impl<B: FilterBankBackend> FilterBankNet<B> {
    /// Builds the network for `arch` on `device`, with weights drawn from
    /// `seed` (see [`super::init`]; identical on every backend).
    pub fn init(arch: &ArchConfig, seed: u64, device: &B::Device) -> Result<Self, ModelError> {
        arch.validate()?;
        let mut rng = Initialiser::new(arch.init, seed);
        let mut banks = Vec::with_capacity(arch.banks.len());
        for bank in &arch.banks {
            let groups = bank
                .groups
                .iter()
                .map(|g| {
                    let taps = g.height * g.width;
                    ConvGroup {
                        weight: param(
                            rng.weights(g.count * taps, taps, g.count * taps),
                            [g.count, 1, g.height, g.width],
                            device,
                        ),
                        bias: param(vec![0.0; g.count], [g.count], device),
                    }
                })
                .collect();
            banks.push(Bank {
                groups,
                config: bank.clone(),
                path: bank_path(bank, arch)?,
            });
        }
        let mut width = arch.feature_len();
        let mut dense = |rng: &mut Initialiser, out: usize| {
            let layer = Linear {
                weight: param(
                    rng.dense_weights(width * out, width, out),
                    [width, out],
                    device,
                ),
                bias: Some(param(vec![0.0; out], [out], device)),
            };
            width = out;
            layer
        };
        let hidden = arch.hidden.iter().map(|&h| dense(&mut rng, h)).collect();
        let output = dense(&mut rng, arch.classes);
        Ok(Self {
            banks,
            hidden,
            output,
            dropout: DropoutConfig::new(arch.dropout).init(),
            arch: arch.clone(),
        })
    }

    /// The same network computing every bank with burn's generic ops.
    pub fn with_generic_banks(mut self) -> Self {
        for bank in &mut self.banks {
            bank.path = BankPath::Generic;
        }
        self
    }

    /// The architecture this network was built from.
    pub fn arch(&self) -> &ArchConfig {
        &self.arch
    }

    /// Trainable parameters (equals [`ArchConfig::param_count`]).
    pub fn param_count(&self) -> usize {
        self.num_params()
    }

    /// Logits for a batch of normalised mel chunks.
    ///
    /// # Shapes
    /// `x`: `[batch, bands, frames]` → `[batch, classes]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let features: Vec<Tensor<B, 2>> = self
            .banks
            .iter()
            .map(|bank| bank.forward(x.clone()))
            .collect();
        // [batch, feature_len]
        let mut h = concat(features);
        for layer in &self.hidden {
            h = relu(linear(layer, h));
        }
        linear(&self.output, self.dropout.forward(h))
    }
}

/// The group outputs side by side; a single one as it is (`cat` would copy it).
fn concat<B: Backend>(mut outputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
    if outputs.len() == 1 {
        outputs.remove(0)
    } else {
        Tensor::cat(outputs, 1)
    }
}

/// `layer` on `h` through the dense op ([`super::dense`]); the layers are
/// built with a bias.
fn linear<B: FilterBankBackend>(layer: &Linear<B>, h: Tensor<B, 2>) -> Tensor<B, 2> {
    let bias = layer
        .bias
        .as_ref()
        .expect("dense layers are built with a bias");
    dense(h, layer.weight.val(), bias.val())
}

impl<B: FilterBankBackend> Bank<B> {
    /// Flattened pooled outputs of every group, concatenated.
    ///
    /// # Shapes
    /// `x`: `[batch, bands, frames]` → `[batch, output_len]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let batch = x.dims()[0];
        match &self.path {
            BankPath::Fused(layout) => {
                let weight = self
                    .groups
                    .iter()
                    .map(|g| g.weight.val().flatten::<1>(0, 3))
                    .collect();
                let bias = self.groups.iter().map(|g| g.bias.val()).collect();
                // [batch, filters, pooled_bands]
                let y = filter_bank(x, Tensor::cat(weight, 0), Tensor::cat(bias, 0), layout);
                y.flatten(1, 2)
            }
            BankPath::Pooled(layouts) => {
                let outputs = self
                    .groups
                    .iter()
                    .zip(layouts)
                    .map(|(g, layout)| {
                        let y = pooled_conv(x.clone(), g.weight.val(), g.bias.val(), layout);
                        // [batch, count, bands', frames'] → [batch, count·bands'·frames']
                        y.reshape([batch as i32, -1])
                    })
                    .collect();
                concat(outputs)
            }
            BankPath::Generic => {
                // [batch, 1, bands, frames]
                let x4 = x.unsqueeze_dim::<4>(1);
                let outputs = self
                    .groups
                    .iter()
                    .map(|g| {
                        let (pf, pt) = (self.config.pool_freq, self.config.pool_time);
                        let y = pooled_conv_gemm(x4.clone(), g.weight.val(), g.bias.val(), pf, pt);
                        // [batch, count, bands', frames'] → [batch, count·bands'·frames']
                        y.reshape([batch as i32, -1])
                    })
                    .collect();
                concat(outputs)
            }
        }
    }
}
