//! Choosing where tensors live: CPU (`Autodiff<NdArray>`) or CUDA
//! (`Autodiff<Cuda>`), at run time.
//!
//! CUDA support is always compiled in; cudarc loads `libcuda` lazily and
//! panics in a worker thread when there is no driver, so [`resolve`] probes for
//! the driver first and falls back to the CPU with one clear line.

use serde::{Deserialize, Serialize};

/// What the user asked for (`--device auto|cpu|cuda[:N]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DeviceChoice {
    /// CUDA device 0 when a driver and device are present, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N; an error when it is not available.
    Cuda(usize),
}

/// Where computation actually runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComputeDevice {
    /// The CPU (burn NdArray).
    Cpu,
    /// CUDA device N (burn CubeCL CUDA).
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = DeviceError;

    /// Parses `auto`, `cpu`, `cuda` (= `cuda:0`) or `cuda:N`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let parse_error = || DeviceError::Parse {
            input: s.to_owned(),
        };
        match lower.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            _ => match lower.split_once(':') {
                Some(("cuda" | "gpu", index)) => {
                    index.parse().map(Self::Cuda).map_err(|_| parse_error())
                }
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
        }
    }
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Why a device could not be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// `--device` was not understood.
    #[error(
        "unknown device '{input}': expected 'auto', 'cpu', 'cuda' or 'cuda:N' (e.g. 'cuda:1')"
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
}

/// Shared libraries of the CUDA driver API, tried in order.
const CUDA_DRIVER_LIBRARIES: [&str; 2] = ["libcuda.so.1", "libcuda.so"];
/// `CUDA_SUCCESS` in the driver API.
const CUDA_SUCCESS: i32 = 0;
/// Bytes reserved for a device name (`cuDeviceGetName`).
const CUDA_NAME_LEN: usize = 256;

/// The loaded CUDA driver, initialised.
struct CudaDriver {
    lib: libloading::Library,
}

