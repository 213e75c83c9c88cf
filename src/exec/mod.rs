//! Execution: runs a plan's tasks (CPU pool, GPU queue), stores their outputs in
//! the content-addressed cache, shows progress, logs, and resumes after a crash.
//!
//! Must not know what a task computes: it receives boxed [`runner::Work`]
//! closures with the resource they need, and never matches on task kinds.
//!
//! - [`store`]: atomic publish, corrupt-entry detection, per-task locks and
//!   incomplete markers (where things live: [`crate::layout`]).
//! - [`queue`]: a generic dependency queue (ready nodes in a deterministic order).
//! - [`runner`]: runs boxed work on a CPU pool and a device queue; dry runs.
//! - [`progress`]: indicatif bars (overall + one line per running job).
//! - [`log`]: the JSON-lines run log.

pub mod log;
pub mod progress;
pub mod queue;
pub mod runner;
pub mod store;
