//! Compiling the stale tasks of a batch into Slurm job arrays.
//!
//! - Tasks are placed level by level (a task's level is one more than its
//!   deepest dependency inside the batch), so every dependency already has
//!   its array element when a task is placed.
//! - Within a level, tasks of one kind that depend on exactly the same array
//!   elements form one group; a group is cut into elements of `shard` tasks
//!   (many small features tasks per element) and into arrays of at most
//!   MaxArraySize elements.
//! - An array depends on exactly the elements its tasks need
//!   (`afterok:JOB_INDEX`), or on a whole array when it needs all of it, so a
//!   failed element cancels only what depends on it.
//! - Each task belongs to exactly one element: there is one writer per task
//!   even on a shared file system without working `flock`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::plan::{Task, TaskId, TaskKind};

use super::config::{ConfigError, Resources, Settings};

/// An element of an array, by the array's place in [`Compiled::arrays`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ElementRef {
    /// Index into [`Compiled::arrays`].
    pub array: usize,
    /// The element's index in that array.
    pub index: u32,
}

/// One job array to submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayPlan {
    /// Unique in the run, e.g. `features-0`, `train-2` (names the script).
    pub name: String,
    /// What its tasks compute.
    pub kind: TaskKind,
    /// What each element asks for.
    pub resources: Resources,
    /// The task ids of each element.
    pub elements: Vec<Vec<TaskId>>,
    /// The elements of earlier arrays that must succeed first.
    pub deps: Vec<ElementRef>,
}

/// Every array of one submission, in submission order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Compiled {
    /// Arrays; an array depends only on earlier ones.
    pub arrays: Vec<ArrayPlan>,
}

impl Compiled {
    /// The element that holds `id`.
    pub fn element_of(&self, id: &TaskId) -> Option<ElementRef> {
        self.arrays.iter().enumerate().find_map(|(a, arr)| {
            arr.elements
                .iter()
                .position(|e| e.contains(id))
                .map(|i| ElementRef {
                    array: a,
                    index: i as u32,
                })
        })
    }

    /// Every task id, in submission order.
    pub fn task_ids(&self) -> impl Iterator<Item = &TaskId> {
        self.arrays.iter().flat_map(|a| a.elements.iter().flatten())
    }
}

/// Levels of the batch's tasks: 0 for no dependency inside the batch.
fn levels(tasks: &[Task]) -> BTreeMap<TaskId, usize> {
    let by_id: BTreeMap<&TaskId, &Task> = tasks.iter().map(|t| (&t.id, t)).collect();
    let mut level: BTreeMap<TaskId, usize> = BTreeMap::new();
    // Plans are small DAGs: relax until nothing changes (≤ depth passes).
    loop {
        let mut changed = false;
        for t in tasks {
            let l = t
                .deps
                .iter()
                .filter(|d| by_id.contains_key(&d.id))
                .map(|d| level.get(&d.id).map_or(1, |l| l + 1))
                .max()
                .unwrap_or(0);
            if level.get(&t.id) != Some(&l) {
                level.insert(t.id.clone(), l);
                changed = true;
            }
        }
        if !changed {
            return level;
        }
    }
}

/// Compiles `tasks` into arrays with the site's resources per kind.
pub fn compile(
    tasks: &[Task],
    settings: &Settings,
    max_array_size: u32,
) -> Result<Compiled, ConfigError> {
    let levels = levels(tasks);
    let depth = levels.values().copied().max().unwrap_or(0);
    let mut placed: BTreeMap<TaskId, ElementRef> = BTreeMap::new();
    let mut out = Compiled::default();
    let mut per_kind: BTreeMap<TaskKind, usize> = BTreeMap::new();
    for level in 0..=depth {
        let mut groups: BTreeMap<(TaskKind, BTreeSet<ElementRef>), Vec<TaskId>> = BTreeMap::new();
        for t in tasks.iter().filter(|t| levels[&t.id] == level) {
            let deps = t.deps.iter().filter_map(|d| placed.get(&d.id).copied());
            groups
                .entry((t.kind(), deps.collect()))
                .or_default()
                .push(t.id.clone());
        }
        for ((kind, deps), ids) in groups {
            let resources = settings.resources(kind)?;
            let elements: Vec<Vec<TaskId>> = ids
                .chunks(resources.shard as usize)
                .map(<[TaskId]>::to_vec)
                .collect();
            for part in elements.chunks(max_array_size.max(1) as usize) {
                let n = per_kind.entry(kind).or_default();
                let array = out.arrays.len();
                for (index, element) in part.iter().enumerate() {
                    for id in element {
                        let index = index as u32;
                        placed.insert(id.clone(), ElementRef { array, index });
                    }
                }
                out.arrays.push(ArrayPlan {
                    name: format!("{}-{n}", kind.name()),
                    kind,
                    resources: resources.clone(),
                    elements: part.to_vec(),
                    deps: deps.iter().copied().collect(),
                });
                *n += 1;
            }
        }
    }
    Ok(out)
}

/// `afterok:…` for `deps`, given each array's job id: a whole array when
/// every one of its elements is needed, else the exact elements.
pub fn dependency(compiled: &Compiled, deps: &[ElementRef], job_ids: &[u64]) -> Option<String> {
    if deps.is_empty() {
        return None;
    }
    let mut by_array: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for d in deps {
        by_array.entry(d.array).or_default().push(d.index);
    }
    let mut parts = Vec::new();
    for (array, indices) in by_array {
        let job = job_ids[array];
        if indices.len() == compiled.arrays[array].elements.len() {
            parts.push(job.to_string());
        } else {
            parts.extend(indices.iter().map(|i| format!("{job}_{i}")));
        }
    }
    Some(format!("afterok:{}", parts.join(":")))
}

/// A table of the arrays (what `tempora plan --executor slurm` prints).
pub fn render(compiled: &Compiled, max_array_size: &str) -> String {
    let mut out = format!(
        "\nSlurm: {} array(s), {} task(s); MaxArraySize {max_array_size}\n",
        compiled.arrays.len(),
        compiled.task_ids().count()
    );
    for a in &compiled.arrays {
        let r = &a.resources;
        let tasks: usize = a.elements.iter().map(Vec::len).sum();
        let mut deps: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for d in &a.deps {
            deps.entry(d.array).or_default().push(d.index);
        }
        let after: Vec<String> = deps
            .iter()
            .map(|(i, idx)| {
                let dep = &compiled.arrays[*i];
                if idx.len() == dep.elements.len() {
                    dep.name.clone()
                } else {
                    let idx: Vec<String> = idx.iter().map(u32::to_string).collect();
                    format!("{}[{}]", dep.name, idx.join(","))
                }
            })
            .collect();
        out.push_str(&format!(
            "  {:<12} {:>5} element(s) {:>6} task(s)  partition={} time={} cpus={} mem={}{}{}  after: {}\n",
            a.name,
            a.elements.len(),
            tasks,
            r.partition,
            r.time,
            r.cpus,
            r.memory,
            r.gres.as_ref().map(|g| format!(" gres={g}")).unwrap_or_default(),
            r.concurrency.map(|c| format!(" %{c}")).unwrap_or_default(),
            if after.is_empty() { "-".to_string() } else { after.join(" ") }
        ));
    }
    out
}
