//! Choosing where tensors live: CPU (`Autodiff<NdArray>`) or CUDA
//! (`Autodiff<Cuda>`), at run time.
//!
//! CUDA support is always compiled in; cudarc loads `libcuda` lazily and
//! panics in a worker thread when there is no driver, so [`resolve`] probes for
//! the driver first and falls back to the CPU with one clear line.

use serde::{Deserialize, Serialize};

/// What the user asked for (`--device auto|cpu|cuda[:N]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DeviceChoice {
    /// CUDA device 0 when a driver and device are present, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N; an error when it is not available.
    Cuda(usize),
}

/// Where computation actually runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComputeDevice {
    /// The CPU (burn NdArray).
    Cpu,
    /// CUDA device N (burn CubeCL CUDA).
    Cuda(usize),
}
