//! The binary's commands, one file per command (each an `Args` struct and a `run`).

pub mod features;
pub mod features_dataset;
pub mod gc;
pub mod plan;
pub mod run;
pub mod status;
