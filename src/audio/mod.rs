//! Audio front end: decode (symphonia), downmix to mono (mean of channels) and
//! resample (rubato) to [`TARGET_SAMPLE_RATE`], as essentia's `MonoLoader` does for
//! the reference implementation.
//!
//! - [`load`] reads a file and decodes it; [`decode_bytes`] decodes bytes already in
//!   memory (the dataset cache hashes a file's bytes and decodes the same buffer).
//! - `decode.rs` turns a wav/flac/mp3/ogg-vorbis stream into mono `f32` samples;
//!   `wav.rs` does the same, bit-identically and several times faster, for plain
//!   16-bit PCM wav, the format of most datasets.
//! - `resample.rs` brings any sample rate to 44.1 kHz (FFT-based, see there why).
//! - `limits.rs` says what is accepted (rates, channels, duration, file size,
//!   finite samples) and refuses the rest before the bulk of the work.
//!
//! Every failure is one [`AudioError`] naming the file and the reason: a missing
//! or unreadable file, an empty file, an unsupported extension, contents that are
//! not a supported stream, corrupt or truncated data, zero samples, audio that
//! is silent from start to end, NaN or infinite samples, or a sample rate,
//! channel count, duration or file size outside [`limits`]. A decoder panic on
//! malformed data is caught and reported as corrupt data.
//!
//! Must not know about mel features or datasets.

mod decode;
pub mod limits;
mod resample;
mod wav;
pub mod write;

use std::path::{Path, PathBuf};

/// The sample rate every track is brought to (essentia `MonoLoader`'s default, as
/// the reference implementation used).
pub const TARGET_SAMPLE_RATE: u32 = 44_100;

/// File extensions [`load`] accepts (compared case-insensitively).
pub const SUPPORTED_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// A track whose peak absolute sample does not exceed this level (one step of
/// 16-bit PCM, about −90 dBFS) holds no audible signal: it is rejected as silent,
/// since its features would be constant and say nothing about its class.
pub const SILENCE_PEAK: f32 = 1.0 / 32_768.0;

/// Mono audio at a known sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples in [-1, 1], mono.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Why a file could not be turned into audio. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file does not exist or cannot be read.
    #[error("cannot read audio file {path}: {source} (check the path and its permissions)")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("audio file {path} is empty (0 bytes); re-copy or remove it")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The extension is not one tempora decodes.
    #[error(
        "audio file {path}: unsupported extension {extension:?}; supported: wav, flac, mp3, ogg (vorbis)"
    )]
    UnsupportedExtension {
        /// The file.
        path: PathBuf,
        /// The extension found (empty when there is none).
        extension: String,
    },
    /// The contents are not a stream of a supported container and codec (for
    /// example a text file named `.wav`).
    #[error("audio file {path} is not a readable wav/flac/mp3/ogg stream ({reason}); the file is corrupt or mislabelled")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The stream started correctly but its data is malformed.
    #[error("audio file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The header promises more audio than the file holds.
    #[error("audio file {path} is truncated: the header announces {expected} frames, only {decoded} could be decoded")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames the header announces.
        expected: u64,
        /// Frames actually decoded.
        decoded: u64,
    },
    /// The stream is well formed but holds no samples.
    #[error("audio file {path} holds no samples (zero-length stream)")]
    NoSamples {
        /// The file.
        path: PathBuf,
    },
    /// Every sample is (digitally) silent.
    #[error("audio file {path} is silent (no sample above {peak:e} in absolute value)")]
    Silent {
        /// The file.
        path: PathBuf,
        /// The silence threshold, [`SILENCE_PEAK`].
        peak: f32,
    },
    /// Some samples are NaN, infinite or beyond [`limits::MAX_SAMPLE_ABS`] (a
    /// damaged floating-point file).
    #[error("audio file {path} holds {count} NaN, infinite or absurdly large (beyond ±{}) samples (the first at sample {first}); the file is damaged: re-export or remove it", limits::MAX_SAMPLE_ABS)]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// How many samples (after downmixing) are not finite.
        count: u64,
        /// Index of the first one.
        first: u64,
    },
    /// The sample rate is outside what tempora decodes.
    #[error("audio file {path} declares a sample rate of {rate} Hz; tempora decodes {} Hz to {} Hz: the header is damaged, or convert the file", limits::MIN_SAMPLE_RATE, limits::MAX_SAMPLE_RATE)]
    SampleRate {
        /// The file.
        path: PathBuf,
        /// The declared rate.
        rate: u32,
    },
    /// The channel count is 0 or more than tempora mixes.
    #[error("audio file {path} declares {channels} channels; tempora mixes 1 to {} channels to mono: the header is damaged, or downmix the file first", limits::MAX_CHANNELS)]
    Channels {
        /// The file.
        path: PathBuf,
        /// The declared count.
        channels: u32,
    },
    /// The recording is longer than [`limits::MAX_DURATION_S`] (or holds more
    /// than [`limits::MAX_FRAMES`] frames, at rates above 48 kHz).
    #[error("audio file {path} is {seconds} s long at {rate} Hz; tempora decodes at most {} s, and at most {} frames at rates above 48 kHz (decoded audio is held in memory): cut it into parts", limits::MAX_DURATION_S, limits::MAX_FRAMES)]
    TooLong {
        /// The file.
        path: PathBuf,
        /// Its duration (announced by the header, or decoded so far), whole seconds.
        seconds: u64,
        /// Its sample rate, Hz.
        rate: u32,
    },
    /// The file is larger than [`limits::MAX_FILE_BYTES`].
    #[error("audio file {path} has {bytes} bytes; tempora reads audio files of at most {} bytes: cut or compress it", limits::MAX_FILE_BYTES)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// The resampler could not be built or run for this file's sample rate.
    #[error("audio file {path}: cannot resample from {from} Hz to {to} Hz: {reason}")]
    Resample {
        /// The file.
        path: PathBuf,
        /// The file's sample rate.
        from: u32,
        /// The target sample rate.
        to: u32,
        /// What the resampler said.
        reason: String,
    },
}

