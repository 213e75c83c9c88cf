//! The `dataset = "..."` string of a spec: parsing it into a
//! [`DatasetSource`], checking that a local dataset path exists, and the
//! canonical, path-free identity that goes into the spec hash.
//!
//! Grammar (the dataset module's `FromStr` is meant to accept the same):
//!
//! | text | source |
//! |---|---|
//! | `synthetic:tiny`, `synthetic:small`, `synthetic:full` | embedded corpus, generator seed [`SYNTHETIC_SEED`] |
//! | `synthetic:small:7` | embedded corpus, generator seed 7 |
//! | `ballroom:/path/to/BallroomData` | a local Ballroom copy |
//! | `ballroom` | a local Ballroom copy at `$TEMPORA_BALLROOM` |
//! | `folder:/path` | any folder-per-class tree |
//!
//! Relative paths are relative to the spec file's folder. Must not list or
//! decode the dataset: that is [`crate::dataset`]'s job.

use std::path::{Path, PathBuf};

use crate::dataset::{DatasetSource, SyntheticSize};

/// Generator seed of `synthetic:SIZE` when none is written (the reference
/// implementation's seed, 11, used everywhere a seed is not given).
pub const SYNTHETIC_SEED: u64 = 11;

/// Environment variable naming a local Ballroom copy for `dataset = "ballroom"`.
pub const BALLROOM_ENV: &str = "TEMPORA_BALLROOM";

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
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (kind, Some(rest)),
        None => (text, None),
    };
    match (kind, rest) {
        ("synthetic", Some(rest)) => parse_synthetic(text, rest),
        ("synthetic", None) => Err(DatasetTextError {
            message: "dataset `synthetic` needs a size".into(),
            hint: "write `synthetic:tiny`, `synthetic:small` or `synthetic:full`".into(),
        }),
        ("ballroom", Some(path)) => existing(path, base).map(DatasetSource::Ballroom),
        ("ballroom", None) => match std::env::var_os(BALLROOM_ENV) {
            Some(path) => existing(&path.to_string_lossy(), base).map(DatasetSource::Ballroom),
            None => Err(DatasetTextError {
                message: format!("dataset `ballroom` has no path and {BALLROOM_ENV} is not set"),
                hint: BALLROOM_HINT.into(),
            }),
        },
        ("folder", Some(path)) => existing(path, base).map(DatasetSource::Folder),
        _ => Err(DatasetTextError {
            message: format!("unknown dataset `{text}`"),
            hint: "write `synthetic:tiny|small|full`, `ballroom:/path/to/BallroomData` or `folder:/path/to/class/folders`".into(),
        }),
    }
}

fn parse_synthetic(text: &str, rest: &str) -> Result<DatasetSource, DatasetTextError> {
    let (size, seed) = match rest.split_once(':') {
        Some((size, seed)) => (size, Some(seed)),
        None => (rest, None),
    };
    let size = match size {
        "tiny" => SyntheticSize::Tiny,
        "small" => SyntheticSize::Small,
        "full" => SyntheticSize::Full,
        other => {
            let hint = super::error::choice_hint(other, "sizes", &["tiny", "small", "full"]);
            return Err(DatasetTextError {
                message: format!("unknown synthetic corpus size `{other}` in `{text}`"),
                hint,
            });
        }
    };
    let seed = match seed {
        None => SYNTHETIC_SEED,
        Some(s) => s.parse::<u64>().map_err(|_| DatasetTextError {
            message: format!(
                "synthetic corpus seed `{s}` in `{text}` is not a non-negative integer"
            ),
            hint: "write e.g. `synthetic:small:7`, or leave the seed out".into(),
        })?,
    };
    Ok(DatasetSource::Synthetic { size, seed })
}

/// Resolves `path` against `base` and checks that it is a folder.
fn existing(path: &str, base: Option<&Path>) -> Result<PathBuf, DatasetTextError> {
    if path.is_empty() {
        return Err(DatasetTextError {
            message: "dataset path is empty".into(),
            hint: BALLROOM_HINT.into(),
        });
    }
    let path = match base {
        Some(base) if Path::new(path).is_relative() => base.join(path),
        _ => PathBuf::from(path),
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
        DatasetSource::Synthetic { size, seed } => {
            let size = match size {
                SyntheticSize::Tiny => "tiny",
                SyntheticSize::Small => "small",
                SyntheticSize::Full => "full",
            };
            format!("synthetic:{size}:{seed}")
        }
        DatasetSource::Ballroom(_) => "ballroom".into(),
        DatasetSource::Folder(_) => "folder".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_sizes_and_seeds() {
        assert_eq!(
            parse_dataset("synthetic:small", None),
            Ok(DatasetSource::Synthetic {
                size: SyntheticSize::Small,
                seed: SYNTHETIC_SEED
            })
        );
        assert_eq!(
            parse_dataset("synthetic:full:3", None),
            Ok(DatasetSource::Synthetic {
                size: SyntheticSize::Full,
                seed: 3
            })
        );
        let err = parse_dataset("synthetic:smal", None).map(|_| ());
        assert!(matches!(err, Err(e) if e.hint.starts_with("did you mean `small`")));
    }

    #[test]
    fn local_paths_must_exist() {
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            parse_dataset(&format!("folder:{here}"), None),
            Ok(DatasetSource::Folder(PathBuf::from(here)))
        );
        assert_eq!(
            parse_dataset("folder:src", Some(Path::new(here))),
            Ok(DatasetSource::Folder(Path::new(here).join("src")))
        );
        assert!(parse_dataset("ballroom:/no/such/BallroomData", None).is_err());
        assert!(parse_dataset("mp3:/x", None).is_err());
    }

    #[test]
    fn identity_leaves_paths_out() {
        let a = DatasetSource::Ballroom(PathBuf::from("/a"));
        let b = DatasetSource::Ballroom(PathBuf::from("/b"));
        assert_eq!(canonical_identity(&a), canonical_identity(&b));
    }
}
