//! `tempora plan --dot`: the plan as a Graphviz digraph. Fresh tasks are grey,
//! tasks to run are bold; per-track feature tasks are folded into one node per
//! freshness state so the graph stays readable for hundreds of tracks.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::freshness::Freshness;
use super::graph::TaskGraph;
use super::params::TaskKind;
use super::task::TaskId;

/// Version of the DOT output's conventions (written as a comment in it).
pub const VERSION: u32 = 1;

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The plan as DOT text.
pub fn to_dot(graph: &TaskGraph, freshness: &BTreeMap<TaskId, Freshness>) -> String {
    let is_fresh = |id: &TaskId| matches!(freshness.get(id), Some(Freshness::Fresh));
    let node_of = |id: &TaskId| -> String {
        match graph.get(id) {
            Some(t) if t.kind() == TaskKind::Features => {
                if is_fresh(id) {
                    "features (cached)".to_string()
                } else {
                    "features (to run)".to_string()
                }
            }
            _ => id.0.clone(),
        }
    };
    let mut nodes: BTreeMap<String, (bool, usize)> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), ()> = BTreeMap::new();
    for task in graph.tasks() {
        let node = node_of(&task.id);
        let entry = nodes.entry(node.clone()).or_insert((is_fresh(&task.id), 0));
        entry.1 += 1;
        for dep in &task.deps {
            edges.insert((node_of(&dep.id), node.clone()), ());
        }
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "// tempora plan --dot, format version {VERSION}");
    let _ = writeln!(
        out,
        "digraph plan {{\n  rankdir=LR;\n  node [shape=box, fontsize=10];"
    );
    for (node, (fresh, count)) in &nodes {
        let label = if *count > 1 {
            format!("{node} ×{count}")
        } else {
            node.clone()
        };
        let style = if *fresh {
            "color=gray, fontcolor=gray"
        } else {
            "style=bold"
        };
        let _ = writeln!(out, "  {} [label={}, {style}];", quote(node), quote(&label));
    }
    for (from, to) in edges.keys() {
        let _ = writeln!(out, "  {} -> {};", quote(from), quote(to));
    }
    out.push_str("}\n");
    out
}
