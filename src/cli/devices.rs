//! `tempora devices`: what `--device` can name on this machine (the CPU, CUDA
//! devices, wgpu adapters, hardware or software) and which one `auto` picks.

use std::process::ExitCode;

use tempora::device::{self, ComputeDevice};

/// Arguments of `tempora devices` (none).
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {}

/// `tempora devices`.
pub fn run(_args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let inventory = device::inventory();
    println!("{:<8} {}", "cpu", ComputeDevice::Cpu.describe());
    match &inventory.cuda {
        Ok(devices) if devices.is_empty() => {
            println!("{:<8} none (the CUDA driver reports no device)", "cuda")
        }
        Ok(devices) => {
            for d in devices {
                let memory = d
                    .memory_bytes
                    .map(|b| format!(", {:.1} GiB", b as f64 / GIB))
                    .unwrap_or_default();
                println!(
                    "{:<8} {} (CUDA, hardware{memory})",
                    format!("cuda:{}", d.index),
                    d.name
                );
            }
        }
        Err(why) => println!("{:<8} none ({why})", "cuda"),
    }
    if inventory.wgpu.is_empty() {
        println!(
            "{:<8} none (no Vulkan, Metal or DX12 adapter; on Linux `apt-get install \
             mesa-vulkan-drivers` adds lavapipe, a software one)",
            "wgpu"
        );
    }
    for a in &inventory.wgpu {
        let driver = if a.driver.is_empty() {
            String::new()
        } else {
            format!(", driver {}", a.driver)
        };
        println!(
            "{:<8} {} ({}, {}, largest buffer {:.1} GiB{driver})",
            format!("wgpu:{}", a.index),
            a.name,
            a.backend,
            a.kind,
            a.max_buffer_bytes as f64 / GIB
        );
    }
    let why = match inventory.auto {
        ComputeDevice::Cpu => {
            "no CUDA device and no hardware wgpu adapter; software adapters run only when named"
        }
        ComputeDevice::Cuda(_) => "CUDA comes first",
        ComputeDevice::Wgpu(_) => "no CUDA device; the first hardware wgpu adapter",
    };
    println!("auto picks {} ({why})", inventory.auto);
    Ok(ExitCode::SUCCESS)
}

/// Bytes per GiB.
const GIB: f64 = (1u64 << 30) as f64;
