//! The plan record: what each task id's inputs were the last time `tempora run`
//! planned this experiment, so that the next plan can say *why* a task must
//! run again ("arch.banks[0].groups[2].count: 5 → 10") instead of just "missing".
//!
//! Stored at `<cache>/plans/<experiment>[@<profile>].json`, written atomically.
//! Parameters are flattened to leaf paths; long arrays (the song lists) are
//! summarised by their length and hash so the record stays small.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::exec::store::{write_atomic, StoreError};

use super::graph::TaskGraph;
use super::key::Key;
use super::task::TaskId;
use crate::spec::canonical_text;

/// Bump when the record format changes (an old record is then ignored).
const RECORD_VERSION: u32 = 1;

/// Arrays longer than this are recorded as one summarised leaf.
const MAX_ARRAY_LEAVES: usize = 64;

/// One recorded input that differs between two plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What changed: a parameter path, `source <name>`, `upstream <id>` or `code version`.
    pub what: String,
    /// The recorded value (`-` when absent).
    pub old: String,
    /// The current value (`-` when absent).
    pub new: String,
}

/// What one task's inputs were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedTask {
    /// The key.
    pub key: Key,
    /// The kind's code version.
    pub code_version: u32,
    /// Flattened parameters: leaf path → canonical JSON (or a summary).
    pub params: BTreeMap<String, String>,
    /// Source content hashes.
    pub sources: BTreeMap<String, String>,
    /// Upstream ids and their keys.
    pub deps: BTreeMap<TaskId, Key>,
}

/// The record of one planned experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    version: u32,
    /// Task id → recorded inputs.
    pub tasks: BTreeMap<TaskId, RecordedTask>,
}

fn flatten(value: &serde_json::Value, path: &str, out: &mut BTreeMap<String, String>) {
    let join = |suffix: &str| {
        if path.is_empty() {
            suffix.to_string()
        } else {
            format!("{path}.{suffix}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(v, &join(k), out);
            }
        }
        serde_json::Value::Array(items) if items.len() > MAX_ARRAY_LEAVES => {
            let hash = blake3::hash(canonical_text(value).as_bytes()).to_hex();
            out.insert(
                path.to_string(),
                format!("[{} items, blake3 {}]", items.len(), &hash[..12]),
            );
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, &format!("{path}[{i}]"), out);
            }
        }
        scalar => {
            out.insert(path.to_string(), canonical_text(scalar));
        }
    }
}

impl PlanRecord {
    /// The record of a graph.
    pub fn of(graph: &TaskGraph) -> Self {
        let tasks = graph
            .tasks()
            .map(|t| {
                let mut params = BTreeMap::new();
                // The parameters without their kind's name around them:
                // reasons read `arch.dropout`, not `train.arch.dropout`.
                let value = match serde_json::to_value(&t.params) {
                    Ok(serde_json::Value::Object(map)) if map.len() == 1 => {
                        map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
                    }
                    other => other.unwrap_or_default(),
                };
                flatten(&value, "", &mut params);
                let deps = t.deps.iter().map(|d| (d.id.clone(), d.key)).collect();
                let recorded = RecordedTask {
                    key: t.key,
                    code_version: t.kind().code_version(),
                    params,
                    sources: t.sources.clone(),
                    deps,
                };
                (t.id.clone(), recorded)
            })
            .collect();
        Self {
            version: RECORD_VERSION,
            tasks,
        }
    }

    /// Loads a record; `None` when absent, unreadable or of another version
    /// (a record only explains reruns, it is never needed for correctness).
    pub fn load(path: &Path) -> Option<Self> {
        let bytes = std::fs::read(path).ok()?;
        let record: Self = serde_json::from_slice(&bytes).ok()?;
        (record.version == RECORD_VERSION).then_some(record)
    }

    /// Saves the record atomically, merging in the tasks of `older` that this
    /// one does not plan (so `--only` runs do not forget the other models).
    pub fn save(mut self, path: &Path, older: Option<PlanRecord>) -> Result<(), StoreError> {
        if let Some(older) = older {
            for (id, task) in older.tasks {
                self.tasks.entry(id).or_insert(task);
            }
        }
        let bytes = serde_json::to_vec(&self).map_err(|e| StoreError::Io {
            op: "serialise plan record",
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        write_atomic(path, &bytes)
    }
}

/// What differs between the recorded inputs of a task and its current ones.
pub fn diff(old: &RecordedTask, new: &RecordedTask) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.code_version != new.code_version {
        changes.push(Change {
            what: "code version".into(),
            old: old.code_version.to_string(),
            new: new.code_version.to_string(),
        });
    }
    diff_maps("", &old.params, &new.params, &mut changes);
    diff_maps("source ", &old.sources, &new.sources, &mut changes);
    let old_deps: BTreeMap<String, String> = old
        .deps
        .iter()
        .map(|(k, v)| (k.0.clone(), v.short()))
        .collect();
    let new_deps: BTreeMap<String, String> = new
        .deps
        .iter()
        .map(|(k, v)| (k.0.clone(), v.short()))
        .collect();
    diff_maps("upstream ", &old_deps, &new_deps, &mut changes);
    changes
}

fn diff_maps(
    prefix: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    out: &mut Vec<Change>,
) {
    let absent = || "-".to_string();
    for (k, v) in new {
        match old.get(k) {
            Some(o) if o == v => {}
            o => out.push(Change {
                what: format!("{prefix}{k}"),
                old: o.cloned().unwrap_or_else(absent),
                new: v.clone(),
            }),
        }
    }
    for (k, o) in old {
        if !new.contains_key(k) {
            out.push(Change {
                what: format!("{prefix}{k}"),
                old: o.clone(),
                new: absent(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_names_leaves_and_summarises_long_arrays() {
        let mut out = BTreeMap::new();
        let songs: Vec<u32> = (0..100).collect();
        flatten(
            &json!({"arch": {"banks": [{"count": 5}]}, "songs": songs}),
            "",
            &mut out,
        );
        assert_eq!(out["arch.banks[0].count"], "5");
        assert!(
            out["songs"].starts_with("[100 items, blake3 "),
            "{}",
            out["songs"]
        );
    }

    #[test]
    fn diff_reports_old_and_new_values() {
        let rec = |count: u32| {
            let mut params = BTreeMap::new();
            flatten(
                &json!({"arch": {"count": count}, "lr": 0.01}),
                "",
                &mut params,
            );
            RecordedTask {
                key: Key::from_hex(&"0".repeat(64)).unwrap(),
                code_version: 1,
                params,
                sources: BTreeMap::new(),
                deps: BTreeMap::new(),
            }
        };
        let changes = diff(&rec(5), &rec(10));
        assert_eq!(
            changes,
            vec![Change {
                what: "arch.count".into(),
                old: "5".into(),
                new: "10".into()
            }]
        );
    }
}
