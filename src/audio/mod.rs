//! Audio front end: decode (symphonia), downmix to mono (mean of channels) and
//! resample (rubato) to [`TARGET_SAMPLE_RATE`].
//!
//! Must not know about mel features or datasets.

use std::path::Path;

/// The sample rate every track is brought to (essentia `MonoLoader`'s default, as
/// the reference implementation used).
pub const TARGET_SAMPLE_RATE: u32 = 44_100;

/// Mono audio at a known sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples in [-1, 1], mono.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

/// Why a file could not be turned into audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Placeholder until the audio module lands.
    #[error("{path}: {reason}")]
    Other {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Decodes `path`, downmixes to mono and resamples to [`TARGET_SAMPLE_RATE`].
pub fn load(path: &Path) -> Result<Audio, AudioError> {
    let _ = path;
    todo!("audio module")
}
