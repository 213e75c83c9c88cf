//! The paper's training loop, written out (burn custom-training-loop style):
//! per epoch, reshuffle the training chunks, run minibatch SGD on the mean
//! cross-entropy (the last incomplete batch dropped), score the validation
//! chunks without dropout, keep the best-validation weights (strictly better
//! accuracy), and let the stalled-loss schedule pick the next learning rate or
//! stop.
//!
//! # Randomness
//! Every random draw derives from `TrainConfig::seed` and a stream tag
//! ([`derive_seed`]). The shuffle of each epoch comes from a ChaCha8 generator
//! seeded from `(seed, epoch)`. Dropout masks come from the backend's
//! generator, which burn keeps process-wide (one per process on NdArray): so
//! every training step re-seeds it from `(seed, epoch, step)` and runs its
//! forward pass while holding [`BACKEND_RNG`], a process-wide lock; model
//! construction does the same (seed, build, initialise every lazy parameter
//! in declaration order). Two trainings in one process therefore never mix
//! their draws, and a run resumed at an epoch boundary is bit-identical to an
//! uninterrupted one on the CPU. The price: concurrent trainings in one
//! process take turns for their forward passes (backward passes and
//! optimiser steps overlap). Lifting this needs dropout masks drawn on the
//! host and passed to the model's forward.
//!
//! Must not know about files other than the checkpoint directory it is given.

use std::ops::ControlFlow;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{Checkpoint, TrainingProgress};
use super::data::{ChunkSet, FoldData};
use super::evaluate::{read_logits, score_rows, score_with, Classifier};
use super::export::{load_named, named_tensors};
use super::feed::{upload_indices, ResidentFold};
use super::schedule::{Decision, ScheduleState};
use super::{EpochMetrics, TrainConfig, TrainError};

/// Random stream tags for [`derive_seed`].
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Weight initialisation.
    Init = 1,
    /// Per-epoch shuffle of the training chunks.
    Shuffle = 2,
    /// Per-step dropout masks (the backend's generator).
    Dropout = 3,
}

/// Serialises every use of the backends' process-wide random generators
/// during training (see the module docs).
pub static BACKEND_RNG: Mutex<()> = Mutex::new(());

/// Holds [`BACKEND_RNG`]; a panic in another training does not poison it
/// for this one (the guarded state is the backend's, re-seeded on entry).
fn lock_backend_rng() -> MutexGuard<'static, ()> {
    BACKEND_RNG.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A 64-bit seed for `stream` at (`epoch`, `step`) (0-based), from the run's
/// seed: the first 8 bytes of blake3(seed ‖ stream ‖ epoch ‖ step), little-endian.
pub fn derive_seed(seed: u64, stream: Stream, epoch: usize, step: usize) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(&(stream as u64).to_le_bytes());
    hasher.update(&(epoch as u64).to_le_bytes());
    hasher.update(&(step as u64).to_le_bytes());
    let bytes = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// The order of the training chunks in `epoch`: a Fisher–Yates shuffle driven
/// by ChaCha8 with a multiply-shift bound (no dependence on `rand`'s
/// version-specific sampling).
pub fn epoch_order(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, Stream::Shuffle, epoch, 0));
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

/// What [`fit`] returns.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The best-validation weights, as an inference model.
    pub best: M,
    /// 1-based epoch of `best`.
    pub best_epoch: usize,
    /// Metrics of every epoch run.
    pub history: Vec<EpochMetrics>,
}

