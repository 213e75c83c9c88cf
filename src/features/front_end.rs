//! The one audio front end: decoded audio → log-mel spectrogram with every
//! check, and the same from an audio file.
//!
//! - [`audio_to_mel`]: mono audio already decoded (a dataset track, which may be
//!   rendered without any file) → [`MelSpectrogram`], refusing audio whose
//!   sample rate is not the feature config's and configs the extractor cannot
//!   use.
//! - [`file_to_mel`]: [`crate::audio::load`] (decode, downmix, resample to
//!   [`TARGET_SAMPLE_RATE`]) then [`audio_to_mel`]. The only place where
//!   `features` reads a file, and only through `audio`.
//!
//! The features task, `tempora features FILE` and `tempora predict` all go
//! through here, so the same recording gives the same bytes in all three.

use std::path::Path;

use crate::audio::{Audio, AudioError, TARGET_SAMPLE_RATE};

use super::{try_mel_spectrogram, FeatureConfig, FeatureError, MelSpectrogram};

/// Why a recording's spectrogram could not be computed. Only
/// [`FrontEndError::Audio`] names the file: callers add which recording,
/// track or task the other variants are about.
#[derive(Debug, thiserror::Error)]
pub enum FrontEndError {
    /// The file could not be decoded (the error names the file).
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The audio's sample rate is not the one the feature config expects.
    #[error(
        "audio arrives at {audio} Hz but the feature config's sample_rate is {config} Hz; \
         tempora brings every recording to {TARGET_SAMPLE_RATE} Hz, so features need \
         sample_rate = {TARGET_SAMPLE_RATE} (the default)"
    )]
    SampleRate {
        /// The audio's rate.
        audio: u32,
        /// The feature config's `sample_rate`.
        config: u32,
    },
    /// The feature config cannot be used (see [`FeatureConfig::validate`]).
    #[error("features: {0}")]
    Features(#[source] FeatureError),
}

/// A recording's log-mel spectrogram and the duration of the audio it was
/// computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The log-compressed mel spectrogram (before dataset normalisation).
    pub mel: MelSpectrogram,
    /// Seconds of audio ([`Audio::duration_s`]).
    pub seconds: f64,
}

/// The log-mel spectrogram of decoded mono `audio`, which must arrive at
/// `cfg.sample_rate`.
pub fn audio_to_mel(audio: &Audio, cfg: &FeatureConfig) -> Result<MelSpectrogram, FrontEndError> {
    if audio.sample_rate != cfg.sample_rate {
        return Err(FrontEndError::SampleRate {
            audio: audio.sample_rate,
            config: cfg.sample_rate,
        });
    }
    try_mel_spectrogram(&audio.samples, cfg).map_err(FrontEndError::Features)
}

/// Decodes the audio file at `path` ([`crate::audio::load`]) and computes its
/// log-mel spectrogram ([`audio_to_mel`]).
pub fn file_to_mel(path: &Path, cfg: &FeatureConfig) -> Result<Recording, FrontEndError> {
    let audio = crate::audio::load(path)?;
    let mel = audio_to_mel(&audio, cfg)?;
    Ok(Recording {
        mel,
        seconds: audio.duration_s(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(sample_rate: u32) -> Audio {
        Audio {
            samples: (0..8192).map(|i| (i as f32 * 0.05).sin() * 0.5).collect(),
            sample_rate,
        }
    }

    #[test]
    fn audio_to_mel_is_the_extractor_on_matching_audio() {
        let cfg = FeatureConfig::default();
        let audio = tone(cfg.sample_rate);
        let mel = audio_to_mel(&audio, &cfg).unwrap();
        assert_eq!(mel, try_mel_spectrogram(&audio.samples, &cfg).unwrap());
    }

    #[test]
    fn a_sample_rate_mismatch_is_refused_with_both_rates() {
        let cfg = FeatureConfig::default();
        match audio_to_mel(&tone(22_050), &cfg) {
            Err(FrontEndError::SampleRate { audio, config }) => {
                assert_eq!((audio, config), (22_050, cfg.sample_rate));
            }
            other => panic!("expected a sample-rate error, got {other:?}"),
        }
    }

    #[test]
    fn an_unusable_config_keeps_its_cause() {
        let cfg = FeatureConfig {
            hop_size: 0,
            ..FeatureConfig::default()
        };
        let err = audio_to_mel(&tone(cfg.sample_rate), &cfg).unwrap_err();
        let cause = std::error::Error::source(&err).expect("a cause");
        assert!(cause.to_string().contains("hop_size"), "{cause}");
    }

    #[test]
    fn a_missing_file_is_an_audio_error() {
        let err = file_to_mel(Path::new("/nonexistent/x.wav"), &FeatureConfig::default());
        assert!(matches!(err, Err(FrontEndError::Audio(_))), "{err:?}");
    }
}
