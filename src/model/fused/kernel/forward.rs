//! The fused op's forward on a GPU, with the window search split across
//! invocations.
//!
//! A filter's search runs over `pool × (frames − width + 1)` windows of its
//! band group, in (band, frame) order. That list is cut into chunks of
//! [`chunk_windows`] consecutive windows, so that no invocation runs more
//! than [`WINDOW_LOOP_BUDGET`] loop iterations whatever the shapes (the
//! paper's 40 × 250 input with a 165-wide filter has ≈ 3.4 k windows of 165
//! products: one invocation used to run ≈ 570 k iterations; a software Vulkan
//! device such as lavapipe stops a shader silently after 65,535). Each chunk
//! writes its best window (first maximum within the chunk); a reduction
//! invocation per output then keeps the first chunk holding the maximum. The
//! result is the first maximum in (band, frame) order — the CPU kernel's
//! tie rule — and every window sum is the same sequence of multiply-adds as
//! one invocation scanning it all.
//!
//! Two partial kernels: one stages the band group's rows in shared memory
//! (when they fit [`SHARED_ROWS_MAX_FLOATS`]), one reads global memory.

use cubecl::prelude::*;

/// Largest `pool × frames` block staged in shared memory (32 KiB of f32:
/// within every CUDA GPU's default 48 KiB per block and exactly the 32 KiB a
/// Vulkan workgroup is guaranteed).
pub const SHARED_ROWS_MAX_FLOATS: usize = 8 * 1024;
/// Threads per cube of the shared-memory partial kernel.
pub const FORWARD_CUBE_THREADS: usize = 128;
/// Most loop iterations (windows plus their multiply-adds) one invocation of
/// a partial kernel runs: a quarter of lavapipe's 65,535, leaving room for the
/// shared-memory load loop, and small enough to give a real GPU thousands of
/// invocations per band group.
pub const WINDOW_LOOP_BUDGET: usize = 16 * 1024;
/// A value below every window sum (finite: NVRTC-safe literal).
pub(crate) const BELOW_ANY_SUM: f32 = -3.0e38;

/// Windows per chunk for a filter `width` wide: each window costs `width`
/// multiply-adds plus one loop step.
pub fn chunk_windows(width: usize) -> usize {
    (WINDOW_LOOP_BUDGET / (width + 1)).max(1)
}

/// How the forward pass is cut for one layout and input shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardSplit {
    /// Bands per pooled group.
    pub pool: usize,
    /// Frames of the input.
    pub frames: usize,
    /// Chunks per (example, filter, group): the most any filter needs.
    pub chunks: usize,
    /// Whether the rows are staged in shared memory.
    pub shared: bool,
}

impl ForwardSplit {
    /// The split for filters of `widths` over `pool × frames` rows.
    pub fn new(widths: &[usize], pool: usize, frames: usize) -> Self {
        let chunks = widths
            .iter()
            .map(|&n| (pool * (frames - n + 1)).div_ceil(chunk_windows(n)))
            .max()
            .unwrap_or(1)
            .max(1);
        Self {
            pool,
            frames,
            chunks,
            shared: pool * frames <= SHARED_ROWS_MAX_FLOATS,
        }
    }

    /// The most loop iterations one partial invocation runs for these widths
    /// (shared-memory load plus its chunk's windows and products).
    pub fn partial_loop_iterations(&self, widths: &[usize]) -> usize {
        let load = if self.shared {
            (self.pool * self.frames).div_ceil(FORWARD_CUBE_THREADS)
        } else {
            0
        };
        let search = widths
            .iter()
            .map(|&n| {
                let windows = self.pool * (self.frames - n + 1);
                chunk_windows(n).min(windows) * (n + 1) + self.pool
            })
            .max()
            .unwrap_or(0);
        load + search
    }
}

/// Partial forward with the band group's rows in shared memory: cube
/// `(b · groups + g, y)`, unit `u` takes item `y · threads + u` = `(k, chunk)`.
/// `partial_*` are `[batch, filters, groups, chunks]`; the index written is
/// `band * frames + start` (as the final arg-max).
#[cube(launch)]
pub fn partial_shared_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    widths: &Tensor<I>,
    offsets: &Tensor<I>,
    partial_best: &mut Tensor<F>,
    partial_index: &mut Tensor<I>,
    #[comptime] pool: usize,
    #[comptime] frames: usize,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    let filters = partial_best.shape(1);
    let groups = partial_best.shape(2);
    let chunks = partial_best.shape(3);
    let b = CUBE_POS_X as usize / groups;
    let g = CUBE_POS_X as usize % groups;
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
    let item = CUBE_POS_Y as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    if item < filters * chunks {
        let k = item / chunks;
        let c = item % chunks;
        let n = u32::cast_from(widths[k]) as usize;
        let off = u32::cast_from(offsets[k]) as usize;
        let starts = frames - n + 1;
        let (first, end) = chunk_bounds(c, n, pool * starts);
        let mut best = F::new(BELOW_ANY_SUM);
        let mut best_i = 0usize;
        for win in first..end {
            let m = win / starts;
            let t = win - m * starts;
            let mut acc = F::new(0.0);
            for j in 0..n {
                acc += w[off + j] * rows[m * frames + t + j];
            }
            if acc > best {
                best = acc;
                best_i = (g * pool + m) * frames + t;
            }
        }
        let o = ((b * filters + k) * groups + g) * chunks + c;
        partial_best[o] = best;
        partial_index[o] = I::cast_from(best_i);
    }
}

