//! The train task: one (model, hop, fold) of an experiment. Reads the fold's
//! chunk file (the one truth about which chunks train, validate and test),
//! the normalisation statistics, and the fold's spectrograms; hands them to
//! [`crate::train::run_fold`], which writes weights, per-epoch metrics and
//! test metrics into the entry; then writes the model card
//! ([`crate::train::ModelCard`]), so the entry is usable without the spec.
//!
//! The work directory survives a crash (see `exec::store`), so the train
//! module's per-epoch checkpoint inside it lets a killed run resume.
//!
//! As each epoch ends its metrics also go to a TensorBoard event file under
//! the experiment's log directory ([`Context::tensorboard`]), outside the
//! entry: a failure to write it is logged once and never fails the training.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::dataset::ShortSongs;
use crate::exec::runner::{JobContext, Update};
use crate::features::{MelSpectrogram, NormStats};
use crate::layout::files;
use crate::plan::params::{SongRef, TrainParams};
use crate::plan::{Task, TaskKind};
use crate::tensorboard::{self, EventFile};
use crate::train::{
    run_fold, ChunkRef, ChunkSet, FoldData, ModelCard, Provenance, RunId, SongInfo,
    MODEL_CARD_FORMAT,
};

use super::chunks::{ChunkFile, SplitChunks};
use super::features::read_mel;
use super::{write_json, Context, TaskError};

/// Trains and tests one (model, hop, fold) into `out`.
pub fn compute(
    ctx: &Context,
    task: &Task,
    p: &TrainParams,
    out: &Path,
    job: &JobContext,
) -> Result<(), TaskError> {
    let chunks: ChunkFile = ctx.read_json(
        task,
        TaskKind::Chunks,
        &ctx.upstream(task, TaskKind::Chunks)?,
        files::CHUNKS,
    )?;
    let stats: NormStats = ctx.read_json(
        task,
        TaskKind::Norm,
        &ctx.upstream(task, TaskKind::Norm)?,
        files::STATS,
    )?;
    let invalid = |reason: String| TaskError::Invalid {
        task: task.id.0.clone(),
        reason,
    };
    if chunks.chunk_frames != p.arch.frames || chunks.hop != p.hop {
        return Err(invalid(format!(
            "chunk file has chunks of {} frames at hop {}, the model wants {} at hop {}",
            chunks.chunk_frames, chunks.hop, p.arch.frames, p.hop
        )));
    }
    let data = fold_data(ctx, task, &chunks, &stats, p.arch.bands)?;
    let run = RunId {
        model: p.model.clone(),
        hop: p.hop,
        fold: p.fold,
    };
    let epochs = p.train.epochs as u64;
    let mut curves = LiveCurves::new(ctx, p);
    // Stops at the epoch boundary after its checkpoint when the run is asked to stop.
    let mut progress = |m: &crate::train::EpochMetrics| {
        curves.epoch(m);
        job.report(Update {
            done: m.epoch as u64,
            total: epochs,
            message: format!(
                "loss {:.3} val {:.1}% lr {:.4}",
                m.train_loss,
                100.0 * m.val_accuracy,
                m.learning_rate
            ),
        });
        if job.stop_requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    run_fold(
        &run,
        &p.arch,
        &p.train,
        &data,
        ctx.device,
        out,
        &mut progress,
    )
    .map_err(|source| TaskError::Train {
        task: task.id.0.clone(),
        source: Box::new(source),
    })?;
    write_json(task, out, files::MODEL_CARD, &model_card(task, p, stats))
}

/// A training's TensorBoard run, opened at its first epoch; after a write
/// error it warns once and stays closed.
struct LiveCurves {
    dir: Option<std::path::PathBuf>,
    file: Option<EventFile>,
}

impl LiveCurves {
    fn new(ctx: &Context, p: &TrainParams) -> Self {
        let dir = ctx
            .tensorboard
            .as_ref()
            .map(|root| tensorboard::run_dir(root, &p.model, p.hop, p.fold));
        Self { dir, file: None }
    }

    fn epoch(&mut self, m: &crate::train::EpochMetrics) {
        let Some(dir) = &self.dir else { return };
        let now = tensorboard::now();
        let written = match &mut self.file {
            Some(file) => file.epoch(m, now),
            None => {
                EventFile::create(dir, now, &std::process::id().to_string()).and_then(|mut file| {
                    file.epoch(m, now)?;
                    self.file = Some(file);
                    Ok(())
                })
            }
        };
        if let Err(e) = written {
            tracing::warn!("{e}; this training's curves are left out of TensorBoard");
            (self.dir, self.file) = (None, None);
        }
    }
}

/// The model card of the task's trained model.
fn model_card(task: &Task, p: &TrainParams, normalisation: NormStats) -> ModelCard {
    ModelCard {
        format: MODEL_CARD_FORMAT,
        model: p.model.clone(),
        arch: p.arch.clone(),
        features: p.features.clone(),
        normalisation,
        class_names: p.class_names.clone(),
        chunk_frames: p.arch.frames,
        hop: p.hop,
        fold: p.fold,
        weights: files::WEIGHTS.to_string(),
        provenance: Provenance {
            dataset_hash: p.dataset_hash.clone(),
            task_key: task.key.hex(),
            code_versions: TaskKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), k.code_version()))
                .collect(),
            train: p.train.clone(),
            device: p.device.name().to_string(),
        },
    }
}

