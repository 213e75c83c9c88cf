//! The train task: one (model, hop, fold) of an experiment. Reads the fold's
//! chunk file and the normalisation statistics, loads and normalises the
//! fold's spectrograms, and hands them to [`crate::train::run_fold`], which
//! writes weights, per-epoch metrics and test metrics into the entry.
//!
//! The work directory survives a crash (see `exec::store`), so the train
//! module's per-epoch checkpoint inside it lets a killed run resume.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::dataset::{FoldSplit, Track, TrackSource};
use crate::exec::runner::{JobContext, Update};
use crate::features::{MelSpectrogram, NormStats};
use crate::model::ArchConfig;
use crate::plan::{Task, TaskKind};
use crate::train::{run_fold, ChunkSpec, FoldData, RunId, TrainConfig};

use super::chunks::{ChunkFile, SplitChunks, CHUNKS_FILE};
use super::features::read_mel;
use super::norm::STATS_FILE;
use super::{params, Context, TaskError};

#[derive(Deserialize)]
struct TrainParams {
    model: String,
    arch: ArchConfig,
    train: TrainConfig,
    hop: usize,
    fold: usize,
}

/// Trains and tests one (model, hop, fold) into `out`.
pub fn compute(ctx: &Context, task: &Task, out: &Path, job: &JobContext) -> Result<(), TaskError> {
    let p: TrainParams = params(task)?;
    let upstream = |kind: TaskKind| {
        task.deps
            .iter()
            .find_map(|d| ctx.keys.get(d).filter(|(k, _)| *k == kind))
            .map(|(_, key)| *key)
            .ok_or_else(|| TaskError::Format {
                task: task.id.0.clone(),
                what: format!("no upstream {} task", kind.name()),
            })
    };
    let chunks: ChunkFile = ctx.read_json(
        task,
        TaskKind::Chunks,
        &upstream(TaskKind::Chunks)?,
        CHUNKS_FILE,
    )?;
    let stats: NormStats =
        ctx.read_json(task, TaskKind::Norm, &upstream(TaskKind::Norm)?, STATS_FILE)?;
    let (tracks, split) = fold_songs(&chunks);
    let spectrograms = load_normalised(ctx, task, &chunks, &stats)?;
    let spec = ChunkSpec {
        frames: chunks.chunk_frames,
        hop: chunks.hop,
        policy: chunks.chunk_policy,
        short_songs: chunks.short_songs,
    };
    let invalid = |reason: String| TaskError::Invalid {
        task: task.id.0.clone(),
        reason,
    };
    let data = FoldData::from_split(&tracks, spectrograms, &split, p.arch.bands, &spec)
        .map_err(|e| invalid(e.to_string()))?;
    let run = RunId {
        model: p.model,
        hop: p.hop,
        fold: p.fold,
    };
    let epochs = p.train.epochs as u64;
    let mut progress = |m: &crate::train::EpochMetrics| {
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
    .map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

/// The fold's songs as tracks (train, then validation, then test) and the
/// split indexing them.
fn fold_songs(chunks: &ChunkFile) -> (Vec<Track>, FoldSplit) {
    let mut tracks = Vec::new();
    let mut take = |set: &SplitChunks| -> Vec<usize> {
        set.songs
            .iter()
            .map(|s| {
                tracks.push(Track {
                    id: s.track.clone(),
                    label: s.label,
                    source: TrackSource::File(PathBuf::from(&s.track)),
                });
                tracks.len() - 1
            })
            .collect()
    };
    let train = take(&chunks.train);
    let validation = take(&chunks.validation);
    let test = take(&chunks.test);
    (
        tracks,
        FoldSplit {
            train,
            validation,
            test,
        },
    )
}

/// Reads every song's spectrogram of the fold and standardises it.
fn load_normalised(
    ctx: &Context,
    task: &Task,
    chunks: &ChunkFile,
    stats: &NormStats,
) -> Result<Arc<[MelSpectrogram]>, TaskError> {
    let songs = chunks
        .train
        .songs
        .iter()
        .chain(&chunks.validation.songs)
        .chain(&chunks.test.songs);
    let mut out = Vec::new();
    for song in songs {
        let mut mel = read_mel(ctx, task, &song.features)?;
        stats.apply(&mut mel).map_err(|e| TaskError::Invalid {
            task: task.id.0.clone(),
            reason: format!("normalising {}: {e}", song.track),
        })?;
        out.push(mel);
    }
    Ok(out.into())
}
