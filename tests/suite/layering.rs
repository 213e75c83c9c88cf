//! The layering promises of `ARCHITECTURE.md` that reading the imports can
//! check, over the files of `src/`:
//!
//! - no command of the CLI uses the execution internals (`tempora::exec`):
//!   it goes through the `workspace` facade;
//! - no command module imports another command: only the leaves `args`,
//!   `output` and `interrupt`;
//! - the planner knows neither the report nor the model's kernels;
//! - the report knows nothing of training;
//! - the job machinery of `exec` (store, queue, runner, progress, log) knows
//!   nothing of plans or tasks;
//! - the model knows nothing of datasets;
//! - no import cycle between files, where a file's imports of its own parent
//!   modules (`super::` for shared errors) and a parent's re-exports of its
//!   children do not count.
//!
//! Imports are read as text: every `crate::a::b` (or `tempora::a::b` in the
//! binary, `super::x`) path is resolved to the file of the longest module
//! prefix that exists, and through a `mod.rs`'s `pub use child::Item` to the
//! child that defines the item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, by its path relative to `src/`.
fn files() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &src(), &mut out);
    out
}

/// The code of a file without comments and without its `#[cfg(test)]` tail
/// (tests may use anything).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path of a file: `exec/slurm/mod.rs` → `["exec", "slurm"]`;
/// the binary's files (`main.rs`, `cli/…`) live under `bin`.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    if file == "main.rs" || file.starts_with("cli/") {
        parts.insert(0, "bin".to_owned());
    }
    parts
}

/// The file of module `path` (library modules; `bin` for the binary's).
fn file_of(path: &[String], files: &BTreeMap<String, String>) -> Option<String> {
    let (bin, rest) = match path.first().map(String::as_str) {
        Some("bin") => (true, &path[1..]),
        _ => (false, path),
    };
    if rest.is_empty() {
        return Some(if bin { "main.rs" } else { "lib.rs" }.to_owned());
    }
    let joined = rest.join("/");
    [format!("{joined}.rs"), format!("{joined}/mod.rs")]
        .into_iter()
        .find(|f| files.contains_key(f))
}

/// Resolves `path` (absolute module path + item names) to the file that
/// defines it, following `pub use child::…` re-exports of a `mod.rs`.
fn resolve(path: &[String], files: &BTreeMap<String, String>) -> Option<String> {
    let mut n = path.len();
    while n > 0 {
        if let Some(file) = file_of(&path[..n], files) {
            if let Some(item) = path.get(n) {
                let text = code(&files[&file]);
                for child in reexporting_children(&text, item) {
                    let mut inner = path[..n].to_vec();
                    inner.push(child);
                    if let Some(f) = file_of(&inner, files) {
                        return Some(f);
                    }
                }
            }
            return Some(file);
        }
        n -= 1;
    }
    None
}

/// The children `c` of a module that `pub use c::…{item…}` re-exports `item` from.
fn reexporting_children(text: &str, item: &str) -> Vec<String> {
    text.split("pub use ")
        .skip(1)
        .filter_map(|rest| {
            let stmt = rest.split(';').next()?;
            let first = stmt.split("::").next()?.trim();
            let names = stmt.replace(['{', '}', ',', ' ', '\n'], ":");
            let named = names.split(':').any(|w| w == item);
            (named && first != "crate" && first != "super" && first != "self")
                .then(|| first.to_owned())
        })
        .collect()
}

/// Every module path a file names: `crate::`, `tempora::` and `super::`
/// paths, each with the segments that follow (braces expanded one level).
fn imports(file: &str, text: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    let mut out = Vec::new();
    let code = code(text);
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("tempora::", Vec::new()),
        ("super::", here[..here.len().saturating_sub(1)].to_vec()),
    ] {
        if prefix == "crate::" && here.first().is_some_and(|m| m == "bin") {
            // `crate::` in the binary names the binary's own modules.
            collect(&code, prefix, &["bin".to_owned()], &mut out);
            continue;
        }
        collect(&code, prefix, &base, &mut out);
    }
    out
}

fn collect(code: &str, prefix: &str, base: &[String], out: &mut Vec<Vec<String>>) {
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        let head: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut path = base.to_vec();
        path.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        let after = &rest[head.len()..];
        if head.ends_with("::") && after.starts_with('{') {
            let inner = &after[1..after.find('}').unwrap_or(after.len() - 1).max(1)];
            for name in inner.split(',') {
                let name = name.trim().split("::").next().unwrap_or("").trim();
                let name = name.split_whitespace().next().unwrap_or("");
                if !name.is_empty() && name != "self" {
                    let mut p = path.clone();
                    p.push(name.to_owned());
                    out.push(p);
                }
            }
        }
        out.push(path);
    }
}

/// File → files it imports (itself, its ancestors and, for a `mod.rs`, its
/// descendants left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = files();
    let mut edges = BTreeMap::new();
    for (file, text) in &files {
        let here = module_of(file);
        let targets: BTreeSet<String> = imports(file, text)
            .iter()
            .filter_map(|p| resolve(p, &files))
            .filter(|t| {
                let m = module_of(t);
                let ancestor = here.starts_with(&m) && m.len() < here.len();
                let descendant = m.starts_with(&here) && m.len() > here.len();
                t != file && !ancestor && !descendant
            })
            .collect();
        edges.insert(file.clone(), targets);
    }
    edges
}

