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

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::layout::{files, CacheLayout, RESERVED_DIRS};

/// Bump when [`Manifest`]'s format changes: older manifests then read as corrupt.
pub const MANIFEST_VERSION: u32 = 1;

/// The manifest's file name inside an entry.
pub const MANIFEST_FILE: &str = files::MANIFEST;

/// The marker file of an unfinished work directory.
pub const INCOMPLETE_MARKER: &str = files::INCOMPLETE;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed; the message ends with the remedy for
    /// its cause (full disk, read-only file system, permissions, other).
    #[error("cache {op} {path}: {source}; {}", remedy(source))]
    Io {
        /// What the store was doing.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A kind or key is not a plain name (would escape the cache directory).
    #[error("invalid cache {what} {name:?}: expected {expected}")]
    InvalidName {
        /// `kind` or `key`.
        what: &'static str,
        /// The offending name.
        name: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// An output read through the manifest does not match its recorded hash.
    #[error("cache entry {kind}/{key} is corrupt ({reason}); it has been moved aside, run again to recompute it")]
    Corrupt {
        /// Entry kind.
        kind: String,
        /// Entry key.
        key: String,
        /// What did not match.
        reason: Corruption,
    },
    /// A manifest could not be written.
    #[error("cannot serialise the manifest of {kind}/{key}: {source}")]
    Manifest {
        /// Entry kind.
        kind: String,
        /// Entry key.
        key: String,
        /// The serde error.
        source: serde_json::Error,
    },
}

/// What is wrong with a published entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Corruption {
    /// `manifest.json` is missing, unreadable or of another format version.
    #[error("unreadable manifest: {0}")]
    Manifest(String),
    /// The manifest names another kind or key than the directory it is in.
    #[error("manifest belongs to {0}")]
    Misplaced(String),
    /// An output listed in the manifest is gone.
    #[error("output {0} is missing")]
    Missing(String),
    /// An output has another size than recorded.
    #[error("output {path} has {actual} bytes, manifest says {expected}")]
    Size {
        /// Output path inside the entry.
        path: String,
        /// Recorded size.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// An output's blake3 differs from the recorded one.
    #[error("output {path} hashes to {actual}, manifest says {expected}")]
    Hash {
        /// Output path inside the entry.
        path: String,
        /// Recorded hash.
        expected: String,
        /// Hash of the bytes on disk.
        actual: String,
    },
}

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

/// What to do about an I/O error whose cause has a specific remedy (a full
/// disk, a read-only file system, missing permissions); `None` otherwise.
/// Finished tasks stay cached whatever happened, so every remedy ends in a rerun.
pub fn io_remedy(err: &io::Error) -> Option<&'static str> {
    match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(
            "the file system is full: free space there (`tempora gc` removes entries no spec uses) \
             or pass --cache DIR on another disk, then run again (finished tasks are kept)",
        ),
        io::ErrorKind::ReadOnlyFilesystem => Some(
            "the cache is on a read-only file system: pass --cache DIR on a writable one, \
             then run again",
        ),
        io::ErrorKind::PermissionDenied => Some(
            "permission denied: make the cache directory writable by this user, or pass \
             --cache DIR, then run again",
        ),
        _ => None,
    }
}

/// `"; "` and [`io_remedy`], or nothing: for error messages that end with it.
pub fn remedy_suffix(err: &io::Error) -> String {
    io_remedy(err).map(|r| format!("; {r}")).unwrap_or_default()
}

/// What to do about a failed cache operation, by its cause.
fn remedy(err: &io::Error) -> &'static str {
    io_remedy(err)
        .unwrap_or("check that the cache directory is writable and has free space, then run again")
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { op, path, source }
}

