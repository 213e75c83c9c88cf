//! Whether a model's GPU kernels fit a device's limits: a software Vulkan
//! adapter (lavapipe) stops a shader invocation after a fixed number of loop
//! iterations without an error, so tempora checks the kernels of every bank
//! and dense layer against that limit before training there.

use super::dense::kernel::loop_iterations as dense_loop_iterations;
use super::fused::kernel::loop_iterations;
use super::net::{bank_path, BankPath};
use super::pooled::kernel::loop_iterations as pooled_loop_iterations;
use super::ArchConfig;

/// Refuses `arch` on a device that stops shaders after a fixed number of loop
/// iterations (a software Vulkan adapter) when one of its banks' kernels
/// would run more in one invocation for batches of `batch`: such a device
/// returns wrong results without an error.
pub fn check_fits_device(
    arch: &ArchConfig,
    batch: usize,
    device: crate::device::ComputeDevice,
) -> Result<(), crate::device::DeviceError> {
    let Some((adapter, cap)) = device
        .wgpu_adapter()
        .and_then(|adapter| Some((adapter, adapter.loop_cap()?)))
    else {
        return Ok(());
    };
    let banks = arch.banks.iter().filter_map(|bank| {
        let counts = match bank_path(bank, arch) {
            Ok(BankPath::Fused(layout)) => loop_iterations(&layout, batch, arch.bands, arch.frames),
            Ok(BankPath::Pooled(layouts)) => layouts
                .iter()
                .flat_map(|l| pooled_loop_iterations(l, batch, arch.bands, arch.frames))
                .collect(),
            _ => return None,
        };
        Some((bank.name.clone(), counts))
    });
    let dense = arch
        .hidden
        .iter()
        .chain(std::iter::once(&arch.classes))
        .map(|&outputs| ("dense".to_owned(), dense_loop_iterations(batch, outputs)));
    for (bank, counts) in banks.chain(dense) {
        if let Some((kernel, iterations)) = counts.into_iter().find(|&(_, n)| n > cap) {
            return Err(crate::device::DeviceError::LoopCap {
                device: format!("{device} ({})", adapter.describe()),
                bank,
                kernel,
                iterations,
                cap,
            });
        }
    }
    Ok(())
}
