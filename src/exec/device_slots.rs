//! How many trainings run at once on one GPU: the device's free memory
//! divided by the largest per-training estimate of the batch's models
//! ([`crate::model::memory::training_bytes`]), less a reserve, at most one
//! per CPU thread (each training's host thread issues its launches) and at
//! most the number of trainings; `--gpu-jobs N` overrides it.
//!
//! Concurrent trainings share nothing but the device and the read-only
//! corpus ([`crate::train::feed`]): each draws its random numbers under the
//! process-wide lock training already holds (`train::fit`), so each gives
//! the bytes it gives alone. CubeCL gives each host thread its own stream.

use crate::device::{ComputeDevice, DeviceMemory};
use crate::model::memory::training_bytes;
use crate::plan::{Task, TaskParams};

/// The share of free memory kept back (the drivers' own allocations,
/// fragmentation, the corpora shared by the trainings).
const RESERVE_SHARE: f64 = 0.2;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSlots {
    /// From the device's free memory (see the module docs).
    #[default]
    Auto,
    /// Exactly this many (`--gpu-jobs N`, at least 1).
    Fixed(usize),
}

/// The number chosen, and why, in words (printed at the start of a run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotChoice {
    /// Trainings in flight on the device at most.
    pub slots: usize,
    /// One line: how the number was reached.
    pub reason: String,
}

/// How many of `tasks`' trainings run at once on `device` (see the module
/// docs); `memory` is the device's, when its driver reports it.
pub fn choose(
    tasks: &[Task],
    device: ComputeDevice,
    memory: Option<DeviceMemory>,
    asked: DeviceSlots,
) -> SlotChoice {
    let trainings: Vec<_> = tasks
        .iter()
        .filter_map(|t| match &t.params {
            TaskParams::Train(p) => Some(p),
            _ => None,
        })
        .collect();
    if let DeviceSlots::Fixed(n) = asked {
        return SlotChoice {
            slots: n.max(1),
            reason: "as --gpu-jobs asks".into(),
        };
    }
    if !device.is_gpu() || trainings.len() <= 1 {
        return SlotChoice {
            slots: 1,
            reason: format!("{} training(s) on {device}", trainings.len()),
        };
    }
    let Some(memory) = memory else {
        return SlotChoice {
            slots: 1,
            reason: format!(
                "{device} does not report its free memory; --gpu-jobs N runs N at once"
            ),
        };
    };
    let largest = trainings
        .iter()
        .map(|p| {
            (
                training_bytes(&p.arch, p.train.batch_size),
                p.model.as_str(),
            )
        })
        .max()
        .unwrap_or((1, ""));
    let usable = (memory.free as f64 * (1.0 - RESERVE_SHARE)) as u64;
    let by_memory = (usable / largest.0.max(1)) as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slots = by_memory.min(threads).min(trainings.len()).max(1);
    SlotChoice {
        slots,
        reason: format!(
            "{} GiB free on {device}, up to {:.2} GiB per training ({}), {threads} CPU threads, {} trainings",
            gib(memory.free),
            largest.0 as f64 / GIB,
            largest.1,
            trainings.len()
        ),
    }
}

const GIB: f64 = (1u64 << 30) as f64;

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / GIB)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::params::{DeviceClass, TrainParams};
    use crate::plan::Locator;

    /// `n` trainings of Table 1's largest filter-bank model, one per fold.
    fn train_tasks(n: usize) -> Vec<Task> {
        (0..n)
            .map(|fold| {
                let params = TaskParams::Train(TrainParams {
                    model: "8x O-net + 8x P-net".into(),
                    arch: crate::model::paper::o_p_net(8),
                    train: Default::default(),
                    hop: 250,
                    fold,
                    device: DeviceClass::Cuda,
                    features: Default::default(),
                    class_names: vec![],
                    dataset_hash: String::new(),
                });
                let id = format!("train/x/hop250/fold{fold}");
                Task::new(id, params, Default::default(), vec![], Locator::None).unwrap()
            })
            .collect()
    }

    const H100: DeviceMemory = DeviceMemory {
        free: 79 << 30,
        total: 80 << 30,
    };

    #[test]
    fn the_override_wins_and_is_at_least_one() {
        let tasks = train_tasks(4);
        let cpu = ComputeDevice::Cpu;
        assert_eq!(choose(&tasks, cpu, None, DeviceSlots::Fixed(3)).slots, 3);
        assert_eq!(choose(&tasks, cpu, None, DeviceSlots::Fixed(0)).slots, 1);
    }

    #[test]
    fn free_memory_bounds_the_slots_and_the_reason_says_so() {
        let tasks = train_tasks(4);
        let gpu = ComputeDevice::Cuda(0);
        let roomy = choose(&tasks, gpu, Some(H100), DeviceSlots::Auto);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(roomy.slots, 4.min(threads), "{roomy:?}");
        assert!(roomy.reason.contains("GiB free on cuda:0"), "{roomy:?}");
        let tight = DeviceMemory {
            free: 1 << 30,
            total: 80 << 30,
        };
        assert_eq!(choose(&tasks, gpu, Some(tight), DeviceSlots::Auto).slots, 1);
        let unknown = choose(&tasks, ComputeDevice::Wgpu(0), None, DeviceSlots::Auto);
        assert_eq!(unknown.slots, 1);
        assert!(unknown.reason.contains("--gpu-jobs"), "{unknown:?}");
    }
}
