//! Fast path for the most common file of all: 16-bit integer PCM in a RIFF/WAVE
//! container (Ballroom, GTZAN, the synthetic corpus written by `tempora datasets`).
//!
//! symphonia decodes such a file sample by sample through generic packet
//! machinery, which is most of the decode + features time of a dataset run; here
//! the data chunk is converted in one tight loop. The result is bit-identical to the
//! symphonia path (same `s / 32768` conversion, same channel sum then `× 1/C`), which
//! the tests check. Anything else (other bit depths, float, compressed wav,
//! unusual chunk layouts) returns `None` and goes through symphonia.
//!
//! Knows nothing about resampling or features.

use std::path::Path;

use super::decode::Decoded;
use super::AudioError;

/// `WAVE_FORMAT_PCM`.
const FORMAT_PCM: u16 = 1;
/// `WAVE_FORMAT_EXTENSIBLE` (the sub-format GUID then says PCM or not).
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The only bit depth this path handles.
const BITS_16: u16 = 16;
/// symphonia's (and everyone's) i16 → f32 scale.
const I16_SCALE: f32 = 32_768.0;

/// The parts of the `fmt ` chunk this path needs.
struct Format {
    channels: usize,
    sample_rate: u32,
}

/// Decodes `bytes` when they are a plain 16-bit PCM wav; `None` when they are
/// anything else (the caller then uses symphonia).
pub(super) fn decode_pcm16(bytes: &[u8], path: &Path) -> Option<Result<Decoded, AudioError>> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut format = None;
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body = pos + 8;
        match id {
            b"fmt " => format = Some(parse_format(bytes.get(body..body + size)?)?),
            b"data" => {
                let format = format?;
                return Some(convert(&bytes[body..], size, &format, path));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

/// Accepts PCM (plain or extensible) 16-bit with at least one channel.
fn parse_format(chunk: &[u8]) -> Option<Format> {
    let u16_at = |i: usize| {
        chunk
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let tag = u16_at(0)?;
    let channels = usize::from(u16_at(2)?);
    let sample_rate = u32::from_le_bytes(chunk.get(4..8)?.try_into().ok()?);
    let block_align = usize::from(u16_at(12)?);
    let bits = u16_at(14)?;
    let pcm = match tag {
        FORMAT_PCM => true,
        // The sub-format GUID starts with the format tag.
        FORMAT_EXTENSIBLE => u16_at(24)? == FORMAT_PCM,
        _ => false,
    };
    let plain = pcm && bits == BITS_16 && channels > 0 && block_align == 2 * channels;
    (plain && sample_rate > 0).then_some(Format {
        channels,
        sample_rate,
    })
}

/// Converts the data chunk; fewer bytes than `declared` is a truncated file.
fn convert(
    data: &[u8],
    declared: usize,
    format: &Format,
    path: &Path,
) -> Result<Decoded, AudioError> {
    let block = 2 * format.channels;
    let expected = declared / block;
    let available = data.len().min(declared) / block;
    if available < expected {
        return Err(AudioError::Truncated {
            path: path.to_path_buf(),
            expected: expected as u64,
            decoded: available as u64,
        });
    }
    let frames = &data[..expected * block];
    let samples = if format.channels == 1 {
        frames
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / I16_SCALE)
            .collect()
    } else {
        let scale = 1.0 / format.channels as f32;
        frames
            .chunks_exact(block)
            .map(|frame| {
                let sum = frame.chunks_exact(2).fold(0.0f32, |acc, b| {
                    acc + f32::from(i16::from_le_bytes([b[0], b[1]])) / I16_SCALE
                });
                sum * scale
            })
            .collect()
    };
    Ok(Decoded {
        samples,
        sample_rate: format.sample_rate,
    })
}
