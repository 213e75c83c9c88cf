//! The binary's commands, one file per command (each an `Args` struct and a `run`).

pub mod features;
