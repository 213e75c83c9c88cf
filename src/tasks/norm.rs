//! The norm task: normalisation statistics ([`NormAccumulator`]) over the
//! songs' spectrograms, streamed one song at a time in the planned song order
//! (so the f64 sums, and the bytes of `stats.json`, are the same on every run).
//!
//! All-songs statistics use every song; train-only statistics use the
//! training songs of one fold ([`crate::dataset::fold_splits`]).

use std::path::Path;

use crate::dataset::fold_splits;
use crate::features::NormAccumulator;
use crate::layout::files::STATS;
use crate::plan::params::{NormParams, NormSongs, SongRef};
use crate::plan::Task;

use super::features::read_mel;
use super::{write_json, Context, TaskError};

/// Computes the statistics into `out`.
pub fn compute(ctx: &Context, task: &Task, p: &NormParams, out: &Path) -> Result<(), TaskError> {
    let config = p.config;
    let songs: Vec<&SongRef> = match &p.songs {
        NormSongs::All { songs } => songs.iter().collect(),
        NormSongs::TrainOfFold { fold, split } => {
            let splits = fold_splits(split.songs.len(), split.folds, split.seed);
            let train = splits.get(*fold).ok_or_else(|| TaskError::Format {
                task: task.id.0.clone(),
                what: format!("fold {fold} of {} folds", splits.len()),
            })?;
            train
                .train
                .iter()
                .filter_map(|&i| split.songs.get(i))
                .collect()
        }
    };
    let invalid = |reason: String| TaskError::Invalid {
        task: task.id.0.clone(),
        reason,
    };
    let mut acc: Option<NormAccumulator> = None;
    for song in songs {
        let mel = read_mel(ctx, task, &song.features)?;
        let acc = acc.get_or_insert_with(|| NormAccumulator::new(config.scope, mel.bands));
        acc.add(&mel)
            .map_err(|e| invalid(format!("song {}: {e}", song.track)))?;
    }
    let acc = acc.ok_or_else(|| invalid("no songs to compute statistics over".into()))?;
    let stats = acc.finish().map_err(|e| invalid(e.to_string()))?;
    write_json(task, out, STATS, &stats)
}
