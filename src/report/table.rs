//! Rendering the results table: `report.md` (title, description, header,
//! table, sweep view, which rows ran, legend) and the plain-text table printed
//! to the terminal (`just reproduce`).
//!
//! Every "ours" cell is computed from runs; a (model, hop) without runs shows
//! [`MISSING`], never a paper number. Paper numbers appear only in "paper"
//! columns and in paper-only rows, whose "ours" cells say
//! [`NOT_REPRODUCED`]. An experiment that quotes no paper number (no model's
//! `paper`, no `[[reference]]`) gets no paper or Δ columns at all.
//!
//! Must not know polars or plotting: it renders a [`Table`].

use std::fmt::Write as _;

use super::frame::{HopSummary, Table};
use super::{findings, sweep, ReportInput, LEGEND};

/// What an "ours" (or any) cell shows when there is no value.
pub const MISSING: &str = "—";

/// What an "ours" cell of a paper-only row shows.
pub const NOT_REPRODUCED: &str = "not reproduced";

/// Accuracy as a percentage with two decimals, as the paper prints it.
fn percent(fraction: f64) -> String {
    format!("{:.2}", 100.0 * fraction)
}

/// A signed difference in percentage points (`+1.23`, `−0.50`).
fn points(fraction: f64) -> String {
    let value = 100.0 * fraction;
    if value < 0.0 {
        format!("−{:.2}", -value)
    } else {
        format!("+{value:.2}")
    }
}

/// Thousands separators, as the paper prints parameter counts (`92,808`).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Our cell: `mean ± std`, with `(k/n folds)` when not every fold ran.
pub fn ours_text(cell: &HopSummary) -> String {
    let Some(mean) = cell.song_mean else {
        return MISSING.to_owned();
    };
    let mut text = percent(mean);
    if let Some(std) = cell.song_std {
        text.push_str(&format!(" ± {}", percent(std)));
    }
    if cell.folds_run < cell.folds_planned {
        text.push_str(&format!(
            " ({}/{} folds)",
            cell.folds_run, cell.folds_planned
        ));
    }
    text
}

/// Header and body cells of the results table, as strings, in column order
/// (paper and Δ columns only when the experiment quotes a paper).
fn table_cells(table: &Table, input: &ReportInput) -> (Vec<String>, Vec<Vec<String>>) {
    if !input.quotes_papers() {
        let mut header = vec!["Model".to_owned(), "#params".to_owned()];
        header.extend(table.hops.iter().map(|hop| format!("hop {hop}")));
        let body = table
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![row.model.clone(), thousands(row.params)];
                cells.extend(row.cells.iter().map(ours_text));
                cells
            })
            .collect();
        return (header, body);
    }
    let mut header = vec![
        "Model".to_owned(),
        "#params ours".to_owned(),
        "#params paper".to_owned(),
    ];
    for hop in &table.hops {
        header.push(format!("hop {hop} ours"));
        header.push(format!("hop {hop} paper"));
        header.push(format!("hop {hop} Δ"));
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| MISSING.to_owned());
    let mut body = Vec::new();
    for row in &table.rows {
        let mut cells = vec![
            row.model.clone(),
            thousands(row.params),
            opt(row.paper_params.map(thousands)),
        ];
        for cell in &row.cells {
            cells.push(ours_text(cell));
            cells.push(opt(cell.paper.map(percent)));
            cells.push(opt(cell.difference.map(points)));
        }
        body.push(cells);
    }
    for paper_only in &input.paper_only {
        let mut cells = vec![
            format!("{} ({NOT_REPRODUCED})", paper_only.name),
            MISSING.to_owned(),
            MISSING.to_owned(),
        ];
        for _ in &table.hops {
            cells.push(NOT_REPRODUCED.to_owned());
            cells.push(format!("{} †", percent(paper_only.accuracy)));
            cells.push(MISSING.to_owned());
        }
        body.push(cells);
    }
    (header, body)
}

/// Column widths in characters (not bytes: `±`, `—`, `Δ` are one column).
fn widths(header: &[String], body: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    widths
}

