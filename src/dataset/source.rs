//! Where a dataset comes from, as written in a spec or on the command line:
//! `synthetic:tiny|small|full[@seed]`, `ballroom:/path` (or `ballroom` with
//! `TEMPORA_BALLROOM` set), `gtzan:/path`, `folder:/path`. Parsing, printing (round-trips) and
//! dispatch to the loaders.
//!
//! Must not know how loaders walk directories or synthesise audio.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{ballroom, folder, gtzan, synthetic, Dataset, DatasetError, Track, TrackSource};

/// Environment variable naming a local Ballroom copy (used by a bare `ballroom`).
pub const BALLROOM_ENV: &str = "TEMPORA_BALLROOM";

/// The dataset kinds, as written before the colon.
const KINDS: [&str; 4] = ["synthetic", "ballroom", "gtzan", "folder"];

/// Size of the embedded synthetic corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntheticSize {
    /// 8 classes × 6 clips × 12 s (tests, CI training).
    Tiny,
    /// 8 classes × 25 clips × 30 s.
    Small,
    /// 698 clips × 30 s with Ballroom's class counts.
    Full,
}

/// Where a dataset comes from, as written in a spec (`synthetic:full`,
/// `ballroom:/path/to/BallroomData`, `folder:/path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DatasetSource {
    /// The embedded synthetic corpus.
    Synthetic {
        /// Corpus size.
        size: SyntheticSize,
        /// Generator seed.
        seed: u64,
    },
    /// A local copy of Ballroom (ten-folder or eight-folder layout).
    Ballroom(PathBuf),
    /// A local copy of GTZAN (`genres/<genre>/*.wav` or `<genre>/*.wav`).
    Gtzan(PathBuf),
    /// Any `<root>/<label>/**/*.{wav,flac,mp3,ogg}` tree.
    Folder(PathBuf),
}

impl DatasetSource {
    /// Lists the dataset's tracks (no audio is decoded).
    pub fn load(&self) -> Result<Dataset, DatasetError> {
        match self {
            DatasetSource::Synthetic { size, seed } => Ok(Dataset {
                name: self.to_string(),
                classes: synthetic::class_names(),
                tracks: synthetic::clips(*size, *seed)
                    .into_iter()
                    .map(|clip| Track {
                        id: clip.id(),
                        label: clip.class,
                        source: TrackSource::Synthetic(clip),
                    })
                    .collect(),
            }),
            DatasetSource::Ballroom(path) => ballroom::load(path, self.to_string()),
            DatasetSource::Gtzan(path) => gtzan::load(path, self.to_string()),
            DatasetSource::Folder(path) => folder::load(path, self.to_string()),
        }
    }
}

impl fmt::Display for SyntheticSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyntheticSize::Tiny => "tiny",
            SyntheticSize::Small => "small",
            SyntheticSize::Full => "full",
        })
    }
}

impl FromStr for SyntheticSize {
    type Err = DatasetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny" => Ok(SyntheticSize::Tiny),
            "small" => Ok(SyntheticSize::Small),
            "full" => Ok(SyntheticSize::Full),
            other => Err(bad(
                other,
                format!(
                    "unknown synthetic size '{other}'; expected tiny, small or full{}",
                    did_you_mean(other, &["tiny", "small", "full"])
                ),
            )),
        }
    }
}

/// Prints the form [`FromStr`] reads back: `synthetic:full` (the `@seed` only
/// when it is not the default), `ballroom:<path>`, `gtzan:<path>`, `folder:<path>`.
impl fmt::Display for DatasetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetSource::Synthetic { size, seed } if *seed == synthetic::DEFAULT_SEED => {
                write!(f, "synthetic:{size}")
            }
            DatasetSource::Synthetic { size, seed } => write!(f, "synthetic:{size}@{seed}"),
            DatasetSource::Ballroom(path) => write!(f, "ballroom:{}", path.display()),
            DatasetSource::Gtzan(path) => write!(f, "gtzan:{}", path.display()),
            DatasetSource::Folder(path) => write!(f, "folder:{}", path.display()),
        }
    }
}

impl FromStr for DatasetSource {
    type Err = DatasetError;

