//! How fast a device computes, measured once by `tempora calibrate` and cached
//! in the cache root (`calibration.json`, see [`crate::layout`]), so that
//! `tempora plan` turns FLOPs into time without running a kernel.
//!
//! The file holds one [`Calibration`] per device (JSON, a list); measuring a
//! device again replaces its entry. The cache root's other contents are
//! directories, which `gc` and the store walk; a plain file there is left alone.
//!
//! Only the CPU is measured here ([`measure_cpu`]); a CUDA rate comes from the
//! seconds of finished training tasks (see `tempora plan`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::device::ComputeDevice;
use crate::exec::store::{write_atomic, StoreError};
use crate::model::fused::{filter_bank, BankLayout};
use crate::model::paper;

/// How fast a device computes, and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The device the rate holds for.
    pub device: ComputeDevice,
    /// The device in words, e.g. `cpu ×16` (threads).
    pub label: String,
    /// Sustained floating-point operations per second.
    pub flops_per_second: f64,
    /// What was measured, in words.
    pub measured_with: String,
    /// When it was measured, in seconds since the Unix epoch.
    pub when: u64,
}

/// Why the calibration file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// The file exists but could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The calibration file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a list of calibrations.
    #[error("{path} is not a calibration file ({source}); run `tempora calibrate` to rewrite it")]
    Parse {
        /// The calibration file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] StoreError),
}

impl Calibration {
    /// The cached calibration of `device` under `cache_root`, `None` when
    /// there is no file or no entry for that device.
    pub fn load(
        cache_root: &Path,
        device: ComputeDevice,
    ) -> Result<Option<Calibration>, CalibrationError> {
        Ok(read_all(cache_root)?
            .into_iter()
            .find(|c| c.device == device))
    }

    /// Saves this calibration under `cache_root`, replacing the entry of the
    /// same device (an unreadable file is replaced); returns the file's path.
    pub fn save(&self, cache_root: &Path) -> Result<PathBuf, CalibrationError> {
        let mut all = read_all(cache_root).unwrap_or_default();
        all.retain(|c| c.device != self.device);
        all.push(self.clone());
        let path = crate::layout::CacheLayout::new(cache_root).calibration();
        let text =
            serde_json::to_string_pretty(&all).map_err(|source| CalibrationError::Parse {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, format!("{text}\n").as_bytes())?;
        Ok(path)
    }

    /// When it was measured, as `YYYY-MM-DD HH:MM UTC`.
    pub fn when_utc(&self) -> String {
        utc(self.when)
    }
}

fn read_all(cache_root: &Path) -> Result<Vec<Calibration>, CalibrationError> {
    let path = crate::layout::CacheLayout::new(cache_root).calibration();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(CalibrationError::Read { path, source }),
    };
    serde_json::from_str(&text).map_err(|source| CalibrationError::Parse { path, source })
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Examples per timed forward pass: enough to keep every core busy.
const BATCH: usize = 32;
/// Timed repetitions (the fastest counts), after one untimed.
const REPS: usize = 5;

/// Measures this CPU (every core, as training uses them) on the models' hot
/// loop: the fused filter-bank forward of the paper's P-net bank. Training
/// steps add a cheap backward, which the estimate counts as twice the forward,
/// and the CBMI baselines run the generic path (a matrix product per
/// convolution), several times slower than this: the figure is an estimate.
pub fn measure_cpu() -> Calibration {
    type Cpu = NdArray<f32>;
    let arch = paper::p_net(1);
    let bank = &arch.banks[0];
    let (bands, frames) = (arch.bands, arch.frames);
    let layout = Arc::new(
        BankLayout::new(&bank.groups, bank.pool_freq, bands, frames)
            .expect("the paper's P-net bank is valid"),
    );
    let device = Default::default();
    let wave = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919) % 1000) as f32 / 500.0 - 1.0) * scale)
            .collect()
    };
    let x = Tensor::<Cpu, 3>::from_data(
        TensorData::new(wave(BATCH * bands * frames, 1.0), [BATCH, bands, frames]),
        &device,
    );
    let weight = Tensor::<Cpu, 1>::from_data(
        TensorData::new(wave(layout.taps(), 0.1), [layout.taps()]),
        &device,
    );
    let bias = Tensor::<Cpu, 1>::zeros([layout.filters()], &device);
    let seconds = (0..=REPS)
        .map(|_| {
            let clock = Instant::now();
            let y = filter_bank(x.clone(), weight.clone(), bias.clone(), &layout);
            std::hint::black_box(y.into_data());
            clock.elapsed().as_secs_f64()
        })
        .skip(1)
        .fold(f64::INFINITY, f64::min)
        .max(1e-9);
    let flops = layout.forward_flops(bands, frames) as f64 * BATCH as f64;
    let threads = rayon::current_num_threads();
    Calibration {
        device: ComputeDevice::Cpu,
        label: format!("cpu ×{threads}"),
        flops_per_second: flops / seconds,
        measured_with: format!(
            "the fused filter-bank forward of the paper's P-net bank on {BATCH} examples, \
             fastest of {REPS} passes; the baselines' generic path runs far slower, so \
             their share is underestimated"
        ),
        when: now(),
    }
}

/// `YYYY-MM-DD HH:MM UTC` of Unix seconds (proleptic Gregorian calendar;
/// Hinnant's `civil_from_days`).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let (hour, minute) = ((seconds % 86_400) / 3600, (seconds % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(device: ComputeDevice, rate: f64) -> Calibration {
        Calibration {
            device,
            label: device.to_string(),
            flops_per_second: rate,
            measured_with: "a test".into(),
            when: 0,
        }
    }

    #[test]
    fn saved_calibrations_load_per_device() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Calibration::load(dir.path(), ComputeDevice::Cpu)
            .unwrap()
            .is_none());
        let cpu = sample(ComputeDevice::Cpu, 1e9);
        let path = cpu.save(dir.path()).unwrap();
        assert_eq!(
            path,
            crate::layout::CacheLayout::new(dir.path()).calibration()
        );
        sample(ComputeDevice::Cuda(0), 1e12)
            .save(dir.path())
            .unwrap();
        let faster = sample(ComputeDevice::Cpu, 2e9);
        faster.save(dir.path()).unwrap();
        let load = |d| Calibration::load(dir.path(), d).unwrap();
        assert_eq!(load(ComputeDevice::Cpu), Some(faster));
        assert_eq!(load(ComputeDevice::Cuda(0)).unwrap().flops_per_second, 1e12);
        assert_eq!(load(ComputeDevice::Cuda(1)), None);
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            crate::layout::CacheLayout::new(dir.path()).calibration(),
            "{",
        )
        .unwrap();
        let err = Calibration::load(dir.path(), ComputeDevice::Cpu).unwrap_err();
        assert!(err.to_string().contains("tempora calibrate"), "{err}");
        sample(ComputeDevice::Cpu, 1e9).save(dir.path()).unwrap();
        assert!(Calibration::load(dir.path(), ComputeDevice::Cpu)
            .unwrap()
            .is_some());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59 UTC");
    }
}
