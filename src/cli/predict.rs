//! `tempora predict PACKAGE INPUT...`: classifies recordings (files, or
//! folders walked for wav/flac/mp3/ogg) with a model package: per recording
//! the song-level class by majority vote over chunks and the mean softmax
//! per class; `--chunks` adds every chunk's prediction.
//!
//! Output: a table (default), `--format json` (one object: the package and
//! every prediction) or `--format csv` (one row per recording, `level` =
//! `song`, plus one per chunk with `--chunks`, `level` = `chunk`).
//!
//! A file that cannot be classified prints one `error:` line on stderr and
//! the others still predict. Exit codes: 0 when every file was classified,
//! 1 when some failed, 2 when the package cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use tempora::device::DeviceChoice;
use tempora::package::{self, Manifest, Package, Prediction};

use super::args::{parse_device, resolve_device};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON object.
    Json,
    /// CSV rows.
    Csv,
}

/// Arguments of `tempora predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A package directory written by `tempora export`.
    pub package: PathBuf,
    /// Audio files or folders (searched recursively for wav, flac, mp3, ogg).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Also show every chunk's prediction.
    #[arg(long)]
    pub chunks: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write each recording's network input (its standardised chunks,
    /// `[chunks, bands, frames]`, tensor `input`) to
    /// `DIR/<file name>.input.safetensors`, e.g. to check the package in
    /// another framework (`benches/pytorch_reference.py package`).
    #[arg(long, value_name = "DIR")]
    pub save_inputs: Option<PathBuf>,
    /// Where the network runs: `cpu`, `cuda`, `cuda:N` or `auto`.
    #[arg(long, value_name = "DEVICE", default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceChoice,
}

/// Runs `tempora predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let loaded = Package::load(&args.package)
        .with_context(|| format!("loading the package {}", args.package.display()))?;
    let manifest = loaded.manifest.clone();
    let device = resolve_device(args.device)?;
    let files = package::predict::collect_inputs(&args.inputs).context("listing the inputs")?;
    if files.is_empty() {
        anyhow::bail!("no audio files (wav, flac, mp3, ogg) among the inputs");
    }
    let bar = ProgressBar::new(files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let tick = |_: &std::path::Path| bar.inc(1);
    let results = package::predict_files(loaded, &files, device, &tick)
        .context("loading the package's network")?;
    bar.finish_and_clear();
    let mut predictions = Vec::new();
    let mut failed = 0;
    for result in results {
        match result {
            Ok(p) => predictions.push(p),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if let Some(dir) = &args.save_inputs {
        let again = Package::load(&args.package)
            .with_context(|| format!("loading the package {}", args.package.display()))?;
        let written = package::predict::save_model_inputs(again, &files, dir)
            .context("writing the network inputs")?;
        eprintln!(
            "wrote {} network inputs to {}",
            written.len(),
            dir.display()
        );
    }
    if !args.chunks {
        predictions.iter_mut().for_each(|p| p.chunks.clear());
    }
    let text = match args.format {
        Format::Table => table(&manifest, &predictions, args.chunks),
        Format::Json => json(&manifest, &predictions)?,
        Format::Csv => csv(&manifest, &predictions),
    };
    print!("{text}");
    if failed > 0 {
        eprintln!("{failed} of {} files could not be classified", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn percent(p: f64) -> String {
    format!("{:.1}", 100.0 * p)
}

/// Recording, class, chunk count, then the mean probability (%) per class.
fn table(m: &Manifest, predictions: &[Prediction], chunks: bool) -> String {
    let width = predictions
        .iter()
        .map(|p| p.path.display().to_string().chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let class_width = m
        .class_names
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let cols: Vec<usize> = m
        .class_names
        .iter()
        .map(|c| c.chars().count().max(5))
        .collect();
    let mut out = format!(
        "{} (hop {}, fold {}): class by majority vote over chunks; % = mean softmax over chunks\n\n",
        m.model, m.hop, m.fold
    );
    out.push_str(&format!(
        "{:<width$}  {:<class_width$}  {:>6}",
        "file", "class", "chunks"
    ));
    for (name, w) in m.class_names.iter().zip(&cols) {
        out.push_str(&format!("  {name:>w$}"));
    }
    out.push('\n');
    for p in predictions {
        let n: u32 = p.votes.iter().sum();
        let file = p.path.display().to_string();
        out.push_str(&format!(
            "{file:<width$}  {:<class_width$}  {n:>6}",
            p.class
        ));
        for (prob, w) in p.probabilities.iter().zip(&cols) {
            out.push_str(&format!("  {:>w$}", percent(*prob)));
        }
        out.push('\n');
        if chunks {
            for c in &p.chunks {
                let at = format!("  @ {:.2} s", c.start_seconds);
                out.push_str(&format!(
                    "{at:<width$}  {:<class_width$}  {:>6}",
                    c.class, ""
                ));
                for (prob, w) in c.probabilities.iter().zip(&cols) {
                    out.push_str(&format!("  {:>w$}", percent(*prob)));
                }
                out.push('\n');
            }
        }
    }
    out
}

fn json(m: &Manifest, predictions: &[Prediction]) -> anyhow::Result<String> {
    let value = serde_json::json!({
        "package": {
            "model": m.model,
            "hop": m.hop,
            "fold": m.fold,
            "class_names": m.class_names,
            "spec_hash": m.provenance.spec_hash,
        },
        "predictions": predictions,
    });
    let mut text = serde_json::to_string_pretty(&value).context("encoding the predictions")?;
    text.push('\n');
    Ok(text)
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv(m: &Manifest, predictions: &[Prediction]) -> String {
    let names: Vec<String> = m.class_names.iter().map(|c| field(c)).collect();
    let mut out = format!("path,level,start_seconds,class,{}\n", names.join(","));
    let row = |path: &str, level: &str, start: f64, class: &str, probs: &[f64]| {
        let probs: Vec<String> = probs.iter().map(|p| p.to_string()).collect();
        format!(
            "{},{level},{start},{},{}\n",
            field(path),
            field(class),
            probs.join(",")
        )
    };
    for p in predictions {
        let path = p.path.display().to_string();
        out.push_str(&row(&path, "song", 0.0, &p.class, &p.probabilities));
        for c in &p.chunks {
            out.push_str(&row(
                &path,
                "chunk",
                c.start_seconds,
                &c.class,
                &c.probabilities,
            ));
        }
    }
    out
}