    /// Parses `synthetic:<size>[@<seed>]`, `ballroom:<path>`, `gtzan:<path>`, `folder:<path>`;
    /// a bare `synthetic` means `synthetic:full`, a bare `ballroom` reads the
    /// path from `TEMPORA_BALLROOM`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = match input.split_once(':') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (input, None),
        };
        match (kind, rest) {
            ("synthetic", None) => Ok(DatasetSource::Synthetic {
                size: SyntheticSize::Full,
                seed: synthetic::DEFAULT_SEED,
            }),
            ("synthetic", Some(rest)) => parse_synthetic(input, rest),
            ("ballroom", None) => match std::env::var_os(BALLROOM_ENV) {
                Some(path) if !path.is_empty() => Ok(DatasetSource::Ballroom(path.into())),
                _ => Err(bad(
                    input,
                    format!(
                        "no path given and {BALLROOM_ENV} is not set; write \
                         'ballroom:/path/to/BallroomData' or set {BALLROOM_ENV}=/path"
                    ),
                )),
            },
            ("ballroom" | "gtzan" | "folder", Some("")) => Err(bad(
                input,
                format!("missing path after '{kind}:'; write '{kind}:/path/to/data'"),
            )),
            ("ballroom", Some(path)) => Ok(DatasetSource::Ballroom(path.into())),
            ("gtzan", Some(path)) => Ok(DatasetSource::Gtzan(path.into())),
            ("folder", Some(path)) => Ok(DatasetSource::Folder(path.into())),
            ("gtzan", None) => Err(bad(input, "write 'gtzan:/path/to/genres'".into())),
            ("folder", None) => Err(bad(input, "write 'folder:/path/to/<label>/files'".into())),
            (other, _) => Err(bad(
                input,
                format!(
                    "unknown dataset kind '{other}'; expected synthetic:tiny|small|full[@seed], \
                     ballroom:/path, gtzan:/path or folder:/path{}",
                    did_you_mean(other, &KINDS)
                ),
            )),
        }
    }
}

fn parse_synthetic(input: &str, rest: &str) -> Result<DatasetSource, DatasetError> {
    let (size, seed) = match rest.split_once('@') {
        Some((size, seed)) => {
            let seed = seed.parse::<u64>().map_err(|_| {
                bad(
                    input,
                    format!("seed '{seed}' is not an unsigned integer (e.g. synthetic:small@7)"),
                )
            })?;
            (size, seed)
        }
        None => (rest, synthetic::DEFAULT_SEED),
    };
    let size = size.parse::<SyntheticSize>().map_err(|e| match e {
        DatasetError::BadSource { reason, .. } => bad(input, reason),
        other => other,
    })?;
    Ok(DatasetSource::Synthetic { size, seed })
}

fn bad(input: &str, reason: String) -> DatasetError {
    DatasetError::BadSource {
        input: input.to_string(),
        reason,
    }
}

/// "; did you mean 'x'?" when a candidate is close to `word`, else "".
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, c)| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips() {
        let sources = [
            DatasetSource::Synthetic {
                size: SyntheticSize::Tiny,
                seed: synthetic::DEFAULT_SEED,
            },
            DatasetSource::Synthetic {
                size: SyntheticSize::Full,
                seed: 7,
            },
            DatasetSource::Ballroom("/data/BallroomData".into()),
            DatasetSource::Gtzan("/data/gtzan/genres".into()),
            DatasetSource::Folder("relative/dir".into()),
        ];
        for source in sources {
            let text = source.to_string();
            assert_eq!(text.parse::<DatasetSource>().unwrap(), source, "{text}");
        }
        assert_eq!(
            "synthetic:full"
                .parse::<DatasetSource>()
                .unwrap()
                .to_string(),
            "synthetic:full"
        );
    }

    #[test]
    fn bad_inputs_say_what_to_write() {
        let err = |s: &str| s.parse::<DatasetSource>().unwrap_err().to_string();
        assert!(err("synthetic:huge").contains("expected tiny, small or full"));
        assert!(err("synthetic:smal").contains("did you mean 'small'"));
        assert!(err("synthetic:small@x").contains("not an unsigned integer"));
        assert!(err("balroom:/x").contains("did you mean 'ballroom'"));
        assert!(err("folder:").contains("missing path"));
    }
}