/// Trains the model built by `init` on `data` with the protocol `cfg`
/// (`classes` output classes).
///
/// `resident`: the fold's chunk tables on the device ([`ResidentFold`]) to
/// gather batches from there, or `None` to gather them on the host. Either
/// way the logits of an epoch come back to the host once, at its end (and
/// once per validation pass).
///
/// `checkpoint`: when given, progress is saved after every epoch and a
/// matching checkpoint found there is resumed. `progress` is called after
/// every epoch (also for epochs restored from a checkpoint, where its answer
/// is ignored); when it answers [`ControlFlow::Break`] the training stops
/// after saving that epoch's checkpoint, with [`TrainError::Stopped`] (a
/// later call resumes from there).
pub fn fit<B, M>(
    init: impl FnOnce(&B::Device) -> Result<M, TrainError>,
    cfg: &TrainConfig,
    classes: usize,
    (data, resident): (&FoldData, Option<&ResidentFold<B::InnerBackend>>),
    device: &B::Device,
    checkpoint: Option<&Checkpoint>,
    progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<Fitted<M::InnerModule>, TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    check_sizes(cfg, data)?;
    let (mut model, mut state) = start::<B, M>(init, cfg, device, checkpoint)?;
    for m in &state.history {
        let _shown_only = progress(m);
    }
    let mut optim = SgdConfig::new().init::<B, M>();
    while !state.stopped && state.epochs_done < cfg.epochs {
        let (trained, metrics) = run_epoch(
            model, &mut optim, &mut state, cfg, classes, data, resident, device,
        )?;
        model = trained;
        let flow = progress(&metrics);
        state.history.push(metrics);
        if let Some(checkpoint) = checkpoint {
            state.current = named_tensors::<B, M>(&model)?;
            checkpoint.save(&state)?;
        }
        let finished = state.stopped || state.epochs_done >= cfg.epochs;
        if flow.is_break() && !finished {
            return Err(TrainError::Stopped {
                epochs_done: state.epochs_done,
            });
        }
    }
    let best = load_named(model.valid(), &state.best, device)?;
    Ok(Fitted {
        best,
        best_epoch: state.best_epoch,
        history: state.history,
    })
}

/// Builds the model (seeded, every lazy parameter initialised at once) and
/// the progress to continue from: a matching checkpoint's, or a fresh one.
fn start<B, M>(
    init: impl FnOnce(&B::Device) -> Result<M, TrainError>,
    cfg: &TrainConfig,
    device: &B::Device,
    checkpoint: Option<&Checkpoint>,
) -> Result<(M, TrainingProgress), TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let (model, initial) = {
        let _rng = lock_backend_rng();
        B::seed(device, derive_seed(cfg.seed, Stream::Init, 0, 0));
        let model = init(device)?;
        let initial = named_tensors::<B, M>(&model)?;
        (model, initial)
    };
    match checkpoint.map(Checkpoint::load).transpose()?.flatten() {
        Some(saved) => Ok((load_named::<B, M>(model, &saved.current, device)?, saved)),
        None => Ok((
            model,
            TrainingProgress {
                epochs_done: 0,
                stopped: false,
                schedule: ScheduleState::new(cfg.learning_rate),
                history: Vec::new(),
                best_epoch: 0,
                best_accuracy: f64::NEG_INFINITY,
                current: initial,
                best: Vec::new(),
            },
        )),
    }
}

/// Runs epoch `state.epochs_done`: training, validation, best-weights
/// bookkeeping, schedule; returns the model and the epoch's metrics.
#[allow(clippy::too_many_arguments)]
fn run_epoch<B, M, O>(
    model: M,
    optim: &mut O,
    state: &mut TrainingProgress,
    cfg: &TrainConfig,
    classes: usize,
    data: &FoldData,
    resident: Option<&ResidentFold<B::InnerBackend>>,
    device: &B::Device,
) -> Result<(M, EpochMetrics), TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
    O: Optimizer<M, B>,
{
    let epoch = state.epochs_done;
    let started = Instant::now();
    let learning_rate = state.schedule.learning_rate;
    let (model, train_loss, train_accuracy) = train_epoch(
        model,
        optim,
        cfg,
        classes,
        (&data.train, resident),
        learning_rate,
        epoch,
        device,
    )?;
    if !train_loss.is_finite() {
        return Err(TrainError::Diverged {
            epoch: epoch + 1,
            learning_rate,
        });
    }
    let inference = model.valid();
    let val = score_with(
        &inference,
        &data.validation,
        resident.map(|r| &r.validation),
        classes,
        cfg.batch_size,
        device,
    )?;
    // Protocol: keep the weights with the best validation accuracy (strictly better).
    if val.accuracy > state.best_accuracy {
        state.best_accuracy = val.accuracy;
        state.best_epoch = epoch + 1;
        state.best = named_tensors(&inference)?;
    }
    let stalled = state.schedule.observe(&cfg.schedule, train_loss) == Decision::Stop;
    let since_best = epoch + 1 - state.best_epoch;
    state.stopped = stalled || cfg.schedule.val_patience.is_some_and(|p| since_best >= p);
    let metrics = EpochMetrics {
        epoch: epoch + 1,
        train_loss,
        train_accuracy,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        learning_rate,
        seconds: started.elapsed().as_secs_f64(),
    };
    state.epochs_done = epoch + 1;
    Ok((model, metrics))
}

