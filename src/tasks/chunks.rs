//! The chunks task: one fold's split of the songs
//! ([`crate::dataset::fold_splits`]) and every chunk start of its training,
//! validation and test songs ([`crate::dataset::chunk_starts`]), with the
//! short-song policy applied and counted.
//!
//! Output `chunks.json` ([`ChunkFile`]) names songs by track id, label and
//! features key, so the train task can load exactly these spectrograms.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::{chunk_starts, fold_splits, ChunkPolicy, ShortSongPolicy};
use crate::layout::files::CHUNKS;
use crate::plan::params::{ChunksParams, SongRef};
use crate::plan::Task;

use super::features::read_shape;
use super::{write_json, Context, TaskError};

/// The chunks of one split: songs in split order and `(song, start)` pairs,
/// `song` indexing `songs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitChunks {
    /// Songs that yield at least one chunk (after the short-song policy).
    pub songs: Vec<SongRef>,
    /// Chunk starts, song by song.
    pub chunks: Vec<(usize, usize)>,
    /// Songs left out by [`ShortSongPolicy::Drop`].
    pub dropped: Vec<String>,
    /// Songs padded to one chunk by [`ShortSongPolicy::Pad`].
    pub padded: Vec<String>,
}

/// `chunks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkFile {
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Hop between chunk starts.
    pub hop: usize,
    /// Fold index.
    pub fold: usize,
    /// Which starts a song yielded.
    pub chunk_policy: ChunkPolicy,
    /// What happened to songs that yielded none.
    pub short_songs: ShortSongPolicy,
    /// Training chunks.
    pub train: SplitChunks,
    /// Validation chunks.
    pub validation: SplitChunks,
    /// Test chunks.
    pub test: SplitChunks,
}

/// Computes one fold's chunk sets into `out`.
pub fn compute(ctx: &Context, task: &Task, p: &ChunksParams, out: &Path) -> Result<(), TaskError> {
    let splits = fold_splits(p.split.songs.len(), p.split.folds, p.split.seed);
    let split = splits.get(p.fold).ok_or_else(|| TaskError::Format {
        task: task.id.0.clone(),
        what: format!("fold {} of {} folds", p.fold, splits.len()),
    })?;
    let mut frames = Vec::with_capacity(p.split.songs.len());
    for song in &p.split.songs {
        frames.push(read_shape(ctx, task, &song.features)?.frames);
    }
    let cut = |indices: &[usize]| -> SplitChunks {
        let mut set = SplitChunks {
            songs: Vec::new(),
            chunks: Vec::new(),
            dropped: Vec::new(),
            padded: Vec::new(),
        };
        for &i in indices {
            let song = &p.split.songs[i];
            let mut starts = chunk_starts(frames[i], p.chunk_frames, p.hop, p.chunk_policy);
            if starts.is_empty() {
                match p.short_songs {
                    ShortSongPolicy::Pad => {
                        set.padded.push(song.track.clone());
                        starts.push(0);
                    }
                    ShortSongPolicy::Drop => {
                        set.dropped.push(song.track.clone());
                        continue;
                    }
                }
            }
            let index = set.songs.len();
            set.chunks.extend(starts.into_iter().map(|s| (index, s)));
            set.songs.push(song.clone());
        }
        set
    };
    let in_range = |v: &[usize]| v.iter().all(|&i| i < p.split.songs.len());
    if !(in_range(&split.train) && in_range(&split.validation) && in_range(&split.test)) {
        return Err(TaskError::Format {
            task: task.id.0.clone(),
            what: "fold split refers to songs outside the list".into(),
        });
    }
    let file = ChunkFile {
        chunk_frames: p.chunk_frames,
        hop: p.hop,
        fold: p.fold,
        chunk_policy: p.chunk_policy,
        short_songs: p.short_songs,
        train: cut(&split.train),
        validation: cut(&split.validation),
        test: cut(&split.test),
    };
    write_json(task, out, CHUNKS, &file)
}
