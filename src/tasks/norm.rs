//! The norm task: normalisation statistics ([`NormAccumulator`]) over the
//! songs' spectrograms, streamed one song at a time in the planned song order
//! (so the f64 sums, and the bytes of `stats.json`, are the same on every run).
//!
//! All-songs statistics use every song; train-only statistics use the
//! training songs of one fold ([`crate::dataset::fold_splits`]).

use std::path::Path;

use serde::Deserialize;

use crate::dataset::fold_splits;
use crate::exec::runner::JobContext;
use crate::features::{NormAccumulator, NormConfig};
use crate::plan::Task;

use super::chunks::SongRef;
use super::features::read_mel;
use super::{params, write_json, Context, TaskError};

/// The output file of a norm entry ([`crate::features::NormStats`] as JSON).
pub const STATS_FILE: &str = "stats.json";

#[derive(Deserialize)]
struct SplitParams {
    folds: usize,
    seed: u64,
    songs: Vec<SongRef>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NormParams {
    /// Train-only statistics of one fold.
    Fold {
        config: NormConfig,
        fold: usize,
        split: SplitParams,
    },
    /// Statistics over every song.
    All {
        config: NormConfig,
        songs: Vec<SongRef>,
    },
}

/// Computes the statistics into `out`.
pub fn compute(ctx: &Context, task: &Task, out: &Path, _: &JobContext) -> Result<(), TaskError> {
    let parsed: NormParams = params(task)?;
    let (config, songs): (NormConfig, Vec<&SongRef>) = match &parsed {
        NormParams::All { config, songs } => (*config, songs.iter().collect()),
        NormParams::Fold {
            config,
            fold,
            split,
        } => {
            let splits = fold_splits(split.songs.len(), split.folds, split.seed);
            let train = splits.get(*fold).ok_or_else(|| TaskError::Format {
                task: task.id.0.clone(),
                what: format!("fold {fold} of {} folds", splits.len()),
            })?;
            let songs = train
                .train
                .iter()
                .filter_map(|&i| split.songs.get(i))
                .collect();
            (*config, songs)
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
    write_json(task, out, STATS_FILE, &stats)
}
