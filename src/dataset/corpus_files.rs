//! The embedded synthetic corpus written out as wav files
//! (`DIR/<Class>/synth-NNNN.wav`), to listen to or to load back as the
//! dataset `folder:DIR` (what `tempora datasets synth` does). Clips are
//! generated and written in parallel, each file atomically; a clip that
//! cannot be written is reported and the others go on.

use std::path::Path;

use rayon::prelude::*;

use crate::audio::write::{write_wav, WavFormat, WriteError};

use super::{Dataset, SyntheticClip, TrackSource};

/// What writing a corpus did.
#[derive(Debug, Default)]
pub struct CorpusWritten {
    /// Clips written.
    pub clips: usize,
    /// Seconds of audio written.
    pub seconds: f64,
    /// Clips that could not be written, by id, with why.
    pub failed: Vec<(String, WriteError)>,
}

/// Writes every synthetic clip of `dataset` under `out` (a folder per class,
/// created), calling `written` once per clip as it finishes.
pub fn write_corpus(
    dataset: &Dataset,
    out: &Path,
    format: WavFormat,
    written: &(dyn Fn() + Sync),
) -> Result<CorpusWritten, WriteError> {
    for class in &dataset.classes {
        let dir = out.join(class);
        std::fs::create_dir_all(&dir).map_err(|source| WriteError::Io { path: dir, source })?;
    }
    let clips: Vec<&SyntheticClip> = dataset
        .tracks
        .iter()
        .filter_map(|t| match &t.source {
            TrackSource::Synthetic(clip) => Some(clip),
            TrackSource::File(_) => None,
        })
        .collect();
    let results: Vec<(String, Result<f64, WriteError>)> = clips
        .par_iter()
        .map(|clip| {
            let path = out.join(format!("{}.wav", clip.id()));
            let result = write_wav(&clip.generate(), &path, format).map(|()| clip.seconds);
            written();
            (clip.id(), result)
        })
        .collect();
    let mut report = CorpusWritten::default();
    for (id, result) in results {
        match result {
            Ok(seconds) => {
                report.clips += 1;
                report.seconds += seconds;
            }
            Err(e) => report.failed.push((id, e)),
        }
    }
    Ok(report)
}
