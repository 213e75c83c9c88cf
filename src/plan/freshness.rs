//! Freshness: is a task's output in the cache, and if not, why must it run?
//! (cargo's `Freshness`/`DirtyReason`, snakemake's `Reason`.)
//!
//! A task is [`Freshness::Fresh`] when the store holds a valid entry under its
//! key. Otherwise it is stale with one [`StaleReason`], which carries old and
//! new values where there are any, so `plan` and `status` can print them.

use std::collections::BTreeMap;
use std::fmt;

use rayon::prelude::*;
use serde::Serialize;

use crate::exec::store::{Check, Corruption, Probe, Store, StoreError};

use super::graph::TaskGraph;
use super::record::{diff, Change, PlanRecord};
use super::task::TaskId;

/// Whether a task must run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Freshness {
    /// A valid entry exists: nothing to do.
    Fresh,
    /// The task must run, for this reason.
    Stale(StaleReason),
}

/// Why a task must run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    /// Not in the cache, and no earlier plan recorded other inputs for it.
    Missing,
    /// Its inputs differ from the last recorded plan (first changes listed).
    Changed(Vec<Change>),
    /// A computation started and did not finish; it resumes from its checkpoint.
    Incomplete,
    /// Another process is computing it now.
    Running,
    /// The cached entry failed verification; it is recomputed, never trusted.
    Corrupt(Corruption),
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaleReason::Missing => f.write_str("not cached"),
            StaleReason::Changed(changes) => match changes.first() {
                Some(c) if changes.len() == 1 => write!(f, "{}: {} → {}", c.what, c.old, c.new),
                Some(c) => write!(
                    f,
                    "{}: {} → {} (+{} more)",
                    c.what,
                    c.old,
                    c.new,
                    changes.len() - 1
                ),
                None => f.write_str("key algorithm changed"),
            },
            StaleReason::Incomplete => f.write_str("interrupted earlier, resumes"),
            StaleReason::Running => f.write_str("running in another process"),
            StaleReason::Corrupt(c) => write!(f, "corrupt cache entry ({c})"),
        }
    }
}

impl StaleReason {
    /// A short class of the reason, for counting in tables.
    pub fn class(&self) -> &'static str {
        match self {
            StaleReason::Missing => "not cached",
            StaleReason::Changed(_) => "inputs changed",
            StaleReason::Incomplete => "interrupted",
            StaleReason::Running => "running elsewhere",
            StaleReason::Corrupt(_) => "corrupt",
        }
    }
}

/// Judges every task of `graph` against the store (see [`Check`] for how
/// thoroughly) and the previous plan record, if any.
pub fn judge(
    graph: &TaskGraph,
    store: &Store,
    check: Check,
    previous: Option<&PlanRecord>,
) -> Result<BTreeMap<TaskId, Freshness>, StoreError> {
    let current = previous.map(|_| PlanRecord::of(graph));
    // Probes are independent (and `Check::Hashes` reads every byte): run them
    // in parallel, collect in id order.
    let tasks: Vec<_> = graph.tasks().collect();
    let judged: Result<Vec<(TaskId, Freshness)>, StoreError> = tasks
        .par_iter()
        .map(|task| {
            let (kind, key) = (task.kind().name(), task.key.hex());
            let freshness = match store.probe(kind, &key, check)? {
                Probe::Present(_) => Freshness::Fresh,
                Probe::Corrupt(c) => Freshness::Stale(StaleReason::Corrupt(c)),
                Probe::Missing if store.is_running(kind, &key)? => {
                    Freshness::Stale(StaleReason::Running)
                }
                Probe::Missing if store.is_incomplete(kind, &key) => {
                    Freshness::Stale(StaleReason::Incomplete)
                }
                Probe::Missing => {
                    let old = previous.and_then(|p| p.tasks.get(&task.id));
                    let new = current.as_ref().and_then(|c| c.tasks.get(&task.id));
                    match (old, new) {
                        (Some(old), Some(new)) if old.key != new.key => {
                            Freshness::Stale(StaleReason::Changed(diff(old, new)))
                        }
                        _ => Freshness::Stale(StaleReason::Missing),
                    }
                }
            };
            Ok((task.id.clone(), freshness))
        })
        .collect();
    Ok(judged?.into_iter().collect())
}
