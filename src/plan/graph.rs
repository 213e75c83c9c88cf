//! [`TaskGraph`]: the plan's tasks by id, in a `BTreeMap` so every walk, table
//! and serialisation is in the same order on every machine and run.

use std::collections::BTreeMap;

use super::params::TaskKind;
use super::task::{Task, TaskId};
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
        if let Some(dep) = task
            .deps
            .iter()
            .find(|d| self.tasks.get(&d.id).map(|t| t.key) != Some(d.key))
        {
            return Err(PlanError::Internal(format!(
                "task {} depends on {} ({}), which is not planned under that key",
                task.id,
                dep.id,
                dep.key.short()
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
        self.tasks.values().filter(move |t| t.kind() == kind)
    }

    /// Number of tasks per kind (kinds without tasks are left out).
    pub fn counts(&self) -> BTreeMap<TaskKind, usize> {
        let mut counts = BTreeMap::new();
        for task in self.tasks.values() {
            *counts.entry(task.kind()).or_insert(0) += 1;
        }
        counts
    }
}
