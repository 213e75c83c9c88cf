//! The content-addressed cache store: where task outputs live, how they are
//! published atomically, how corrupt entries are detected, and how two
//! processes sharing one cache avoid computing the same task twice.
//!
//! The store knows *kinds* and *keys* only as opaque names (a kind is a short
//! `[a-z0-9_-]` word, a key a 64-digit blake3 hex string); it never knows what a
//! task computes.
//!
//! # Layout
//!
//! Where entries, work directories, locks and trash live is
//! [`crate::layout::CacheLayout`]'s to say; this module follows it.
//!
//! # Protocol
//!
//! 1. [`Store::claim`] takes the task's lock (blocking while another process
//!    holds it), then looks again: if a valid entry appeared meanwhile the claim
//!    is [`Claim::Done`] and nothing is computed.
//! 2. Otherwise the claim is [`Claim::Todo`] with a [`Pending`] work directory
//!    inside the cache (same file system), marked `INCOMPLETE`. A work directory
//!    left by a killed run is reused as is, so checkpoints survive.
//! 3. [`Pending::publish`] hashes every file, writes `manifest.json` (temp file +
//!    rename), removes the marker and renames the directory into place: readers
//!    see either no entry or a whole one, never a torn one.
//!
//! A published entry is trusted only after [`Store::probe`] has checked it:
//! [`Check::Sizes`] (cheap: stat each output, for `plan`) or [`Check::Hashes`]
//! (re-hash every output, for `run`). A corrupt entry is reported, never used,
//! and recomputed.
//!
//! Files: `store/error.rs` (errors and their remedies), `store/disk.rs` (atomic
//! writes, hashing, listing, trash, output checks), `store/pending.rs` (a
//! claimed work directory and its publication); here, the types and [`Store`].

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::layout::{files, CacheLayout, RESERVED_DIRS};

mod disk;
mod error;
mod pending;

use self::disk::{check_name, list_files, move_to_trash, sorted_names, verify_outputs};
pub use self::disk::{hash_file, write_atomic};
use self::error::io_err;
pub use self::error::{io_remedy, remedy_suffix, Corruption, StoreError};

/// Bump when [`Manifest`]'s format changes: older manifests then read as corrupt.
pub const MANIFEST_VERSION: u32 = 1;

/// The manifest's file name inside an entry.
pub const MANIFEST_FILE: &str = files::MANIFEST;

/// The marker file of an unfinished work directory.
pub const INCOMPLETE_MARKER: &str = files::INCOMPLETE;

/// One output file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Path inside the entry, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// blake3 of the content, hex.
    pub blake3: String,
}

/// What a finished entry records about itself (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`] at write time.
    pub format: u32,
    /// Task kind.
    pub kind: String,
    /// Task key.
    pub key: String,
    /// Human-readable task name (e.g. `train O-net hop=250 fold=3`).
    pub label: String,
    /// `tempora` version that computed it.
    pub tool_version: String,
    /// Named inputs: source content hashes and upstream keys.
    pub inputs: BTreeMap<String, String>,
    /// Every file of the entry except the manifest, sorted by path.
    pub outputs: Vec<OutputFile>,
    /// Unix seconds when the computation started (informative only).
    pub started_unix: u64,
    /// Seconds the computation took (informative only).
    pub seconds: f64,
}

/// How thoroughly [`Store::probe`] checks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The manifest parses and every output has its recorded size (stat only).
    Sizes,
    /// As `Sizes`, and every output's blake3 matches (reads every byte).
    Hashes,
}

/// The state of one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// No published entry.
    Missing,
    /// A published entry that passed the check.
    Present(Manifest),
    /// A published entry that failed the check.
    Corrupt(Corruption),
}

/// The result of [`Store::claim`].
#[derive(Debug)]
pub enum Claim {
    /// A valid entry exists (maybe published by another process while we waited).
    Done(Manifest),
    /// The task must be computed; the lock is held until the [`Pending`] is dropped.
    Todo(Pending),
}

/// Held while a task's lock is taken; releases it on drop.
#[derive(Debug)]
pub struct TaskLock {
    file: File,
}

impl Drop for TaskLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; an explicit unlock only makes
        // it immediate. Nothing can be done about a failure here.
        let _ = FileExt::unlock(&self.file);
    }
}

/// A task being computed: its locked work directory inside the cache.
#[derive(Debug)]
pub struct Pending {
    kind: String,
    key: String,
    work: PathBuf,
    entry: PathBuf,
    trash: PathBuf,
    store: Store,
    resumed: bool,
    started: SystemTime,
    clock: Instant,
    _lock: TaskLock,
}

