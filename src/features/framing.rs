//! Framing as essentia's `FrameGenerator` does by default (`FrameCutter` with
//! `startFromZero=false`, `validFrameThresholdRatio=0`, `lastFrameToEndOfFile=false`).
//!
//! # The rule
//!
//! For a signal of `L` samples, frame length `N` (even) and hop `h`:
//!
//! - frame `k` starts at sample `s_k = −(N+1)/2 + k·h` (integer division, so
//!   `−N/2`): the first frame is centred on sample 0, its first half is zeros;
//! - samples outside `[0, L)` read as zeros;
//! - frame `k` is emitted while `s_k < L`; it is the last one when its centre
//!   `s_k + N/2 = k·h` is at or past the end (`k·h ≥ L`).
//!
//! Hence, for `L > 0`, the frame count is `⌈L / h⌉ + 1` (when `h ≤ N/2`, which makes
//! `s_k < L` always hold up to the last frame), and 0 for an empty signal.
//! A 31.8 s clip at 44.1 kHz (the Ballroom fixture, `L` = 1,401,848) gives
//! `⌈1,401,848 / 1024⌉ + 1 = 1,369 + 1 = 1,370` frames.
//!
//! Knows nothing about windows, spectra or files.

/// Number of frames essentia's `FrameGenerator` yields for `len` samples.
pub fn frame_count(len: usize, frame_size: usize, hop_size: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let first_start = -(frame_size.div_ceil(2) as i64);
    let half = (frame_size / 2) as i64;
    let (len, hop) = (len as i64, hop_size as i64);
    // Smallest k whose centre s_k + N/2 reaches the end: that frame is the last.
    let to_centre = len - first_start - half;
    let last_by_centre = (to_centre.max(0) as u64).div_ceil(hop as u64);
    // Frames starting at or past the end are never emitted (only matters when h > N/2).
    let starting_before_end = ((len - first_start) as u64).div_ceil(hop as u64);
    (last_by_centre + 1).min(starting_before_end) as usize
}

/// Copies frame `k` of `samples` into `frame` (length `N`), zero-padding whatever
/// lies before sample 0 or after the end.
pub fn fill_frame(samples: &[f32], k: usize, hop_size: usize, frame: &mut [f32]) {
    let n = frame.len() as i64;
    let start = k as i64 * hop_size as i64 - (n + 1) / 2;
    let len = samples.len() as i64;
    let lo = start.clamp(0, len);
    let hi = (start + n).clamp(0, len);
    let dst_lo = (lo - start) as usize;
    let count = (hi - lo).max(0) as usize;
    frame[..dst_lo].fill(0.0);
    frame[dst_lo..dst_lo + count].copy_from_slice(&samples[lo as usize..lo as usize + count]);
    frame[dst_lo + count..].fill(0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal port of essentia's standard `FrameCutter::compute` loop for the
    /// default parameters, counting the frames it emits.
    fn essentia_loop_count(len: usize, n: usize, hop: usize) -> usize {
        let (len, n, hop) = (len as i64, n as i64, hop as i64);
        let mut start = -(n + 1) / 2;
        let mut count = 0;
        if len == 0 {
            return 0;
        }
        loop {
            if start >= len {
                return count;
            }
            count += 1;
            // idxInFrame after copying: samples available from max(start, 0).
            let idx_in_frame = (len - start).min(n);
            if idx_in_frame < n && start + n / 2 >= len {
                return count;
            }
            start += hop;
        }
    }

    #[test]
    fn closed_form_matches_essentia_loop() {
        for &(n, hop) in &[(2048, 1024), (2048, 512), (8, 3), (8, 8), (4, 1), (16, 12)] {
            for len in 0..200 {
                assert_eq!(
                    frame_count(len, n, hop),
                    essentia_loop_count(len, n, hop),
                    "len {len}, N {n}, hop {hop}"
                );
            }
            let len = 1_401_848;
            assert_eq!(frame_count(len, n, hop), essentia_loop_count(len, n, hop));
        }
    }

    #[test]
    fn ballroom_fixture_length_gives_1370_frames() {
        assert_eq!(frame_count(1_401_848, 2048, 1024), 1370);
        // Exactly 30 s: 1,323,000 / 1024 = 1291.99 → 1292 + 1.
        assert_eq!(frame_count(1_323_000, 2048, 1024), 1293);
    }

    #[test]
    fn first_frame_is_centred_on_sample_zero() {
        let x: Vec<f32> = (1..=10).map(|v| v as f32).collect();
        let mut frame = [9.0f32; 8];
        fill_frame(&x, 0, 3, &mut frame);
        assert_eq!(frame, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        fill_frame(&x, 3, 3, &mut frame);
        assert_eq!(frame, [6.0, 7.0, 8.0, 9.0, 10.0, 0.0, 0.0, 0.0]);
        // A frame wider than the signal on both sides.
        let mut wide = [9.0f32; 32];
        fill_frame(&x[..2], 0, 3, &mut wide);
        assert_eq!(&wide[15..19], &[0.0, 1.0, 2.0, 0.0]);
    }
}
