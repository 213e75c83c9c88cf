//! Cost estimates for `tempora plan`: floating-point operations per training
//! task from its [`ArchConfig`] and the expected chunk counts, and time per
//! device from a calibration.
//!
//! These are estimates, labelled as such: song lengths of audio files are
//! taken as [`NOMINAL_FILE_SECONDS`] (no file is decoded to plan), training is
//! counted for every epoch (early stopping only shortens it), and a backward
//! pass is counted as twice a forward pass.

use std::time::Instant;

use crate::dataset::{Dataset, TrackSource};
use crate::features::FeatureConfig;
use crate::model::ArchConfig;
use crate::train::TrainConfig;

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
/// test chunks are evaluated once.
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
    let songs = frames.len().max(1) as f64;
    let per_song = chunks / songs;
    // The reference split: test = one fold, validation = a tenth of the rest.
    let test = (songs / folds.max(1) as f64).floor();
    let validation = ((songs - test) / 10.0).floor();
    let training = songs - test - validation;
    let f = forward_flops(arch);
    let epoch = per_song * (training * f * TRAIN_STEP_FORWARD_MULTIPLE + validation * f);
    train.epochs as f64 * epoch + per_song * test * f
}

/// How fast a device computes, and where the figure comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The device, in words.
    pub device: String,
    /// Sustained floating-point operations per second.
    pub flops_per_second: f64,
    /// How it was measured.
    pub source: String,
}

/// Input of the calibration kernel: the paper's 40 mel bands × 250 frames.
const CAL_BANDS: usize = 40;
const CAL_FRAMES: usize = 250;
/// A long temporal filter, as in the P bank (46…216 frames).
const CAL_WIDTH: usize = 96;
/// Repetitions of the kernel (≈ 10 ms on one core of a 2020s CPU).
const CAL_REPS: usize = 12;

/// Measures `threads` CPU cores on a 1×n valid convolution (the models' hot
/// loop) for a few milliseconds. burn's CPU backend reaches a fraction of
/// this, so times derived from it are optimistic.
pub fn cpu_micro_benchmark(threads: usize) -> Calibration {
    let input: Vec<f32> = (0..CAL_BANDS * CAL_FRAMES)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let filter: Vec<f32> = (0..CAL_WIDTH).map(|i| (i as f32).sin()).collect();
    let out_frames = CAL_FRAMES - CAL_WIDTH + 1;
    let clock = Instant::now();
    let mut checksum = 0.0f32;
    for _ in 0..CAL_REPS {
        for band in input.chunks_exact(CAL_FRAMES) {
            for t in 0..out_frames {
                let window = &band[t..t + CAL_WIDTH];
                let acc: f32 = window.iter().zip(&filter).map(|(x, w)| x * w).sum();
                checksum = checksum.max(acc);
            }
        }
    }
    let seconds = clock.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box(checksum);
    let flops = (CAL_REPS * CAL_BANDS * out_frames * CAL_WIDTH) as f64 * FLOPS_PER_MAC;
    Calibration {
        device: format!("cpu ×{threads}"),
        flops_per_second: flops / seconds * threads.max(1) as f64,
        source: "micro-benchmark (optimistic)".into(),
    }
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

    #[test]
    fn human_units() {
        assert_eq!(human_flops(1.26e12), "1.3 TFLOP");
        assert_eq!(human_seconds(200.0), "3m 20s");
        assert_eq!(human_seconds(3720.0), "1h 02m");
        assert_eq!(human_seconds(3794.0 * 3600.0), "158 days");
    }
}
