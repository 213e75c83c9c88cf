//! The analysis window, as essentia's `Windowing` builds and applies it.
//!
//! - Shape: symmetric 3-term cosine sum `w[n] = a0 − a1·cos(2πn/(N−1)) + a2·cos(4πn/(N−1))`
//!   (Blackman-Harris 62 dB for the paper: `blackmanharris62`).
//! - Normalisation (`normalized=true`): scaled so that `Σ|w| = 1`, then by 2 ("half of
//!   the energy is in negative frequencies": a full-scale sinusoid reads ≈ 1 in the
//!   magnitude spectrum).
//! - Zero phase (`zeroPhase=true`): the windowed frame is rotated by `N/2` so its centre
//!   lands on index 0. A circular shift by `N/2` multiplies bin `k` of the DFT by
//!   `(−1)^k`, so magnitudes are unchanged; it is implemented anyway so that the
//!   spectrum (phases included) is essentia's.
//!
//! Knows nothing about framing, FFTs or mel bands.

use rustfft::num_complex::Complex;

/// Builds the window of `size` samples from cosine-sum `coefficients` (a0, a1, a2),
/// normalised as essentia does when `normalise` is set.
pub fn cosine_sum_window(size: usize, coefficients: [f64; 3], normalise: bool) -> Vec<f32> {
    let [a0, a1, a2] = coefficients;
    let step = 2.0 * std::f64::consts::PI / (size as f64 - 1.0);
    let w: Vec<f64> = (0..size)
        .map(|n| {
            let x = step * n as f64;
            a0 - a1 * x.cos() + a2 * (2.0 * x).cos()
        })
        .collect();
    let scale = if normalise {
        let area: f64 = w.iter().map(|v| v.abs()).sum();
        if area > 0.0 {
            2.0 / area
        } else {
            1.0
        }
    } else {
        1.0
    };
    w.iter().map(|v| (v * scale) as f32).collect()
}

/// Writes `frame · window` into `out`, rotated by `N/2` when `zero_phase` is set
/// (essentia: the second half of the windowed frame first, then the first half).
/// The extractor windows two frames at once with [`window_pair`]; this one-frame
/// form is the reference the tests compare it with.
#[cfg(test)]
pub fn apply_window(frame: &[f32], window: &[f32], zero_phase: bool, out: &mut [f32]) {
    let n = frame.len();
    debug_assert!(window.len() == n && out.len() == n);
    let rotation = if zero_phase { n / 2 } else { 0 };
    let (out_first, out_second) = out.split_at_mut(n - rotation);
    for (o, (x, w)) in out_first.iter_mut().chain(out_second).zip(
        frame[rotation..]
            .iter()
            .chain(&frame[..rotation])
            .zip(window[rotation..].iter().chain(&window[..rotation])),
    ) {
        *o = x * w;
    }
}

/// Windows frames `a` and `b` as [`apply_window`] does, each rotated by `N/2`
/// when `zero_phase` is set, and packs them as the real and imaginary parts of
/// `out` (`out[j] = a'[j] + i·b'[j]`), ready for one complex FFT.
pub fn window_pair(
    a: &[f32],
    b: &[f32],
    window: &[f32],
    zero_phase: bool,
    out: &mut [Complex<f32>],
) {
    let n = a.len();
    debug_assert!(b.len() == n && window.len() == n && out.len() == n);
    let rotation = if zero_phase { n / 2 } else { 0 };
    let (out_first, out_second) = out.split_at_mut(n - rotation);
    let interleave = |out: &mut [Complex<f32>], a: &[f32], b: &[f32], w: &[f32]| {
        for (((z, x), y), w) in out.iter_mut().zip(a).zip(b).zip(w) {
            *z = Complex::new(x * w, y * w);
        }
    };
    interleave(
        out_first,
        &a[rotation..],
        &b[rotation..],
        &window[rotation..],
    );
    interleave(
        out_second,
        &a[..rotation],
        &b[..rotation],
        &window[..rotation],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::config::BLACKMAN_HARRIS_62DB;

    #[test]
    fn normalised_window_sums_to_two_and_is_symmetric() {
        let w = cosine_sum_window(2048, BLACKMAN_HARRIS_62DB, true);
        let sum: f64 = w.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 2.0).abs() < 1e-5, "sum {sum}");
        for n in 0..1024 {
            assert_eq!(w[n], w[2047 - n]);
        }
        // Peak at the centre pair; raw peak value a0 + a1 + a2 ≈ 1 at n = (N−1)/2.
        let raw = cosine_sum_window(2048, BLACKMAN_HARRIS_62DB, false);
        assert!((raw[1023] - 1.0).abs() < 1e-5);
        assert!((raw[0] - (0.44959 - 0.49364 + 0.05677)).abs() < 1e-7);
    }

    #[test]
    fn zero_phase_rotates_by_half() {
        let frame = [1.0f32, 2.0, 3.0, 4.0];
        let ones = [1.0f32; 4];
        let mut out = [0.0f32; 4];
        apply_window(&frame, &ones, true, &mut out);
        assert_eq!(out, [3.0, 4.0, 1.0, 2.0]);
        apply_window(&frame, &ones, false, &mut out);
        assert_eq!(out, frame);
    }

    #[test]
    fn window_pair_packs_two_windowed_frames() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let b = [-1.0f32, -2.0, -3.0, -4.0];
        let w = [0.5f32, 1.0, 2.0, 4.0];
        for zero_phase in [false, true] {
            let (mut wa, mut wb) = ([0.0f32; 4], [0.0f32; 4]);
            apply_window(&a, &w, zero_phase, &mut wa);
            apply_window(&b, &w, zero_phase, &mut wb);
            let mut packed = [Complex::default(); 4];
            window_pair(&a, &b, &w, zero_phase, &mut packed);
            for j in 0..4 {
                assert_eq!(
                    (packed[j].re, packed[j].im),
                    (wa[j], wb[j]),
                    "zero_phase {zero_phase}"
                );
            }
        }
    }
}
