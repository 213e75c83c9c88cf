//! One training run end to end, for any backend and model: save the run's
//! configuration, fit (with per-epoch checkpoints), test the best weights,
//! write the outputs.
//!
//! Files written into the run's output directory (all atomically):
//!
//! ```text
//! <out_dir>/
//! ├── run.json            what was run: RunId, ArchConfig, TrainConfig, device (written first)
//! ├── checkpoint/         per-epoch checkpoint while training (removed on success)
//! ├── best.safetensors    best-validation weights (names/layouts: see `export`)
//! ├── epochs.csv          per-epoch metrics
//! └── test.json           TestMetrics
//! ```
//!
//! Must not know about planning or which backend it runs on.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use burn::backend::cuda::CudaDevice;
use burn::backend::ndarray::NdArrayDevice;
use burn::backend::{Autodiff, Cuda, NdArray, Wgpu};
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::device::ComputeDevice;
use crate::model::{ArchConfig, FilterBankBackend, FilterBankNet};

use super::checkpoint::{Checkpoint, CHECKPOINT_VERSION};
use super::data::FoldData;
use super::entry::epochs_csv;
use super::evaluate::{confusion, score_with, song_accuracy, vote, Classifier};
use super::export::{named_tensors, write_atomic, write_test_metrics};
use super::feed::{Feed, ResidentFold};
use super::fit::{derive_seed, fit, Stream};
use super::weights::encode_safetensors;
use super::{EpochMetrics, TestMetrics, TrainConfig, TrainError};

/// Output file names inside a run's directory (owned by [`crate::layout`]).
pub mod files {
    pub use crate::layout::files::{CHECKPOINT, EPOCHS, RUN, TEST, WEIGHTS};
}

/// Which (model, hop, fold) a run is: copied into [`TestMetrics`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunId {
    /// Model name as in the spec.
    pub model: String,
    /// Chunk hop in frames.
    pub hop: usize,
    /// Fold index (0-based).
    pub fold: usize,
}

#[derive(Serialize)]
struct RunFile<'a> {
    run: &'a RunId,
    arch: &'a ArchConfig,
    train: &'a TrainConfig,
    device: &'a str,
    checkpoint_version: u32,
}