/// One SGD step on one batch: forward (dropout drawn from the backend
/// generator re-seeded with `dropout_seed` under [`BACKEND_RNG`]), mean
/// cross-entropy, backward, parameter update. Returns the updated model and
/// the batch's logits (detached, on the inner backend).
///
/// # Shapes
/// `input`: `[batch, bands, frames]`, `targets`: `[batch]` → logits `[batch, classes]`.
pub fn train_step<B, M, O>(
    model: M,
    optim: &mut O,
    input: Tensor<B, 3>,
    targets: Tensor<B, 1, Int>,
    learning_rate: f64,
    dropout_seed: u64,
) -> (M, Tensor<B::InnerBackend, 2>)
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    O: Optimizer<M, B>,
{
    let device = input.device();
    let logits = {
        let _rng = lock_backend_rng();
        B::seed(&device, dropout_seed);
        model.logits(input)
    };
    let loss = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits.clone(), targets);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(learning_rate, model, grads), logits.inner())
}

/// One epoch of minibatch SGD; returns the model, the mean training loss
/// (mean of the batch means) and the training chunk accuracy. The epoch's
/// logits stay on the device until its end and come back in one read; with
/// `resident` its order is uploaded once and every batch gathered there.
#[allow(clippy::too_many_arguments)]
fn train_epoch<B, M, O>(
    mut model: M,
    optim: &mut O,
    cfg: &TrainConfig,
    classes: usize,
    (train, resident): (&ChunkSet, Option<&ResidentFold<B::InnerBackend>>),
    learning_rate: f64,
    epoch: usize,
    device: &B::Device,
) -> Result<(M, f64, f64), TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    O: Optimizer<M, B>,
{
    let order = epoch_order(train.len(), cfg.seed, epoch);
    let size = cfg.batch_size;
    // Protocol: the last incomplete training batch is dropped.
    let used = &order[..order.len() / size * size];
    let on_device = resident.map(|r| (&r.train, upload_indices(used, device)));
    let mut pending = Vec::with_capacity(used.len() / size);
    for (step, batch) in used.chunks_exact(size).enumerate() {
        let (input, targets) = match &on_device {
            Some((set, order)) => {
                let (x, y) = set.batch(order.clone().narrow(0, step * size, size));
                (Tensor::from_inner(x), Tensor::from_inner(y))
            }
            None => train.batch::<B>(batch, device),
        };
        let dropout_seed = derive_seed(cfg.seed, Stream::Dropout, epoch, step);
        let (trained, logits) =
            train_step(model, optim, input, targets, learning_rate, dropout_seed);
        model = trained;
        pending.push(logits);
    }
    let logits = read_logits(Tensor::cat(pending, 0))?;
    let (mut loss_sum, mut correct, mut seen) = (0.0, 0, 0);
    for (batch, logits) in used.chunks_exact(size).zip(logits.chunks(size * classes)) {
        let labels: Vec<usize> = batch.iter().map(|&i| train.label(i)).collect();
        let (l, c) = score_rows(logits, &labels, classes, None);
        loss_sum += l;
        correct += c;
        seen += batch.len();
    }
    let seen_f = seen.max(1) as f64;
    Ok((model, loss_sum / seen_f, correct as f64 / seen_f))
}

