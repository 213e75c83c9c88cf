//! `tempora datasets`: look at datasets without training anything.
//!
//! - `tempora datasets synth --size small --out DIR [--seed S]` writes the
//!   embedded synthetic corpus as `DIR/<Class>/synth-NNNN.wav` so people can
//!   listen to it (and load it back as `folder:DIR`).
//! - `tempora datasets show <dataset>` prints classes and track counts.
//! - `tempora datasets verify ballroom:/path` (or `gtzan:/path`) compares a
//!   local copy with the canonical checksums: exit 0 only for an exact copy.
//!
//! Owns only the command-line surface; generation and listing live in
//! `tempora::dataset`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tempora::audio::write;
use tempora::dataset::canonical::{self, Md5Index, Verification};
use tempora::dataset::corpus_files::write_corpus;
use tempora::dataset::synthetic::DEFAULT_SEED;
use tempora::dataset::{DatasetSource, SyntheticSize, TrackSource};

/// Arguments of `tempora datasets`.
#[derive(Debug, clap::Args)]
pub struct DatasetsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DatasetsCommand,
}

/// The `datasets` sub-commands.
#[derive(Debug, clap::Subcommand)]
pub enum DatasetsCommand {
    /// Write the embedded synthetic corpus as wav files (DIR/<Class>/synth-NNNN.wav).
    ///
    /// The files can be listened to, and loaded back as the dataset `folder:DIR`.
    Synth(SynthArgs),
    /// Print a dataset's classes and track counts.
    ///
    /// DATASET is `synthetic:tiny|small|full[@seed]`, `ballroom:/path/to/BallroomData`
    /// (or `ballroom` with TEMPORA_BALLROOM set), `gtzan:/path` or `folder:/path`.
    Show(ShowArgs),
    /// Compare a local Ballroom or GTZAN copy with the canonical checksums.
    ///
    /// Every excerpt of the bundled index (mirdata's: folder, file, MD5) is
    /// matching, differing (same name, other bytes: a re-encoded or edited
    /// copy) or missing; audio files no excerpt names are extra. Exit status
    /// 0 only for an exact copy, 1 otherwise.
    Verify(VerifyArgs),
}

/// Arguments of `tempora datasets verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The copy: `ballroom:/path/to/BallroomData` or `gtzan:/path/to/genres`.
    pub dataset: DatasetSource,
    /// List every missing, differing and extra file (default: the first 10 of each).
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `tempora datasets synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Corpus size: tiny (8 × 6 × 12 s), small (8 × 25 × 30 s) or full (698 × 30 s).
    #[arg(long, default_value = "small")]
    pub size: SyntheticSize,
    /// Output directory (created if needed; existing clips are overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Corpus seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Sample format of the wav files.
    #[arg(long, value_enum, default_value_t = WavFormat::Int16)]
    pub format: WavFormat,
}

/// Sample format of written wav files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WavFormat {
    /// 16-bit integer PCM (small, plays everywhere).
    Int16,
    /// 32-bit float (bit-exact copy of the generated samples).
    Float32,
}

/// Arguments of `tempora datasets show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The dataset, e.g. `synthetic:small` or `ballroom:/data/BallroomData`.
    pub dataset: DatasetSource,
}

/// Runs `tempora datasets …`.
pub fn run(args: DatasetsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DatasetsCommand::Synth(args) => synth(args),
        DatasetsCommand::Show(args) => show(args),
        DatasetsCommand::Verify(args) => verify(args),
    }
}

fn synth(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let source = DatasetSource::Synthetic {
        size: args.size,
        seed: args.seed,
    };
    let dataset = source.load()?;
    let started = Instant::now();
    let bar = ProgressBar::new(dataset.tracks.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} clips ({eta} left)")?
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("writing {source}"));
    let format = match args.format {
        WavFormat::Int16 => write::WavFormat::Int16,
        WavFormat::Float32 => write::WavFormat::Float32,
    };
    let written = write_corpus(&dataset, &args.out, format, &|| bar.inc(1))
        .with_context(|| format!("writing the corpus to {}", args.out.display()))?;
    bar.finish_and_clear();
    for (id, err) in &written.failed {
        eprintln!("{id}: {err}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "wrote {} clips ({:.1} min of audio) to {} in {elapsed:.1} s ({:.0}× real time); \
         load them back as the dataset folder:{}",
        written.clips,
        written.seconds / 60.0,
        args.out.display(),
        written.seconds / elapsed.max(1e-9),
        args.out.display(),
    );
    if !written.failed.is_empty() {
        eprintln!("{} clip(s) could not be written", written.failed.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let dataset = args.dataset.load()?;
    let counts = dataset.class_counts();
    println!(
        "{}: {} classes, {} tracks",
        dataset.name,
        dataset.classes.len(),
        dataset.tracks.len()
    );
    println!(
        "{:<16} {:>7} {:>9} {:>14}",
        "class", "tracks", "seconds", "tempo (BPM)"
    );
    for (label, (class, count)) in dataset.classes.iter().zip(&counts).enumerate() {
        let clips = dataset
            .tracks
            .iter()
            .filter(|t| t.label == label)
            .filter_map(|t| match &t.source {
                TrackSource::Synthetic(clip) => Some(clip),
                TrackSource::File(_) => None,
            });
        let (mut seconds, mut lo, mut hi) = (0.0f64, f64::INFINITY, 0.0f64);
        for clip in clips {
            let bpm = clip.plan().bpm;
            seconds += clip.seconds;
            (lo, hi) = (lo.min(bpm), hi.max(bpm));
        }
        if seconds > 0.0 {
            println!(
                "{class:<16} {count:>7} {seconds:>9.0} {:>14}",
                format!("{lo:.0}–{hi:.0}")
            );
        } else {
            // Durations of files need decoding; `tempora features` reports them.
            println!("{class:<16} {count:>7} {:>9} {:>14}", "-", "-");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let found = canonical::of_source(&args.dataset, &mut Md5Index::default())
        .with_context(|| format!("reading {}", args.dataset))?;
    let Some(v) = found else {
        anyhow::bail!(
            "{} has no canonical checksums; `datasets verify` knows ballroom:/path and \
             gtzan:/path",
            args.dataset
        );
    };
    println!(
        "{}: compared with the {} canonical checksums of {} in {:.1} s",
        args.dataset,
        v.expected,
        v.collection,
        started.elapsed().as_secs_f64()
    );
    let limit = if args.all { usize::MAX } else { 10 };
    print_group("matching", &v.matching, 0);
    print_group("missing", &v.missing, limit);
    print_group("differing (same name, other bytes)", &v.differing, limit);
    print_group("extra (not in the index)", &v.extra, limit);
    println!("{}", v.summary());
    Ok(exit_status(&v))
}

fn print_group(what: &str, names: &[String], limit: usize) {
    println!("  {what}: {}", names.len());
    for name in names.iter().take(limit) {
        println!("    {name}");
    }
    if names.len() > limit && limit > 0 {
        println!("    … {} more (--all lists them)", names.len() - limit);
    }
}

fn exit_status(v: &Verification) -> ExitCode {
    if v.is_exact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
