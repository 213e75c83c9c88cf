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
//! [`header`] reads the numbers of any RIFF/WAVE header (PCM or not) so that
//! absurd ones are refused before anything is decoded.
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

/// A data chunk size that means "unknown length" (streaming writers).
const UNKNOWN_SIZE: u32 = u32::MAX;

/// The numbers a RIFF/WAVE header announces, whatever its codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// Channels (`fmt ` chunk).
    pub channels: u16,
    /// Sample rate, Hz (`fmt ` chunk).
    pub sample_rate: u32,
    /// Frames the data chunk announces (its size over the block alignment),
    /// when the size is known and the alignment non-zero.
    pub frames: Option<u64>,
}

/// The header of a RIFF/WAVE file; `None` for anything else, or a `fmt `
/// chunk too short to read.
pub(super) fn header(bytes: &[u8]) -> Option<Header> {
    // (channels, sample rate, block alignment) of the `fmt ` chunk.
    let mut fmt: Option<(u16, u32, u16)> = None;
    let mut data_size = None;
    for (id, body, size) in chunks(bytes)? {
        match id {
            b"fmt " => {
                let c = bytes.get(body..body.checked_add(16)?)?;
                fmt = Some((
                    u16::from_le_bytes([c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                    u16::from_le_bytes([c[12], c[13]]),
                ));
            }
            b"data" if fmt.is_some() => {
                data_size = Some(size);
                break;
            }
            _ => {}
        }
    }
    let (channels, sample_rate, align) = fmt?;
    Some(Header {
        channels,
        sample_rate,
        frames: data_size
            .filter(|&size| size != UNKNOWN_SIZE && align > 0)
            .map(|size| u64::from(size) / u64::from(align)),
    })
}

/// The chunks after the RIFF/WAVE preamble as (id, body offset, size);
/// `None` when `bytes` are not RIFF/WAVE.
fn chunks(bytes: &[u8]) -> Option<Vec<(&[u8], usize, u32)>> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        out.push((&bytes[pos..pos + 4], pos + 8, size));
        // Chunks are padded to an even length.
        let Some(next) = (pos + 8).checked_add(size as usize + (size % 2) as usize) else {
            break;
        };
        pos = next;
    }
    Some(out)
}

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
        let mut mono = Vec::with_capacity(expected);
        mono.extend(
            frames
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / I16_SCALE),
        );
        mono
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
