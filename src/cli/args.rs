//! Arguments several commands share (spec, profile, dataset, cache, device,
//! executor), and turning them into the library's values. A leaf: no command
//! module is imported here.

use std::path::PathBuf;

use anyhow::Context as _;

use tempora::device::{ComputeDevice, DeviceChoice};
use tempora::plan::{Plan, PlanOptions};
use tempora::workspace::slurm::{self, SlurmCommands};
use tempora::workspace::{
    Check, DeviceSlots, Executor, LocalExecutor, Mode, SlurmExecutor, StopFlag,
};
use tempora::workspace::{SpecTarget, Workspace};

/// Default cache directory, relative to the working directory.
pub const DEFAULT_CACHE: &str = "cache";

/// Arguments shared by `plan`, `run` and `status` (and, with an optional
/// spec, `report`).
#[derive(Debug, Clone, clap::Args)]
pub struct SpecArgs {
    /// The experiment spec (TOML), e.g. `experiments/table1.toml`.
    pub spec: PathBuf,
    /// A `[profile.NAME]` of the spec to apply (e.g. `quick`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// What an experiment runs on and where its results live: the dataset
/// override, the cache and the device (shared by every experiment command).
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Replace the spec's dataset: `ballroom:/path/to/BallroomData`, `ballroom`
    /// (reads TEMPORA_BALLROOM), `folder:/path` or `synthetic:tiny|small|full`.
    #[arg(long, value_name = "DATASET")]
    pub data: Option<String>,
    /// The cache directory (created on demand; safe to delete).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// Where training runs: `auto` (CUDA, else a hardware GPU through wgpu,
    /// else the CPU), `cpu`, `cuda[:N]` or `wgpu[:N]` (Vulkan, Metal, DX12;
    /// `tempora devices` lists them). Results are cached per class (cpu, cuda, wgpu).
    #[arg(long, value_name = "DEVICE", default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
}

/// Parses `auto`, `cpu`, `cuda[:N]` or `wgpu[:N]`.
pub fn parse_device(text: &str) -> Result<DeviceChoice, String> {
    text.parse()
        .map_err(|e: tempora::device::DeviceError| e.to_string())
}

/// Resolves the device choice (probing for a CUDA driver; `auto` falls back
/// to the CPU with one line on stderr, never a panic).
pub fn resolve_device(choice: DeviceChoice) -> anyhow::Result<ComputeDevice> {
    let device = tempora::device::resolve(choice)?;
    if choice == DeviceChoice::Auto && device == ComputeDevice::Cpu {
        eprintln!(
            "device: no usable CUDA device or hardware wgpu adapter found; running on the CPU"
        );
    }
    Ok(device)
}

/// Opens the cache at `dir`.
pub fn open_workspace(dir: &std::path::Path) -> anyhow::Result<Workspace> {
    Workspace::open(dir).with_context(|| format!("opening the cache {}", dir.display()))
}

impl SpecArgs {
    /// The spec target these arguments name.
    pub fn spec_target(&self) -> SpecTarget {
        SpecTarget {
            spec: self.spec.clone(),
            profile: self.profile.clone(),
            data: self.target.data.clone(),
        }
    }

    /// The workspace (cache) these arguments name.
    pub fn workspace(&self) -> anyhow::Result<Workspace> {
        open_workspace(&self.target.cache)
    }

    /// Resolves the device, opens the cache and plans the whole experiment
    /// (checking entries with `check`).
    pub fn plan(&self, check: Check) -> anyhow::Result<(Workspace, Plan, ComputeDevice)> {
        let device = resolve_device(self.target.device)?;
        let opts = PlanOptions {
            device: device.into(),
            ..PlanOptions::default()
        };
        let workspace = self.workspace()?;
        let plan = workspace
            .plan_spec(&self.spec_target(), &opts, check)
            .with_context(|| format!("planning {}", self.spec.display()))?;
        Ok((workspace, plan, device))
    }

    /// This spec, profile and dataset as command-line arguments (for the
    /// commands printed to re-attach, check or cancel).
    pub fn command_line(&self) -> String {
        let mut line = self.spec.display().to_string();
        if let Some(p) = &self.profile {
            line.push_str(&format!(" --profile {p}"));
        }
        line
    }
}

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    /// In this process: CPU worker threads and a device queue.
    Local,
    /// As job arrays on a Slurm cluster (settings: --slurm-config).
    Slurm,
}

impl ExecutorKind {
    /// What the first Ctrl-C or SIGTERM does with this executor.
    pub fn stop_note(self) -> &'static str {
        match self {
            ExecutorKind::Local => "stopping after the running tasks' next checkpoint",
            ExecutorKind::Slurm => "detaching from the Slurm jobs (they go on)",
        }
    }
}

/// The executor options.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// Where tasks run: `local` (this machine) or `slurm` (job arrays on the cluster).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorKind,
    /// With `--executor slurm`: return right after submitting (`tempora run` again re-attaches).
    #[arg(long)]
    pub detach: bool,
    /// Site settings of the Slurm executor [default: <config dir>/tempora/slurm.toml].
    #[arg(long, value_name = "FILE")]
    pub slurm_config: Option<PathBuf>,
    /// Overrides one Slurm setting: KIND.FIELD=VALUE (e.g. train.time=02:00:00) or FIELD=VALUE.
    #[arg(long, value_name = "KIND.FIELD=VALUE")]
    pub slurm_set: Vec<String>,
    /// Trainings in flight on the GPU at once [default: from the device's
    /// free memory and each model's estimate; the choice is printed].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub gpu_jobs: Option<u16>,
}

impl ExecutorArgs {
    /// The Slurm settings these options name.
    pub fn settings(&self) -> anyhow::Result<slurm::Settings> {
        let path = self
            .slurm_config
            .clone()
            .unwrap_or_else(slurm::config::default_path);
        Ok(slurm::config::load(&path, &self.slurm_set)?)
    }

    /// The executor the options choose: the local one with `jobs` CPU
    /// threads (all cores by default), or Slurm's. `stop` stops the local
    /// run cooperatively, or detaches from the Slurm jobs.
    pub fn executor(
        &self,
        jobs: Option<usize>,
        mode: Mode,
        stop: StopFlag,
    ) -> anyhow::Result<Box<dyn Executor>> {
        if self.executor == ExecutorKind::Local {
            let mut local = LocalExecutor::all_cores(mode);
            local.jobs = jobs.unwrap_or(local.jobs);
            if let Some(n) = self.gpu_jobs {
                local.device_slots = DeviceSlots::Fixed(usize::from(n));
            }
            local.stop = stop;
            return Ok(Box::new(local));
        }
        if self.gpu_jobs.is_some() {
            anyhow::bail!(
                "--gpu-jobs applies to `--executor local`: a Slurm element runs its trainings \
                 at once, as many as its node's GPU memory and its `cpus` allow; set \
                 `[kinds.train] shard` (trainings per element) and `cpus` instead"
            );
        }
        Ok(Box::new(SlurmExecutor {
            settings: self.settings()?,
            slurm: std::sync::Arc::new(SlurmCommands),
            binary: std::env::current_exe().context("finding the tempora binary to copy")?,
            detach: self.detach,
            interrupt: stop,
            workdir: std::env::current_dir().context("reading the current directory")?,
        }))
    }
}
