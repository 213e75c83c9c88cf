//! What can go wrong in the store: [`StoreError`], [`Corruption`] of a
//! published entry, and the remedy each I/O failure's message ends with.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
pub(super) fn remedy(err: &io::Error) -> &'static str {
    io_remedy(err)
        .unwrap_or("check that the cache directory is writable and has free space, then run again")
}

pub(super) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { op, path, source }
}
