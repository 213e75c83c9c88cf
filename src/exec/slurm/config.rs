//! Site settings of the Slurm executor: a TOML file outside the spec and
//! outside every key (the same experiment gives the same keys on any
//! cluster), with command-line overrides `KIND.FIELD=VALUE`.
//!
//! ```toml
//! account = "mir-lab"        # required ("" when the site has no accounts)
//! partition = "cpu"          # default partition of every kind
//! poll_seconds = 5           # one squeue call per interval (default 5)
//! max_requeues = 3           # a train element requeues itself at most this often (default 3)
//!
//! [kinds.features]           # one table per task kind the run submits
//! time = "00:30:00"          # required
//! cpus = 1                   # required
//! memory = "2G"              # required
//! shard = 50                 # tasks per array element (default 1)
//! concurrency = 20           # at most this many elements at once (default: no cap)
//!
//! [kinds.train]
//! partition = "gpu"
//! gres = "gpu:1"
//! time = "04:00:00"
//! cpus = 4
//! memory = "16G"
//! ```
//!
//! Nothing a site must decide is guessed: a missing account, time limit,
//! CPU count, memory or partition is an error naming the field and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::TaskKind;

/// Why the Slurm settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the Slurm settings {path} (write one, see README \"On a cluster\", or pass --slurm-config FILE)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file (with the overrides) is not valid.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An override is not `KIND.FIELD=VALUE` or `FIELD=VALUE`.
    #[error("--slurm-set {0:?}: expected KIND.FIELD=VALUE (e.g. train.cpus=4) or FIELD=VALUE (e.g. account=lab)")]
    Override(String),
    /// A field the site must decide is missing.
    #[error("{path}: `{field}` is missing; the site decides it (set it in the file or with --slurm-set {field}=VALUE)")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `kinds.train.time`.
        field: String,
    },
}

/// The settings file as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    /// `--account` of every job (`""`: none).
    pub account: Option<String>,
    /// Default partition.
    pub partition: Option<String>,
    /// Seconds between two looks at the queue and the cache.
    pub poll_seconds: Option<f64>,
    /// How often a train element may requeue itself on the time-limit warning.
    pub max_requeues: Option<u32>,
    /// Settings per task kind (`features`, `norm`, `chunks`, `train`, `report`).
    #[serde(default)]
    pub kinds: BTreeMap<String, KindConfig>,
}

/// The settings of one task kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    /// Partition (default: the file's).
    pub partition: Option<String>,
    /// Time limit per element, in a Slurm format (`MM`, `HH:MM:SS`, `D-HH`).
    pub time: Option<String>,
    /// CPUs per element.
    pub cpus: Option<u32>,
    /// Memory per element (`--mem`, e.g. `4G`).
    pub memory: Option<String>,
    /// Generic resources (`--gres`, e.g. `gpu:1`).
    pub gres: Option<String>,
    /// At most this many elements of one array run at once (`%N`).
    pub concurrency: Option<u32>,
    /// Tasks per array element.
    pub shard: Option<u32>,
}

/// What one array's elements ask Slurm for (complete, validated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Resources {
    /// `--partition`.
    pub partition: String,
    /// `--time`.
    pub time: String,
    /// `--cpus-per-task`.
    pub cpus: u32,
    /// `--mem`.
    pub memory: String,
    /// `--gres`.
    pub gres: Option<String>,
    /// `%N` of `--array`.
    pub concurrency: Option<u32>,
    /// Tasks per element.
    pub shard: u32,
}

/// The settings file's default place: `<config dir>/tempora/slurm.toml`.
pub fn default_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tempora")
        .join("slurm.toml")
}

/// Reads the settings at `path` and applies `overrides` (`KIND.FIELD=VALUE`).
pub fn load(path: &Path, overrides: &[String]) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, overrides)
}

/// Parses settings text (`path` names it in errors) and applies `overrides`.
pub fn parse(path: &Path, text: &str, overrides: &[String]) -> Result<Settings, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let mut table: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    for o in overrides {
        apply_override(&mut table, o)?;
    }
    let config: SlurmConfig = table.try_into().map_err(|e| invalid(e.to_string()))?;
    for kind in config.kinds.keys() {
        if TaskKind::from_name(kind).is_none() {
            return Err(invalid(format!(
                "[kinds.{kind}]: no such task kind (features, norm, chunks, train, report)"
            )));
        }
    }
    let missing = |field: &str| ConfigError::Missing {
        path: path.to_path_buf(),
        field: field.to_string(),
    };
    let account = config.account.clone().ok_or_else(|| missing("account"))?;
    Ok(Settings {
        path: path.to_path_buf(),
        account: (!account.is_empty()).then_some(account),
        poll_seconds: config.poll_seconds.unwrap_or(5.0).max(0.05),
        max_requeues: config.max_requeues.unwrap_or(3),
        config,
    })
}