/// The fold's three chunk sets exactly as the chunk file lists them, over the
/// normalised spectrograms of its songs (train, then validation, then test).
fn fold_data(
    ctx: &Context,
    task: &Task,
    chunks: &ChunkFile,
    stats: &NormStats,
    bands: usize,
) -> Result<FoldData, TaskError> {
    let splits = [&chunks.train, &chunks.validation, &chunks.test];
    let mut spectrograms = Vec::new();
    for song in splits.iter().flat_map(|s| &s.songs) {
        spectrograms.push(load_normalised(ctx, task, song, stats)?);
    }
    let spectrograms: Arc<[MelSpectrogram]> = spectrograms.into();
    let (train_songs, validation_songs) = (chunks.train.songs.len(), chunks.validation.songs.len());
    let set = |split: &SplitChunks, offset: usize| {
        chunk_set(task, &spectrograms, split, offset, chunks, bands)
    };
    Ok(FoldData {
        train: set(&chunks.train, 0)?,
        validation: set(&chunks.validation, train_songs)?,
        test: set(&chunks.test, train_songs + validation_songs)?,
    })
}

fn chunk_set(
    task: &Task,
    spectrograms: &Arc<[MelSpectrogram]>,
    split: &SplitChunks,
    offset: usize,
    file: &ChunkFile,
    bands: usize,
) -> Result<ChunkSet, TaskError> {
    let songs = split
        .songs
        .iter()
        .enumerate()
        .map(|(i, s)| SongInfo {
            track: s.track.clone(),
            label: s.label,
            spectrogram: offset + i,
        })
        .collect();
    let chunks = split
        .chunks
        .iter()
        .map(|&(song, start)| ChunkRef { song, start })
        .collect();
    let short = ShortSongs {
        padded: split.padded.len(),
        dropped: split.dropped.len(),
    };
    if let Some(warning) = short.warning(file.chunk_frames) {
        tracing::warn!("{}: {warning}", task.id);
    }
    ChunkSet::from_chunks(
        spectrograms.clone(),
        songs,
        bands,
        file.chunk_frames,
        chunks,
    )
    .map(|set| set.with_short_songs(short))
    .map_err(|source| TaskError::Train {
        task: task.id.0.clone(),
        source: Box::new(source),
    })
}

/// Reads one song's spectrogram and standardises it.
fn load_normalised(
    ctx: &Context,
    task: &Task,
    song: &SongRef,
    stats: &NormStats,
) -> Result<MelSpectrogram, TaskError> {
    let mut mel = read_mel(ctx, task, &song.features)?;
    stats.apply(&mut mel).map_err(|e| TaskError::Invalid {
        task: task.id.0.clone(),
        reason: format!("normalising {}: {e}", song.track),
    })?;
    Ok(mel)
}
