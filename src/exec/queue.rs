//! A generic dependency queue (after cargo's `util/dependency_queue.rs`): nodes
//! with dependencies go in, nodes whose dependencies have all finished come out
//! ready, in a deterministic order.
//!
//! It knows nothing about tempora: nodes are any `Ord + Clone` key with a value.

use std::collections::{BTreeMap, BTreeSet};

/// A node was inserted twice or depends on a node that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The same key was inserted twice.
    #[error("node {0} inserted twice")]
    Duplicate(String),
    /// A dependency is neither queued nor already satisfied.
    #[error("node {node} depends on {dep}, which is not in the queue")]
    UnknownDependency {
        /// The dependent node.
        node: String,
        /// The missing dependency.
        dep: String,
    },
    /// The dependencies form a cycle, so these nodes can never become ready.
    #[error("dependency cycle among {0} node(s)")]
    Cycle(usize),
}

/// Nodes waiting for their dependencies, and the ready ones.
#[derive(Debug)]
pub struct DependencyQueue<K: Ord + Clone, V> {
    /// Value and unfinished dependencies of every node not yet dequeued.
    waiting: BTreeMap<K, (V, BTreeSet<K>)>,
    /// Reverse edges: node → nodes that depend on it.
    dependents: BTreeMap<K, BTreeSet<K>>,
    /// Nodes dequeued and not yet finished.
    running: BTreeSet<K>,
}

