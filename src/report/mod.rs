//! Reports: every run's test metrics of an experiment, aggregated with polars
//! into a results table (Markdown, CSV, JSON) beside any paper numbers the
//! spec quotes (Table 1's, for `experiments/table1.toml`), a sweep view when
//! the spec sweeps, plus plots (plotters, PNG and SVG). Title, description and
//! quoted reference rows come from the spec.
//!
//! # Data flow
//!
//! ```text
//! ReportInput ──validate──▶ per-fold DataFrame ──group by (model, hop)──▶ Table
//!  (provenance, models      (results.csv/.json)     mean ± sample std       │
//!   in spec order, paper                                                    ├─▶ report.md, summary.csv
//!   numbers, runs)                                                          ├─▶ plots (PNG + SVG)
//!                                                                           └─▶ terminal text
//! ```
//!
//! The caller gathers a [`ReportInput`] (from the cache, a fixture, memory) and
//! calls [`write_report`]; [`render_table_text`] gives the table for a
//! terminal. A report is a pure function of its input: no clock, no host
//! name, no file-system walk, so the same input gives the same bytes.
//!
//! # Files of `reports/<experiment>/`
//!
//! | file | content |
//! |---|---|
//! | `report.md` | title and description from the spec, provenance header, the results table (ours beside the paper's when the spec quotes any), the sweep view, which rows ran, the column legend below |
//! | `results.csv`, `results.json` | one row per (model, hop, fold): [`frame::PER_FOLD_COLUMNS`] |
//! | `findings.json` | each `[[claim]]` of the spec tested per hop ([`findings::Finding`]); only when the spec states claims |
//! | `summary.csv` | one row per planned (model, hop): [`frame::SUMMARY_COLUMNS`] |
//! | `accuracy_vs_params`, `confusion`, `training_curves`, `filters` (`.png` + `.svg`) | see `src/report/plot/mod.rs` |
//!
//! The directory is replaced as a whole or not at all (see `write.rs`).
//!
//! # Honesty rules
//!
//! - An "ours" cell is computed from runs only; a (model, hop) without runs
//!   shows `—`, never a paper number.
//! - Partial results say how many folds they average: `(3/10 folds)`.
//! - Reference rows (`[[reference]]`, Table 1's Marchand et al.) say "not
//!   reproduced" in every "ours" cell.
//! - No paper number quoted: no paper or Δ column.
//! - Standard deviations are *sample* standard deviations over folds
//!   (divisor n − 1); with one fold there is none.
//!
//! Must not know training internals, the cache layout or the spec format.

pub mod findings;
pub mod frame;
pub mod input;
pub mod table;

mod figures;
mod plot;
mod sweep;
mod write;

use std::path::{Path, PathBuf};

pub use figures::{best_model, best_model_among};
pub use frame::{HopSummary, Table, TableRow};
pub use input::{
    EpochRow, FilterGroupWeights, FilterWeights, ReportInput, RunMetrics, RunOutput, SongRow,
};

/// The report's Markdown file in `reports/<experiment>/`.
pub const REPORT_FILE: &str = "report.md";

/// The Findings as JSON (one object per claim and hop), when the spec states claims.
pub const FINDINGS_FILE: &str = "findings.json";

/// What every column of `report.md` (and the terminal table) means. The README
/// quotes it.
pub const LEGEND: &str = "\
- **Model**: the model's name as in the spec, rows in spec order. Paper-only rows \
(Marchand et al.) are methods the paper quotes and tempora does not run; they are marked \
\"not reproduced\".
- **#params ours**: trainable parameters of our model, counted from its architecture \
(weights and biases of the filter banks and dense layers).
- **#params paper**: the parameter count the paper prints; — when the paper has none.
- **hop H ours**: our song-level accuracy at chunk hop H (frames), in %: the mean over \
cross-validation folds of the share of test songs whose majority vote over their chunks is \
right, ± the *sample* standard deviation over folds (divisor n − 1). `(k/n folds)` marks a mean \
over only k of the n planned folds. — means no run of this model at this hop has finished \
(or the spec does not run it at this hop): it is never filled with a paper number.
- **hop H paper**: the paper's mean song-level accuracy at hop H, in %; — when the paper \
reports none. † marks a paper-only method the paper quotes once, whatever the hop.
- **hop H Δ**: ours − paper, in percentage points; — unless both exist.
- Per-fold numbers (chunk- and song-level accuracy, balanced song-level accuracy, epochs run, \
best epoch, training seconds, device) are in `results.csv`/`results.json`; per-(model, hop) \
aggregates, chunk-level and balanced accuracy included, in `summary.csv`. **Balanced \
accuracy** is the mean over classes of each class's share of test songs predicted right \
(per-class recall): on an unbalanced dataset it weighs a small class as much as a large one. \
The table itself shows plain song-level accuracy.
";

/// Errors of building or writing a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The input's pieces disagree (unknown model, duplicate run, …).
    #[error("report input: {0}")]
    Input(String),
    /// Polars failed while building or writing a table.
    #[error("building the results table failed: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    /// Reading or writing a file failed.
    #[error("{}: {source} (check that the directory is writable and the disk not full)", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("drawing plot `{plot}` failed: {message}")]
    Plot {
        /// Plot file stem.
        plot: &'static str,
        /// What the plotting library said.
        message: String,
    },
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// The report directory.
    pub dir: PathBuf,
    /// Names of the files written in it, in writing order.
    pub files: Vec<String>,
    /// Table 1 as numbers.
    pub table: Table,
    /// Table 1 as terminal text ([`render_table_text`]).
    pub text: String,
    /// Plots left out, one line each with the reason.
    pub skipped_plots: Vec<String>,
}

/// Builds Table 1 from `input` (validated first).
pub fn build_table(input: &ReportInput) -> Result<Table, ReportError> {
    input.validate()?;
    frame::build_table(input, &frame::per_fold_frame(input)?)
}

/// Table 1 as plain text for the terminal (`just reproduce` prints it).
pub fn render_table_text(input: &ReportInput) -> Result<String, ReportError> {
    Ok(table::render_text(&build_table(input)?, input))
}

/// Writes the report of `input` to `out_dir` (e.g. `reports/<experiment>`),
/// replacing any previous report there as a whole; on error the previous
/// report is left as it was and nothing else remains.
pub fn write_report(input: &ReportInput, out_dir: &Path) -> Result<ReportSummary, ReportError> {
    input.validate()?;
    let per_fold = frame::per_fold_frame(input)?;
    let table = frame::build_table(input, &per_fold)?;
    let mut staged = write::StagedDir::new(out_dir)?;
    staged.write(
        REPORT_FILE,
        table::render_report_md(&table, input).as_bytes(),
    )?;
    staged.write_csv("results.csv", &per_fold)?;
    staged.write_json("results.json", &per_fold)?;
    staged.write_csv("summary.csv", &frame::summary_frame(&table)?)?;
    if !input.claims.is_empty() {
        let json = serde_json::to_vec_pretty(&findings::evaluate(input))
            .map_err(|e| ReportError::Input(format!("encoding the findings: {e}")))?;
        staged.write(FINDINGS_FILE, &json)?;
    }
    let skipped_plots = figures::write_figures(input, &table, &mut staged)?;
    let (dir, files) = staged.commit()?;
    let text = table::render_text(&table, input);
    Ok(ReportSummary {
        dir,
        files,
        table,
        text,
        skipped_plots,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_quotes_the_column_legend() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(super::LEGEND.trim_end()),
            "README.md must quote report::LEGEND verbatim (section \"The report\"); update it"
        );
    }
}
