//! Choosing where tensors live, at run time: the CPU (`Autodiff<NdArray>`),
//! CUDA (`Autodiff<Cuda>`) or any GPU wgpu finds (`Autodiff<Wgpu>`: Vulkan,
//! Metal, DX12).
//!
//! Both GPU runtimes are always compiled in. cudarc loads `libcuda` lazily and
//! panics in a worker thread when there is no driver, so [`resolve`] probes
//! for the driver first; wgpu's adapters are listed before one is used
//! ([`adapter`]). `auto` prefers CUDA, then a hardware wgpu adapter, then
//! the CPU; it never picks a software adapter (lavapipe), which runs only when
//! asked for by name.

pub mod adapter;
mod cuda;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use adapter::{Adapter, AdapterKind};
use cuda::{probe_cuda, CudaDriver};

/// What the user asked for (`--device auto|cpu|cuda[:N]|wgpu[:N]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DeviceChoice {
    /// CUDA device 0 when a driver and device are present, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N; an error when it is not available.
    Cuda(usize),
    /// wgpu adapter N (`tempora devices` lists them); an error when absent.
    Wgpu(usize),
}

/// Where computation actually runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComputeDevice {
    /// The CPU (burn NdArray).
    Cpu,
    /// CUDA device N (burn CubeCL CUDA).
    Cuda(usize),
    /// wgpu adapter N (burn CubeCL wgpu).
    Wgpu(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = DeviceError;

    /// Parses `auto`, `cpu`, `cuda` (= `cuda:0`), `cuda:N`, `wgpu` (= `wgpu:0`)
    /// or `wgpu:N`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let parse_error = || DeviceError::Parse {
            input: s.to_owned(),
        };
        match lower.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "wgpu" => Ok(Self::Wgpu(0)),
            _ => match lower.split_once(':') {
                Some(("cuda" | "gpu", index)) => {
                    index.parse().map(Self::Cuda).map_err(|_| parse_error())
                }
                Some(("wgpu", index)) => index.parse().map(Self::Wgpu).map_err(|_| parse_error()),
                _ => Err(parse_error()),
            },
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Wgpu(n) => write!(f, "wgpu:{n}"),
        }
    }
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Wgpu(n) => write!(f, "wgpu:{n}"),
        }
    }
}

/// Why a device could not be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// `--device` was not understood.
    #[error(
        "unknown device '{input}': expected 'auto', 'cpu', 'cuda', 'cuda:N', 'wgpu' or 'wgpu:N' (e.g. 'cuda:1'; `tempora devices` lists them)"
    )]
    Parse {
        /// What the user wrote.
        input: String,
    },
    /// The CUDA driver could not be loaded or initialised.
    #[error("{requested} was requested but CUDA is unavailable: {reason}; use '--device cpu' or '--device auto'")]
    NoDriver {
        /// The device asked for.
        requested: ComputeDevice,
        /// What failed (library not found, cuInit error code, ...).
        reason: String,
    },
    /// The driver works but the requested ordinal does not exist.
    #[error("cuda:{index} was requested but the driver reports {count} CUDA device(s); pick one of cuda:0..cuda:{last}", last = count.saturating_sub(1))]
    NoSuchDevice {
        /// The ordinal asked for.
        index: usize,
        /// Devices present.
        count: usize,
    },
    /// A kernel would loop longer than the device lets a shader run.
    #[error(
        "{device} stops a shader silently after {cap} loop iterations, and bank {bank}'s \
         {kernel} kernel would run {iterations} in one invocation (wrong results, no error); \
         train this model on another device (`--device cpu`), or with fewer filters, bands \
         or a smaller batch"
    )]
    LoopCap {
        /// The device in words.
        device: String,
        /// The bank whose kernel is too long.
        bank: String,
        /// Which kernel.
        kernel: &'static str,
        /// Its most iterations per invocation.
        iterations: usize,
        /// The device's limit.
        cap: usize,
    },
    /// No wgpu adapter has that index.
    #[error("wgpu:{index} was requested but {found}; `tempora devices` lists what is usable")]
    NoSuchAdapter {
        /// The index asked for.
        index: usize,
        /// What wgpu found, in words.
        found: String,
    },
}