/// One override: `KIND.FIELD=VALUE` sets `kinds.KIND.FIELD`, `FIELD=VALUE` a
/// top-level field. VALUE is read as TOML (`4`, `"4G"`), else as a string.
fn apply_override(table: &mut toml::Table, text: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::Override(text.to_string());
    let (name, value) = text.split_once('=').ok_or_else(bad)?;
    let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let target = match name.split_once('.') {
        None => table,
        Some((kind, field)) if !field.contains('.') && !kind.is_empty() => {
            let kinds = table
                .entry("kinds")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let kinds = kinds.as_table_mut().ok_or_else(bad)?;
            let entry = kinds
                .entry(kind)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let kind_table = entry.as_table_mut().ok_or_else(bad)?;
            kind_table.insert(field.to_string(), value);
            return Ok(());
        }
        Some(_) => return Err(bad()),
    };
    target.insert(name.to_string(), value);
    Ok(())
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where they were read from (named in errors).
    pub path: PathBuf,
    /// `--account`, when the site has accounts.
    pub account: Option<String>,
    /// Seconds between two polls.
    pub poll_seconds: f64,
    /// Bound on self-requeues of a train element.
    pub max_requeues: u32,
    /// The file as written, with the overrides.
    pub config: SlurmConfig,
}

impl Settings {
    /// The complete resources of `kind`, or the first missing field.
    pub fn resources(&self, kind: TaskKind) -> Result<Resources, ConfigError> {
        let name = kind.name();
        let missing = |field: &str| ConfigError::Missing {
            path: self.path.clone(),
            field: format!("kinds.{name}.{field}"),
        };
        let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let k = self.config.kinds.get(name).ok_or_else(|| missing("time"))?;
        let partition = text(&k.partition)
            .or_else(|| text(&self.config.partition))
            .ok_or_else(|| missing("partition` (or the top-level `partition"))?;
        Ok(Resources {
            partition,
            time: text(&k.time).ok_or_else(|| missing("time"))?,
            cpus: k.cpus.ok_or_else(|| missing("cpus"))?,
            memory: text(&k.memory).ok_or_else(|| missing("memory"))?,
            gres: k.gres.clone().filter(|g| !g.is_empty()),
            concurrency: k.concurrency.filter(|c| *c > 0),
            shard: k.shard.unwrap_or(1).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
account = "lab"
partition = "cpu"
[kinds.features]
time = "10"
cpus = 1
memory = "1G"
shard = 8
[kinds.train]
partition = "gpu"
gres = "gpu:1"
time = "04:00:00"
cpus = 4
memory = "16G"
"#;

    #[test]
    fn kinds_inherit_the_partition_and_overrides_win() {
        let s = parse(Path::new("s.toml"), TEXT, &["train.cpus=8".into()]).unwrap();
        let f = s.resources(TaskKind::Features).unwrap();
        assert_eq!((f.partition.as_str(), f.shard), ("cpu", 8));
        let t = s.resources(TaskKind::Train).unwrap();
        assert_eq!((t.partition.as_str(), t.cpus), ("gpu", 8));
        assert_eq!(t.gres.as_deref(), Some("gpu:1"));
    }

    #[test]
    fn missing_fields_are_named_never_guessed() {
        let s = parse(Path::new("s.toml"), TEXT, &[]).unwrap();
        let e = s.resources(TaskKind::Norm).unwrap_err().to_string();
        assert!(e.contains("kinds.norm.time") && e.contains("s.toml"), "{e}");
        let s = parse(Path::new("s.toml"), TEXT, &["train.time=".into()]).unwrap();
        let e = s.resources(TaskKind::Train).unwrap_err().to_string();
        assert!(e.contains("kinds.train.time"), "{e}");
        let e = parse(Path::new("s.toml"), "[kinds.train]\ncpus = 1", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`account` is missing"), "{e}");
        let e = parse(Path::new("s.toml"), TEXT, &["nonsense".into()]).unwrap_err();
        assert!(matches!(e, ConfigError::Override(_)));
        let e = parse(Path::new("s.toml"), TEXT, &["kinds.trian.cpus=1".into()]);
        assert!(e.is_err());
    }
}