fn check_name(what: &'static str, name: &str, hex_key: bool) -> Result<(), StoreError> {
    let ok = if hex_key {
        name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
    } else {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what,
            name: name.to_string(),
            expected: if hex_key {
                "64 hexadecimal digits (a blake3 hash)"
            } else {
                "a non-empty [a-z0-9_-] word"
            },
        })
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, synced
/// to disk, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(io_err("create temp file in", dir))?;
    io::Write::write_all(&mut tmp, bytes).map_err(io_err("write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_err("sync", path))?;
    tmp.persist(path)
        .map_err(|e| io_err("rename into", path)(e.error))?;
    Ok(())
}

/// blake3 of a file's content (memory-mapped when large, so the bytes are not
/// copied out of the page cache).
pub fn hash_file(path: &Path) -> Result<blake3::Hash, StoreError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap(path).map_err(io_err("hash", path))?;
    Ok(hasher.finalize())
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

fn sorted_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn move_to_trash(dir: &Path, trash: &Path, name: &str) -> Result<(), StoreError> {
    fs::create_dir_all(trash).map_err(io_err("create", trash))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let target = trash.join(format!("{name}-{nanos}-{}", std::process::id()));
    fs::rename(dir, &target).map_err(io_err("move aside", dir))?;
    fs::remove_dir_all(&target).map_err(io_err("remove", &target))
}

fn verify_outputs(
    dir: &Path,
    outputs: &[OutputFile],
    check: Check,
) -> Result<Option<Corruption>, StoreError> {
    for out in outputs {
        let path = dir.join(&out.path);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(Corruption::Missing(out.path.clone())))
            }
            Err(e) => return Err(io_err("stat", &path)(e)),
        };
        if meta.len() != out.bytes {
            return Ok(Some(Corruption::Size {
                path: out.path.clone(),
                expected: out.bytes,
                actual: meta.len(),
            }));
        }
        if check == Check::Hashes {
            let actual = hash_file(&path)?.to_hex().to_string();
            if actual != out.blake3 {
                return Ok(Some(Corruption::Hash {
                    path: out.path.clone(),
                    expected: out.blake3.clone(),
                    actual,
                }));
            }
        }
    }
    Ok(None)
}

/// Every regular file under `dir` (recursively) as `/`-separated relative paths, sorted.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), StoreError> {
    for name in sorted_names(dir)? {
        let path = dir.join(&name);
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if path.is_dir() {
            list_files(&path, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

impl Pending {
    /// The work directory: write outputs (and checkpoints) here.
    pub fn dir(&self) -> &Path {
        &self.work
    }

    /// Whether the work directory was left by an earlier, interrupted attempt.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Publishes the work directory as the entry (see the module doc) and releases the lock.
    pub fn publish(
        self,
        label: &str,
        inputs: BTreeMap<String, String>,
    ) -> Result<Manifest, StoreError> {
        let marker = self.work.join(INCOMPLETE_MARKER);
        fs::remove_file(&marker).map_err(io_err("remove", &marker))?;
        let mut files = Vec::new();
        list_files(&self.work, "", &mut files)?;
        let mut outputs = Vec::with_capacity(files.len());
        for rel in files.into_iter().filter(|f| f != MANIFEST_FILE) {
            let path = self.work.join(&rel);
            let bytes = fs::metadata(&path).map_err(io_err("stat", &path))?.len();
            let blake3 = hash_file(&path)?.to_hex().to_string();
            outputs.push(OutputFile {
                path: rel,
                bytes,
                blake3,
            });
        }
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            kind: self.kind.clone(),
            key: self.key.clone(),
            label: label.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            inputs,
            outputs,
            started_unix: self
                .started
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            seconds: self.clock.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|source| StoreError::Manifest {
            kind: self.kind.clone(),
            key: self.key.clone(),
            source,
        })?;
        // A plain write: the work directory is private until the rename below
        // publishes it, and a crash before that leaves a directory without
        // marker, which is started over. Not synced: the outputs it describes
        // are not either, and a manifest a power cut damaged reads as corrupt,
        // so the entry is recomputed.
        let manifest_path = self.work.join(MANIFEST_FILE);
        fs::write(&manifest_path, &text).map_err(io_err("write", &manifest_path))?;
        if self.entry.exists() {
            // Claim checked under the lock, so this is a corrupt entry, unless
            // a process that ignores locks (another machine on a file system
            // without them) published meanwhile: a valid entry is kept.
            if let Some(existing) = self.existing_valid()? {
                return Ok(existing);
            }
            move_to_trash(
                &self.entry,
                &self.trash,
                &format!("{}-{}", self.kind, self.key),
            )?;
        }
        if let Some(parent) = self.entry.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        if let Err(e) = fs::rename(&self.work, &self.entry) {
            // A rename onto a directory published meanwhile fails: keep theirs.
            if let Some(existing) = self.existing_valid()? {
                return Ok(existing);
            }
            return Err(io_err("publish", &self.entry)(e));
        }
        Ok(manifest)
    }

    /// The manifest of a valid entry already published under this key, after
    /// discarding this work directory; `None` when there is none.
    fn existing_valid(&self) -> Result<Option<Manifest>, StoreError> {
        match self.store.probe(&self.kind, &self.key, Check::Hashes)? {
            Probe::Present(existing) => {
                move_to_trash(
                    &self.work,
                    &self.trash,
                    &format!("work-{}-{}", self.kind, self.key),
                )?;
                Ok(Some(existing))
            }
            Probe::Missing | Probe::Corrupt(_) => Ok(None),
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