/// The content-addressed cache rooted at one directory.
#[derive(Debug, Clone)]
pub struct Store {
    layout: CacheLayout,
}

impl Store {
    /// Opens (creating if needed) the cache at `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(root).map_err(io_err("create", root))?;
        Ok(Self {
            layout: CacheLayout::new(root),
        })
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// The cache's layout (every path under the root).
    pub fn layout(&self) -> &CacheLayout {
        &self.layout
    }

    /// Where a published entry lives.
    pub fn entry_dir(&self, kind: &str, key: &str) -> Result<PathBuf, StoreError> {
        check_name("kind", kind, false)?;
        check_name("key", key, true)?;
        Ok(self.layout.entry(kind, key))
    }

    fn work_dir(&self, kind: &str, key: &str) -> PathBuf {
        self.layout.work(kind, key)
    }

    fn lock_path(&self, kind: &str, key: &str) -> PathBuf {
        self.layout.lock(kind, key)
    }

    /// Directory for per-run logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.layout.logs()
    }

    fn open_lock(&self, kind: &str, key: &str) -> Result<File, StoreError> {
        self.entry_dir(kind, key)?;
        let path = self.lock_path(kind, key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open lock", &path))
    }

    /// Takes the task's lock, waiting while another thread or process holds it.
    pub fn lock(&self, kind: &str, key: &str) -> Result<TaskLock, StoreError> {
        let file = self.open_lock(kind, key)?;
        file.lock_exclusive()
            .map_err(io_err("lock", &self.lock_path(kind, key)))?;
        Ok(TaskLock { file })
    }

    /// Takes the task's lock if it is free.
    pub fn try_lock(&self, kind: &str, key: &str) -> Result<Option<TaskLock>, StoreError> {
        let file = self.open_lock(kind, key)?;
        let taken = file
            .try_lock_exclusive()
            .map_err(io_err("lock", &self.lock_path(kind, key)))?;
        Ok(taken.then_some(TaskLock { file }))
    }

    /// Whether some thread or process is computing the task right now.
    pub fn is_running(&self, kind: &str, key: &str) -> Result<bool, StoreError> {
        if !self.lock_path(kind, key).exists() {
            return Ok(false);
        }
        Ok(self.try_lock(kind, key)?.is_none())
    }

    /// Whether a work directory with an `INCOMPLETE` marker exists for the task
    /// (a computation started and did not finish, or is running).
    pub fn is_incomplete(&self, kind: &str, key: &str) -> bool {
        self.work_dir(kind, key).join(INCOMPLETE_MARKER).exists()
    }

    /// Checks the published entry of `kind`/`key`.
    pub fn probe(&self, kind: &str, key: &str, check: Check) -> Result<Probe, StoreError> {
        let dir = self.entry_dir(kind, key)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let text = match fs::read(&manifest_path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(if dir.exists() {
                    Probe::Corrupt(Corruption::Manifest("manifest.json is missing".into()))
                } else {
                    Probe::Missing
                });
            }
            Err(e) => return Err(io_err("read", &manifest_path)(e)),
        };
        let manifest: Manifest = match serde_json::from_slice(&text) {
            Ok(m) => m,
            Err(e) => return Ok(Probe::Corrupt(Corruption::Manifest(e.to_string()))),
        };
        if manifest.format != MANIFEST_VERSION {
            return Ok(Probe::Corrupt(Corruption::Manifest(format!(
                "format {} (this tempora writes {MANIFEST_VERSION})",
                manifest.format
            ))));
        }
        if manifest.kind != kind || manifest.key != key {
            return Ok(Probe::Corrupt(Corruption::Misplaced(format!(
                "{}/{}",
                manifest.kind, manifest.key
            ))));
        }
        match verify_outputs(&dir, &manifest.outputs, check)? {
            Some(c) => Ok(Probe::Corrupt(c)),
            None => Ok(Probe::Present(manifest)),
        }
    }

    /// Locks the task and decides whether it must be computed (see the module doc).
    ///
    /// A corrupt published entry is moved aside, and the task is computed again.
    pub fn claim(&self, kind: &str, key: &str, check: Check) -> Result<Claim, StoreError> {
        let lock = self.lock(kind, key)?;
        match self.probe(kind, key, check)? {
            Probe::Present(manifest) => return Ok(Claim::Done(manifest)),
            Probe::Corrupt(_) => self.remove(kind, key)?,
            Probe::Missing => {}
        }
        let work = self.work_dir(kind, key);
        let marker = work.join(INCOMPLETE_MARKER);
        let resumed = marker.exists();
        if !resumed {
            // A work directory without marker is debris of a publish that
            // crashed between its steps: start it over.
            if work.exists() {
                fs::remove_dir_all(&work).map_err(io_err("remove", &work))?;
            }
            fs::create_dir_all(&work).map_err(io_err("create", &work))?;
            // Only the marker's existence counts: no temp file, rename or sync.
            fs::write(&marker, b"started, not finished\n").map_err(io_err("write", &marker))?;
        }
        Ok(Claim::Todo(Pending {
            kind: kind.to_string(),
            key: key.to_string(),
            entry: self.entry_dir(kind, key)?,
            trash: self.layout.trash(),
            store: self.clone(),
            work,
            resumed,
            started: SystemTime::now(),
            clock: Instant::now(),
            _lock: lock,
        }))
    }

    /// Reads one output of a published entry, verifying its blake3 against the manifest.
    ///
    /// A mismatch moves the entry aside and returns [`StoreError::Corrupt`].
    pub fn read_output(&self, kind: &str, key: &str, path: &str) -> Result<Vec<u8>, StoreError> {
        let dir = self.entry_dir(kind, key)?;
        let manifest = match self.probe(kind, key, Check::Sizes)? {
            Probe::Present(m) => m,
            Probe::Missing => {
                return Err(StoreError::Corrupt {
                    kind: kind.into(),
                    key: key.into(),
                    reason: Corruption::Manifest("the entry does not exist".into()),
                })
            }
            Probe::Corrupt(reason) => return Err(self.corrupt(kind, key, reason)),
        };
        let Some(record) = manifest.outputs.iter().find(|o| o.path == path) else {
            return Err(self.corrupt(kind, key, Corruption::Missing(path.into())));
        };
        let file = dir.join(path);
        let bytes = fs::read(&file).map_err(io_err("read", &file))?;
        let actual = blake3::hash(&bytes).to_hex().to_string();
        if actual != record.blake3 {
            let reason = Corruption::Hash {
                path: path.into(),
                expected: record.blake3.clone(),
                actual,
            };
            return Err(self.corrupt(kind, key, reason));
        }
        Ok(bytes)
    }

    fn corrupt(&self, kind: &str, key: &str, reason: Corruption) -> StoreError {
        // Moving aside is best effort: the error below is what matters, and the
        // next `claim` re-checks and removes the entry anyway.
        if let Ok(lock) = self.try_lock(kind, key) {
            if lock.is_some() {
                let _ = self.remove(kind, key);
            }
        }
        StoreError::Corrupt {
            kind: kind.into(),
            key: key.into(),
            reason,
        }
    }

    /// Removes a published entry: moved into `trash/` first (atomic), then deleted.
    pub fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        let dir = self.entry_dir(kind, key)?;
        if !dir.exists() {
            return Ok(());
        }
        let trash = self.layout.trash();
        move_to_trash(&dir, &trash, &format!("{kind}-{key}"))
    }

    /// Every work directory (computation started, not published) as `(kind, key)`, sorted.
    pub fn incomplete_entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        let work = self.layout.work_root();
        if !work.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for kind in sorted_names(&work)? {
            if check_name("kind", &kind, false).is_err() || !work.join(&kind).is_dir() {
                continue;
            }
            for key in sorted_names(&work.join(&kind))? {
                if check_name("key", &key, true).is_ok() {
                    out.push((kind.clone(), key));
                }
            }
        }
        Ok(out)
    }

    /// Removes the work directory of a task unless it is running; returns
    /// whether it was removed.
    pub fn remove_incomplete(&self, kind: &str, key: &str) -> Result<bool, StoreError> {
        let Some(_lock) = self.try_lock(kind, key)? else {
            return Ok(false);
        };
        let work = self.work_dir(kind, key);
        if work.exists() {
            move_to_trash(&work, &self.layout.trash(), &format!("work-{kind}-{key}"))?;
        }
        Ok(true)
    }

    /// Every published entry as `(kind, key)`, sorted.
    pub fn entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        let root = self.layout.root();
        for kind in sorted_names(root)? {
            if RESERVED_DIRS.contains(&kind.as_str())
                || check_name("kind", &kind, false).is_err()
                || !root.join(&kind).is_dir()
            {
                continue;
            }
            for key in sorted_names(&root.join(&kind))? {
                if check_name("key", &key, true).is_ok() {
                    out.push((kind.clone(), key));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
