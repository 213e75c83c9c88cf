//! `tempora features`: the paper's log-compressed mel spectrogram of one audio file,
//! written as a `.npy` so it can be compared with other tools.
//!
//! `tempora features <AUDIO FILE> --out FILE.npy` writes a `frames × 40` float32
//! matrix (before dataset normalisation). INPUT that is not an existing file is a
//! dataset spec (`synthetic:…`, `folder:…`, `ballroom:…`), the dataset form.

mod dataset;

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use tempora::features::{file_to_mel, write_npy, FeatureConfig, Recording};

/// Arguments of `tempora features`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tempora features synthetic:small        # every track, cached, with a summary\n  tempora features song.wav --out song.npy\n  \
python -c \"import numpy; print(numpy.load('song.npy').shape)\"  # (frames, 40)"
)]
pub struct FeaturesArgs {
    /// An audio file (wav, flac, mp3, ogg/vorbis) — or a dataset spec.
    pub input: String,
    /// Output .npy for a single file: frames × bands, float32, C order, written
    /// atomically (temp file + rename).
    #[arg(long, value_name = "FILE.npy")]
    pub out: Option<PathBuf>,
    /// TOML file overriding feature settings (fields of FeatureConfig, e.g.
    /// `mel_bands = 96`); defaults are the paper's.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Dataset form: the cache directory.
    #[arg(long, value_name = "DIR", default_value = super::args::DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// Dataset form: worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

/// Runs `tempora features`.
pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let input = Path::new(&args.input);
    if !input.is_file() {
        if args.out.is_some() || args.config.is_some() {
            bail!(
                "{} is not an existing audio file; --out and --config apply to a single file \
                 (the dataset form writes into the cache)",
                args.input
            );
        }
        return dataset::run(dataset::FeaturesDatasetArgs {
            dataset: args.input,
            cache: args.cache,
            jobs: args.jobs,
        });
    }
    let Some(out) = args.out.as_deref() else {
        bail!("a single audio file needs --out FILE.npy to say where its features go");
    };
    let cfg = load_config(args.config.as_deref())?;
    single_file(input, out, &cfg)?;
    Ok(ExitCode::SUCCESS)
}

fn load_config(path: Option<&Path>) -> anyhow::Result<FeatureConfig> {
    let Some(path) = path else {
        return Ok(FeatureConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read feature config {}", path.display()))?;
    let cfg: FeatureConfig = toml::from_str(&text)
        .with_context(|| format!("invalid feature config {}", path.display()))?;
    cfg.validate()
        .with_context(|| format!("invalid feature config {}", path.display()))?;
    Ok(cfg)
}

/// Computes the features of `input` with the front end
/// ([`tempora::features::file_to_mel`]) and writes them to `out` atomically.
fn single_file(input: &Path, out: &Path, cfg: &FeatureConfig) -> anyhow::Result<()> {
    let Recording { mel: spec, seconds } = file_to_mel(input, cfg)
        .with_context(|| format!("computing features of {}", input.display()))?;

    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    write_npy(&spec, BufWriter::new(tmp.as_file()))
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(out)
        .with_context(|| format!("cannot move the features into {}", out.display()))?;
    eprintln!(
        "{}: {:.2} s at {} Hz -> {} frames x {} bands -> {}",
        input.display(),
        seconds,
        cfg.sample_rate,
        spec.frames,
        spec.bands,
        out.display()
    );
    Ok(())
}
