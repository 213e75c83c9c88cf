//! Models: burn modules built from filter-bank descriptions ([`ArchConfig`]),
//! parameter counting, and the fused filter-bank op (CPU and CUDA kernels).
//!
//! Must not know about datasets or files.

mod arch;

pub use arch::{ArchConfig, BankAxis, BankConfig, FilterGroup, Init, PoolExtent};
