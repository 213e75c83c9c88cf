//! The store's file helpers: name checks, atomic writes, hashing, listing,
//! moving to the trash and verifying an entry's outputs.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::io_err;
use super::{Check, Corruption, OutputFile, StoreError};

pub(super) fn check_name(what: &'static str, name: &str, hex_key: bool) -> Result<(), StoreError> {
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

pub(super) fn sorted_names(dir: &Path) -> Result<Vec<String>, StoreError> {
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

pub(super) fn move_to_trash(dir: &Path, trash: &Path, name: &str) -> Result<(), StoreError> {
    fs::create_dir_all(trash).map_err(io_err("create", trash))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let target = trash.join(format!("{name}-{nanos}-{}", std::process::id()));
    fs::rename(dir, &target).map_err(io_err("move aside", dir))?;
    fs::remove_dir_all(&target).map_err(io_err("remove", &target))
}

pub(super) fn verify_outputs(
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
pub(super) fn list_files(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<(), StoreError> {
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
