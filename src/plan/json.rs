//! `tempora plan --json`: the plan as JSON for other tools (cargo's
//! `--unit-graph`): tasks sorted by id, dependencies as indices into the task
//! list, a [`VERSION`] to bump when the shape changes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::freshness::Freshness;
use super::graph::TaskGraph;
use super::key::Key;
use super::params::TaskKind;
use super::params::TaskParams;
use super::task::TaskId;

/// Version of the JSON shape below.
pub const VERSION: u32 = 2;

#[derive(Serialize)]
struct JsonPlan<'a> {
    version: u32,
    experiment: &'a str,
    tasks: Vec<JsonTask<'a>>,
}

#[derive(Serialize)]
struct JsonTask<'a> {
    id: &'a TaskId,
    kind: TaskKind,
    key: Key,
    deps: Vec<usize>,
    params: &'a TaskParams,
    sources: &'a BTreeMap<String, String>,
    freshness: Option<&'a Freshness>,
}

/// The plan of `experiment` as pretty JSON.
pub fn to_json(
    experiment: &str,
    graph: &TaskGraph,
    freshness: &BTreeMap<TaskId, Freshness>,
) -> Result<String, serde_json::Error> {
    let index: BTreeMap<&TaskId, usize> =
        graph.tasks().enumerate().map(|(i, t)| (&t.id, i)).collect();
    let tasks = graph
        .tasks()
        .map(|t| {
            let mut deps: Vec<usize> = t
                .deps
                .iter()
                .filter_map(|d| index.get(&d.id).copied())
                .collect();
            deps.sort_unstable();
            JsonTask {
                id: &t.id,
                kind: t.kind(),
                key: t.key,
                deps,
                params: &t.params,
                sources: &t.sources,
                freshness: freshness.get(&t.id),
            }
        })
        .collect();
    serde_json::to_string_pretty(&JsonPlan {
        version: VERSION,
        experiment,
        tasks,
    })
}
