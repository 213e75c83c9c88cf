//! What the front end accepts: sample rates, channel counts, durations and
//! file sizes it decodes, and the checks that refuse anything else with one
//! [`AudioError`] naming the file, before the bulk of the work is done.
//!
//! Each limit bounds the memory or time one file can cost (a header may
//! announce anything: a 10 MHz rate, 256 channels, three hours of audio) or
//! rules out data that would poison every feature computed from it (NaN or
//! infinite samples). Documented for users in docs/robustness.md.
//!
//! Knows nothing about containers: callers pass the numbers they read.

use std::path::Path;

use super::AudioError;

/// Lowest sample rate decoded (Hz): below it a 30 s song would not fill one
/// analysis frame of the paper's features with meaningful content.
pub const MIN_SAMPLE_RATE: u32 = 4_000;

/// Highest sample rate decoded (Hz): the highest rate of studio converters.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Most channels mixed to mono (symphonia's channel map has 32 positions).
pub const MAX_CHANNELS: u32 = 32;

/// Longest recording decoded, in seconds (one hour). Decoded audio is held in
/// memory: an hour at 44.1 kHz is 159 M samples, 635 MB as `f32`, plus the
/// file's own bytes. Longer recordings must be cut first.
pub const MAX_DURATION_S: u64 = 3_600;

/// Most frames decoded at the file's own rate: one hour at 48 kHz (691 MB as
/// `f32`), so that high rates cannot multiply the memory one file costs. Peak
/// memory per file: its bytes (≤ [`MAX_FILE_BYTES`]) + these frames + one
/// hour at 44.1 kHz after resampling.
pub const MAX_FRAMES: u64 = MAX_DURATION_S * 48_000;

/// Largest audio file read (2 GiB): the whole file is read into memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Refuses a sample rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
pub(super) fn check_rate(path: &Path, rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::SampleRate {
            path: path.to_path_buf(),
            rate,
        })
    }
}

/// Refuses 0 channels or more than [`MAX_CHANNELS`].
pub(super) fn check_channels(path: &Path, channels: u32) -> Result<(), AudioError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(AudioError::Channels {
            path: path.to_path_buf(),
            channels,
        })
    }
}

/// Refuses `frames` at `rate` (a valid rate) when longer than [`MAX_DURATION_S`].
pub(super) fn check_frames(path: &Path, frames: u64, rate: u32) -> Result<(), AudioError> {
    if frames <= max_frames(rate) {
        Ok(())
    } else {
        Err(AudioError::TooLong {
            path: path.to_path_buf(),
            seconds: frames / u64::from(rate.max(1)),
            rate,
        })
    }
}

/// The most frames decoded at `rate`: [`MAX_DURATION_S`], capped at [`MAX_FRAMES`].
pub(super) fn max_frames(rate: u32) -> u64 {
    (MAX_DURATION_S * u64::from(rate)).min(MAX_FRAMES)
}

/// Refuses a file larger than [`MAX_FILE_BYTES`] before reading it.
pub(super) fn check_file_size(path: &Path, bytes: u64) -> Result<(), AudioError> {
    if bytes <= MAX_FILE_BYTES {
        Ok(())
    } else {
        Err(AudioError::TooLarge {
            path: path.to_path_buf(),
            bytes,
        })
    }
}

/// The largest sample magnitude accepted (full scale is 1). Float files may
/// exceed full scale a little; a sample of a million is damage, and values near
/// `f32::MAX` overflow to infinity inside the resampler's FFT (found by fuzzing).
pub const MAX_SAMPLE_ABS: f32 = 1.0e6;

/// Whether a sample is finite and within [`MAX_SAMPLE_ABS`].
fn sample_ok(x: &f32) -> bool {
    x.abs() <= MAX_SAMPLE_ABS
}

/// Refuses samples that are NaN, infinite or beyond [`MAX_SAMPLE_ABS`] (a
/// damaged float file): they would turn every feature, statistic and gradient
/// they touch into NaN.
pub(super) fn check_finite(path: &Path, samples: &[f32]) -> Result<(), AudioError> {
    let Some(first) = samples.iter().position(|x| !sample_ok(x)) else {
        return Ok(());
    };
    let count = samples[first..].iter().filter(|x| !sample_ok(x)).count();
    Err(AudioError::NonFinite {
        path: path.to_path_buf(),
        count: count as u64,
        first: first as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_accept_the_ordinary_and_refuse_the_absurd() {
        let p = Path::new("x.wav");
        for rate in [8_000, 22_050, 44_100, 48_000, 96_000, 192_000] {
            check_rate(p, rate).unwrap();
        }
        for rate in [0, 1, 3_999, 10_000_000] {
            assert!(matches!(
                check_rate(p, rate),
                Err(AudioError::SampleRate { .. })
            ));
        }
        check_channels(p, 1).unwrap();
        check_channels(p, 32).unwrap();
        assert!(check_channels(p, 0).is_err());
        assert!(check_channels(p, 256).is_err());
        check_frames(p, 3_600 * 22_050, 22_050).unwrap();
        // Forty minutes at 96 kHz hold more frames than an hour at 48 kHz.
        assert!(check_frames(p, 2_400 * 96_000, 96_000).is_err());
        check_frames(p, 1_800 * 96_000, 96_000).unwrap();
        let three_hours = check_frames(p, 3 * 3_600 * 22_050, 22_050).unwrap_err();
        assert!(three_hours.to_string().contains("10800 s"), "{three_hours}");
    }

    #[test]
    fn non_finite_samples_are_counted_from_the_first() {
        let p = Path::new("x.wav");
        check_finite(p, &[0.0, 0.5, -1.0]).unwrap();
        let err = check_finite(p, &[0.0, f32::NAN, 0.1, f32::INFINITY]).unwrap_err();
        match err {
            AudioError::NonFinite { count, first, .. } => assert_eq!((count, first), (2, 1)),
            other => panic!("{other:?}"),
        }
    }
}
