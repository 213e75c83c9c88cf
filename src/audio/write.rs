//! Writing audio as a wav file (hound), atomically: a temporary file in the
//! target directory, renamed into place, so a reader never sees half a file.
//! What `tempora datasets synth` writes the synthetic corpus with.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::Audio;

/// Sample format of a written wav file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer PCM (small, plays everywhere).
    Int16,
    /// 32-bit float (bit-exact copy of the samples).
    Float32,
}

/// Why a wav file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file system refused.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file (or its directory).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The encoder refused.
    #[error("cannot encode {path} as wav: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's error.
        source: hound::Error,
    },
}

/// Writes `audio` (mono) to `path` in `format`, replacing any file there.
pub fn write_wav(audio: &Audio, path: &Path, format: WavFormat) -> Result<(), WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io { path, source }
    };
    let wav = |source| WriteError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    let (bits_per_sample, sample_format) = match format {
        WavFormat::Int16 => (16, hound::SampleFormat::Int),
        WavFormat::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio.sample_rate,
        bits_per_sample,
        sample_format,
    };
    {
        let mut writer =
            hound::WavWriter::new(BufWriter::new(tmp.as_file_mut()), spec).map_err(wav)?;
        for &x in &audio.samples {
            match format {
                WavFormat::Int16 => writer.write_sample(to_i16(x)).map_err(wav)?,
                WavFormat::Float32 => writer.write_sample(x).map_err(wav)?,
            }
        }
        writer.finalize().map_err(wav)?;
    }
    tmp.persist(path).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Full-scale conversion to 16-bit PCM, clamped to [-1, 1].
fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_files_read_back_bit_exact_and_int16_within_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let audio = Audio {
            samples: vec![0.0, 0.25, -0.5, 0.999, -1.0],
            sample_rate: 44_100,
        };
        let float = dir.path().join("f.wav");
        write_wav(&audio, &float, WavFormat::Float32).unwrap();
        let back: Vec<f32> = hound::WavReader::open(&float)
            .unwrap()
            .samples::<f32>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, audio.samples);
        let int = dir.path().join("i.wav");
        write_wav(&audio, &int, WavFormat::Int16).unwrap();
        let back: Vec<i16> = hound::WavReader::open(&int)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back[1], to_i16(0.25));
        assert_eq!(back[4], -i16::MAX);
    }
}