/// The wgpu adapters, enumerated once per process (creating a Vulkan
/// instance takes a noticeable fraction of a second).
pub fn wgpu_adapters() -> &'static [Adapter] {
    static ADAPTERS: OnceLock<Vec<Adapter>> = OnceLock::new();
    ADAPTERS.get_or_init(adapter::adapters)
}

/// Turns the user's choice into a device that works, without ever touching
/// cudarc when the driver is missing (it would panic in a worker thread).
///
/// `Auto` picks `cuda:0` when the driver loads and reports a device, else the
/// first hardware wgpu adapter, else the CPU, saying why in one `info` line.
/// An explicit `cuda:N` or `wgpu:N` that cannot be used is an error.
pub fn resolve(choice: DeviceChoice) -> Result<ComputeDevice, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(ComputeDevice::Cpu),
        DeviceChoice::Auto => Ok(pick_auto()),
        DeviceChoice::Cuda(index) => {
            let requested = ComputeDevice::Cuda(index);
            let count =
                probe_cuda().map_err(|reason| DeviceError::NoDriver { requested, reason })?;
            if index < count {
                Ok(requested)
            } else {
                Err(DeviceError::NoSuchDevice { index, count })
            }
        }
        DeviceChoice::Wgpu(index) => {
            wgpu_device(index)?;
            Ok(ComputeDevice::Wgpu(index))
        }
    }
}

/// `auto`: CUDA, then a hardware wgpu adapter, then the CPU.
fn pick_auto() -> ComputeDevice {
    let cuda_reason = match probe_cuda() {
        Ok(count) if count > 0 => return ComputeDevice::Cuda(0),
        Ok(_) => "the CUDA driver reports no device".to_owned(),
        Err(reason) => format!("CUDA unavailable ({reason})"),
    };
    if let Some(adapter) = wgpu_adapters().iter().find(|a| a.kind.is_hardware()) {
        tracing::info!(
            "device auto: {cuda_reason}; using wgpu:{}: {}",
            adapter.index,
            adapter.describe()
        );
        return ComputeDevice::Wgpu(adapter.index);
    }
    tracing::info!("device auto: {cuda_reason} and no hardware wgpu adapter; using the CPU");
    ComputeDevice::Cpu
}

/// burn's device for `wgpu:index`, or why it cannot be used.
pub fn wgpu_device(index: usize) -> Result<burn::backend::wgpu::WgpuDevice, DeviceError> {
    let list = wgpu_adapters();
    adapter::burn_device(list, index).ok_or_else(|| DeviceError::NoSuchAdapter {
        index,
        found: match list.get(index) {
            Some(adapter) => format!(
                "{} is a second software adapter or of unknown type, which CubeCL cannot select",
                adapter.describe()
            ),
            None if list.is_empty() => {
                "wgpu finds no adapter (no Vulkan, Metal or DX12 driver; on Linux \
                 `apt-get install mesa-vulkan-drivers` adds a software one)"
                    .to_owned()
            }
            None => format!("wgpu finds {} adapter(s)", list.len()),
        },
    })
}

/// A CUDA device the driver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaInfo {
    /// `cuda:index`.
    pub index: usize,
    /// The device name.
    pub name: String,
    /// Total memory in bytes, when the driver says.
    pub memory_bytes: Option<u64>,
}

/// Everything `--device` can name on this machine, and what `auto` picks.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// CUDA devices, or why CUDA cannot be used.
    pub cuda: Result<Vec<CudaInfo>, String>,
    /// wgpu adapters (empty without a driver).
    pub wgpu: Vec<Adapter>,
    /// What `--device auto` resolves to.
    pub auto: ComputeDevice,
}

/// Lists the devices (probing CUDA and enumerating wgpu; never panics).
pub fn inventory() -> Inventory {
    let cuda = probe_cuda().and_then(|count| {
        let driver = CudaDriver::load()?;
        (0..count)
            .map(|index| {
                Ok(CudaInfo {
                    index,
                    name: driver.device_name(index)?,
                    memory_bytes: driver.total_memory(index).ok(),
                })
            })
            .collect()
    });
    Inventory {
        cuda,
        wgpu: wgpu_adapters().to_vec(),
        auto: pick_auto(),
    }
}

/// A device's memory as its driver reports it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceMemory {
    /// Not in use by any process.
    pub free: u64,
    /// In all.
    pub total: u64,
}