impl<K: Ord + Clone + std::fmt::Debug, V> Default for DependencyQueue<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord + Clone + std::fmt::Debug, V> DependencyQueue<K, V> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            waiting: BTreeMap::new(),
            dependents: BTreeMap::new(),
            running: BTreeSet::new(),
        }
    }

    /// Adds `key` with `value`, depending on `deps`. Dependencies may be
    /// inserted later, but all must be in before [`Self::validate`] is called.
    pub fn insert(
        &mut self,
        key: K,
        value: V,
        deps: impl IntoIterator<Item = K>,
    ) -> Result<(), QueueError> {
        if self.waiting.contains_key(&key) {
            return Err(QueueError::Duplicate(format!("{key:?}")));
        }
        let deps: BTreeSet<K> = deps.into_iter().collect();
        for dep in &deps {
            self.dependents
                .entry(dep.clone())
                .or_default()
                .insert(key.clone());
        }
        self.waiting.insert(key, (value, deps));
        Ok(())
    }

    /// Checks every dependency is queued and there is no cycle.
    pub fn validate(&self) -> Result<(), QueueError> {
        for (key, (_, deps)) in &self.waiting {
            if let Some(dep) = deps.iter().find(|d| !self.waiting.contains_key(*d)) {
                return Err(QueueError::UnknownDependency {
                    node: format!("{key:?}"),
                    dep: format!("{dep:?}"),
                });
            }
        }
        // Kahn's algorithm on a copy of the in-degrees.
        let mut degree: BTreeMap<&K, usize> = self
            .waiting
            .iter()
            .map(|(k, (_, d))| (k, d.len()))
            .collect();
        let mut ready: Vec<&K> = degree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut seen = 0;
        while let Some(k) = ready.pop() {
            seen += 1;
            for dependent in self.dependents.get(k).into_iter().flatten() {
                if let Some(d) = degree.get_mut(dependent) {
                    *d -= 1;
                    if *d == 0 {
                        ready.push(dependent);
                    }
                }
            }
        }
        match self.waiting.len() - seen {
            0 => Ok(()),
            n => Err(QueueError::Cycle(n)),
        }
    }

    /// Nodes not yet dequeued (waiting for dependencies or ready).
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Removes and returns the smallest ready node (all dependencies finished).
    pub fn dequeue(&mut self) -> Option<(K, V)> {
        let key = self
            .waiting
            .iter()
            .find(|(_, (_, deps))| deps.is_empty())
            .map(|(k, _)| k.clone())?;
        let (value, _) = self.waiting.remove(&key)?;
        self.running.insert(key.clone());
        Some((key, value))
    }

    /// Marks a dequeued node finished; its dependents may become ready.
    pub fn finish(&mut self, key: &K) {
        self.running.remove(key);
        for dependent in self.dependents.remove(key).into_iter().flatten() {
            if let Some((_, deps)) = self.waiting.get_mut(&dependent) {
                deps.remove(key);
            }
        }
    }

    /// Marks a dequeued node failed: every node that depends on it, directly
    /// or not, is removed and returned (sorted), as it can never run.
    pub fn fail(&mut self, key: &K) -> Vec<(K, V)> {
        self.running.remove(key);
        let mut doomed = BTreeSet::new();
        let mut stack = vec![key.clone()];
        while let Some(k) = stack.pop() {
            for dependent in self.dependents.remove(&k).into_iter().flatten() {
                if doomed.insert(dependent.clone()) {
                    stack.push(dependent);
                }
            }
        }
        doomed
            .into_iter()
            .filter_map(|k| self.waiting.remove(&k).map(|(v, _)| (k, v)))
            .collect()
    }

    /// Nodes neither dequeued nor removed.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Nodes dequeued and not yet finished or failed.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Whether every node has been dequeued and finished (or removed).
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a → b → d, a → c → d (diamond).
    fn diamond() -> DependencyQueue<&'static str, u32> {
        let mut q = DependencyQueue::new();
        q.insert("d", 4, ["b", "c"]).unwrap();
        q.insert("b", 2, ["a"]).unwrap();
        q.insert("c", 3, ["a"]).unwrap();
        q.insert("a", 1, []).unwrap();
        q.validate().unwrap();
        q
    }

    #[test]
    fn nodes_come_out_only_after_their_dependencies_finish() {
        let mut q = diamond();
        assert_eq!(q.dequeue(), Some(("a", 1)));
        assert_eq!(q.dequeue(), None, "b and c wait for a");
        q.finish(&"a");
        assert_eq!(q.dequeue(), Some(("b", 2)));
        assert_eq!(q.dequeue(), Some(("c", 3)));
        q.finish(&"c");
        assert_eq!(q.dequeue(), None, "d still waits for b");
        q.finish(&"b");
        assert_eq!(q.dequeue(), Some(("d", 4)));
        assert!(!q.is_empty());
        q.finish(&"d");
        assert!(q.is_empty());
    }

    #[test]
    fn ready_nodes_come_out_in_key_order_whatever_the_insertion_order() {
        let mut q = DependencyQueue::new();
        for k in ["z", "m", "a", "q"] {
            q.insert(k, (), []).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| q.dequeue().map(|(k, _)| k)).collect();
        assert_eq!(order, ["a", "m", "q", "z"]);
    }

    #[test]
    fn a_failure_removes_everything_downstream_and_nothing_else() {
        let mut q = diamond();
        q.insert("e", 5, []).unwrap();
        assert_eq!(q.dequeue(), Some(("a", 1)));
        q.finish(&"a");
        assert_eq!(q.dequeue(), Some(("b", 2)));
        let skipped: Vec<_> = q.fail(&"b").into_iter().map(|(k, _)| k).collect();
        assert_eq!(skipped, ["d"]);
        assert_eq!(q.dequeue(), Some(("c", 3)));
        assert_eq!(q.dequeue(), Some(("e", 5)));
        q.finish(&"c");
        q.finish(&"e");
        assert!(q.is_empty());
    }

    #[test]
    fn duplicates_unknown_dependencies_and_cycles_are_errors() {
        let mut q = DependencyQueue::new();
        q.insert(1, (), []).unwrap();
        assert_eq!(q.insert(1, (), []), Err(QueueError::Duplicate("1".into())));
        q.insert(2, (), [7]).unwrap();
        assert!(matches!(
            q.validate(),
            Err(QueueError::UnknownDependency { .. })
        ));

        let mut c = DependencyQueue::new();
        c.insert(1, (), [2]).unwrap();
        c.insert(2, (), [1]).unwrap();
        c.insert(3, (), []).unwrap();
        assert_eq!(c.validate(), Err(QueueError::Cycle(2)));
    }
}
