//! The folder-per-class loader: any `<root>/<label>/**/*.{wav,flac,mp3,ogg}`
//! tree, labels = the sorted names of the first-level folders. Also the shared
//! directory helpers the Ballroom loader uses.
//!
//! Hostile trees: a symlink that leads back to a folder already listed (a
//! loop) is an error naming the link; so is an entry that cannot be examined
//! (a dangling link, no permission) and an audio-named entry that is not a
//! regular file (a FIFO would block the first read forever).
//!
//! Must not decode audio (tracks only point to files).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Dataset, DatasetError, Track, TrackSource};

/// File extensions (lower-case) recognised as audio.
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// Lists `root/<label>/**/<audio files>`; labels are the sorted folder names.
pub fn load(root: &Path, name: String) -> Result<Dataset, DatasetError> {
    check_dir(
        root,
        "folder",
        "write folder:/path/to/root where root holds one folder per class",
    )?;
    let labels = subdirectories(root)?;
    if labels.is_empty() {
        return Err(DatasetError::NoClasses {
            path: root.to_path_buf(),
        });
    }
    let mut tracks = Vec::new();
    let mut ids = IdRegistry::default();
    for (label, (class, dir)) in labels.iter().enumerate() {
        let files = audio_files(dir)?;
        if files.is_empty() {
            return Err(DatasetError::EmptyClass { path: dir.clone() });
        }
        for file in files {
            let id = track_id(class, dir, &file);
            ids.insert(&id, &file)?;
            tracks.push(Track {
                id,
                label,
                source: TrackSource::File(file),
            });
        }
    }
    Ok(Dataset {
        name,
        classes: labels.into_iter().map(|(class, _)| class).collect(),
        tracks,
    })
}

/// `path/<nested>` when that folder exists (a distribution's top folder,
/// e.g. `BallroomData`, `genres`), else `path` itself.
pub(super) fn nested_or_self(path: &Path, nested: &str) -> PathBuf {
    let inner = path.join(nested);
    if inner.is_dir() {
        inner
    } else {
        path.to_path_buf()
    }
}

/// Fails with a hint when `path` is missing or not a directory.
pub(super) fn check_dir(
    path: &Path,
    kind: &'static str,
    hint: &'static str,
) -> Result<(), DatasetError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(DatasetError::NotADirectory {
            kind,
            path: path.to_path_buf(),
            hint,
        }),
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(DatasetError::Missing {
                kind,
                path: path.to_path_buf(),
                hint,
            })
        }
        Err(source) => Err(DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The non-hidden sub-folders of `dir`, as (name, path), sorted by name.
pub(super) fn subdirectories(dir: &Path) -> Result<Vec<(String, PathBuf)>, DatasetError> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        let (name, path, is_dir) = entry;
        if is_dir && !name.starts_with('.') {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Every audio file under `dir` (recursively, hidden entries skipped), sorted by path.
pub(super) fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut files = Vec::new();
    let mut seen = BTreeMap::new();
    visit(dir, &mut seen)?;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for (name, path, is_dir) in read_dir(&current)? {
            if name.starts_with('.') {
                continue;
            }
            if is_dir {
                visit(&path, &mut seen)?;
                pending.push(path);
            } else if is_audio(&path) {
                check_regular(&path)?;
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Records directory `dir` by its real path; a second visit means a symlink
/// leads back to a folder already listed (a loop, or a second way in).
fn visit(dir: &Path, seen: &mut BTreeMap<PathBuf, PathBuf>) -> Result<(), DatasetError> {
    let real = fs::canonicalize(dir).map_err(|source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    match seen.insert(real.clone(), dir.to_path_buf()) {
        Some(first) => Err(DatasetError::SymlinkLoop {
            link: dir.to_path_buf(),
            first,
        }),
        None => Ok(()),
    }
}

/// Refuses an audio-named entry that is not a regular file (FIFO, socket, device).
fn check_regular(path: &Path) -> Result<(), DatasetError> {
    let meta = fs::metadata(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(DatasetError::NotAFile {
            path: path.to_path_buf(),
        })
    }
}

/// Whether the file's extension is one of [`AUDIO_EXTENSIONS`] (any case).
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Entries of `dir` as (file name, path, is a directory), following symlinks.
fn read_dir(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let is_dir = fs::metadata(&path)
            .map_err(|source| DatasetError::Io {
                path: path.clone(),
                source,
            })?
            .is_dir();
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            path,
            is_dir,
        ));
    }
    Ok(out)
}

/// `<class>/<path below the class folder, without extension>`, `/`-separated.
pub(super) fn track_id(class: &str, class_dir: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(class_dir)
        .unwrap_or(file)
        .with_extension("");
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    format!("{class}/{}", parts.join("/"))
}

/// Detects two files that would get the same track id.
#[derive(Default)]
pub(super) struct IdRegistry(BTreeMap<String, PathBuf>);

impl IdRegistry {
    /// Records `id` for `file`, failing if another file already has it.
    pub(super) fn insert(&mut self, id: &str, file: &Path) -> Result<(), DatasetError> {
        if let Some(first) = self.0.insert(id.to_string(), file.to_path_buf()) {
            return Err(DatasetError::DuplicateId {
                id: id.to_string(),
                first,
                second: file.to_path_buf(),
            });
        }
        Ok(())
    }
}