impl ComputeDevice {
    /// The device's free and total memory, where the driver says: CUDA's
    /// free memory (its total when a context cannot be opened); `None` for
    /// the CPU and for wgpu, which does not report memory.
    pub fn memory(&self) -> Option<DeviceMemory> {
        let Self::Cuda(index) = *self else {
            return None;
        };
        let driver = CudaDriver::load().ok()?;
        match driver.memory_info(index) {
            Ok((free, total)) => Some(DeviceMemory { free, total }),
            Err(_) => driver
                .total_memory(index)
                .ok()
                .map(|total| DeviceMemory { free: total, total }),
        }
    }

    /// Whether it is a GPU (training goes to the device queue, one at a time).
    pub fn is_gpu(&self) -> bool {
        matches!(self, Self::Cuda(_) | Self::Wgpu(_))
    }

    /// The wgpu adapter, for `wgpu:N`.
    pub fn wgpu_adapter(&self) -> Option<&'static Adapter> {
        match self {
            Self::Wgpu(index) => wgpu_adapters().get(*index),
            _ => None,
        }
    }

    /// The device in words, e.g. `CPU: AMD EPYC (2 threads)`,
    /// `CUDA cuda:0: NVIDIA H100 80GB HBM3` or
    /// `wgpu wgpu:0: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Cpu => {
                let model = std::fs::read_to_string("/proc/cpuinfo")
                    .ok()
                    .and_then(|info| {
                        info.lines()
                            .find(|l| l.starts_with("model name"))
                            .and_then(|l| l.split_once(':'))
                            .map(|(_, name)| name.trim().to_owned())
                    })
                    .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
                format!("CPU: {model} ({} threads)", rayon::current_num_threads())
            }
            Self::Cuda(index) => match CudaDriver::load().and_then(|d| d.device_name(*index)) {
                Ok(name) => format!("CUDA cuda:{index}: {name}"),
                Err(_) => format!("CUDA cuda:{index}"),
            },
            Self::Wgpu(index) => match self.wgpu_adapter() {
                Some(adapter) => format!("wgpu wgpu:{index}: {}", adapter.describe()),
                None => format!("wgpu wgpu:{index}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert_eq!("CPU".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:1".parse(), Ok(DeviceChoice::Cuda(1)));
        assert_eq!("WGPU".parse(), Ok(DeviceChoice::Wgpu(0)));
        assert_eq!("wgpu:2".parse(), Ok(DeviceChoice::Wgpu(2)));
        for bad in ["", "tpu", "cuda:", "cuda:x", "cuda:-1", "wgpu:", "vulkan"] {
            let err = bad.parse::<DeviceChoice>().unwrap_err();
            assert!(err.to_string().contains("expected 'auto'"), "{bad}: {err}");
        }
    }

    #[test]
    fn display_round_trips() {
        for choice in [
            DeviceChoice::Auto,
            DeviceChoice::Cpu,
            DeviceChoice::Cuda(3),
            DeviceChoice::Wgpu(1),
        ] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
    }

    #[test]
    fn resolving_never_panics_and_agrees_with_the_probe() {
        assert_eq!(resolve(DeviceChoice::Cpu), Ok(ComputeDevice::Cpu));
        let auto = resolve(DeviceChoice::Auto).expect("auto always resolves");
        let hardware = wgpu_adapters().iter().find(|a| a.kind.is_hardware());
        match (probe_cuda(), hardware) {
            (Ok(n), _) if n > 0 => assert_eq!(auto, ComputeDevice::Cuda(0)),
            (_, Some(adapter)) => assert_eq!(auto, ComputeDevice::Wgpu(adapter.index)),
            _ => {
                assert_eq!(
                    auto,
                    ComputeDevice::Cpu,
                    "auto never picks a software adapter"
                );
                let err = resolve(DeviceChoice::Cuda(0)).unwrap_err();
                assert!(err.to_string().contains("--device cpu"), "{err}");
            }
        }
        let past_the_end = wgpu_adapters().len();
        let err = resolve(DeviceChoice::Wgpu(past_the_end)).unwrap_err();
        assert!(err.to_string().contains("tempora devices"), "{err}");
        assert!(matches!(
            resolve(DeviceChoice::Cuda(10_000)),
            Err(DeviceError::NoDriver { .. } | DeviceError::NoSuchDevice { .. })
        ));
    }

    #[test]
    fn cpu_description_names_threads() {
        assert!(ComputeDevice::Cpu.describe().contains("threads"));
    }
}