/// Hash of everything that determines a run's results: the checkpoint
/// fingerprint (a checkpoint from any other run is ignored).
pub fn fingerprint(
    arch: &ArchConfig,
    cfg: &TrainConfig,
    data: &FoldData,
    device: &str,
) -> Result<String, TrainError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&CHECKPOINT_VERSION.to_le_bytes());
    let json = serde_json::to_vec(&(arch, cfg, device))
        .map_err(|e| TrainError::Checkpoint(format!("encoding the fingerprint: {e}")))?;
    hasher.update(&json);
    for set in [&data.train, &data.validation, &data.test] {
        set.hash_into(&mut hasher);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Trains and tests one run with the model built by `init` on backend `B`,
/// writing the outputs into `out_dir` (see the module docs); batches are
/// gathered where `feed` says.
#[allow(clippy::too_many_arguments)]
pub fn train_and_test<B, M>(
    init: impl FnOnce(&B::Device) -> Result<M, TrainError>,
    run: &RunId,
    arch: &ArchConfig,
    cfg: &TrainConfig,
    (data, feed): (&FoldData, Feed),
    device: &B::Device,
    device_name: &str,
    out_dir: &Path,
    progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TestMetrics, TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    let run_file = RunFile {
        run,
        arch,
        train: cfg,
        device: device_name,
        checkpoint_version: CHECKPOINT_VERSION,
    };
    let json = serde_json::to_vec_pretty(&run_file)
        .map_err(|e| TrainError::Output(format!("encoding {}: {e}", files::RUN)))?;
    write_atomic(&out_dir.join(files::RUN), &json)?;

    let started = Instant::now();
    let resident = (feed == Feed::Device).then(|| ResidentFold::new(data, device));
    let checkpoint_dir = out_dir.join(files::CHECKPOINT);
    let checkpoint = Checkpoint::new(&checkpoint_dir, fingerprint(arch, cfg, data, device_name)?);
    let fitted = fit::<B, M>(
        init,
        cfg,
        arch.classes,
        (data, resident.as_ref()),
        device,
        Some(&checkpoint),
        progress,
    )?;
    let seconds = started.elapsed().as_secs_f64();

    let scores = score_with(
        &fitted.best,
        &data.test,
        resident.as_ref().map(|r| &r.test),
        arch.classes,
        cfg.batch_size,
        device,
    )?;
    let songs = vote(&data.test, &scores);
    let metrics = TestMetrics {
        model: run.model.clone(),
        hop: run.hop,
        fold: run.fold,
        params: fitted.best.num_params(),
        chunk_accuracy: scores.accuracy,
        song_accuracy: song_accuracy(&songs),
        epochs_run: fitted.history.len(),
        best_epoch: fitted.best_epoch,
        seconds,
        device: device_name.to_owned(),
        confusion: confusion(&songs, arch.classes),
        songs,
    };

    let meta = BTreeMap::from([
        ("model".to_owned(), run.model.clone()),
        ("hop".to_owned(), run.hop.to_string()),
        ("fold".to_owned(), run.fold.to_string()),
        ("best_epoch".to_owned(), fitted.best_epoch.to_string()),
        ("seed".to_owned(), cfg.seed.to_string()),
    ]);
    let weights = encode_safetensors(&named_tensors(&fitted.best)?, &meta)?;
    write_atomic(&out_dir.join(files::WEIGHTS), &weights)?;
    write_atomic(
        &out_dir.join(files::EPOCHS),
        epochs_csv(&fitted.history).as_bytes(),
    )?;
    write_test_metrics(&out_dir.join(files::TEST), &metrics)?;
    std::fs::remove_dir_all(&checkpoint_dir).map_err(|source| TrainError::Io {
        path: checkpoint_dir,
        source,
    })?;
    Ok(metrics)
}

impl<B: FilterBankBackend> Classifier<B> for FilterBankNet<B> {
    fn logits(&self, input: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward(input)
    }
}

/// Trains and tests one (model, hop, fold): builds [`FilterBankNet`] for
/// `arch` (weights from the run's seed), trains it on `data` with the protocol
/// `cfg` on `device` (`Autodiff<NdArray>` on the CPU, `Autodiff<Cuda>` on a
/// GPU), tests the best-validation weights on `data.test`, and writes the
/// outputs into `out_dir` (see the module docs). Resumes from the checkpoint
/// in `out_dir` when a previous attempt of the same run was interrupted.
/// `progress` is called after every epoch.
pub fn run_fold(
    run: &RunId,
    arch: &ArchConfig,
    cfg: &TrainConfig,
    data: &FoldData,
    device: ComputeDevice,
    out_dir: &Path,
    progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TestMetrics, TrainError> {
    let name = device.describe();
    match device {
        // The CPU gathers on the host (its memory is the device's); a GPU
        // keeps the fold on the device and gathers there.
        ComputeDevice::Cpu => run_on::<Autodiff<NdArray>>(
            run,
            arch,
            cfg,
            (data, Feed::Host),
            &NdArrayDevice::Cpu,
            &name,
            out_dir,
            progress,
        ),
        ComputeDevice::Cuda(index) => run_on::<Autodiff<Cuda>>(
            run,
            arch,
            cfg,
            (data, Feed::Device),
            &CudaDevice::new(index),
            &name,
            out_dir,
            progress,
        ),
        ComputeDevice::Wgpu(index) => {
            let wgpu = crate::device::wgpu_device(index)?;
            crate::model::device_fit::check_fits_device(arch, cfg.batch_size, device)?;
            run_on::<Autodiff<Wgpu>>(
                run,
                arch,
                cfg,
                (data, Feed::Device),
                &wgpu,
                &name,
                out_dir,
                progress,
            )
        }
    }
}

/// [`run_fold`] on backend `B`, with batches gathered where `feed` says.
#[allow(clippy::too_many_arguments)]
fn run_on<B>(
    run: &RunId,
    arch: &ArchConfig,
    cfg: &TrainConfig,
    (data, feed): (&FoldData, Feed),
    device: &B::Device,
    device_name: &str,
    out_dir: &Path,
    progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TestMetrics, TrainError>
where
    B: AutodiffBackend + FilterBankBackend,
    B::InnerBackend: FilterBankBackend,
{
    let seed = derive_seed(cfg.seed, Stream::Init, 0, 0);
    let init = |device: &B::Device| Ok(FilterBankNet::<B>::init(arch, seed, device)?);
    train_and_test::<B, FilterBankNet<B>>(
        init,
        run,
        arch,
        cfg,
        (data, feed),
        device,
        device_name,
        out_dir,
        progress,
    )
}
