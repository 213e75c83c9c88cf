//! The GPUs wgpu finds (Vulkan on Linux and Windows, Metal on macOS): the
//! adapter list behind `--device wgpu:N` and `tempora devices`.
//!
//! `wgpu:N` is the N-th adapter of the graphics API that CubeCL's wgpu runtime
//! uses on this platform, in the order wgpu enumerates them. CubeCL names its
//! devices by type and index within the type (`DiscreteGpu(1)`, `Cpu`), so
//! [`burn_device`] translates one into the other with the same enumeration.

use burn::backend::wgpu::{graphics::AutoGraphicsApi, graphics::GraphicsApi, WgpuDevice};

/// Loop iterations after which a software Vulkan device stops a shader
/// invocation without an error (llvmpipe's compiled-in limit, which lavapipe
/// inherits): a kernel that loops longer returns wrong results silently.
pub const SOFTWARE_LOOP_CAP: usize = 65_535;

/// What kind of adapter it is, as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    /// A discrete GPU.
    Discrete,
    /// A GPU integrated with the CPU (most laptops, Apple silicon).
    Integrated,
    /// A virtualised GPU (a VM's passthrough or paravirtual device).
    Virtual,
    /// A software rasteriser running on the CPU (lavapipe/llvmpipe, WARP, SwiftShader).
    Software,
    /// The driver did not say.
    Other,
}

impl AdapterKind {
    /// Whether it is a real GPU (what `--device auto` may pick).
    pub fn is_hardware(self) -> bool {
        matches!(self, Self::Discrete | Self::Integrated | Self::Virtual)
    }

    fn of(device_type: wgpu::DeviceType) -> Self {
        match device_type {
            wgpu::DeviceType::DiscreteGpu => Self::Discrete,
            wgpu::DeviceType::IntegratedGpu => Self::Integrated,
            wgpu::DeviceType::VirtualGpu => Self::Virtual,
            wgpu::DeviceType::Cpu => Self::Software,
            wgpu::DeviceType::Other => Self::Other,
        }
    }
}

impl std::fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Discrete => "hardware, discrete",
            Self::Integrated => "hardware, integrated",
            Self::Virtual => "hardware, virtual",
            Self::Software => "software",
            Self::Other => "unknown type",
        })
    }
}

/// One adapter wgpu found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// Its position in the list: `wgpu:index`.
    pub index: usize,
    /// The device name the driver reports (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`).
    pub backend: String,
    /// The driver's name and version, when it says.
    pub driver: String,
    /// Hardware or software.
    pub kind: AdapterKind,
    /// The largest buffer the adapter allows, in bytes (wgpu reports no total memory).
    pub max_buffer_bytes: u64,
}

impl Adapter {
    /// The most loop iterations one shader invocation may run, where the
    /// adapter has such a limit (software adapters: [`SOFTWARE_LOOP_CAP`]).
    pub fn loop_cap(&self) -> Option<usize> {
        (self.kind == AdapterKind::Software).then_some(SOFTWARE_LOOP_CAP)
    }

    /// One line: `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software)`.
    pub fn describe(&self) -> String {
        format!("{} ({}, {})", self.name, self.backend, self.kind)
    }
}

/// The adapters of this platform's graphics API, in wgpu's order; empty when
/// there is no driver (a missing Vulkan loader is not an error).
pub fn adapters() -> Vec<Adapter> {
    enumerate()
        .iter()
        .enumerate()
        .map(|(index, adapter)| {
            let info = adapter.get_info();
            let driver = [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            Adapter {
                index,
                name: info.name,
                backend: format!("{:?}", info.backend),
                driver,
                kind: AdapterKind::of(info.device_type),
                max_buffer_bytes: adapter.limits().max_buffer_size,
            }
        })
        .collect()
}

fn enumerate() -> Vec<wgpu::Adapter> {
    let backend = AutoGraphicsApi::backend();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    cubecl::future::block_on(instance.enumerate_adapters(backend.into()))
}

/// CubeCL's name for the adapter at `index` of `list`: its type and its index
/// among adapters of that type (CubeCL selects the same way).
pub fn burn_device(list: &[Adapter], index: usize) -> Option<WgpuDevice> {
    let adapter = list.get(index)?;
    let same_kind_before = list[..index]
        .iter()
        .filter(|a| a.kind == adapter.kind)
        .count();
    match adapter.kind {
        AdapterKind::Discrete => Some(WgpuDevice::DiscreteGpu(same_kind_before)),
        AdapterKind::Integrated => Some(WgpuDevice::IntegratedGpu(same_kind_before)),
        AdapterKind::Virtual => Some(WgpuDevice::VirtualGpu(same_kind_before)),
        // CubeCL selects only the first software adapter by type, and none of
        // an unknown type.
        AdapterKind::Software if same_kind_before == 0 => Some(WgpuDevice::Cpu),
        AdapterKind::Software | AdapterKind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(index: usize, kind: AdapterKind) -> Adapter {
        Adapter {
            index,
            name: format!("gpu {index}"),
            backend: "Vulkan".into(),
            driver: String::new(),
            kind,
            max_buffer_bytes: 1 << 30,
        }
    }

    #[test]
    fn cubecl_names_adapters_by_type_and_rank_within_it() {
        use AdapterKind::*;
        let list: Vec<_> = [Integrated, Discrete, Software, Discrete, Other, Software]
            .into_iter()
            .enumerate()
            .map(|(i, k)| adapter(i, k))
            .collect();
        assert_eq!(burn_device(&list, 0), Some(WgpuDevice::IntegratedGpu(0)));
        assert_eq!(burn_device(&list, 1), Some(WgpuDevice::DiscreteGpu(0)));
        assert_eq!(burn_device(&list, 2), Some(WgpuDevice::Cpu));
        assert_eq!(burn_device(&list, 3), Some(WgpuDevice::DiscreteGpu(1)));
        assert_eq!(burn_device(&list, 4), None);
        assert_eq!(burn_device(&list, 5), None);
        assert_eq!(burn_device(&list, 6), None);
    }

    #[test]
    fn only_real_gpus_count_as_hardware() {
        assert!(AdapterKind::Discrete.is_hardware());
        assert!(AdapterKind::Integrated.is_hardware());
        assert!(!AdapterKind::Software.is_hardware());
        assert!(!AdapterKind::Other.is_hardware());
        assert_eq!(
            adapter(0, AdapterKind::Software).describe(),
            "gpu 0 (Vulkan, software)"
        );
    }
}
