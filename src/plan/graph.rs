//! [`TaskGraph`]: the plan's tasks by id, in a `BTreeMap` so every walk, table
//! and serialisation is in the same order on every machine and run.

use std::collections::{BTreeMap, BTreeSet};

use super::task::{Task, TaskId, TaskKind};
use super::PlanError;

/// The DAG of an experiment's tasks. Edges are each task's `deps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskGraph {
    tasks: BTreeMap<TaskId, Task>,
}

impl TaskGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task whose deps are already in the graph. A task with the same id
    /// and key is a no-op (two models sharing a chunk set); another key is an error.
    pub fn insert(&mut self, task: Task) -> Result<(), PlanError> {
        if let Some(dep) = task.deps.iter().find(|d| !self.tasks.contains_key(*d)) {
            return Err(PlanError::Internal(format!(
                "task {} depends on {dep}, which is not planned",
                task.id
            )));
        }
        match self.tasks.get(&task.id) {
            Some(old) if old.key == task.key => Ok(()),
            Some(_) => Err(PlanError::Internal(format!(
                "task id {} planned twice with different inputs",
                task.id
            ))),
            None => {
                self.tasks.insert(task.id.clone(), task);
                Ok(())
            }
        }
    }

    /// The task with this id.
    pub fn get(&self, id: &TaskId) -> Option<&Task> {
        self.tasks.get(id)
    }

    /// Every task, sorted by id.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the graph has no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Tasks of one kind, sorted by id.
    pub fn of_kind(&self, kind: TaskKind) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(move |t| t.kind == kind)
    }

    /// Number of tasks per kind (kinds without tasks are left out).
    pub fn counts(&self) -> BTreeMap<TaskKind, usize> {
        let mut counts = BTreeMap::new();
        for task in self.tasks.values() {
            *counts.entry(task.kind).or_insert(0) += 1;
        }
        counts
    }

    /// The tasks `roots` and everything they depend on, directly or not.
    pub fn upstream_closure(&self, roots: impl IntoIterator<Item = TaskId>) -> BTreeSet<TaskId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<TaskId> = roots.into_iter().collect();
        while let Some(id) = stack.pop() {
            if let Some(task) = self.tasks.get(&id) {
                if seen.insert(id) {
                    stack.extend(task.deps.iter().cloned());
                }
            }
        }
        seen
    }

    /// Every task that depends on `id`, directly or not.
    pub fn downstream_of(&self, id: &TaskId) -> BTreeSet<TaskId> {
        let mut seen = BTreeSet::new();
        let mut frontier = vec![id.clone()];
        while let Some(current) = frontier.pop() {
            for task in self.tasks.values() {
                if task.deps.contains(&current) && seen.insert(task.id.clone()) {
                    frontier.push(task.id.clone());
                }
            }
        }
        seen
    }
}