impl CudaDriver {
    /// Loads `libcuda` and calls `cuInit(0)`.
    fn load() -> Result<Self, String> {
        let mut errors = Vec::new();
        for name in CUDA_DRIVER_LIBRARIES {
            // SAFETY: loading the CUDA driver runs its initialisers, which
            // have no preconditions on our side.
            match unsafe { libloading::Library::new(name) } {
                Ok(lib) => {
                    let driver = Self { lib };
                    // SAFETY: cuInit has this C signature in every driver API version.
                    let rc =
                        unsafe { driver.call::<unsafe extern "C" fn(u32) -> i32>(b"cuInit\0") }
                            .map(|f| unsafe { f(0) })?;
                    return match rc {
                        CUDA_SUCCESS => Ok(driver),
                        code => Err(format!("cuInit failed with CUresult {code}")),
                    };
                }
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        Err(format!("no CUDA driver library ({})", errors.join("; ")))
    }

    /// Looks up a driver symbol of type `F`.
    ///
    /// # Safety
    /// `F` must be the symbol's true C signature.
    unsafe fn call<F: Copy>(&self, symbol: &[u8]) -> Result<F, String> {
        let name = String::from_utf8_lossy(&symbol[..symbol.len().saturating_sub(1)]).into_owned();
        self.lib
            .get::<F>(symbol)
            .map(|s| *s)
            .map_err(|e| format!("the CUDA driver lacks {name}: {e}"))
    }

    fn device_count(&self) -> Result<usize, String> {
        let mut count = 0i32;
        // SAFETY: cuDeviceGetCount(int*) per the driver API; cuInit succeeded.
        let rc = unsafe {
            let f = self.call::<unsafe extern "C" fn(*mut i32) -> i32>(b"cuDeviceGetCount\0")?;
            f(&mut count)
        };
        match rc {
            CUDA_SUCCESS => Ok(usize::try_from(count).unwrap_or(0)),
            code => Err(format!("cuDeviceGetCount failed with CUresult {code}")),
        }
    }

    fn device_name(&self, index: usize) -> Result<String, String> {
        let ordinal = i32::try_from(index).map_err(|e| e.to_string())?;
        let mut device = 0i32;
        let mut name = [0u8; CUDA_NAME_LEN];
        // SAFETY: cuDeviceGet(CUdevice*, int) and cuDeviceGetName(char*, int,
        // CUdevice) per the driver API; the buffer outlives the call.
        unsafe {
            let get = self.call::<unsafe extern "C" fn(*mut i32, i32) -> i32>(b"cuDeviceGet\0")?;
            let get_name =
                self.call::<unsafe extern "C" fn(*mut u8, i32, i32) -> i32>(b"cuDeviceGetName\0")?;
            if get(&mut device, ordinal) != CUDA_SUCCESS
                || get_name(name.as_mut_ptr(), CUDA_NAME_LEN as i32, device) != CUDA_SUCCESS
            {
                return Err(format!("cannot query the name of cuda:{index}"));
            }
        }
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Ok(String::from_utf8_lossy(&name[..end]).into_owned())
    }
}

/// Number of CUDA devices, or why CUDA cannot be used.
fn probe_cuda() -> Result<usize, String> {
    let count = CudaDriver::load()?.device_count()?;
    if count > 0 {
        probe_nvrtc()?;
    }
    Ok(count)
}

/// Names under which the CUDA runtime compiler may be installed (the
/// unversioned link, then the sonames of CUDA 13 and 12).
const NVRTC_LIBRARIES: [&str; 3] = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"];

/// Checks that NVRTC loads: burn's CUDA backend compiles its kernels with it
/// at run time and panics in a worker thread when it is missing.
fn probe_nvrtc() -> Result<(), String> {
    for name in NVRTC_LIBRARIES {
        // SAFETY: loading NVRTC runs its initialisers, which have no
        // preconditions on our side; nothing is called.
        if unsafe { libloading::Library::new(name) }.is_ok() {
            return Ok(());
        }
    }
    Err(format!(
        "the CUDA runtime compiler (NVRTC: {}) was not found, and the CUDA kernels are compiled \
         with it at run time; install the CUDA toolkit's NVRTC or add the directory that holds \
         it to LD_LIBRARY_PATH",
        NVRTC_LIBRARIES.join(", ")
    ))
}

/// Turns the user's choice into a device that works, without ever touching
/// cudarc when the driver is missing (it would panic in a worker thread).
///
/// `Auto` picks `cuda:0` when the driver loads and reports a device, else the
/// CPU, saying why in one `info` line. An explicit `cuda:N` that cannot be
/// used is an error.
pub fn resolve(choice: DeviceChoice) -> Result<ComputeDevice, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(ComputeDevice::Cpu),
        DeviceChoice::Auto => match probe_cuda() {
            Ok(count) if count > 0 => Ok(ComputeDevice::Cuda(0)),
            Ok(_) => {
                tracing::info!("device auto: the CUDA driver reports no device; using the CPU");
                Ok(ComputeDevice::Cpu)
            }
            Err(reason) => {
                tracing::info!("device auto: CUDA unavailable ({reason}); using the CPU");
                Ok(ComputeDevice::Cpu)
            }
        },
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
    }
}

impl ComputeDevice {
    /// Whether it is a GPU (training goes to the device queue, one at a time).
    pub fn is_gpu(&self) -> bool {
        matches!(self, Self::Cuda(_))
    }

    /// The device in words, e.g. `CPU: AMD EPYC (2 threads)` or
    /// `CUDA cuda:0: NVIDIA H100 80GB HBM3`.
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
        for bad in ["", "tpu", "cuda:", "cuda:x", "cuda:-1"] {
            let err = bad.parse::<DeviceChoice>().unwrap_err();
            assert!(err.to_string().contains("expected 'auto'"), "{bad}: {err}");
        }
    }

    #[test]
    fn display_round_trips() {
        for choice in [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Cuda(3)] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
    }

    #[test]
    fn resolving_never_panics_and_agrees_with_the_probe() {
        assert_eq!(resolve(DeviceChoice::Cpu), Ok(ComputeDevice::Cpu));
        let auto = resolve(DeviceChoice::Auto).expect("auto always resolves");
        match probe_cuda() {
            Ok(n) if n > 0 => assert_eq!(auto, ComputeDevice::Cuda(0)),
            _ => {
                assert_eq!(auto, ComputeDevice::Cpu);
                let err = resolve(DeviceChoice::Cuda(0)).unwrap_err();
                assert!(err.to_string().contains("--device cpu"), "{err}");
            }
        }
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
