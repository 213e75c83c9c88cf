//! Canonical copies of the collections tempora knows by name: a local copy of
//! Ballroom (698 excerpts) or GTZAN (1,000) compared file by file with the
//! MD5 checksums of mirdata's indexes, bundled in `data/` (`folder`, `file`,
//! `md5` per excerpt).
//!
//! Each index entry is looked for at `<folder>/<file>` under the copy's root
//! (Ballroom's three Rumba folders may also be merged into one `Rumba/`).
//! It is **matching** (same bytes), **differing** (the file is there with
//! other bytes: a re-encoded or edited copy) or **missing**; audio files of
//! the copy that no entry names are **extra**.
//!
//! Hashing reads every file; [`Md5Index`] remembers each file's checksum by
//! path, size and mtime so that a second look at an unchanged copy only
//! stats it. Must not decode audio.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::folder::AUDIO_EXTENSIONS;
use super::{ballroom, gtzan, DatasetError, DatasetSource};

/// A collection with a bundled checksum index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Ballroom (ISMIR 2004 tempo contest data).
    Ballroom,
    /// GTZAN genre collection.
    Gtzan,
}

impl Collection {
    /// The collection's name in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ballroom => "Ballroom",
            Self::Gtzan => "GTZAN",
        }
    }

    fn index_text(self) -> &'static str {
        match self {
            Self::Ballroom => include_str!("../../data/ballroom-index.tsv"),
            Self::Gtzan => include_str!("../../data/gtzan-index.tsv"),
        }
    }

    /// The bundled index: `(folder, file, md5)` per excerpt, in index order.
    pub fn index(self) -> Vec<IndexEntry> {
        self.index_text()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("folder\t") && !l.is_empty())
            .filter_map(|l| {
                let mut cols = l.split('\t');
                Some(IndexEntry {
                    folder: cols.next()?.to_owned(),
                    file: cols.next()?.to_owned(),
                    md5: cols.next()?.to_owned(),
                })
            })
            .collect()
    }

    /// Where an entry may lie under the copy's root, first choice first.
    fn candidates(self, root: &Path, entry: &IndexEntry) -> Vec<PathBuf> {
        let mut out = vec![root.join(&entry.folder).join(&entry.file)];
        if self == Self::Ballroom && entry.folder.starts_with("Rumba-") {
            out.push(root.join("Rumba").join(&entry.file));
        }
        out
    }
}

/// One excerpt of a bundled index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Class folder.
    pub folder: String,
    /// File name.
    pub file: String,
    /// MD5 of the file's bytes (hex).
    pub md5: String,
}

impl IndexEntry {
    /// `folder/file`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.folder, self.file)
    }
}

/// A copy compared with its collection's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The collection's name.
    pub collection: String,
    /// Entries in the index.
    pub expected: usize,
    /// `folder/file` of each entry with the same bytes.
    pub matching: Vec<String>,
    /// Entries found with other bytes.
    pub differing: Vec<String>,
    /// Entries not found.
    pub missing: Vec<String>,
    /// Audio files of the copy that no entry names (relative to its root).
    pub extra: Vec<String>,
}

impl Verification {
    /// Whether the copy holds exactly the collection's bytes and nothing more.
    pub fn is_exact(&self) -> bool {
        self.matching.len() == self.expected && self.extra.is_empty()
    }

    /// One line for a report header: `canonical Ballroom (698/698 checksums
    /// match)` or what differs.
    pub fn summary(&self) -> String {
        let head = format!("{}/{} checksums match", self.matching.len(), self.expected);
        if self.is_exact() {
            return format!("canonical {} ({head})", self.collection);
        }
        format!(
            "not the canonical {} ({head}; {} missing, {} differing, {} extra)",
            self.collection,
            self.missing.len(),
            self.differing.len(),
            self.extra.len()
        )
    }
}

/// Compares the copy at `root` with `collection`'s index, hashing through `index`.
pub fn verify(
    collection: Collection,
    root: &Path,
    index: &mut Md5Index,
) -> Result<Verification, DatasetError> {
    let entries = collection.index();
    let located: Vec<Option<PathBuf>> = entries
        .iter()
        .map(|e| {
            collection
                .candidates(root, e)
                .into_iter()
                .find(|p| p.is_file())
        })
        .collect();
    let found: Vec<&PathBuf> = located.iter().flatten().collect();
    let sums = index.md5_all(&found)?;
    let mut out = Verification {
        collection: collection.name().to_owned(),
        expected: entries.len(),
        matching: Vec::new(),
        differing: Vec::new(),
        missing: Vec::new(),
        extra: Vec::new(),
    };
    let mut named = BTreeSet::new();
    for (entry, path) in entries.iter().zip(&located) {
        match path {
            None => out.missing.push(entry.name()),
            Some(path) => {
                named.insert(path.clone());
                if sums[path] == entry.md5 {
                    out.matching.push(entry.name());
                } else {
                    out.differing.push(entry.name());
                }
            }
        }
    }
    for file in audio_files_under(root)? {
        if !named.contains(&file) {
            let rel = file.strip_prefix(root).unwrap_or(&file);
            out.extra.push(rel.display().to_string());
        }
    }
    Ok(out)
}

