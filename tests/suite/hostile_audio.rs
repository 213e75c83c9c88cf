//! Hostile audio files: each gets one clear error naming the file,
//! or a defined result, never a panic. Headers are written byte by byte so
//! that they can say anything: sample rates of 0, 1 Hz and 10 MHz, 0 and 256
//! channels, a data chunk longer than the file, three hours announced by a
//! file of a few bytes; float samples that are NaN or infinite; an mp3 behind
//! a huge ID3 tag. See docs/robustness.md for the behaviours.

use std::path::{Path, PathBuf};

use tempora::audio::{self, limits, AudioError};

use crate::common;

/// A RIFF/WAVE file: `fmt ` chunk of `tag` (1 PCM, 3 float), then a data
/// chunk announcing `data_size` bytes and holding `data`.
fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data_size: u32, data: &[u8]) -> Vec<u8> {
    let align = channels.wrapping_mul(bits / 8);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    // The RIFF size agrees with the data chunk's, as in a file cut short.
    b.extend_from_slice(&36u32.saturating_add(data_size).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate.wrapping_mul(u32::from(align))).to_le_bytes());
    b.extend_from_slice(&align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_size.to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// 16-bit PCM samples of a loud square wave, `n` of them.
fn pcm16(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (if i % 50 < 25 { 8000i16 } else { -8000 }).to_le_bytes())
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Loads `bytes` as file `name`; the error must name the file.
fn load_err(name: &str, bytes: &[u8]) -> AudioError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    let err = audio::load(&path).expect_err("a hostile file must not load");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    err
}

#[test]
fn float_wav_with_nan_or_infinite_samples_is_refused_with_the_count() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut samples: Vec<f32> = (0..4410).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        samples[100] = bad;
        samples[2000] = bad;
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let err = load_err("nan.wav", &wav(3, 1, 44_100, 32, data.len() as u32, &data));
        match &err {
            AudioError::NonFinite { count, first, .. } => assert_eq!((*count, *first), (2, 100)),
            other => panic!("expected NonFinite, got {other}"),
        }
        assert!(err.to_string().contains("re-export"), "{err}");
    }
}

#[test]
fn absurd_sample_rates_are_refused_before_decoding() {
    let data = pcm16(4410);
    for rate in [0, 1, 10_000_000] {
        for (tag, bits) in [(1u16, 16u16), (3, 32)] {
            let err = load_err(
                "rate.wav",
                &wav(tag, 1, rate, bits, data.len() as u32, &data),
            );
            assert!(
                matches!(err, AudioError::SampleRate { rate: r, .. } if r == rate),
                "{rate} Hz: {err}"
            );
        }
    }
    // The edges of the accepted range decode.
    let dir = tempfile::tempdir().unwrap();
    for rate in [limits::MIN_SAMPLE_RATE, 192_000] {
        let path = write(
            dir.path(),
            "ok.wav",
            &wav(1, 1, rate, 16, data.len() as u32, &data),
        );
        audio::load(&path).unwrap_or_else(|e| panic!("{rate} Hz: {e}"));
    }
}

#[test]
fn zero_or_256_channels_are_refused() {
    for channels in [0u16, 256] {
        let data = pcm16(4410);
        let err = load_err(
            "ch.wav",
            &wav(1, channels, 44_100, 16, data.len() as u32, &data),
        );
        assert!(
            matches!(err, AudioError::Channels { channels: c, .. } if c == u32::from(channels)),
            "{channels}: {err}"
        );
    }
}

#[test]
fn a_data_chunk_longer_than_the_file_is_truncation() {
    let data = pcm16(4410);
    for (tag, bits, bytes) in [(1u16, 16u16, data.clone()), (3, 32, [0u8; 8820].to_vec())] {
        let announced = bytes.len() as u32 * 10;
        let err = load_err("cut.wav", &wav(tag, 1, 44_100, bits, announced, &bytes));
        // The PCM path counts the frames; symphonia may instead find the
        // stream malformed. Either way one error names the file.
        let expected = match tag {
            1 => matches!(err, AudioError::Truncated { .. }),
            _ => matches!(
                err,
                AudioError::Truncated { .. }
                    | AudioError::Corrupt { .. }
                    | AudioError::UnsupportedFormat { .. }
            ),
        };
        assert!(expected, "format {tag}: {err}");
    }
}

#[test]
fn three_hours_announced_are_refused_before_anything_is_read_into_samples() {
    // A 3-hour 22.05 kHz mono header over 1 s of audio: the duration limit
    // speaks first (a real 3-hour file fails the same way, without the
    // gigabytes of samples being decoded).
    let data = pcm16(22_050);
    let three_hours = 3 * 3_600 * 22_050 * 2;
    let err = load_err("long.wav", &wav(1, 1, 22_050, 16, three_hours, &data));
    match &err {
        AudioError::TooLong { seconds, .. } => assert_eq!(*seconds, 10_800),
        other => panic!("expected TooLong, got {other}"),
    }
    assert!(err.to_string().contains("cut it into parts"), "{err}");
    // An hour exactly is within the limit (then truncated, as it should be).
    let hour = (limits::MAX_DURATION_S * 22_050 * 2) as u32;
    let err = load_err("hour.wav", &wav(1, 1, 22_050, 16, hour, &data));
    assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
}

/// An ID3v2.4 tag of `body` bytes (syncsafe size), filled with padding.
fn id3_tag(body: u32) -> Vec<u8> {
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend((0..4).rev().map(|i| ((body >> (7 * i)) & 0x7f) as u8));
    tag.resize(10 + body as usize, 0);
    tag
}

#[test]
fn an_mp3_behind_a_huge_id3_tag_decodes_as_without_it() {
    let Some(fixture) = common::fixture("audio/salami-2.mp3") else {
        return;
    };
    let plain = std::fs::read(&fixture).unwrap();
    let mut tagged = id3_tag(16 << 20);
    tagged.extend_from_slice(&plain);
    let dir = tempfile::tempdir().unwrap();
    let a = audio::load(&write(dir.path(), "plain.mp3", &plain)).unwrap();
    let b = audio::load(&write(dir.path(), "tagged.mp3", &tagged)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_huge_id3_tag_over_nothing_is_an_error() {
    // The tag announces 256 MB (the largest a syncsafe size can say) and the
    // file ends after 64 kB of it; then a tag followed by junk.
    let mut cut = id3_tag(64 << 10);
    cut[6..10].copy_from_slice(&[0x7f; 4]);
    let err = load_err("cut.mp3", &cut);
    assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{err}");
    let mut junk = id3_tag(4 << 20);
    junk.extend(std::iter::repeat_n(0x55u8, 100_000));
    let err = load_err("junk.mp3", &junk);
    assert!(
        matches!(
            err,
            AudioError::UnsupportedFormat { .. } | AudioError::Corrupt { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_file_over_two_gibibytes_is_refused_before_it_is_read() {
    // A sparse file: its length is what counts, no disk space is used.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(limits::MAX_FILE_BYTES + 1).unwrap();
    let err = audio::load(&path).unwrap_err();
    assert!(matches!(err, AudioError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("huge.wav"), "{err}");
}
