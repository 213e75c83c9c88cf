//! tempora's integration tests, one test binary (linking burn and polars once):
//! one module per area, each with its own `//!` saying what it checks.
//!
//! Tests that need something this machine may lack (a fixture in
//! `../shared/fixtures`, PyTorch, a CUDA device, a running Slurm, root for a
//! tmpfs) print `SKIPPED: <test>: <why>`; under `CI=true` those whose tool CI
//! provides fail instead (see [`common`]).

mod common;

mod audio_features;
mod canonical;
mod check;
mod cli;
mod datasets;
mod disk;
mod exec;
mod frozen;
mod fuzz_regressions;
mod gpu;
mod hostile_audio;
mod hostile_datasets;
mod interrupt;
mod layering;
mod memory;
mod model_builder;
mod model_packages;
mod plan;
mod report;
mod slurm;
mod spec;
mod tensorboard;
mod train;
