//! The features task: decode one track ([`crate::dataset::Track::load_audio`]),
//! compute its log-mel spectrogram with the front end
//! ([`crate::features::audio_to_mel`]) and
//! store it as a compact binary file, plus a small `shape.json` that chunking
//! reads without loading the matrix.
//!
//! # `mel.f32`
//!
//! ```text
//! offset  size  content
//! 0       4     magic b"TMEL"
//! 4       4     format version (u32 LE, MEL_FORMAT_VERSION)
//! 8       4     frames (u32 LE)
//! 12      4     bands (u32 LE)
//! 16      4·F·B values, f32 LE, row-major [frame][band]
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::{audio_to_mel, MelSpectrogram};
use crate::layout::files::{MEL as MEL_FILE, SHAPE as SHAPE_FILE};
use crate::plan::params::FeaturesParams;
use crate::plan::{Key, Locator, Task, TaskKind};

use super::{write_json, write_output, Context, TaskError};

/// Bump when the `mel.f32` layout changes.
pub const MEL_FORMAT_VERSION: u32 = 1;

const MAGIC: &[u8; 4] = b"TMEL";
const HEADER_BYTES: usize = 16;

/// `shape.json`: the spectrogram's size and the audio's duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Frames (rows).
    pub frames: usize,
    /// Mel bands (columns).
    pub bands: usize,
    /// Seconds of audio the spectrogram was computed from.
    pub seconds: f64,
}

/// Encodes a spectrogram in the `mel.f32` format.
pub fn encode(mel: &MelSpectrogram) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + 4 * mel.data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&MEL_FORMAT_VERSION.to_le_bytes());
    // Spectrograms have far fewer than 2^32 frames or bands (hours of audio).
    out.extend_from_slice(&(mel.frames as u32).to_le_bytes());
    out.extend_from_slice(&(mel.bands as u32).to_le_bytes());
    for v in &mel.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes the `mel.f32` format; `None` when the bytes are not a valid file.
pub fn decode(bytes: &[u8]) -> Option<MelSpectrogram> {
    let header = bytes.get(..HEADER_BYTES)?;
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(header.get(i..i + 4)?.try_into().ok()?))
    };
    if &header[..4] != MAGIC || word(4)? != MEL_FORMAT_VERSION {
        return None;
    }
    let (frames, bands) = (word(8)? as usize, word(12)? as usize);
    let body = &bytes[HEADER_BYTES..];
    if body.len() != 4 * frames.checked_mul(bands)? {
        return None;
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(MelSpectrogram {
        frames,
        bands,
        data,
    })
}

/// Reads (verified) and decodes the spectrogram of features entry `key`.
pub fn read_mel(ctx: &Context, task: &Task, key: &Key) -> Result<MelSpectrogram, TaskError> {
    let bytes = ctx.read(TaskKind::Features, key, MEL_FILE)?;
    decode(&bytes).ok_or_else(|| TaskError::Format {
        task: task.id.0.clone(),
        what: format!("features/{}/{MEL_FILE} is not a mel.f32 file", key.short()),
    })
}

/// Reads the shape of features entry `key`.
pub fn read_shape(ctx: &Context, task: &Task, key: &Key) -> Result<Shape, TaskError> {
    ctx.read_json(task, TaskKind::Features, key, SHAPE_FILE)
}

/// Computes one track's features into `out`.
pub fn compute(
    ctx: &Context,
    task: &Task,
    p: &FeaturesParams,
    out: &Path,
) -> Result<(), TaskError> {
    let Locator::Track(index) = task.locator else {
        return Err(TaskError::Format {
            task: task.id.0.clone(),
            what: "a features task must locate a track".into(),
        });
    };
    let track = ctx
        .dataset
        .tracks
        .get(index)
        .ok_or_else(|| TaskError::Format {
            task: task.id.0.clone(),
            what: format!("track index {index} is outside the dataset"),
        })?;
    let audio = track.load_audio().map_err(|source| TaskError::Track {
        track: track.id.clone(),
        source,
    })?;
    let mel = audio_to_mel(&audio, &p.config).map_err(|source| TaskError::FrontEnd {
        task: task.id.0.clone(),
        source,
    })?;
    let shape = Shape {
        frames: mel.frames,
        bands: mel.bands,
        seconds: audio.samples.len() as f64 / f64::from(audio.sample_rate.max(1)),
    };
    write_output(task, out, MEL_FILE, &encode(&mel))?;
    write_json(task, out, SHAPE_FILE, &shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_files_round_trip_and_reject_damage() {
        let mel = MelSpectrogram {
            frames: 3,
            bands: 2,
            data: vec![0.0, -1.5, 2.25, f32::MIN_POSITIVE, 7.0, 1e-30],
        };
        let bytes = encode(&mel);
        assert_eq!(bytes.len(), HEADER_BYTES + 24);
        assert_eq!(decode(&bytes), Some(mel));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None, "truncated");
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert_eq!(decode(&wrong), None, "bad magic");
    }
}