/// Rejects protocols that cannot train: no epoch, no full training batch,
/// or no validation chunk to select a model with.
fn check_sizes(cfg: &TrainConfig, data: &FoldData) -> Result<(), TrainError> {
    if cfg.epochs == 0 {
        return Err(TrainError::Data(
            "`epochs` is 0: at least one epoch is needed to choose the best weights".into(),
        ));
    }
    if cfg.batch_size == 0 || data.train.len() < cfg.batch_size {
        return Err(TrainError::Data(format!(
            "{} training chunks do not fill one batch of {}: lower `batch` (in [protocol] or the profile) or the chunk hop",
            data.train.len(),
            cfg.batch_size
        )));
    }
    if data.validation.is_empty() {
        return Err(TrainError::Data(
            "the validation split has no chunk: the best-validation model cannot be chosen".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use burn::backend::{Autodiff, NdArray};
    use burn::module::Module;
    use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
    use burn::tensor::backend::Backend;
    use burn::tensor::Tensor;

    use super::*;
    use crate::features::MelSpectrogram;
    use crate::train::data::{ChunkRef, SongInfo};
    use crate::train::feed::{Feed, ResidentFold};
    use crate::train::Schedule;

    type Train = Autodiff<NdArray>;

    /// A linear probe with dropout on the flattened input.
    #[derive(Module, Debug)]
    pub(crate) struct Probe<B: Backend> {
        linear: Linear<B>,
        dropout: Dropout,
    }

    impl<B: Backend> Probe<B> {
        pub(crate) fn new(inputs: usize, classes: usize, device: &B::Device) -> Self {
            Self {
                linear: LinearConfig::new(inputs, classes).init(device),
                dropout: DropoutConfig::new(0.5).init(),
            }
        }
    }

    impl<B: Backend> Classifier<B> for Probe<B> {
        fn logits(&self, input: Tensor<B, 3>) -> Tensor<B, 2> {
            let [n, bands, frames] = input.dims();
            let flat = input.reshape([n, bands * frames]);
            self.linear.forward(self.dropout.forward(flat))
        }
    }

    /// Songs whose class shows as a raised band, plus deterministic noise;
    /// `songs_per_class` songs per class per split, 4 chunks of 6 frames each.
    pub(crate) fn toy_fold(classes: usize, songs_per_class: usize) -> FoldData {
        const BANDS: usize = 4;
        const FRAMES: usize = 24;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut spectrograms = Vec::new();
        let mut sets: Vec<Vec<SongInfo>> = vec![Vec::new(); 3];
        for (split, songs) in sets.iter_mut().enumerate() {
            for label in 0..classes {
                for i in 0..songs_per_class {
                    let data = (0..FRAMES * BANDS)
                        .map(|v| {
                            let noise = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                            noise + if v % BANDS == label % BANDS { 1.0 } else { 0.0 }
                        })
                        .collect();
                    songs.push(SongInfo {
                        track: format!("s{split}/c{label}/{i}"),
                        label,
                        spectrogram: spectrograms.len(),
                    });
                    spectrograms.push(MelSpectrogram {
                        frames: FRAMES,
                        bands: BANDS,
                        data,
                    });
                }
            }
        }
        let spectrograms: Arc<[MelSpectrogram]> = spectrograms.into();
        let mut sets = sets.into_iter().map(|songs| {
            let chunks = (0..songs.len())
                .flat_map(|song| (0..4).map(move |k| ChunkRef { song, start: 6 * k }))
                .collect();
            ChunkSet::from_chunks(spectrograms.clone(), songs, BANDS, 6, chunks).unwrap()
        });
        let (train, validation, test) = (
            sets.next().unwrap(),
            sets.next().unwrap(),
            sets.next().unwrap(),
        );
        FoldData {
            train,
            validation,
            test,
        }
    }

    fn config(epochs: usize) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size: 8,
            learning_rate: 0.05,
            schedule: Schedule::default(),
            seed: 3,
        }
    }

    fn run(
        epochs: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> (Vec<NamedTensorBits>, Vec<EpochMetrics>) {
        run_fed(epochs, checkpoint, Feed::Host, 3)
    }

    fn run_fed(
        epochs: usize,
        checkpoint: Option<&Checkpoint>,
        feed: Feed,
        seed: u64,
    ) -> (Vec<NamedTensorBits>, Vec<EpochMetrics>) {
        let data = toy_fold(4, 3);
        let device = Default::default();
        let resident = (feed == Feed::Device).then(|| ResidentFold::new(&data, &device));
        let fitted = fit::<Train, _>(
            |device| Ok(Probe::new(24, 4, device)),
            &TrainConfig {
                seed,
                ..config(epochs)
            },
            4,
            (&data, resident.as_ref()),
            &device,
            checkpoint,
            &mut |_| std::ops::ControlFlow::Continue(()),
        )
        .unwrap();
        let weights = named_tensors(&fitted.best)
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.values.iter().map(|v| v.to_bits()).collect()))
            .collect();
        let history = fitted
            .history
            .into_iter()
            .map(|m| EpochMetrics { seconds: 0.0, ..m })
            .collect();
        (weights, history)
    }

    type NamedTensorBits = (String, Vec<u32>);

    #[test]
    fn the_probe_learns_the_toy_problem() {
        let (_, history) = run(30, None);
        let last = history.last().unwrap();
        assert!(last.val_accuracy > 0.9, "{history:?}");
        assert!(last.train_loss < history[0].train_loss);
    }

    #[test]
    fn a_resumed_run_is_bit_identical_to_an_uninterrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Checkpoint::new(dir.path(), "toy".into());
        let uninterrupted = run(6, None);
        let _ = run(3, Some(&checkpoint));
        let resumed = run(6, Some(&checkpoint));
        assert_eq!(resumed, uninterrupted);
    }

    /// The logits come back once per training epoch and once per
    /// validation pass, whether batches are gathered on the host or the device.
    #[test]
    fn an_epoch_reads_from_the_device_twice_whatever_the_feed() {
        for feed in [Feed::Host, Feed::Device] {
            let before = crate::train::evaluate::host_reads();
            let (_, history) = run_fed(4, None, feed, 3);
            let reads = crate::train::evaluate::host_reads() - before;
            assert_eq!(history.len(), 4);
            assert_eq!(reads, 2 * 4, "{feed:?}: {reads} host reads in 4 epochs");
        }
    }

    /// Batches gathered on the device train the same weights, bit for bit.
    #[test]
    fn device_fed_training_is_bit_identical_to_host_fed() {
        assert_eq!(
            run_fed(5, None, Feed::Device, 3),
            run_fed(5, None, Feed::Host, 3)
        );
    }

    /// Trainings with different seeds running on threads at once (as the
    /// device queue runs them) give what each gives alone, bit for bit.
    #[test]
    fn concurrent_trainings_are_bit_identical_to_sequential_ones() {
        let seeds = [11, 12, 13, 14];
        let alone: Vec<_> = seeds
            .iter()
            .map(|&seed| run_fed(6, None, Feed::Device, seed))
            .collect();
        let together: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = seeds
                .iter()
                .map(|&seed| scope.spawn(move || run_fed(6, None, Feed::Device, seed)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(together, alone);
        assert_ne!(alone[0], alone[1], "different seeds train differently");
    }

    #[test]
    fn shuffles_are_permutations_that_change_with_the_epoch() {
        let a = epoch_order(100, 1, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, epoch_order(100, 1, 1));
        assert_eq!(a, epoch_order(100, 1, 0));
    }
}
