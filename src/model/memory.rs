//! How much device memory one training of a model needs, estimated from its
//! architecture: what the device queue divides the GPU's free memory by to
//! choose how many trainings run at once.
//!
//! The estimate is an upper bound by construction, not a measurement:
//! - parameters: weights, gradients and the best-validation copy (plain SGD
//!   keeps no optimiser state), 4 bytes each;
//! - activations of one training step, each kept for the backward pass and
//!   matched by a gradient of its size: the input batch, every filter's full
//!   convolution output before pooling (the fused op never materialises it,
//!   so filter-bank models are overestimated), its pooled output and arg-max,
//!   and every dense layer's input and output;
//! - [`PER_TRAINING_OVERHEAD`] for the allocator's pages, kernel workspaces
//!   and the validation pass.

use super::ArchConfig;

/// Bytes reserved per training beyond its tensors: the memory pool's page
/// granularity, matrix-product workspaces, the validation batch.
pub const PER_TRAINING_OVERHEAD: u64 = 512 << 20;

/// Bytes of an `f32` or an `i32` index.
const WORD: u64 = 4;

/// Estimated device bytes of one training of `arch` with batches of `batch`
/// (see the module docs).
pub fn training_bytes(arch: &ArchConfig, batch: usize) -> u64 {
    let batch = batch as u64;
    let params = arch.param_count() as u64 * WORD * 3;
    let mut activations = batch * (arch.bands * arch.frames) as u64;
    for bank in &arch.banks {
        for group in &bank.groups {
            let rows = (arch.bands + 1).saturating_sub(group.height) as u64;
            let cols = (arch.frames + 1).saturating_sub(group.width) as u64;
            let (pooled_rows, pooled_cols) = bank.pooled_shape(group, arch.bands, arch.frames);
            let pooled = (pooled_rows * pooled_cols) as u64;
            // The convolution output, the pooled output and its arg-max.
            activations += batch * group.count as u64 * (rows * cols + 2 * pooled);
        }
    }
    let mut width = arch.feature_len() as u64;
    for &hidden in arch.hidden.iter().chain(std::iter::once(&arch.classes)) {
        activations += batch * (width + hidden as u64);
        width = hidden as u64;
    }
    // Each activation is matched by its gradient in the backward pass.
    params + 2 * activations * WORD + PER_TRAINING_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::paper::table1;

    /// Every Table 1 model needs more than its parameters and the overhead,
    /// and less than a GPU's memory; a larger batch needs more.
    #[test]
    fn estimates_are_bounded_and_grow_with_the_batch() {
        for (name, arch) in table1() {
            let bytes = training_bytes(&arch, 50);
            println!(
                "{name}: {:.2} GiB per training at batch 50",
                bytes as f64 / f64::from(1 << 30)
            );
            let floor = arch.param_count() as u64 * 12 + PER_TRAINING_OVERHEAD;
            assert!(bytes > floor, "{name}: {bytes}");
            assert!(bytes < 8 << 30, "{name}: {bytes} bytes");
            assert!(training_bytes(&arch, 100) > bytes, "{name}");
        }
    }
}
