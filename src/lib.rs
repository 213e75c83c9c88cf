//! # tempora
//!
//! Declarative, reproducible studies of CNN *filter shapes* for music audio.
//! The first study it ships reproduces Pons & Serra (ICASSP 2017), "Designing
//! efficient architectures for modeling temporal features with CNNs".
//!
//! The modules read as the pipeline, in the order data goes through them
//! (see `ARCHITECTURE.md`):
//!
//! - [`audio`]: decode any supported file, downmix to mono, resample to 44.1 kHz.
//! - [`features`]: the paper's log-compressed mel spectrogram and normalisation statistics.
//! - [`dataset`]: track lists (embedded synthetic corpus, Ballroom, GTZAN, folder-per-class), folds, chunks, canonical checksums.
//! - [`spec`]: the TOML experiment schema, validated and expanded into an [`spec::Experiment`].
//! - [`plan`]: turns an experiment into a DAG of content-addressed tasks.
//! - [`exec`]: runs jobs: cache store, job queue, progress, logs, resume.
//! - [`layout`]: every path under the cache and every file name inside its entries.
//! - [`workspace`]: the library API over all of it: plan a spec, run a plan on an executor, freeze it, run one task by key.
//! - [`model`]: burn modules built from filter-bank descriptions, and the fused filter-bank op.
//! - [`train`]: the paper's training loop, evaluation and exports.
//! - [`package`]: trained models as packages (weights + manifest): export, load, predict.
//! - [`tasks`]: binds each planned task kind to what it computes (features, chunks, training, …).
//! - [`regression`]: an experiment's results against a baseline (what `tempora check` runs in CI).
//! - [`report`]: polars aggregation into Table 1, plots.
//! - [`tensorboard`]: training curves as TensorBoard event files, live and from the cache.
//! - [`stats`]: mean, sample standard deviation and Student's t, for the report's Findings and the regression check.
//! - [`device`]: choosing CPU, CUDA or a wgpu adapter at run time, without panicking when there is no driver.
//! - [`calibration`]: how fast a device computes, measured once and cached for `plan`'s estimates.
//! - [`heap`]: the C allocator's settings that keep training's per-step buffers in the process.
#![warn(missing_docs)]

pub mod audio;
pub mod calibration;
pub mod dataset;
pub mod device;
pub mod exec;
pub mod features;
pub mod heap;
pub mod layout;
pub mod model;
pub mod package;
pub mod plan;
pub mod regression;
pub mod report;
pub mod spec;
pub mod stats;
pub mod tasks;
pub mod tensorboard;
pub mod train;
pub mod workspace;
