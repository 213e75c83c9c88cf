//! The sweep view of a report: for each key a `[sweep]` varies, song-level
//! accuracy against the swept value, one table per hop. Rows are the base
//! models (with any other swept settings), columns the key's values in the
//! order the spec lists them, cells mean ± sample std over folds as in the
//! results table.
//!
//! Must not know polars or plotting: it renders a [`Table`].

use std::fmt::Write as _;

use super::frame::Table;
use super::table::{markdown_grid, ours_text, MISSING};
use super::ReportInput;

/// One row of a sweep table: a base model with the other swept settings, and
/// the table row of each value of the key.
struct SweepRow {
    label: String,
    rows_by_value: Vec<(String, usize)>,
}

/// Swept keys in order of first appearance.
fn swept_keys(input: &ReportInput) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in input
        .models
        .iter()
        .filter_map(|m| m.sweep.as_ref())
        .flat_map(|s| &s.settings)
    {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    keys
}

/// The values of `key` in order of first appearance, and one row per base
/// model and combination of the other settings.
fn rows_of_key(input: &ReportInput, key: &str) -> (Vec<String>, Vec<SweepRow>) {
    let mut values: Vec<String> = Vec::new();
    let mut rows: Vec<SweepRow> = Vec::new();
    for (index, model) in input.models.iter().enumerate() {
        let Some(sweep) = &model.sweep else { continue };
        let Some((_, value)) = sweep.settings.iter().find(|(k, _)| k == key) else {
            continue;
        };
        if !values.contains(value) {
            values.push(value.clone());
        }
        let others: Vec<String> = sweep
            .settings
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let label = if others.is_empty() {
            sweep.base.clone()
        } else {
            format!("{} [{}]", sweep.base, others.join(", "))
        };
        match rows.iter_mut().find(|r| r.label == label) {
            Some(row) => row.rows_by_value.push((value.clone(), index)),
            None => rows.push(SweepRow {
                label,
                rows_by_value: vec![(value.clone(), index)],
            }),
        }
    }
    (values, rows)
}

/// The `## Sweep` section of `report.md`; empty when the spec has no sweep.
pub(crate) fn render_sweep_md(table: &Table, input: &ReportInput) -> String {
    let keys = swept_keys(input);
    if keys.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Sweep: accuracy against each swept value\n\n\
         Song-level accuracy in %, mean ± sample std over folds, one table per swept key and \
         hop; rows are the base models (with the other swept settings), columns the key's values \
         in spec order.\n",
    );
    for key in keys {
        let (values, rows) = rows_of_key(input, key);
        for (h, hop) in table.hops.iter().enumerate() {
            let planned = rows
                .iter()
                .flat_map(|r| &r.rows_by_value)
                .any(|&(_, i)| table.rows.get(i).is_some_and(|row| row.cells[h].planned));
            if !planned {
                continue;
            }
            let mut header = vec!["Model".to_owned()];
            header.extend(values.iter().map(|v| format!("{key} = {v}")));
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut cells = vec![r.label.clone()];
                    for value in &values {
                        let cell = r
                            .rows_by_value
                            .iter()
                            .find(|(v, _)| v == value)
                            .and_then(|&(_, i)| table.rows.get(i))
                            .map_or_else(|| MISSING.to_owned(), |row| ours_text(&row.cells[h]));
                        cells.push(cell);
                    }
                    cells
                })
                .collect();
            let _ = write!(
                out,
                "\n### `{key}`, hop {hop}\n\n{}",
                markdown_grid(&header, &body)
            );
        }
    }
    out
}
