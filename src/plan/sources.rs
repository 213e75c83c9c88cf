//! Content hashes of source inputs (audio files), remembered in a small index
//! so that planning does not re-read every audio file.
//!
//! The index (`<cache>/sources.json`) maps a file's path to its size, mtime and
//! blake3. Size and mtime are used ONLY to decide whether the remembered hash
//! may be reused; they never enter a task key (only the hash does). A file
//! whose size or mtime changed is hashed again (in parallel, rayon).
//!
//! Synthetic tracks have no file: their hash is the dataset module's hash of the
//! generator parameters ([`Track::content_hash`]), which is cheap.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::canonical::size_and_mtime;
use crate::dataset::{Track, TrackSource};
use crate::exec::store::{hash_file, write_atomic, StoreError};

/// Bump when the index format changes (an old index is then ignored, not trusted).
const INDEX_VERSION: u32 = 1;

/// Why a source could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A track's audio file could not be read.
    #[error("track {track}: cannot read {}: {source}; make it readable or remove it from the dataset", path.display())]
    Read {
        /// Track id.
        track: String,
        /// The audio file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Hashing or saving the index failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A synthetic track's generator parameters could not be hashed.
    #[error("track {track}: {source}")]
    Dataset {
        /// Track id.
        track: String,
        /// The dataset error.
        source: crate::dataset::DatasetError,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    bytes: u64,
    mtime_ns: u128,
    blake3: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    files: BTreeMap<PathBuf, Stamp>,
}

/// The (path, size, mtime) → blake3 index.
#[derive(Debug)]
pub struct SourceIndex {
    path: PathBuf,
    files: BTreeMap<PathBuf, Stamp>,
    dirty: bool,
}

/// A track's content hash (hex) and, for a file hashed anew, its path and stamp for the index.
type HashedTrack = (String, Option<(PathBuf, Stamp)>);

impl SourceIndex {
    /// Loads the index of the cache at `cache_root` (empty when absent or unreadable:
    /// the index is only an accelerator, every hash can be recomputed).
    pub fn load(cache_root: &Path) -> Self {
        let path = crate::layout::CacheLayout::new(cache_root).source_index();
        let files = fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<IndexFile>(&bytes).ok())
            .filter(|index| index.version == INDEX_VERSION)
            .map(|index| index.files)
            .unwrap_or_default();
        Self {
            path,
            files,
            dirty: false,
        }
    }

    /// The content hash (hex) of every track, in track order.
    pub fn hash_tracks(&mut self, tracks: &[Track]) -> Result<Vec<String>, SourceError> {
        let results: Vec<Result<HashedTrack, SourceError>> = tracks
            .par_iter()
            .map(|track| self.hash_one(track))
            .collect();
        let mut hashes = Vec::with_capacity(tracks.len());
        for result in results {
            let (hash, fresh) = result?;
            if let Some((path, stamp)) = fresh {
                self.files.insert(path, stamp);
                self.dirty = true;
            }
            hashes.push(hash);
        }
        Ok(hashes)
    }

    fn hash_one(&self, track: &Track) -> Result<(String, Option<(PathBuf, Stamp)>), SourceError> {
        match &track.source {
            TrackSource::File(path) => {
                let read_err = |source| SourceError::Read {
                    track: track.id.clone(),
                    path: path.clone(),
                    source,
                };
                let (bytes, mtime_ns) = size_and_mtime(path).map_err(read_err)?;
                if let Some(stamp) = self.files.get(path) {
                    if stamp.bytes == bytes && stamp.mtime_ns == mtime_ns {
                        return Ok((stamp.blake3.clone(), None));
                    }
                }
                // A source that cannot be read is the dataset's problem, not the cache's.
                let blake3 = match hash_file(path) {
                    Ok(hash) => hash.to_hex().to_string(),
                    Err(StoreError::Io { source, .. }) => return Err(read_err(source)),
                    Err(other) => return Err(other.into()),
                };
                let stamp = Stamp {
                    bytes,
                    mtime_ns,
                    blake3: blake3.clone(),
                };
                Ok((blake3, Some((path.clone(), stamp))))
            }
            TrackSource::Synthetic(_) => {
                let hash = track
                    .content_hash()
                    .map_err(|source| SourceError::Dataset {
                        track: track.id.clone(),
                        source,
                    })?;
                Ok((hash.to_hex().to_string(), None))
            }
        }
    }

    /// Writes the index back (atomically) if new hashes were computed.
    pub fn save(&mut self) -> Result<(), SourceError> {
        if !self.dirty {
            return Ok(());
        }
        let index = IndexFile {
            version: INDEX_VERSION,
            files: std::mem::take(&mut self.files),
        };
        let bytes = serde_json::to_vec(&index).map_err(|e| {
            SourceError::Store(StoreError::Io {
                op: "serialise",
                path: self.path.clone(),
                source: e.into(),
            })
        })?;
        self.files = index.files;
        write_atomic(&self.path, &bytes)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(path: PathBuf) -> Track {
        Track {
            id: "a/b".into(),
            label: 0,
            source: TrackSource::File(path),
        }
    }

    #[test]
    fn hashes_are_remembered_and_refreshed_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("x.wav");
        fs::write(&audio, b"first").unwrap();
        let mut index = SourceIndex::load(dir.path());
        let first = index.hash_tracks(&[track(audio.clone())]).unwrap();
        assert_eq!(first[0], blake3::hash(b"first").to_hex().to_string());
        index.save().unwrap();

        let mut reloaded = SourceIndex::load(dir.path());
        assert_eq!(reloaded.files.len(), 1);
        assert_eq!(
            reloaded.hash_tracks(&[track(audio.clone())]).unwrap(),
            first
        );
        assert!(!reloaded.dirty, "unchanged file: no rehash");

        fs::write(&audio, b"second, longer").unwrap();
        let second = reloaded.hash_tracks(&[track(audio)]).unwrap();
        assert_eq!(
            second[0],
            blake3::hash(b"second, longer").to_hex().to_string()
        );
    }

    #[test]
    fn a_missing_file_names_the_track_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = SourceIndex::load(dir.path());
        let err = index
            .hash_tracks(&[track(dir.path().join("gone.wav"))])
            .unwrap_err();
        assert!(err.to_string().contains("track a/b: cannot read"), "{err}");
    }
}
