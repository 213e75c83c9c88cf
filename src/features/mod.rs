//! The paper's features: essentia-style framing, Blackman-Harris 62 dB window,
//! magnitude spectrum, 40 HTK mel bands (unit sum, on the power spectrum),
//! log10(1 + 10^4 x), and dataset normalisation statistics.
//!
//! The chain, per frame, as the reference implementation runs it with essentia
//! (`FrameGenerator` → `Windowing(type='blackmanharris62')` → `Spectrum` →
//! `MelBands(numberBands=40)` → `log10(1 + 10000·x)`):
//!
//! | step | file | essentia |
//! |---|---|---|
//! | frames of 2048, hop 1024, first centred on sample 0 | `framing.rs` | `FrameGenerator` defaults |
//! | window, area-normalised ×2, zero-phase rotation | `window.rs` | `Windowing` defaults |
//! | FFT (two real frames per complex FFT), 1025 bins, power `re² + im²` | `spectrogram.rs` | `Spectrum`, `MelBands(type='power')` |
//! | 40 mel-linear triangles on the HTK scale, 0–22,050 Hz, unit sum | `mel.rs` | `MelBands` defaults |
//! | `log10(1 + 10⁴·x)` | `spectrogram.rs` | the reference implementation |
//! | scalar or per-band mean/std | `normalise.rs` | the reference implementation (scalar) |
//! | `.npy` export | `npy.rs` | — |
//!
//! # Front end
//!
//! [`front_end`] is the one way from a recording to its spectrogram, with every
//! check (the audio's sample rate against the config, the config itself): from
//! decoded audio, or from a file through [`crate::audio::load`]. The features
//! task, `tempora features FILE` and `tempora predict` all call it.
//!
//! # Framing convention and frame count
//!
//! Frame `k` covers samples `k·1024 − 1024 .. k·1024 + 1024` (zeros outside the
//! signal), i.e. it is centred on sample `k·1024`; frames continue up to and including
//! the first one whose centre is at or past the end. A signal of `L > 0` samples
//! gives `⌈L / 1024⌉ + 1` frames. The 31.8 s Ballroom fixture
//! (`ballroom-waltz-Media-105901.wav`, 1,401,848 samples at 44.1 kHz) gives
//! `⌈1,401,848 / 1024⌉ + 1 =` **1,370 frames** (librosa's `center=True` would give
//! `1 + ⌊L / 1024⌋ = 1,369`). See `framing.rs` for the general rule.
//!
//! # Speed
//!
//! [`Extractor`] owns the FFT plan, window, sparse mel weights and every scratch
//! buffer; [`mel_spectrogram`] keeps one per thread (rebuilt only when the config
//! changes), so per-track calls from a rayon pool allocate only their output.
//!
//! Must not know about models or datasets; it reads files only in
//! [`front_end::file_to_mel`], and only through [`crate::audio`].

mod config;
mod framing;
pub mod front_end;
mod mel;
mod normalise;
mod npy;
mod spectrogram;
mod window;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

pub use config::{
    FeatureConfig, MelBinRange, MelInput, BLACKMAN_HARRIS_62DB, PAPER_FRAME_SIZE, PAPER_F_MAX,
    PAPER_F_MIN, PAPER_HOP_SIZE, PAPER_LOG_COMPRESSION, PAPER_MEL_BANDS, PAPER_SAMPLE_RATE,
};
pub use framing::frame_count;
pub use front_end::{audio_to_mel, file_to_mel, FrontEndError, Recording};
pub use mel::{hz_to_mel, mel_to_hz, MelFilterbank};
pub use normalise::NormAccumulator;
pub use npy::write_npy;
pub use spectrogram::Extractor;
pub use window::cosine_sum_window;

/// Why features or statistics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// A [`FeatureConfig`] field is out of range.
    #[error("invalid feature config field `{field}`: {reason}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// What is wrong and what would be valid.
        reason: String,
    },
    /// A spectrogram or statistics object has a different band count.
    #[error("expected spectrograms of {expected} mel bands, got {found}: compute them with the same feature config")]
    BandMismatch {
        /// Bands expected.
        expected: usize,
        /// Bands found.
        found: usize,
    },
    /// Two accumulators of different [`NormScope`]s were merged.
    #[error("cannot merge scalar and per-band normalisation accumulators")]
    ScopeMismatch,
    /// Normalisation statistics were requested before any value was added.
    #[error("no feature values to compute normalisation statistics from (no tracks, or only empty ones)")]
    NoValues,
    /// A standard deviation is zero (constant features).
    #[error("normalisation statistic {statistic} has zero standard deviation: every value is identical (silent or constant audio?)")]
    ZeroDeviation {
        /// Index of the statistic (0 for scalar, the band for per-band).
        statistic: usize,
    },
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

impl MelSpectrogram {
    /// Frame `k`'s bands.
    pub fn frame(&self, k: usize) -> &[f32] {
        &self.data[k * self.bands..(k + 1) * self.bands]
    }
}

thread_local! {
    /// This thread's extractor, reused while the config stays the same.
    static EXTRACTOR: RefCell<Option<Extractor>> = const { RefCell::new(None) };
}

/// Computes the log-compressed mel spectrogram of mono `samples` at `cfg.sample_rate`,
/// reusing this thread's [`Extractor`] when `cfg` is unchanged.
pub fn try_mel_spectrogram(
    samples: &[f32],
    cfg: &FeatureConfig,
) -> Result<MelSpectrogram, FeatureError> {
    EXTRACTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let extractor = match slot.take() {
            Some(e) if e.config() == cfg => slot.insert(e),
            _ => slot.insert(Extractor::new(cfg)?),
        };
        Ok(extractor.compute(samples))
    })
}

/// Computes the log-compressed mel spectrogram of mono `samples` at `cfg.sample_rate`.
///
/// # Panics
/// When `cfg` fails [`FeatureConfig::validate`] or asks for mel bands narrower than
/// two spectrum bins; validate configs coming from users first, or call
/// [`try_mel_spectrogram`].
pub fn mel_spectrogram(samples: &[f32], cfg: &FeatureConfig) -> MelSpectrogram {
    match try_mel_spectrogram(samples, cfg) {
        Ok(spec) => spec,
        Err(e) => panic!("mel_spectrogram called with an invalid config: {e}"),
    }
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
/// Built by [`NormAccumulator::finish`] or [`NormStats::compute`]; applied by
/// [`NormStats::apply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Mean(s).
    pub mean: Vec<f32>,
    /// Standard deviation(s).
    pub std: Vec<f32>,
}
