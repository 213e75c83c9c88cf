//! The GTZAN loader: a local copy of the genre collection laid out
//! `genres/<genre>/*.wav` or `<genre>/*.wav` (the path may name `genres/`
//! itself or its parent). Classes are the genre folders, sorted; songs are
//! listed as the folder loader lists them. Warns (tracing) when the copy does
//! not hold GTZAN's 1,000 excerpts; `tempora datasets verify gtzan:/path`
//! compares it with the canonical checksums.
//!
//! Must not decode audio.

use std::path::{Path, PathBuf};

use super::folder::{self, check_dir};
use super::{Dataset, DatasetError};

/// Name of the top folder of the GTZAN distribution.
pub const GTZAN_DIR: &str = "genres";

/// Excerpts in GTZAN.
pub const GTZAN_TRACKS: usize = 1000;

const HINT: &str = "GTZAN is not shipped with tempora; unpack a copy and point to the \
    folder that holds the ten genre folders (or its parent 'genres/') with 'gtzan:/path'";

/// The folder holding the genre folders: `path/genres` when it exists, else `path`.
pub fn root(path: &Path) -> PathBuf {
    folder::nested_or_self(path, GTZAN_DIR)
}

/// Lists a local GTZAN copy.
pub fn load(path: &Path, name: String) -> Result<Dataset, DatasetError> {
    check_dir(path, "gtzan", HINT)?;
    let root = root(path);
    let dataset = folder::load(&root, name)?;
    if dataset.tracks.len() != GTZAN_TRACKS {
        tracing::warn!(
            "{}: found {} tracks where GTZAN has {GTZAN_TRACKS} (incomplete or modified copy?)",
            root.display(),
            dataset.tracks.len()
        );
    }
    Ok(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_list_the_genre_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let genres = tmp.path().join(GTZAN_DIR);
        for genre in ["blues", "country"] {
            std::fs::create_dir_all(genres.join(genre)).unwrap();
            std::fs::write(genres.join(genre).join(format!("{genre}.00000.wav")), b"").unwrap();
        }
        let outer = load(tmp.path(), "g".into()).unwrap();
        let inner = load(&genres, "g".into()).unwrap();
        assert_eq!(outer.classes, ["blues", "country"]);
        assert_eq!(outer.tracks, inner.tracks);
        assert_eq!(outer.tracks[1].id, "country/country.00000");
    }
}
