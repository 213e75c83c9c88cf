//! Patch matrices of one example and their products with the filters: im2col
//! (or the input itself, for filters one frame wide) and the two sgemm calls
//! of the pooled convolution.

use super::super::{PooledLayout, PooledShape};

/// Filter widths from which im2col copies each patch row as one slice;
/// narrower filters (the frequency bank's width 1) are
/// gathered tap by tap, where a `memcpy` call per row would cost more than
/// its few values.
const ROW_COPY_MIN_WIDTH: usize = 8;

/// Writes the patch of every convolution position of one example `x`
/// (`bands × frames`) into `patches` `[rows · cols, height · width]`.
pub(super) fn im2col(
    x: &[f32],
    frames: usize,
    layout: &PooledLayout,
    s: &PooledShape,
    patches: &mut [f32],
) {
    let (height, width, taps) = (layout.height, layout.width, layout.taps());
    if width >= ROW_COPY_MIN_WIDTH {
        for r in 0..s.rows {
            for c in 0..s.cols {
                let patch = &mut patches[(r * s.cols + c) * taps..][..taps];
                for (h, dst) in patch.chunks_exact_mut(width).enumerate().take(height) {
                    dst.copy_from_slice(&x[(r + h) * frames + c..][..width]);
                }
            }
        }
        return;
    }
    for h in 0..height {
        for j in 0..width {
            let tap = h * width + j;
            for r in 0..s.rows {
                let src = &x[(r + h) * frames + j..][..s.cols];
                let dst = &mut patches[r * s.cols * taps..][..s.cols * taps];
                for (d, &v) in dst.iter_mut().skip(tap).step_by(taps).zip(src) {
                    *d = v;
                }
            }
        }
    }
}

/// The `[positions, taps]` patch matrix of one example, read through
/// strides: element `(p, t)` at `data[p · position_stride + t · tap_stride]`.
#[derive(Clone, Copy)]
pub(super) struct Patches<'a> {
    data: &'a [f32],
    position_stride: usize,
    tap_stride: usize,
}

impl<'a> Patches<'a> {
    /// The patches of example `x` (`bands × frames`): for a filter one frame
    /// wide, `x` itself read through strides (position `p = r · frames + c`
    /// starts at `x[p]`, and its taps lie `frames` apart), so nothing is
    /// copied; otherwise im2col into `buffer`.
    pub(super) fn of(
        x: &'a [f32],
        frames: usize,
        layout: &PooledLayout,
        s: &PooledShape,
        buffer: &'a mut [f32],
    ) -> Self {
        if reads_in_place(layout) {
            return Self {
                data: x,
                position_stride: 1,
                tap_stride: frames,
            };
        }
        im2col(x, frames, layout, s, buffer);
        Self {
            data: buffer,
            position_stride: layout.taps(),
            tap_stride: 1,
        }
    }

    /// Asserts that `positions × taps` elements lie inside the data.
    fn check(&self, positions: usize, taps: usize) {
        let last = (positions - 1) * self.position_stride + (taps - 1) * self.tap_stride;
        assert!(positions > 0 && taps > 0 && last < self.data.len());
    }
}

/// Whether a filter's patches are the input itself read through strides
/// (one frame wide), with no im2col buffer.
fn reads_in_place(layout: &PooledLayout) -> bool {
    layout.width == 1
}

/// The im2col buffer [`Patches::of`] needs (none for a one-frame-wide filter).
pub(super) fn patch_buffer(layout: &PooledLayout, positions: usize) -> Vec<f32> {
    let len = if reads_in_place(layout) {
        0
    } else {
        positions * layout.taps()
    };
    vec![0.0; len]
}

/// `conv` `[positions, count]` = `patches` `[positions, taps]` · `w`ᵀ, with
/// `w` `[count, taps]` row-major.
pub(super) fn product(
    patches: Patches<'_>,
    w: &[f32],
    positions: usize,
    layout: &PooledLayout,
    conv: &mut [f32],
) {
    let (taps, count) = (layout.taps(), layout.count);
    patches.check(positions, taps);
    assert!(w.len() >= count * taps && conv.len() >= positions * count);
    // SAFETY: the checks above bound every index sgemm reads and writes:
    // a is the positions × taps patches, b is taps × count read from w (row
    // stride 1, column stride taps), c is positions × count.
    unsafe {
        matrixmultiply::sgemm(
            positions,
            taps,
            count,
            1.0,
            patches.data.as_ptr(),
            patches.position_stride as isize,
            patches.tap_stride as isize,
            w.as_ptr(),
            1,
            taps as isize,
            0.0,
            conv.as_mut_ptr(),
            count as isize,
            1,
        );
    }
}

/// `dw` `[count, taps]` = `conv_grad`ᵀ · `patches`, with `conv_grad`
/// `[positions, count]` row-major.
pub(super) fn transposed_product(
    conv_grad: &[f32],
    patches: Patches<'_>,
    positions: usize,
    layout: &PooledLayout,
    dw: &mut [f32],
) {
    let (taps, count) = (layout.taps(), layout.count);
    patches.check(positions, taps);
    assert!(conv_grad.len() >= positions * count && dw.len() >= count * taps);
    // SAFETY: the checks above bound every index: a is count × positions
    // read from conv_grad (row stride 1, column stride count), b is the
    // positions × taps patches, c is count × taps.
    unsafe {
        matrixmultiply::sgemm(
            count,
            positions,
            taps,
            1.0,
            conv_grad.as_ptr(),
            1,
            count as isize,
            patches.data.as_ptr(),
            patches.position_stride as isize,
            patches.tap_stride as isize,
            0.0,
            dw.as_mut_ptr(),
            taps as isize,
            1,
        );
    }
}