fn pad(text: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(text.chars().count()));
    if right {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// One row's cells padded to `widths` (the first, the name, left-aligned;
/// numbers right-aligned).
fn padded(cells: &[String], widths: &[usize]) -> Vec<String> {
    cells
        .iter()
        .zip(widths)
        .enumerate()
        .map(|(i, (c, &w))| pad(c, w, i > 0))
        .collect()
}

/// Renders the results table as an aligned Markdown table (names left,
/// numbers right).
pub fn render_markdown_table(table: &Table, input: &ReportInput) -> String {
    let (header, body) = table_cells(table, input);
    markdown_grid(&header, &body)
}

/// Whether column `column` of `body` holds words rather than numbers: most
/// of its cells start with a letter (a lone "not reproduced" among numbers
/// leaves a number column right-aligned). Empty cells and cells that start
/// with [`MISSING`] do not vote.
fn is_text_column(body: &[Vec<String>], column: usize) -> bool {
    let cells: Vec<&String> = body
        .iter()
        .filter_map(|row| row.get(column))
        .filter(|c| !c.is_empty() && !c.starts_with(MISSING))
        .collect();
    let words = cells
        .iter()
        .filter(|c| c.chars().next().is_some_and(char::is_alphabetic))
        .count();
    2 * words > cells.len()
}

/// An aligned Markdown table of `header` and `body`: the first column and
/// the columns of words left-aligned, the columns of numbers right-aligned.
pub(crate) fn markdown_grid(header: &[String], body: &[Vec<String>]) -> String {
    let widths = widths(header, body);
    let left: Vec<bool> = (0..widths.len())
        .map(|i| i == 0 || is_text_column(body, i))
        .collect();
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(widths.iter().zip(&left))
            .map(|(c, (&w, &left))| pad(c, w, !left))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = line(header);
    let rule: Vec<String> = widths
        .iter()
        .zip(&left)
        .map(|(&w, &left)| {
            let dashes = "-".repeat(w.max(3));
            if left {
                format!(":{}", &dashes[1..])
            } else {
                format!("{}:", &dashes[1..])
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in body {
        out.push_str(&line(row));
    }
    out
}

/// The title line: `TITLE — experiment`, or the experiment name alone when
/// the spec gives no title of its own.
fn heading(input: &ReportInput) -> String {
    let title = input.display_title();
    if title == input.experiment {
        title.to_owned()
    } else {
        format!("{title} — {}", input.experiment)
    }
}

/// Renders the results table as plain aligned text for the terminal: a title
/// line naming the experiment, profile and dataset, then the table.
pub fn render_text(table: &Table, input: &ReportInput) -> String {
    let (header, body) = table_cells(table, input);
    let widths = widths(&header, &body);
    let line = |cells: &[String]| format!("{}\n", padded(cells, &widths).join("  ").trim_end());
    let mut out = format!(
        "{} (profile {}, dataset {} with {} tracks, device {}); \
         song-level accuracy in %, mean ± sample std over folds\n",
        heading(input),
        input.profile,
        input.dataset.name,
        input.dataset.tracks,
        input.device
    );
    for note in &input.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out.push_str(&line(&header));
    let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for row in &body {
        out.push_str(&line(row));
    }
    for f in findings::evaluate(input) {
        let compared = match (&f.model, &f.than) {
            (Some(a), Some(b)) => format!(" ({a} vs {b})"),
            _ => String::new(),
        };
        let detail = if f.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.detail)
        };
        let _ = writeln!(
            out,
            "finding: {}{compared}: {}{detail}",
            f.says,
            f.verdict.words()
        );
    }
    out
}

/// Formats seconds as `1 h 02 min 03 s`, `4 min 05 s` or `12.3 s`.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return MISSING.to_owned();
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else {
        format!("{m} min {s:02} s")
    }
}

/// The "which rows ran" section: complete, partial and missing (model, hop)
/// pairs, and the paper-only rows.
fn which_rows_ran(table: &Table, input: &ReportInput) -> String {
    let (mut complete, mut partial, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for row in &table.rows {
        for cell in row.cells.iter().filter(|c| c.planned) {
            let name = format!("{} @ hop {}", row.model, cell.hop);
            if cell.folds_run == 0 {
                missing.push(name);
            } else if cell.folds_run < cell.folds_planned {
                partial.push(format!(
                    "{name} ({}/{} folds)",
                    cell.folds_run, cell.folds_planned
                ));
            } else {
                complete.push(name);
            }
        }
    }
    // A list that ends a sentence: "none" when empty, no doubled full stop.
    let list = |items: &[String]| {
        let text = if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        };
        if text.ends_with('.') {
            text
        } else {
            text + "."
        }
    };
    let mut out = String::from("## Which rows ran\n\n");
    let _ = writeln!(
        out,
        "- Ran on all {} folds: {}",
        input.folds,
        list(&complete)
    );
    let _ = writeln!(out, "- Ran on some folds only: {}", list(&partial));
    let _ = writeln!(
        out,
        "- Planned but no results (shown as {MISSING}): {}",
        list(&missing)
    );
    if input.quotes_papers() {
        let names: Vec<String> = input.paper_only.iter().map(|p| p.name.clone()).collect();
        let _ = writeln!(out, "- Paper only, {NOT_REPRODUCED}: {}", list(&names));
    }
    out.push_str("- A hop a model is not planned at shows \u{2014} in every column of that hop.\n");
    out
}

/// The column legend for `input`: [`LEGEND`] when the experiment quotes a
/// paper; without one, the same minus every paper column.
pub fn legend(input: &ReportInput) -> String {
    if input.quotes_papers() {
        return LEGEND.to_owned();
    }
    let paper_columns = ["- **#params paper**", "- **hop H paper**", "- **hop H Δ**"];
    let mut out = String::new();
    for item in LEGEND.split("\n- ").map(|i| i.trim_start_matches("- ")) {
        let item = format!("- {}", item.trim_end());
        if paper_columns.iter().any(|p| item.starts_with(p)) {
            continue;
        }
        let item = item
            .replace("**#params ours**", "**#params**")
            .replace("**hop H ours**", "**hop H**");
        // The Model item ends with a sentence on paper-only rows.
        let item = match item.find(" Paper-only rows") {
            Some(at) => item[..at].to_owned(),
            None => item,
        };
        out.push_str(&item.replace(": it is never filled with a paper number", ""));
        out.push('\n');
    }
    out
}

/// The footnote of the reference rows: what † means, and each row's source.
fn reference_footnote(input: &ReportInput) -> String {
    let mut out = String::from(
        "\n† Paper only: the paper gives one accuracy for this method, which does not \
         cut songs into chunks, so no hop applies; it is repeated under each hop.\n",
    );
    for row in input.paper_only.iter() {
        if let Some(source) = &row.source {
            let _ = writeln!(out, "- {}: {source}", row.name);
        }
    }
    out
}

/// Renders the whole `report.md`: title, description, provenance header,
/// results table, sweep view, which rows ran, footnotes and the column legend.
pub fn render_report_md(table: &Table, input: &ReportInput) -> String {
    let mut out = format!("# {}\n\n", heading(input));
    if let Some(description) = input
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let description = description.trim_end();
        let stop = if description.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        let _ = write!(out, "{description}{stop} ");
    }
    out.push_str("Mean song-level accuracy over cross-validation folds, computed from this experiment's runs");
    out.push_str(if input.quotes_papers() {
        "; the paper's numbers are quoted beside them.\n\n"
    } else {
        ".\n\n"
    });
    let d = &input.dataset;
    let header = [
        (
            "dataset",
            format!(
                "{} ({} tracks, content hash `{}`{})",
                d.name,
                d.tracks,
                d.content_hash,
                d.canonical
                    .as_ref()
                    .map(|c| format!("; {c}"))
                    .unwrap_or_default()
            ),
        ),
        ("profile", input.profile.clone()),
        ("protocol", input.protocol.clone()),
        ("device", input.device.clone()),
        ("code version", input.code_version.clone()),
        ("spec hash", format!("`{}`", input.spec_hash)),
        ("training time", format_duration(input.wall_seconds)),
    ];
    out.push_str("| | |\n|---|---|\n");
    for (key, value) in header {
        let _ = writeln!(out, "| {key} | {value} |");
    }
    if !input.notes.is_empty() {
        out.push('\n');
        for note in &input.notes {
            let _ = writeln!(out, "> {note}");
        }
    }
    out.push_str("\n## Results (song-level accuracy, %)\n\n");
    out.push_str(&render_markdown_table(table, input));
    if !input.paper_only.is_empty() {
        out.push_str(&reference_footnote(input));
    }
    out.push_str(&sweep::render_sweep_md(table, input));
    out.push_str(&findings::render_findings_md(&findings::evaluate(input)));
    out.push('\n');
    out.push_str(&which_rows_ran(table, input));
    out.push_str("\n## What every column means\n\n");
    out.push_str(&legend(input));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(row: &[&str]) -> Vec<String> {
        row.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn words_align_left_and_numbers_right() {
        let header = cells(&["Model", "Verdict", "Accuracy"]);
        let body = vec![
            cells(&["O-net", "holds", "71.05"]),
            cells(&["P-net", "does not hold", "not reproduced"]),
            cells(&["O-net + P-net", "holds", "88.68"]),
        ];
        let grid = markdown_grid(&header, &body);
        let lines: Vec<&str> = grid.lines().collect();
        assert_eq!(
            lines[1],
            "| :------------ | :------------ | -------------: |"
        );
        assert_eq!(
            lines[2],
            "| O-net         | holds         |          71.05 |"
        );
    }
}
