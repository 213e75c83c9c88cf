//! Models: burn modules built from filter-bank descriptions ([`ArchConfig`]),
//! parameter counting, and the fused filter-bank op (CPU and CUDA kernels).
//!
//! - [`arch`]-level types describe a network independently of any backend;
//! - [`paper`] builds the eleven architectures of Table 1;
//! - [`FilterBankNet`] is the burn module (`init`, `forward`, `param_count`);
//! - [`fused`] is the fused time-axis filter bank, a burn backend extension
//!   ([`FilterBankBackend`]) for `NdArray`, `Cuda` and `Autodiff` of either;
//! - [`pooled`] is the pooled convolution every other bank runs (frequency
//!   and 2-D filters, time filters pooled by a factor along time);
//! - [`dense`] is the dense layer as a backend op (parallel on the CPU).
//!
//! Training code is generic over
//! `B: AutodiffBackend + FilterBankBackend` with
//! `B::InnerBackend: FilterBankBackend`.
//!
//! Must not know about datasets or files.

mod arch;
mod argmax_op;
pub mod dense;
pub mod device_fit;
pub mod fused;
mod grads;
mod host;
mod init;
pub mod memory;
mod net;
pub mod paper;
pub mod pooled;

pub use arch::{ArchConfig, BankAxis, BankConfig, FilterGroup, Init, PoolExtent};
pub use fused::{FilterBankBackend, FusedError};
pub use grads::OpGrads;
pub use net::{group_weight_name, Bank, ConvGroup, FilterBankNet};

/// Errors building a model from an architecture.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The architecture cannot be built.
    #[error("bank {bank}: {reason}")]
    Invalid {
        /// Bank name (`-` for network-level problems).
        bank: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A time bank the fused op rejects.
    #[error("bank {bank}: {source}")]
    Bank {
        /// Bank name.
        bank: String,
        /// The fused op's reason.
        source: FusedError,
    },
}
