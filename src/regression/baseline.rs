//! Reading a baseline: a report's per-fold results (`results.json`,
//! `results.csv`: one row per (model, hop, fold)) or its `summary.csv` (one
//! row per (model, hop): mean and sample standard deviation over folds).
//! Rows keep the file's order of first appearance.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::RegressionError;
use crate::stats::mean_sd;

/// One (model, hop) of a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRow {
    /// Model name.
    pub model: String,
    /// Chunk hop.
    pub hop: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Song accuracy per fold (per-fold baselines; `None` for a summary).
    pub folds: Option<BTreeMap<usize, f64>>,
    /// Folds with results.
    pub folds_run: usize,
    /// Mean song accuracy over those folds (0..1).
    pub song_mean: f64,
    /// Sample standard deviation over folds (`None` with one fold).
    pub song_std: Option<f64>,
}

/// An earlier experiment's results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Baseline {
    /// One row per (model, hop) with results.
    pub rows: Vec<BaselineRow>,
}

/// One row of `results.json` / `results.csv` (other columns ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct FoldRow {
    model: String,
    hop: usize,
    fold: usize,
    params: usize,
    song_accuracy: f64,
}

fn format_error(path: &Path, what: String) -> RegressionError {
    RegressionError::Format {
        path: path.to_owned(),
        what,
    }
}

/// Reads a baseline: `.json` is `results.json`; `.csv` is `results.csv` or
/// `summary.csv`, told apart by the header.
pub fn read_baseline(path: &Path) -> Result<Baseline, RegressionError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegressionError::Io {
        path: path.to_owned(),
        source,
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let baseline = if is_json {
        let rows: Vec<FoldRow> = serde_json::from_str(&text)
            .map_err(|e| format_error(path, format!("not a results.json: {e}")))?;
        from_folds(rows, path)?
    } else {
        let table = parse_csv(&text);
        let header = table
            .first()
            .ok_or_else(|| format_error(path, "empty file".into()))?;
        if header.iter().any(|h| h == "fold") {
            from_folds(fold_rows(&table, path)?, path)?
        } else {
            summary_rows(&table, path)?
        }
    };
    if baseline.rows.is_empty() {
        return Err(format_error(path, "no results in it".into()));
    }
    Ok(baseline)
}

fn from_folds(rows: Vec<FoldRow>, path: &Path) -> Result<Baseline, RegressionError> {
    let mut out: Vec<BaselineRow> = Vec::new();
    for r in rows {
        let index = match out
            .iter()
            .position(|b| b.model == r.model && b.hop == r.hop)
        {
            Some(i) => i,
            None => {
                out.push(BaselineRow {
                    model: r.model.clone(),
                    hop: r.hop,
                    params: r.params,
                    folds: Some(BTreeMap::new()),
                    folds_run: 0,
                    song_mean: 0.0,
                    song_std: None,
                });
                out.len() - 1
            }
        };
        let row = &mut out[index];
        let folds = row.folds.get_or_insert_with(BTreeMap::new);
        if folds.insert(r.fold, r.song_accuracy).is_some() {
            return Err(format_error(
                path,
                format!(
                    "model `{}` hop {} fold {} appears twice",
                    r.model, r.hop, r.fold
                ),
            ));
        }
    }
    for row in &mut out {
        let values: Vec<f64> = row.folds.iter().flat_map(|f| f.values().copied()).collect();
        let (mean, sd) = mean_sd(&values);
        row.folds_run = values.len();
        row.song_mean = mean;
        row.song_std = sd;
    }
    Ok(Baseline { rows: out })
}

/// A CSV text as rows of fields (quoted fields with `""` escapes; no line
/// breaks inside fields, which reports never write).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        field.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(std::mem::take(&mut field)),
                    _ => field.push(c),
                }
            }
            fields.push(field);
            fields
        })
        .collect()
}

/// Column lookup over a parsed CSV with a header.
struct Columns<'a> {
    header: &'a [String],
    path: &'a Path,
}

impl Columns<'_> {
    fn get<'r>(&self, row: &'r [String], name: &str) -> Result<&'r str, RegressionError> {
        let i = self
            .header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format_error(self.path, format!("no column `{name}`")))?;
        row.get(i)
            .map(String::as_str)
            .ok_or_else(|| format_error(self.path, format!("a row has no `{name}` field")))
    }

    fn parse<T: std::str::FromStr>(
        &self,
        row: &[String],
        name: &str,
    ) -> Result<T, RegressionError> {
        let text = self.get(row, name)?;
        text.parse().map_err(|_| {
            format_error(
                self.path,
                format!("column `{name}`: {text:?} is not a number"),
            )
        })
    }
}

fn fold_rows(table: &[Vec<String>], path: &Path) -> Result<Vec<FoldRow>, RegressionError> {
    let cols = Columns {
        header: &table[0],
        path,
    };
    table[1..]
        .iter()
        .map(|row| {
            Ok(FoldRow {
                model: cols.get(row, "model")?.to_owned(),
                hop: cols.parse(row, "hop")?,
                fold: cols.parse(row, "fold")?,
                params: cols.parse(row, "params")?,
                song_accuracy: cols.parse(row, "song_accuracy")?,
            })
        })
        .collect()
}

fn summary_rows(table: &[Vec<String>], path: &Path) -> Result<Baseline, RegressionError> {
    let cols = Columns {
        header: &table[0],
        path,
    };
    let mut rows = Vec::new();
    for row in &table[1..] {
        let folds_run: usize = cols.parse(row, "folds_run")?;
        if folds_run == 0 {
            continue; // planned but never run: nothing to compare against
        }
        let std = cols.get(row, "song_accuracy_std")?;
        rows.push(BaselineRow {
            model: cols.get(row, "model")?.to_owned(),
            hop: cols.parse(row, "hop")?,
            params: cols.parse(row, "params")?,
            folds: None,
            folds_run,
            song_mean: cols.parse(row, "song_accuracy_mean")?,
            song_std: if std.is_empty() {
                None
            } else {
                Some(cols.parse(row, "song_accuracy_std")?)
            },
        });
    }
    Ok(Baseline { rows })
}
