//! Cost estimates for `tempora plan`: floating-point operations per training
//! task from its [`ArchConfig`] and the expected chunk counts. Nothing here
//! runs a kernel: turning FLOPs into time takes a rate measured elsewhere
//! ([`crate::calibration`]).
//!
//! These are estimates, labelled as such: song lengths of audio files are
//! taken as [`NOMINAL_FILE_SECONDS`] (no file is decoded to plan), training is
//! counted for every epoch (early stopping only shortens it), and a backward
//! pass is counted as twice a forward pass.

use std::collections::BTreeMap;

use crate::calibration::{self, Calibration};
use crate::dataset::folds::fold_sizes;
use crate::dataset::{Dataset, TrackSource};
use crate::device::ComputeDevice;
use crate::exec::store::{Check, Probe, Store};
use crate::features::FeatureConfig;
use crate::model::ArchConfig;
use crate::train::TrainConfig;

use super::{Plan, TaskId, TaskKind, TaskParams};

/// Assumed length of an audio file when planning (Ballroom excerpts are ≈ 30 s).
pub const NOMINAL_FILE_SECONDS: f64 = 30.0;

/// A training step costs a forward pass and a backward pass of about twice
/// its cost (the usual rule of thumb for dense and convolutional layers).
const TRAIN_STEP_FORWARD_MULTIPLE: f64 = 3.0;

/// Multiply and add: two floating-point operations per multiply-accumulate.
const FLOPS_PER_MAC: f64 = 2.0;

/// Floating-point operations of one forward pass of one chunk.
pub fn forward_flops(arch: &ArchConfig) -> f64 {
    let mut macs = 0.0;
    for bank in &arch.banks {
        for g in &bank.groups {
            let out_bands = (arch.bands + 1).saturating_sub(g.height) as f64;
            let out_frames = (arch.frames + 1).saturating_sub(g.width) as f64;
            macs += g.count as f64 * out_bands * out_frames * (g.height * g.width) as f64;
        }
    }
    let mut width = arch.feature_len() as f64;
    for &h in arch.hidden.iter().chain(std::iter::once(&arch.classes)) {
        macs += width * h as f64;
        width = h as f64;
    }
    macs * FLOPS_PER_MAC
}

/// Expected frame count of every track (synthetic: its duration; files: nominal).
pub fn song_frames(dataset: &Dataset, features: &FeatureConfig) -> Vec<usize> {
    let frames_of = |seconds: f64| {
        let samples = (seconds * f64::from(features.sample_rate)) as usize;
        samples / features.hop_size.max(1) + 1
    };
    dataset
        .tracks
        .iter()
        .map(|t| match &t.source {
            TrackSource::Synthetic(clip) => frames_of(clip.seconds),
            TrackSource::File(_) => frames_of(NOMINAL_FILE_SECONDS),
        })
        .collect()
}

/// Upper-bound FLOPs of one (model, hop, fold) training task: every epoch
/// trains on the training chunks and evaluates the validation chunks, then the
/// test chunks are evaluated once. Song counts per part are the mean over the
/// folds of [`fold_sizes`], so the tasks of all folds add up exactly.
pub fn train_flops(
    arch: &ArchConfig,
    train: &TrainConfig,
    frames: &[usize],
    hop: usize,
    folds: usize,
) -> f64 {
    let chunks: f64 = frames
        .iter()
        .map(|&l| (l.saturating_sub(arch.frames) / hop.max(1)) as f64)
        .sum();
    let per_song = chunks / frames.len().max(1) as f64;
    let (training, validation, test) = mean_fold_sizes(frames.len(), folds);
    let f = forward_flops(arch);
    let epoch = per_song * (training * f * TRAIN_STEP_FORWARD_MULTIPLE + validation * f);
    train.epochs as f64 * epoch + per_song * test * f
}

/// Mean (training, validation, test) song counts of one fold.
fn mean_fold_sizes(songs: usize, folds: usize) -> (f64, f64, f64) {
    let n = folds.max(1) as f64;
    (0..folds)
        .map(|k| fold_sizes(songs, folds, k))
        .fold((0.0, 0.0, 0.0), |(tr, va, te), s| {
            (
                tr + s.train as f64 / n,
                va + s.validation as f64 / n,
                te + s.test as f64 / n,
            )
        })
}

/// Formats FLOPs with an SI prefix (`1.2 TFLOP`).
pub fn human_flops(flops: f64) -> String {
    let units = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)];
    for (prefix, scale) in units {
        if flops >= scale {
            return format!("{:.1} {prefix}FLOP", flops / scale);
        }
    }
    format!("{flops:.0} FLOP")
}

/// Formats seconds as `1h 02m`, `3m 20s` or `12.3s`.
pub fn human_seconds(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{seconds:.1}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=172_799 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{} days", s / 86_400),
    }
}

