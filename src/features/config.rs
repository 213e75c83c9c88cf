//! [`FeatureConfig`]: every constant of the feature extraction, with the paper's
//! (reference implementation's) values as defaults, and its validation.
//!
//! Knows nothing about how the features are computed.

use serde::{Deserialize, Serialize};

use super::FeatureError;

/// Reference protocol "Audio and features": audio at 44.1 kHz (`MonoLoader` default).
pub const PAPER_SAMPLE_RATE: u32 = 44_100;
/// Reference protocol: frames of 2048 samples.
pub const PAPER_FRAME_SIZE: usize = 2048;
/// Reference protocol: hop of 1024 samples.
pub const PAPER_HOP_SIZE: usize = 1024;
/// Reference protocol: 40 mel bands (essentia `MelBands(numberBands=40)`).
pub const PAPER_MEL_BANDS: usize = 40;
/// Reference protocol: mel bands start at 0 Hz (`MelBands` `lowFrequencyBound`).
pub const PAPER_F_MIN: f64 = 0.0;
/// Reference protocol: mel bands end at 22,050 Hz (`MelBands` `highFrequencyBound`).
pub const PAPER_F_MAX: f64 = 22_050.0;
/// Reference protocol: compression log10(1 + 10,000·x).
pub const PAPER_LOG_COMPRESSION: f64 = 10_000.0;
/// Reference protocol: Blackman-Harris 62 dB, essentia `blackmanharris62`
/// (a0, a1, a2) of `a0 − a1·cos(2πn/(N−1)) + a2·cos(4πn/(N−1))`.
pub const BLACKMAN_HARRIS_62DB: [f64; 3] = [0.44959, 0.49364, 0.05677];

/// What the mel filterbank weighs: essentia `MelBands(type=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MelInput {
    /// Magnitude squared (essentia's default, the reference implementation).
    #[default]
    Power,
    /// Magnitude.
    Magnitude,
}

/// Which spectrum bins each mel band visits (see `mel.rs`): essentia changed this
/// rule after 2016; it is not known which one the authors' essentia had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MelBinRange {
    /// Every bin between the band's outer edges (essentia's current `TriangularBands`;
    /// matches the essentia the benchmark compares with).
    #[default]
    Inside,
    /// Bins between the rounded edge bins, upper one excluded (essentia's 2016
    /// `TriangularBands`): drops a band's top bin when that edge rounds down.
    Rounded,
}

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
    /// Cosine-sum window coefficients (a0, a1, a2) (paper: Blackman-Harris 62 dB).
    pub window_coefficients: [f64; 3],
    /// Scale the window to area 1, then by 2 (essentia `Windowing(normalized=true)`).
    pub normalise_window: bool,
    /// Rotate each windowed frame by half its length before the FFT (essentia
    /// `Windowing(zeroPhase=true)`); changes phases only, never magnitudes.
    pub zero_phase: bool,
    /// Whether the mel filterbank weighs the power or the magnitude spectrum.
    pub mel_input: MelInput,
    /// Which spectrum bins each mel band visits.
    pub mel_bin_range: MelBinRange,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            sample_rate: PAPER_SAMPLE_RATE,
            frame_size: PAPER_FRAME_SIZE,
            hop_size: PAPER_HOP_SIZE,
            mel_bands: PAPER_MEL_BANDS,
            f_min: PAPER_F_MIN,
            f_max: PAPER_F_MAX,
            log_compression: PAPER_LOG_COMPRESSION,
            window_coefficients: BLACKMAN_HARRIS_62DB,
            normalise_window: true,
            zero_phase: true,
            mel_input: MelInput::Power,
            mel_bin_range: MelBinRange::Inside,
        }
    }
}

impl FeatureConfig {
    /// Number of spectrum bins, `frame_size / 2 + 1` (1025 for the paper).
    pub fn spectrum_bins(&self) -> usize {
        self.frame_size / 2 + 1
    }

    /// Checks every field; the filterbank itself also checks that each mel band
    /// spans at least two spectrum bins (essentia's rule).
    pub fn validate(&self) -> Result<(), FeatureError> {
        let invalid = |field: &'static str, reason: String| {
            Err(FeatureError::InvalidConfig { field, reason })
        };
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if self.sample_rate == 0 {
            return invalid("sample_rate", "must be positive".into());
        }
        if self.frame_size < 2 || self.frame_size % 2 != 0 {
            return invalid(
                "frame_size",
                format!("{} must be even and at least 2", self.frame_size),
            );
        }
        if self.hop_size == 0 {
            return invalid("hop_size", "must be positive".into());
        }
        if self.mel_bands == 0 {
            return invalid("mel_bands", "must be positive".into());
        }
        if !(self.f_min >= 0.0 && self.f_min < self.f_max && self.f_max <= nyquist) {
            return invalid(
                "f_max",
                format!(
                    "need 0 <= f_min ({}) < f_max ({}) <= sample_rate / 2 ({nyquist})",
                    self.f_min, self.f_max
                ),
            );
        }
        if !(self.log_compression.is_finite() && self.log_compression > 0.0) {
            return invalid(
                "log_compression",
                format!("{} must be finite and positive", self.log_compression),
            );
        }
        if self.window_coefficients.iter().any(|c| !c.is_finite()) {
            return invalid("window_coefficients", "must be finite".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_paper_and_valid() {
        let cfg = FeatureConfig::default();
        assert_eq!(cfg.spectrum_bins(), 1025);
        cfg.validate().unwrap();
    }

    #[test]
    fn toml_round_trip_and_unknown_fields_rejected() {
        let cfg: FeatureConfig = toml::from_str("mel_bands = 96\nzero_phase = false").unwrap();
        assert_eq!(cfg.mel_bands, 96);
        assert!(!cfg.zero_phase);
        assert_eq!(cfg.hop_size, PAPER_HOP_SIZE);
        assert!(toml::from_str::<FeatureConfig>("mel_band = 3").is_err());
    }

    #[test]
    fn invalid_fields_are_named() {
        let mut cfg = FeatureConfig {
            f_max: 30_000.0,
            ..FeatureConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("f_max"), "{err}");
        cfg.f_max = PAPER_F_MAX;
        cfg.frame_size = 2047;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("frame_size"));
    }
}
