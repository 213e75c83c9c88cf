//! The binary's commands, one file per command: each has a `clap::Args`
//! struct and a `run(args) -> anyhow::Result<ExitCode>` that parses, makes
//! one library call (mostly on [`tempora::workspace::Workspace`]) and prints.
//! Commands import only the leaf modules [`args`] (shared arguments),
//! [`output`] (shared printing) and [`interrupt`] (signals), never each other.

pub mod args;
pub mod calibrate;
pub mod cancel;
pub mod check;
pub mod datasets;
pub mod devices;
pub mod exec_task;
pub mod export;
pub mod features;
pub mod gc;
pub mod interrupt;
pub mod output;
pub mod plan;
pub mod predict;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod slurm_worker;
pub mod status;
pub mod tensorboard;