/// Upper-bound training FLOPs of every train task of the plan, by id, with
/// the index of its model in the experiment.
pub fn train_task_flops(plan: &Plan) -> BTreeMap<TaskId, (usize, f64)> {
    let exp = &plan.experiment;
    let frames = song_frames(&plan.dataset, &exp.features);
    let mut out = BTreeMap::new();
    for task in plan.graph.of_kind(TaskKind::Train) {
        let (super::Locator::Model(m), TaskParams::Train(p)) = (&task.locator, &task.params) else {
            continue;
        };
        let flops = train_flops(&p.arch, &p.train, &frames, p.hop, exp.protocol.folds);
        out.insert(task.id.clone(), (*m, flops));
    }
    out
}

/// The rate to turn FLOPs into time on `device`: measured on the plan's
/// cached train tasks (their recorded seconds against the same upper-bound
/// FLOPs), else the one `tempora calibrate` cached, else none. Runs no kernel.
/// An unreadable calibration file is reported on stderr and ignored.
pub fn rate(
    plan: &Plan,
    store: &Store,
    flops: &BTreeMap<TaskId, (usize, f64)>,
    device: ComputeDevice,
) -> Option<Calibration> {
    let (mut done_flops, mut seconds, mut tasks) = (0.0, 0.0, 0);
    for (id, &(_, f)) in flops {
        let Some(task) = plan.graph.get(id) else {
            continue;
        };
        if plan.is_stale(id) {
            continue;
        }
        if let Ok(Probe::Present(m)) =
            store.probe(task.kind().name(), &task.key.hex(), Check::Sizes)
        {
            done_flops += f;
            seconds += m.seconds;
            tasks += 1;
        }
    }
    if tasks > 0 && seconds > 0.0 {
        return Some(Calibration {
            device,
            label: device.to_string(),
            flops_per_second: done_flops / seconds,
            measured_with: format!("{tasks} cached training tasks"),
            when: calibration::now(),
        });
    }
    Calibration::load(store.root(), device).unwrap_or_else(|err| {
        eprintln!("plan: {err}");
        None
    })
}

/// Estimated seconds of the plan's stale training tasks on `device`, with the
/// rate behind it (`None` when there is none).
pub fn training_seconds_to_run(
    plan: &Plan,
    store: &Store,
    device: ComputeDevice,
) -> Option<(f64, Calibration)> {
    let flops = train_task_flops(plan);
    let total: f64 = flops
        .iter()
        .filter(|(id, _)| plan.is_stale(id))
        .map(|(_, &(_, f))| f)
        .sum();
    let cal = rate(plan, store, &flops, device)?;
    Some((total / cal.flops_per_second.max(1.0), cal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BankAxis, BankConfig, FilterGroup, Init, PoolExtent};

    fn one_filter_net() -> ArchConfig {
        ArchConfig {
            bands: 40,
            frames: 250,
            banks: vec![BankConfig {
                name: "O".into(),
                axis: BankAxis::Time,
                groups: vec![FilterGroup {
                    height: 1,
                    width: 6,
                    count: 5,
                }],
                pool_freq: PoolExtent::Factor(4),
                pool_time: PoolExtent::All,
            }],
            hidden: vec![],
            dropout: 0.5,
            classes: 8,
            init: Init::HeUniform,
        }
    }

    /// 5 filters × 40 bands × 245 positions × 6 taps, then 50 → 8 dense.
    #[test]
    fn forward_flops_count_every_multiply_add() {
        let macs = 5.0 * 40.0 * 245.0 * 6.0 + 50.0 * 8.0;
        assert_eq!(forward_flops(&one_filter_net()), 2.0 * macs);
    }

    /// 200 songs in 3 folds: test 67/67/66, validation 66, training 67/67/68 —
    /// not the tenth of the rest the estimate once assumed.
    #[test]
    fn train_flops_use_the_fold_sizes_of_the_split() {
        let arch = one_filter_net();
        let train = TrainConfig {
            epochs: 2,
            ..TrainConfig::default()
        };
        let frames = vec![arch.frames + 10; 200];
        let per_song = 10.0;
        let f = forward_flops(&arch);
        let (training, validation, test) = (202.0 / 3.0, 66.0, 200.0 / 3.0);
        let want = 2.0 * per_song * (training * f * 3.0 + validation * f) + per_song * test * f;
        let got = train_flops(&arch, &train, &frames, 1, 3);
        assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    }

    #[test]
    fn human_units() {
        assert_eq!(human_flops(1.26e12), "1.3 TFLOP");
        assert_eq!(human_seconds(200.0), "3m 20s");
        assert_eq!(human_seconds(3720.0), "1h 02m");
        assert_eq!(human_seconds(3794.0 * 3600.0), "158 days");
    }
}