/// Window range `first .. end` of chunk `c` for a filter `n` wide with
/// `windows` windows ([`chunk_windows`] on the device).
#[cube]
fn chunk_bounds(c: usize, n: usize, windows: usize) -> (usize, usize) {
    let mut span = WINDOW_LOOP_BUDGET / (n + 1);
    if span == 0 {
        span = 1;
    }
    let mut first = c * span;
    if first > windows {
        first = windows;
    }
    let mut end = first + span;
    if end > windows {
        end = windows;
    }
    (first, end)
}

/// Partial forward reading global memory: one invocation per
/// `(b, k, g, chunk)`, in that row-major order.
#[cube(launch)]
pub fn partial_global_kernel<F: Float, I: Int>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    widths: &Tensor<I>,
    offsets: &Tensor<I>,
    partial_best: &mut Tensor<F>,
    partial_index: &mut Tensor<I>,
    pool: u32,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= partial_best.len() {
        terminate!();
    }
    let filters = partial_best.shape(1);
    let groups = partial_best.shape(2);
    let chunks = partial_best.shape(3);
    let frames = x.shape(2);
    let pool = pool as usize;
    let c = ABSOLUTE_POS % chunks;
    let g = (ABSOLUTE_POS / chunks) % groups;
    let k = (ABSOLUTE_POS / (chunks * groups)) % filters;
    let b = ABSOLUTE_POS / (chunks * groups * filters);
    let n = u32::cast_from(widths[k]) as usize;
    let off = u32::cast_from(offsets[k]) as usize;
    let starts = frames - n + 1;
    let (first, end) = chunk_bounds(c, n, pool * starts);
    let mut best = F::new(BELOW_ANY_SUM);
    let mut best_i = 0usize;
    for win in first..end {
        let m = win / starts;
        let t = win - m * starts;
        let base = b * x.stride(0) + (g * pool + m) * x.stride(1);
        let mut acc = F::new(0.0);
        for j in 0..n {
            acc += w[off + j] * x[base + (t + j) * x.stride(2)];
        }
        if acc > best {
            best = acc;
            best_i = (g * pool + m) * frames + t;
        }
    }
    partial_best[ABSOLUTE_POS] = best;
    partial_index[ABSOLUTE_POS] = I::cast_from(best_i);
}

/// The reduction: one invocation per `(b, k, g)` keeps the first chunk whose
/// best is the maximum, adds the bias and applies the ReLU.
#[cube(launch)]
pub fn reduce_kernel<F: Float, I: Int>(
    partial_best: &Tensor<F>,
    partial_index: &Tensor<I>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    argmax: &mut Tensor<I>,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    if ABSOLUTE_POS >= out.len() {
        terminate!();
    }
    let filters = out.shape(1);
    let groups = out.shape(2);
    let chunks = partial_best.shape(3);
    let k = (ABSOLUTE_POS / groups) % filters;
    let first = ABSOLUTE_POS * chunks;
    let mut best = partial_best[first];
    let mut best_i = partial_index[first];
    for c in 1..chunks {
        let v = partial_best[first + c];
        if v > best {
            best = v;
            best_i = partial_index[first + c];
        }
    }
    out[ABSOLUTE_POS] = F::max(best + bias[k], F::new(0.0));
    argmax[ABSOLUTE_POS] = best_i;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_invocation_exceeds_the_budget_at_the_paper_shapes() {
        // O-net + P-net's widths on the paper's 40 × 250 input, every band
        // pooled (global memory) and pooled by 4 (shared memory).
        let widths: Vec<usize> = [165, 128, 64, 32, 216, 46, 1].to_vec();
        for pool in [40, 4, 1] {
            let split = ForwardSplit::new(&widths, pool, 250);
            assert_eq!(split.shared, pool * 250 <= SHARED_ROWS_MAX_FLOATS);
            let most = split.partial_loop_iterations(&widths);
            assert!(most <= WINDOW_LOOP_BUDGET + 250, "pool {pool}: {most}");
        }
        let split = ForwardSplit::new(&[165], 40, 250);
        assert_eq!(chunk_windows(165), 98);
        assert_eq!(split.chunks, (40 * 86usize).div_ceil(98));
    }

    #[test]
    fn chunks_cover_every_window_once() {
        for (n, pool, frames) in [(1, 1, 1), (3, 2, 10), (165, 40, 250), (16_000, 1, 16_384)] {
            let windows = pool * (frames - n + 1);
            let span = chunk_windows(n);
            let chunks = ForwardSplit::new(&[n], pool, frames).chunks;
            let covered: usize = (0..chunks)
                .map(|c| {
                    (c * span)
                        .min(windows)
                        .abs_diff(((c + 1) * span).min(windows))
                })
                .sum();
            assert_eq!(covered, windows, "{n} {pool} {frames}");
        }
    }
}
