//! Decoding a wav/flac/mp3/ogg-vorbis byte stream (symphonia) into mono `f32`
//! samples at the stream's own sample rate; mono is the mean of the channels.
//!
//! Owns the mapping from symphonia's errors to [`AudioError`], and stops a
//! stream whose rate, channels or length leave [`super::limits`] before it is
//! decoded (or as soon as it grows past them). Knows nothing about resampling
//! or features.

use std::io::Cursor;
use std::path::Path;

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_MP3, CODEC_TYPE_NULL, CODEC_TYPE_VORBIS};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::sample::Sample;

use super::{limits, AudioError};

/// [`decode_mono`], with a decoder panic on malformed data (a bug of the
/// decoder, never of the file) turned into [`AudioError::Corrupt`] so that one
/// bad file cannot take a whole run down.
pub(super) fn decode_guarded(bytes: Vec<u8>, path: &Path) -> Result<Decoded, AudioError> {
    let caught =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_mono(bytes, path)));
    caught.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        Err(AudioError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the decoder failed on malformed data ({what})"),
        })
    })
}

/// Most frames reserved up front from a header's frame count (64 MB of `f32`).
const PREALLOC_FRAMES: u64 = 1 << 24;

/// Mono samples at the rate the file was recorded at.
pub(super) struct Decoded {
    /// Mean of the channels, in [-1, 1].
    pub samples: Vec<f32>,
    /// The stream's sample rate, Hz.
    pub sample_rate: u32,
}

/// Decodes every packet of the first audio track of `bytes`; `path` names the
/// file in errors and gives symphonia its extension hint.
pub(super) fn decode_mono(bytes: Vec<u8>, path: &Path) -> Result<Decoded, AudioError> {
    let unsupported = |e: SymphoniaError| AudioError::UnsupportedFormat {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let corrupt = |e: SymphoniaError| AudioError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };

    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            // Gapless: trim the encoder delay and padding of lossy streams (LAME/Xing
            // tags, Ogg granule positions), so durations are the encoded audio's.
            &FormatOptions {
                enable_gapless: true,
                ..FormatOptions::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(unsupported)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "the container holds no audio track".to_owned(),
        })?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    check_params(path, &params)?;
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(unsupported)?;

    let mut samples: Vec<f32> = match params.n_frames {
        // A header's count is a hint, not a promise: reserve at most
        // PREALLOC_FRAMES and let the vector grow if the stream is longer.
        Some(n) => Vec::with_capacity(usize::try_from(n.min(PREALLOC_FRAMES)).unwrap_or(0)),
        None => Vec::new(),
    };
    let mut sample_rate = params.sample_rate;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            // A chained stream starts a new track list: the first track is complete.
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(corrupt(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let buffer = decoder.decode(&packet).map_err(corrupt)?;
        let rate = buffer.spec().rate;
        match sample_rate {
            Some(r) if r != rate && !samples.is_empty() => {
                return Err(AudioError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("the sample rate changes from {r} Hz to {rate} Hz mid-stream"),
                })
            }
            _ => sample_rate = Some(rate),
        }
        limits::check_rate(path, rate)?;
        mix_to_mono(&buffer, &mut samples);
        limits::check_frames(path, samples.len() as u64, rate)?;
    }

    check_length(path, &params, samples.len())?;
    let sample_rate =
        sample_rate
            .filter(|&r| r > 0)
            .ok_or_else(|| AudioError::UnsupportedFormat {
                path: path.to_path_buf(),
                reason: "the stream does not declare a sample rate".to_owned(),
            })?;
    Ok(Decoded {
        samples,
        sample_rate,
    })
}

/// Refuses what the stream's parameters announce beyond [`limits`], before decoding.
fn check_params(
    path: &Path,
    params: &symphonia::core::codecs::CodecParameters,
) -> Result<(), AudioError> {
    if let Some(channels) = params.channels {
        limits::check_channels(path, channels.count() as u32)?;
    }
    if let Some(rate) = params.sample_rate {
        limits::check_rate(path, rate)?;
        if let Some(frames) = params.n_frames {
            limits::check_frames(path, frames, rate)?;
        }
    }
    Ok(())
}

/// For codecs whose header frame count is exact (PCM, FLAC; not the lossy codecs,
/// whose count includes encoder delay and padding), fewer decoded frames than
/// announced means the file was cut short.
fn check_length(
    path: &Path,
    params: &symphonia::core::codecs::CodecParameters,
    decoded: usize,
) -> Result<(), AudioError> {
    let lossy = params.codec == CODEC_TYPE_MP3 || params.codec == CODEC_TYPE_VORBIS;
    match params.n_frames {
        Some(expected) if !lossy && (decoded as u64) < expected => Err(AudioError::Truncated {
            path: path.to_path_buf(),
            expected,
            decoded: decoded as u64,
        }),
        _ => Ok(()),
    }
}

/// Appends the mean over channels of every frame of `buffer` to `out`.
fn mix_to_mono(buffer: &AudioBufferRef<'_>, out: &mut Vec<f32>) {
    match buffer {
        AudioBufferRef::U8(b) => mix_planes(b, out),
        AudioBufferRef::U16(b) => mix_planes(b, out),
        AudioBufferRef::U24(b) => mix_planes(b, out),
        AudioBufferRef::U32(b) => mix_planes(b, out),
        AudioBufferRef::S8(b) => mix_planes(b, out),
        AudioBufferRef::S16(b) => mix_planes(b, out),
        AudioBufferRef::S24(b) => mix_planes(b, out),
        AudioBufferRef::S32(b) => mix_planes(b, out),
        AudioBufferRef::F32(b) => mix_planes(b, out),
        AudioBufferRef::F64(b) => mix_planes(b, out),
    }
}

fn mix_planes<S: Sample + IntoSample<f32>>(buffer: &AudioBuffer<S>, out: &mut Vec<f32>) {
    let channels = buffer.spec().channels.count();
    let start = out.len();
    out.resize(start + buffer.frames(), 0.0);
    let mono = &mut out[start..];
    for c in 0..channels {
        for (m, &s) in mono.iter_mut().zip(buffer.chan(c)) {
            *m += s.into_sample();
        }
    }
    if channels > 1 {
        let scale = 1.0 / channels as f32;
        mono.iter_mut().for_each(|m| *m *= scale);
    }
}
