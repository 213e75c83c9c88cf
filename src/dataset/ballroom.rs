//! The Ballroom loader: a local copy in either layout — `BallroomData/` with
//! ten folders (ChaChaCha, Jive, Quickstep, Rumba-American,
//! Rumba-International, Rumba-Misc, Samba, Tango, VienneseWaltz, Waltz; the
//! three Rumba folders form the class Rumba) or eight class folders. The path
//! may name `BallroomData/` itself or its parent.
//!
//! Order: folder by folder in sorted name order (so Rumba's songs come
//! Rumba-American, then -International, then -Misc), files sorted by path —
//! the order the reference implementation lists songs in before shuffling.
//!
//! Must not decode audio.

use std::path::{Path, PathBuf};

use super::folder::{audio_files, check_dir, nested_or_self, subdirectories, track_id, IdRegistry};
use super::synthetic::tempo::{ballroom_track_count, CLASSES};
use super::{Dataset, DatasetError, Track, TrackSource};

/// Name of the top folder of the Ballroom distribution.
pub const BALLROOM_DIR: &str = "BallroomData";

/// Folder-name prefix of the three Rumba folders merged into the class Rumba.
const RUMBA: &str = "Rumba";

const HINT: &str = "Ballroom (ISMIR 2004 tempo contest, \
    http://mtg.upf.edu/ismir2004/contest/tempoContest/node5.html) is not shipped with \
    tempora; download BallroomData.zip, unpack it, and point to it with \
    'ballroom:/path/to/BallroomData' or TEMPORA_BALLROOM=/path/to/BallroomData";

/// The folder holding the class folders: `path/BallroomData` when it
/// exists, else `path`.
pub fn root(path: &Path) -> PathBuf {
    nested_or_self(path, BALLROOM_DIR)
}

/// Lists a local Ballroom copy; warns (tracing) when it does not hold 698 tracks.
pub fn load(path: &Path, name: String) -> Result<Dataset, DatasetError> {
    check_dir(path, "ballroom", HINT)?;
    let root = root(path);
    let classes: Vec<String> = CLASSES.iter().map(|c| c.name.to_string()).collect();
    let mut seen = vec![false; classes.len()];
    let mut tracks = Vec::new();
    let mut ids = IdRegistry::default();
    for (folder, dir) in subdirectories(&root)? {
        let Some(label) = class_of(&folder, &classes) else {
            tracing::warn!("{}: not a Ballroom class folder; ignored", dir.display());
            continue;
        };
        seen[label] = true;
        let files = audio_files(&dir)?;
        if files.is_empty() {
            return Err(DatasetError::EmptyClass { path: dir });
        }
        for file in files {
            let id = track_id(&classes[label], &dir, &file);
            ids.insert(&id, &file)?;
            tracks.push(Track {
                id,
                label,
                source: TrackSource::File(file),
            });
        }
    }
    let missing: Vec<&str> = classes
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(c, _)| c.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(DatasetError::NotBallroom {
            path: root,
            missing: missing.join(", "),
        });
    }
    if let Some(warning) = count_warning(tracks.len()) {
        tracing::warn!("{}: {warning}", root.display());
    }
    Ok(Dataset {
        name,
        classes,
        tracks,
    })
}

/// The class index of a Ballroom folder (`Rumba`, `Rumba-*` → Rumba), if any.
fn class_of(folder: &str, classes: &[String]) -> Option<usize> {
    let class = if folder == RUMBA || folder.starts_with("Rumba-") {
        RUMBA
    } else {
        folder
    };
    classes.iter().position(|c| c == class)
}

/// The warning to give when a copy does not hold Ballroom's 698 tracks.
pub fn count_warning(tracks: usize) -> Option<String> {
    let expected = ballroom_track_count();
    (tracks != expected).then(|| {
        format!(
            "found {tracks} tracks where Ballroom has {expected}; results will not be \
             comparable with the paper's (incomplete or modified copy?)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rumba_folders_merge() {
        let classes: Vec<String> = CLASSES.iter().map(|c| c.name.to_string()).collect();
        for folder in [
            "Rumba",
            "Rumba-American",
            "Rumba-International",
            "Rumba-Misc",
        ] {
            assert_eq!(class_of(folder, &classes), Some(3), "{folder}");
        }
        assert_eq!(class_of("Waltz", &classes), Some(7));
        assert_eq!(class_of("Salsa", &classes), None);
        assert_eq!(count_warning(698), None);
        assert!(count_warning(697).is_some_and(|w| w.contains("697")));
    }
}
