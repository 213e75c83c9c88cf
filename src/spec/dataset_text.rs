//! The `dataset = "..."` string of a spec: parsed by [`DatasetSource`]'s
//! `FromStr` (`synthetic:tiny|small|full[@SEED]`, `ballroom:/path`, `ballroom`
//! with `$TEMPORA_BALLROOM`, `folder:/path`), then checked here: a relative
//! local path is resolved against the spec file's folder and must exist, so a
//! missing Ballroom copy is reported at the spec's line with how to get one.
//! Also the canonical, path-free identity that goes into the spec hash.
//!
//! Must not list or decode the dataset: that is [`crate::dataset`]'s job.

use std::path::{Path, PathBuf};

use crate::dataset::{DatasetError, DatasetSource};

/// Where to get Ballroom and how to point tempora to it (the hint of every
/// missing-dataset error).
pub const BALLROOM_HINT: &str = "Ballroom (698 excerpts, BallroomData/<style>/*.wav) comes from the ISMIR 2004 tempo contest \
(mtg.upf.edu/ismir2004/contest/tempoContest/node5.html) and cannot be downloaded here; point to a copy with \
`dataset = \"ballroom:/path/to/BallroomData\"`, `--data ballroom:/path` or `TEMPORA_BALLROOM=/path`, \
or use the embedded `synthetic:full` corpus";

/// Why a dataset string was rejected: a message and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatasetTextError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// Parses a spec's dataset string; `base` is the spec file's folder (for relative paths).
pub(crate) fn parse_dataset(
    text: &str,
    base: Option<&Path>,
) -> Result<DatasetSource, DatasetTextError> {
    let source = text.parse::<DatasetSource>().map_err(|e| {
        let reason = match e {
            DatasetError::BadSource { reason, .. } => reason,
            other => other.to_string(),
        };
        let hint = if text.starts_with("ballroom") {
            BALLROOM_HINT.to_owned()
        } else {
            "write `synthetic:tiny|small|full`, `ballroom:/path/to/BallroomData`, `gtzan:/path/to/genres` or `folder:/path/to/class/folders`".to_owned()
        };
        DatasetTextError {
            message: format!("bad dataset `{text}`: {reason}"),
            hint,
        }
    })?;
    match source {
        DatasetSource::Ballroom(path) => existing(path, base).map(DatasetSource::Ballroom),
        DatasetSource::Gtzan(path) => existing(path, base).map(DatasetSource::Gtzan),
        DatasetSource::Folder(path) => existing(path, base).map(DatasetSource::Folder),
        synthetic @ DatasetSource::Synthetic { .. } => Ok(synthetic),
    }
}

/// Resolves `path` against `base` and checks that it is a folder.
fn existing(path: PathBuf, base: Option<&Path>) -> Result<PathBuf, DatasetTextError> {
    let path = match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    };
    if path.is_dir() {
        Ok(path)
    } else {
        Err(DatasetTextError {
            message: format!("dataset folder {} does not exist", path.display()),
            hint: BALLROOM_HINT.into(),
        })
    }
}

/// The dataset's identity in the spec hash: its kind and generator parameters,
/// never a local path (where a copy lives does not change the experiment; its
/// content hash is recorded by the planner).
pub(crate) fn canonical_identity(source: &DatasetSource) -> String {
    match source {
        DatasetSource::Synthetic { size, seed } => format!("synthetic:{size}@{seed}"),
        DatasetSource::Ballroom(_) => "ballroom".into(),
        DatasetSource::Gtzan(_) => "gtzan".into(),
        DatasetSource::Folder(_) => "folder".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::SyntheticSize;

    #[test]
    fn synthetic_strings_go_through_the_dataset_parser() {
        assert_eq!(
            parse_dataset("synthetic:full@3", None),
            Ok(DatasetSource::Synthetic {
                size: SyntheticSize::Full,
                seed: 3
            })
        );
        let err = parse_dataset("synthetic:smal", None).map(|_| ());
        assert!(matches!(err, Err(e) if e.message.contains("did you mean 'small'")));
    }

    #[test]
    fn local_paths_must_exist_relative_to_the_spec() {
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            parse_dataset(&format!("folder:{here}"), None),
            Ok(DatasetSource::Folder(PathBuf::from(here)))
        );
        assert_eq!(
            parse_dataset("folder:src", Some(Path::new(here))),
            Ok(DatasetSource::Folder(Path::new(here).join("src")))
        );
        let missing = parse_dataset("ballroom:/no/such/BallroomData", None).map(|_| ());
        assert!(matches!(missing, Err(e) if e.hint == BALLROOM_HINT));
        assert!(parse_dataset("mp3:/x", None).is_err());
    }

    #[test]
    fn identity_leaves_paths_out() {
        let a = DatasetSource::Ballroom(PathBuf::from("/a"));
        let b = DatasetSource::Ballroom(PathBuf::from("/b"));
        assert_eq!(canonical_identity(&a), canonical_identity(&b));
    }
}