/// Files of `from` (a path prefix) that import a file under one of `to`.
fn violations(from: &[&str], to: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (file, targets) in graph() {
        if !from.iter().any(|f| file.starts_with(f)) {
            continue;
        }
        for t in targets {
            if to.iter().any(|p| t.starts_with(p)) {
                out.push(format!("{file} → {t}"));
            }
        }
    }
    out
}

#[test]
fn the_cli_uses_the_workspace_facade_not_execution_internals() {
    let bad = violations(&["cli/", "main.rs"], &["exec/"]);
    assert!(
        bad.is_empty(),
        "the CLI imports exec internals:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_command_imports_another_command() {
    let leaves = [
        "cli/args.rs",
        "cli/output.rs",
        "cli/interrupt.rs",
        "cli/mod.rs",
    ];
    let mut bad = Vec::new();
    for (file, targets) in graph() {
        if !file.starts_with("cli/") {
            continue;
        }
        // A command's own submodules are its descendants, not in the graph.
        for t in targets.iter().filter(|t| t.starts_with("cli/")) {
            if !leaves.contains(&t.as_str()) {
                bad.push(format!("{file} → {t}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "command modules import each other:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_planner_knows_neither_the_report_nor_the_model_kernels() {
    let kernels = [
        "report/",
        "model/fused/",
        "model/pooled/",
        "model/dense/",
        "model/net.rs",
        "model/host.rs",
        "model/argmax_op.rs",
    ];
    let bad = violations(&["plan/"], &kernels);
    assert!(bad.is_empty(), "the planner imports:\n{}", bad.join("\n"));
}

#[test]
fn the_report_knows_nothing_of_training() {
    let bad = violations(&["report/"], &["train/"]);
    assert!(
        bad.is_empty(),
        "the report imports training:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_job_machinery_knows_nothing_of_plans_or_tasks() {
    let machinery = [
        "exec/store",
        "exec/queue.rs",
        "exec/runner.rs",
        "exec/progress.rs",
        "exec/log.rs",
    ];
    let bad = violations(&machinery, &["plan/", "tasks/", "workspace/"]);
    assert!(
        bad.is_empty(),
        "exec's machinery imports:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_model_knows_nothing_of_datasets() {
    let bad = violations(&["model/"], &["dataset/"]);
    assert!(bad.is_empty(), "the model imports:\n{}", bad.join("\n"));
}

#[test]
fn no_import_cycle_between_files() {
    let edges = graph();
    let cycles = strongly_connected(&edges);
    let shown: Vec<String> = cycles.iter().map(|c| c.join(" ↔ ")).collect();
    assert!(shown.is_empty(), "import cycles:\n{}", shown.join("\n"));
}

/// The strongly connected components of more than one file (Tarjan).
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_resolver_follows_reexports_and_reads_braces() {
    let files = files();
    let p = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        resolve(&p("plan::Task"), &files).as_deref(),
        Some("plan/task.rs")
    );
    assert_eq!(
        resolve(&p("exec::runner::Observer"), &files).as_deref(),
        Some("exec/runner.rs")
    );
    let found = imports("cli/run.rs", "use tempora::workspace::{Mode, Observer};\n");
    assert!(found.contains(&p("workspace::Observer")), "{found:?}");
}

/// The library's list of each kind's sources (test-only there: `build.rs`
/// includes the same file).
#[path = "../../src/plan/code_digest.rs"]
#[allow(dead_code)]
mod code_digest;

/// Where the closure of a kind's code stops: modules that decide which
/// tasks run, when and where their outputs go, but not the bytes a task
/// writes; and the typed parameters (`plan/params.rs`), whose values enter
/// the keys themselves.
const BYTE_NEUTRAL: &[&str] = &[
    "exec/",
    "plan/params.rs",
    "plan/build.rs",
    "plan/dot.rs",
    "plan/estimate.rs",
    "plan/freshness.rs",
    "plan/frozen.rs",
    "plan/graph.rs",
    "plan/json.rs",
    "plan/key.rs",
    "plan/mod.rs",
    "plan/record.rs",
    "plan/sources.rs",
    "plan/task.rs",
    "plan/versions.rs",
    "plan/code_digest.rs",
    "calibration.rs",
    "workspace/",
    "lib.rs",
];

/// Every file the code of `entry` reaches through its imports, stopping at
/// [`BYTE_NEUTRAL`] files.
fn closure(entry: &str, files: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![entry.to_owned()];
    while let Some(file) = todo.pop() {
        if BYTE_NEUTRAL.iter().any(|n| file.starts_with(n)) || !seen.insert(file.clone()) {
            continue;
        }
        for path in imports(&file, &files[&file]) {
            if let Some(target) = resolve(&path, files) {
                todo.push(target);
            }
        }
    }
    seen
}

/// A kind's code digest covers every file its task code reaches: a change
/// anywhere it can reach asks for a version decision (`plan::versions`).
#[test]
fn every_kind_digest_covers_the_files_its_code_reaches() {
    use code_digest::{kind_files, KIND_SOURCES};
    let files = files();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for (kind, entries) in KIND_SOURCES {
        let covered: BTreeSet<String> = kind_files(root, entries)
            .unwrap()
            .into_iter()
            .map(|f| f.trim_start_matches("src/").to_owned())
            .collect();
        for file in closure(&format!("tasks/{kind}.rs"), &files) {
            if !covered.contains(&file) {
                missing.push(format!("{kind}: src/{file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add to KIND_SOURCES in src/plan/code_digest.rs (then record the digests):\n{}",
        missing.join("\n")
    );
}
