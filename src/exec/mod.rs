//! Execution: runs a plan's tasks (CPU pool, GPU queue), stores their outputs in
//! the content-addressed cache, shows progress, logs, and resumes after a crash.
//!
//! Must not know what a task computes.