/// The verification of a Ballroom or GTZAN source (`None` for other kinds).
pub fn of_source(
    source: &DatasetSource,
    index: &mut Md5Index,
) -> Result<Option<Verification>, DatasetError> {
    let found = match source {
        DatasetSource::Ballroom(path) => {
            verify(Collection::Ballroom, &ballroom::root(path), index)?
        }
        DatasetSource::Gtzan(path) => verify(Collection::Gtzan, &gtzan::root(path), index)?,
        DatasetSource::Synthetic { .. } | DatasetSource::Folder(_) => return Ok(None),
    };
    Ok(Some(found))
}

/// Every audio file under `dir`, sorted (no symlinked folders followed).
fn audio_files_under(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| DatasetError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && is_audio(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()) || e == "au")
}

/// A file's size and mtime, and its MD5 when they last were these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    bytes: u64,
    mtime_ns: u128,
    md5: String,
}

/// Remembered MD5s by (path, size, mtime); optionally kept in a JSON file.
#[derive(Debug, Default)]
pub struct Md5Index {
    path: Option<PathBuf>,
    files: BTreeMap<PathBuf, Stamp>,
}

/// A file's size in bytes and modification time in nanoseconds since the
/// Unix epoch: what decides whether a remembered hash may be reused (here
/// and in the planner's source index).
pub fn size_and_mtime(path: &Path) -> std::io::Result<(u64, u128)> {
    let meta = fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime))
}

fn md5_file(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut context = md5::Context::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(format!("{:x}", context.finalize()));
        }
        context.consume(&buf[..n]);
    }
}

impl Md5Index {
    /// The index kept at `path` (empty when absent or unreadable: it only
    /// saves work, every checksum can be recomputed).
    pub fn load(path: &Path) -> Self {
        let files = fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            path: Some(path.to_path_buf()),
            files,
        }
    }

    /// The MD5 (hex) of each file, reusing remembered ones whose size and
    /// mtime are unchanged, hashing the rest in parallel.
    pub fn md5_all(
        &mut self,
        paths: &[&PathBuf],
    ) -> Result<BTreeMap<PathBuf, String>, DatasetError> {
        let results: Vec<Result<(PathBuf, Stamp), DatasetError>> = paths
            .par_iter()
            .map(|path| {
                let io = |source| DatasetError::Io {
                    path: (*path).clone(),
                    source,
                };
                let (bytes, mtime_ns) = size_and_mtime(path).map_err(io)?;
                if let Some(s) = self.files.get(*path) {
                    if s.bytes == bytes && s.mtime_ns == mtime_ns {
                        return Ok(((*path).clone(), s.clone()));
                    }
                }
                let md5 = md5_file(path).map_err(io)?;
                Ok((
                    (*path).clone(),
                    Stamp {
                        bytes,
                        mtime_ns,
                        md5,
                    },
                ))
            })
            .collect();
        let mut out = BTreeMap::new();
        for result in results {
            let (path, stamp) = result?;
            out.insert(path.clone(), stamp.md5.clone());
            self.files.insert(path, stamp);
        }
        Ok(out)
    }

    /// Writes the index back to its file (best effort: a failure costs only
    /// a re-hash next time, so it is logged, not returned).
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        let written = serde_json::to_vec(&self.files)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                let tmp = path.with_extension("json.tmp");
                fs::write(&tmp, bytes)?;
                fs::rename(&tmp, path)
            });
        if let Err(e) = written {
            tracing::warn!("{}: could not save checksums: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_indexes_hold_every_excerpt() {
        let ballroom = Collection::Ballroom.index();
        assert_eq!(ballroom.len(), 698);
        let gtzan = Collection::Gtzan.index();
        assert_eq!(gtzan.len(), 1000);
        let genres: BTreeSet<&str> = gtzan.iter().map(|e| e.folder.as_str()).collect();
        assert_eq!(genres.len(), 10);
        assert!(ballroom.iter().chain(&gtzan).all(|e| e.md5.len() == 32));
    }

    fn tiny_copy(dir: &Path) -> PathBuf {
        let entry = &Collection::Gtzan.index()[0];
        let folder = dir.join(&entry.folder);
        fs::create_dir_all(&folder).unwrap();
        let file = folder.join(&entry.file);
        fs::write(&file, b"not the real bytes").unwrap();
        fs::write(folder.join("mine.wav"), b"x").unwrap();
        file
    }

    #[test]
    fn other_bytes_differ_unknown_files_are_extra_the_rest_missing() {
        let tmp = tempfile::tempdir().unwrap();
        tiny_copy(tmp.path());
        let v = verify(Collection::Gtzan, tmp.path(), &mut Md5Index::default()).unwrap();
        assert_eq!((v.matching.len(), v.differing.len()), (0, 1));
        assert_eq!(v.missing.len(), 999);
        assert_eq!(v.extra, ["blues/mine.wav"]);
        assert!(!v.is_exact());
        assert!(
            v.summary().starts_with("not the canonical GTZAN (0/1000"),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn remembered_checksums_are_reused_until_the_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tiny_copy(tmp.path());
        let saved = tmp.path().join("md5.json");
        let mut index = Md5Index::load(&saved);
        let first = index.md5_all(&[&file]).unwrap()[&file].clone();
        assert_eq!(first, format!("{:x}", md5::compute(b"not the real bytes")));
        index.save();
        // Same size and mtime: the remembered value is used, not the bytes.
        let mut index = Md5Index::load(&saved);
        index.files.get_mut(&file).unwrap().md5 = "remembered".into();
        assert_eq!(index.md5_all(&[&file]).unwrap()[&file], "remembered");
        fs::write(&file, b"other length!").unwrap();
        assert_ne!(index.md5_all(&[&file]).unwrap()[&file], "remembered");
    }
}
