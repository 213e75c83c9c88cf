//! Sample-rate conversion of mono audio (rubato), skipped when the rate already matches.
//!
//! Choice of resampler: rubato's synchronous FFT resampler ([`FftFixedInOut`]).
//! The ratio between two integer sample rates is rational, so the exact ratio is
//! applied (no drift): each block of input is transformed, its spectrum truncated or
//! zero-extended to the output length, multiplied by a Blackman-Harris windowed-sinc
//! anti-aliasing filter and transformed back, blocks overlap-added. This is of the
//! quality of a long sinc interpolator (essentia's `MonoLoader`, which the reference
//! implementation used, resamples with libsamplerate's medium-quality sinc) and is
//! several times faster than rubato's asynchronous sinc resampler.
//!
//! The output has exactly `round(n · to / from)` samples, aligned with the input: the
//! resampler's delay is removed and the tail flushed with zeros.
//!
//! Knows nothing about decoding or features.

use rubato::{FftFixedInOut, Resampler};

/// Requested input block length (rubato rounds it to a multiple of the reduced
/// ratio's input side); 1024 keeps the FFTs small and the filter long enough.
const BLOCK_FRAMES: usize = 1024;

/// Resamples mono `samples` from `from` Hz to `to` Hz; returns the input untouched
/// when the rates are equal. Errors are the resampler's message.
pub(super) fn to_rate(samples: Vec<f32>, from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to {
        return Ok(samples);
    }
    let expected = output_len(samples.len(), from, to);
    let mut resampler = FftFixedInOut::<f32>::new(from as usize, to as usize, BLOCK_FRAMES, 1)
        .map_err(|e| e.to_string())?;
    let block_in = resampler.input_frames_next();
    let block_out = resampler.output_frames_next();
    let delay = resampler.output_delay();

    let mut out = Vec::with_capacity(delay + expected + block_out);
    let mut input = vec![0.0f32; block_in];
    let mut output = vec![0.0f32; block_out];
    let mut pos = 0;
    while out.len() < delay + expected {
        let n = block_in.min(samples.len().saturating_sub(pos));
        input[..n].copy_from_slice(&samples[pos..pos + n]);
        input[n..].fill(0.0);
        pos += n;
        let (_, produced) = resampler
            .process_into_buffer(&[&input[..]], &mut [&mut output[..]], None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&output[..produced]);
    }
    out.drain(..delay);
    out.truncate(expected);
    Ok(out)
}

/// `round(n · to / from)`, in integers.
fn output_len(n: usize, from: u32, to: u32) -> usize {
    let (n, from, to) = (n as u128, u128::from(from), u128::from(to));
    ((n * to + from / 2) / from) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn same_rate_is_identity() {
        let x = sine(440.0, 44_100, 1000);
        assert_eq!(to_rate(x.clone(), 44_100, 44_100).unwrap(), x);
    }

    #[test]
    fn output_length_is_the_rounded_ratio() {
        assert_eq!(output_len(663_300, 22_050, 44_100), 1_326_600);
        assert_eq!(output_len(48_000, 48_000, 44_100), 44_100);
        assert_eq!(output_len(3, 48_000, 44_100), 3);
    }

    #[test]
    fn upsampled_sine_matches_the_ideal_sine_and_stays_aligned() {
        // 1 kHz at 22.05 kHz, upsampled ×2: the result must be the same sine
        // sampled at 44.1 kHz (delay removed), away from the edges.
        let y = to_rate(sine(1000.0, 22_050, 22_050), 22_050, 44_100).unwrap();
        let ideal = sine(1000.0, 44_100, 44_100);
        assert_eq!(y.len(), ideal.len());
        let worst = y[4096..40_000]
            .iter()
            .zip(&ideal[4096..40_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "max deviation from the ideal sine {worst}");
    }

    #[test]
    fn downsampling_48k_removes_content_above_the_new_nyquist() {
        // 23 kHz is above 22.05 kHz: it must be filtered out, not aliased.
        let y = to_rate(sine(23_000.0, 48_000, 48_000), 48_000, 44_100).unwrap();
        let rms = (y[4096..40_000].iter().map(|v| v * v).sum::<f32>() / 35_904.0).sqrt();
        assert!(rms < 0.01, "alias rms {rms}");
    }
}
