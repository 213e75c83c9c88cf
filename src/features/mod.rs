//! The paper's features: essentia-style framing, Blackman-Harris 62 dB window,
//! magnitude spectrum, 40 HTK mel bands (unit sum, on the power spectrum),
//! log10(1 + 10^4 x), and dataset normalisation statistics.
//!
//! Must not know about models or files on disk.

use serde::{Deserialize, Serialize};

/// Bump whenever the numbers [`mel_spectrogram`] produces change for the same input:
/// it is part of every feature cache key.
pub const FEATURE_CODE_VERSION: u32 = 1;

/// Every constant of the feature extraction. `Default` is the paper's
/// (reference implementation's) configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureConfig {
    /// Sample rate the audio is resampled to, Hz.
    pub sample_rate: u32,
    /// Frame length in samples (paper: 2048).
    pub frame_size: usize,
    /// Hop between frames in samples (paper: 1024).
    pub hop_size: usize,
    /// Number of mel bands (paper: 40).
    pub mel_bands: usize,
    /// Lowest mel band edge, Hz.
    pub f_min: f64,
    /// Highest mel band edge, Hz.
    pub f_max: f64,
    /// The `C` in log10(1 + C·x) (paper: 10,000).
    pub log_compression: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            sample_rate: 44_100,
            frame_size: 2048,
            hop_size: 1024,
            mel_bands: 40,
            f_min: 0.0,
            f_max: 22_050.0,
            log_compression: 10_000.0,
        }
    }
}

/// A log-compressed mel spectrogram, row-major `[frame][band]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    /// Number of frames (rows).
    pub frames: usize,
    /// Number of mel bands (columns).
    pub bands: usize,
    /// `frames * bands` values.
    pub data: Vec<f32>,
}

/// Computes the log-compressed mel spectrogram of mono `samples` at `cfg.sample_rate`.
pub fn mel_spectrogram(samples: &[f32], cfg: &FeatureConfig) -> MelSpectrogram {
    let _ = (samples, cfg);
    todo!("features module")
}

/// Over which values the normalisation mean and standard deviation are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NormScope {
    /// One scalar mean and std over every value (the reference implementation).
    #[default]
    Scalar,
    /// One mean and std per mel band.
    PerBand,
}

/// Which songs contribute to the normalisation statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NormSplit {
    /// Every song of the dataset, train, validation and test (the reference implementation).
    #[default]
    AllSongs,
    /// The training songs of each fold only.
    TrainOnly,
}

/// How spectrograms are standardised before training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NormConfig {
    /// Scalar or per band.
    pub scope: NormScope,
    /// All songs or training songs only.
    pub split: NormSplit,
}

/// Normalisation statistics: `mean.len() == std.len()`, 1 (scalar) or `bands`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Mean(s).
    pub mean: Vec<f32>,
    /// Standard deviation(s).
    pub std: Vec<f32>,
}