/// Decodes `path`, downmixes to mono and resamples to [`TARGET_SAMPLE_RATE`].
pub fn load(path: &Path) -> Result<Audio, AudioError> {
    check_extension(path)?;
    let unreadable = |source| AudioError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    limits::check_file_size(path, meta.len())?;
    let bytes = std::fs::read(path).map_err(unreadable)?;
    decode_bytes(bytes, path)
}

/// Decodes the bytes of an audio file already read into memory; `path` names the
/// file in errors and its extension must be one of [`SUPPORTED_EXTENSIONS`].
/// Same result as [`load`] on that file.
pub fn decode_bytes(bytes: Vec<u8>, path: &Path) -> Result<Audio, AudioError> {
    check_extension(path)?;
    if bytes.is_empty() {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
        });
    }
    limits::check_file_size(path, bytes.len() as u64)?;
    if let Some(header) = wav::header(&bytes) {
        // Before any decoding: a header may announce anything.
        limits::check_channels(path, u32::from(header.channels))?;
        limits::check_rate(path, header.sample_rate)?;
        if let Some(frames) = header.frames {
            limits::check_frames(path, frames, header.sample_rate)?;
        }
    }
    let decoded = match wav::decode_pcm16(&bytes, path) {
        Some(fast) => fast?,
        None => decode::decode_guarded(bytes, path)?,
    };
    limits::check_rate(path, decoded.sample_rate)?;
    limits::check_frames(path, decoded.samples.len() as u64, decoded.sample_rate)?;
    limits::check_finite(path, &decoded.samples)?;
    if decoded.samples.is_empty() {
        return Err(AudioError::NoSamples {
            path: path.to_path_buf(),
        });
    }
    // Stops at the first audible sample, so costs nothing on real music.
    if !decoded.samples.iter().any(|x| x.abs() > SILENCE_PEAK) {
        return Err(AudioError::Silent {
            path: path.to_path_buf(),
            peak: SILENCE_PEAK,
        });
    }
    let samples = resample::to_rate(decoded.samples, decoded.sample_rate, TARGET_SAMPLE_RATE)
        .map_err(|reason| AudioError::Resample {
            path: path.to_path_buf(),
            from: decoded.sample_rate,
            to: TARGET_SAMPLE_RATE,
            reason,
        })?;
    Ok(Audio {
        samples,
        sample_rate: TARGET_SAMPLE_RATE,
    })
}

/// Whether `path` has one of the [`SUPPORTED_EXTENSIONS`] (case-insensitive).
pub fn has_supported_extension(path: &Path) -> bool {
    extension_of(path).is_some_and(|ext| SUPPORTED_EXTENSIONS.contains(&ext.as_str()))
}

fn extension_of(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn check_extension(path: &Path) -> Result<(), AudioError> {
    if has_supported_extension(path) {
        Ok(())
    } else {
        Err(AudioError::UnsupportedExtension {
            path: path.to_path_buf(),
            extension: extension_of(path).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_check_is_case_insensitive_and_names_the_extension() {
        assert!(has_supported_extension(Path::new("a/b.WAV")));
        assert!(has_supported_extension(Path::new("x.ogg")));
        assert!(!has_supported_extension(Path::new("x.aiff")));
        assert!(!has_supported_extension(Path::new("noext")));
        match load(Path::new("song.xyz")) {
            Err(AudioError::UnsupportedExtension { extension, .. }) => assert_eq!(extension, "xyz"),
            other => panic!("expected UnsupportedExtension, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_unreadable_and_named() {
        let err = load(Path::new("/nonexistent/dir/track.wav")).unwrap_err();
        assert!(matches!(err, AudioError::Unreadable { .. }));
        assert!(err.to_string().contains("/nonexistent/dir/track.wav"));
    }

    /// A 16-bit wav of `frames` frames of `channels` channels, in memory.
    fn wav_bytes(channels: u16, rate: u32, frames: usize) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..frames * usize::from(channels) {
            writer
                .write_sample(((i * 7919) % 65_536) as i32 - 32_768)
                .unwrap();
        }
        writer.finalize().unwrap();
        cursor.into_inner()
    }

    #[test]
    fn pcm16_fast_path_is_bit_identical_to_symphonia() {
        for channels in [1, 2, 3] {
            let bytes = wav_bytes(channels, 22_050, 5000);
            let path = Path::new("t.wav");
            let fast = wav::decode_pcm16(&bytes, path).unwrap().unwrap();
            let slow = decode::decode_mono(bytes, path).unwrap();
            assert_eq!(fast.sample_rate, slow.sample_rate);
            assert_eq!(fast.samples, slow.samples, "{channels} channels");
        }
    }

    #[test]
    fn empty_bytes_are_reported_as_empty() {
        let err = decode_bytes(Vec::new(), Path::new("e.flac")).unwrap_err();
        assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    }
}
