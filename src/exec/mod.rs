//! Execution: runs a plan's tasks (CPU pool, GPU queue), stores their outputs in
//! the content-addressed cache, shows progress, logs, and resumes after a crash.
//!
//! Must not know what a task computes: it receives boxed [`runner::Work`]
//! closures with the resource they need, and never matches on task kinds.
//!
//! - [`store`]: the cache layout, atomic publish, corrupt-entry detection, locks.
//! - [`queue`]: a generic dependency queue (ready nodes in a deterministic order).

pub mod queue;
pub mod store;
