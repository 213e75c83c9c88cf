//! Integration tests of the report module on a fixed, hand-made results
//! fixture (`tests/fixtures/report/`, see its README): snapshots of the
//! rendered `report.md`, `results.csv` and `summary.csv`; honesty rules (no
//! paper number as ours, "—" where nothing ran); plots written as PNG and SVG;
//! all-or-nothing writing of the report directory.

use std::fs;
use std::path::{Path, PathBuf};

use tempora::report::{self, EpochRow, ReportInput, RunMetrics, RunOutput};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/report");

/// Sorted entries of a directory.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// Parses an epoch CSV as the training engine writes it.
fn read_epochs(path: &Path) -> Vec<EpochRow> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds")
    );
    lines
        .map(|line| {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            EpochRow {
                epoch: v[0] as usize,
                train_loss: v[1],
                train_accuracy: v[2],
                val_loss: v[3],
                val_accuracy: v[4],
                learning_rate: v[5],
                seconds: v[6],
            }
        })
        .collect()
}

/// The fixture as a report input: `experiment.json`, every run under
/// `runs/`, and `filters.json`.
fn fixture() -> ReportInput {
    let root = Path::new(FIXTURE);
    let mut value: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("experiment.json")).unwrap()).unwrap();
    let filters: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("filters.json")).unwrap()).unwrap();
    value["runs"] = serde_json::Value::Array(vec![]);
    value["filters"] = filters;
    let mut input: ReportInput = serde_json::from_value(value).unwrap();
    for model in entries(&root.join("runs")) {
        for hop in entries(&model) {
            for fold in entries(&hop) {
                let json = fs::read_to_string(fold.join("test_metrics.json")).unwrap();
                let metrics: RunMetrics = serde_json::from_str(&json).unwrap();
                let epochs = read_epochs(&fold.join("epochs.csv"));
                input.runs.push(RunOutput { metrics, epochs });
            }
        }
    }
    assert_eq!(input.runs.len(), 14, "fixture runs (see its README)");
    input
}

/// Writes the fixture's report into a fresh temporary directory.
fn write_fixture_report(input: &ReportInput) -> (tempfile::TempDir, report::ReportSummary) {
    let root = tempfile::tempdir().unwrap();
    let summary = report::write_report(input, &root.path().join("table1-fixture")).unwrap();
    (root, summary)
}

/// Hashes and wall times vary between real runs: redact them so the same
/// settings serve end-to-end snapshots too.
macro_rules! redacted {
    ($body:expr) => {
        insta::with_settings!({filters => vec![
            (r"`[0-9a-f]{16,}`", "`[hash]`"),
            (r"\| training time \| [^|]+\|", "| training time | [training time] |"),
        ]}, { $body })
    };
}

#[test]
fn table1_md_snapshot() {
    let (_root, summary) = write_fixture_report(&fixture());
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    redacted!(insta::assert_snapshot!("table1_md", md));
}

#[test]
fn results_and_summary_csv_snapshots() {
    let (_root, summary) = write_fixture_report(&fixture());
    let csv = fs::read_to_string(summary.dir.join("results.csv")).unwrap();
    insta::assert_snapshot!("results_csv", csv);
    let csv = fs::read_to_string(summary.dir.join("summary.csv")).unwrap();
    insta::assert_snapshot!("summary_csv", csv);
}

#[test]
fn terminal_table_snapshot() {
    let text = report::render_table_text(&fixture()).unwrap();
    insta::assert_snapshot!("terminal_table", text);
}

#[test]
fn results_json_is_one_object_per_fold() {
    let input = fixture();
    let (_root, summary) = write_fixture_report(&input);
    let json = fs::read_to_string(summary.dir.join("results.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), input.runs.len());
    let first = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = report::frame::PER_FOLD_COLUMNS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    // Spec order: the first model's first hop's first fold.
    assert_eq!(
        (first["model"].as_str(), first["hop"].as_u64()),
        (Some("O-net"), Some(250))
    );
}

/// The Markdown table's body rows, split into trimmed cells.
fn table_rows(md: &str) -> Vec<Vec<String>> {
    let start = md.find("## Results").unwrap();
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// Header: Model, #params ours, #params paper, then (ours, paper, Δ) per hop.
const OURS_250: usize = 3;
const PAPER_250: usize = 4;
const OURS_80: usize = 6;
const PAPER_80: usize = 7;

#[test]
fn missing_rows_show_a_dash_and_ours_is_never_a_paper_number() {
    let input = fixture();
    let (_root, summary) = write_fixture_report(&input);
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    let rows = table_rows(&md);
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    // Planned, no results.
    assert_eq!(row("O-net + P-net")[OURS_250], "—");
    assert_eq!(row("O-net + P-net")[PAPER_250], "87.25");
    assert_eq!(row("Time")[OURS_80], "—");
    assert_eq!(row("Time")[PAPER_80], "81.79");
    // Not planned at hop 250.
    assert_eq!(row("Time")[OURS_250], "—");
    // Partial: says how many folds.
    assert!(
        row("P-net")[OURS_80].ends_with("(2/3 folds)"),
        "{:?}",
        row("P-net")
    );
    // Paper-only.
    let marchand = row("Marchand et al. (not reproduced)");
    assert_eq!(marchand[OURS_250], "not reproduced");
    assert_eq!(marchand[OURS_80], "not reproduced");
    // No "ours" cell starts with the paper's number for its row and hop.
    for r in &rows {
        for (ours, paper) in [(OURS_250, PAPER_250), (OURS_80, PAPER_80)] {
            if r[paper] != "—" && !r[paper].ends_with('†') {
                assert!(!r[ours].starts_with(&r[paper]), "row {r:?}");
            }
        }
    }
}

#[test]
fn a_report_without_runs_shows_no_number_as_ours() {
    let mut input = fixture();
    input.runs.clear();
    input.filters = None;
    let (_root, summary) = write_fixture_report(&input);
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    for r in table_rows(&md) {
        for ours in [OURS_250, OURS_80] {
            assert!(r[ours] == "—" || r[ours] == "not reproduced", "row {r:?}");
        }
    }
    assert!(md.contains("- Ran on all 3 folds: none."));
    // Only the accuracy plot has something to show.
    assert_eq!(
        summary.skipped_plots.len(),
        3,
        "{:?}",
        summary.skipped_plots
    );
    assert!(summary.dir.join("accuracy_vs_params.png").exists());
}

#[test]
fn the_header_says_whether_the_copy_is_canonical() {
    let mut input = fixture();
    let (_root, summary) = write_fixture_report(&input);
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    let line = md.lines().find(|l| l.starts_with("| dataset |")).unwrap();
    assert!(!line.contains("canonical"), "no check, no words: {line}");
    input.dataset.canonical = Some("canonical Ballroom (698/698 checksums match)".into());
    let (_root, summary) = write_fixture_report(&input);
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    let line = md.lines().find(|l| l.starts_with("| dataset |")).unwrap();
    assert!(
        line.contains("; canonical Ballroom (698/698 checksums match))"),
        "{line}"
    );
}

/// The fixture as an ablation would be: no paper numbers, no reference
/// rows, a title of its own, and the models as variants of a swept key.
fn ablation() -> ReportInput {
    let mut input = fixture();
    input.experiment = "pooling".into();
    input.title = "Frequency pooling".into();
    input.description = Some("How many mel bands should the pooling keep?".into());
    input.paper_only.clear();
    input.claims.clear();
    let sweeps = [("A", "2"), ("A", "4"), ("B", "2"), ("B", "4")];
    for (model, (base, value)) in input.models.iter_mut().zip(sweeps) {
        model.paper_params = None;
        model.paper_accuracy.clear();
        model.sweep = Some(tempora::plan::params::SweepInfo {
            base: base.into(),
            settings: vec![("*.pool.freq".into(), value.into())],
        });
    }
    input
}

#[test]
fn an_ablation_report_has_its_own_title_and_no_paper_wording() {
    let (_root, summary) = write_fixture_report(&ablation());
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    assert!(md.starts_with("# Frequency pooling — pooling\n"), "{md}");
    for word in ["Table 1", "paper", "Paper", "Marchand", "Δ", "ours"] {
        assert!(
            !md.contains(word),
            "`{word}` in an ablation's report:\n{md}"
        );
    }
    assert!(!summary.text.contains("Table 1"), "{}", summary.text);
    redacted!(insta::assert_snapshot!("ablation_md", md));
}

#[test]
fn a_sweep_gets_a_table_of_accuracy_against_the_swept_value_per_hop() {
    let input = ablation();
    let (_root, summary) = write_fixture_report(&input);
    let md = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    let sweep = &md[md.find("## Sweep").expect("a sweep section")..];
    assert!(sweep.contains("### `*.pool.freq`, hop 250"), "{sweep}");
    assert!(sweep.contains("### `*.pool.freq`, hop 80"), "{sweep}");
    let row_a = sweep
        .lines()
        .find(|l| l.starts_with("| A "))
        .expect("a row for base model A");
    // A at pool 2 is the fixture's O-net at hop 250: the same cell as the results table.
    let table = report::build_table(&input).unwrap();
    let o_net = report::table::ours_text(&table.rows[0].cells[0]);
    assert!(row_a.contains(&o_net), "{row_a} lacks {o_net}");
    // No sweep, no section.
    let (_root, plain) = write_fixture_report(&fixture());
    let md = fs::read_to_string(plain.dir.join("report.md")).unwrap();
    assert!(!md.contains("## Sweep"));
}

#[test]
fn plots_are_written_as_png_and_svg() {
    let (_root, summary) = write_fixture_report(&fixture());
    assert!(
        summary.skipped_plots.is_empty(),
        "{:?}",
        summary.skipped_plots
    );
    for stem in [
        "accuracy_vs_params",
        "confusion",
        "training_curves",
        "filters",
    ] {
        let png = fs::read(summary.dir.join(format!("{stem}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{stem}.png is not a PNG"
        );
        assert!(png.len() > 10_000, "{stem}.png is suspiciously small");
        let svg = fs::read_to_string(summary.dir.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}.svg"
        );
        assert!(svg.contains("<text"), "{stem}.svg has no text");
        assert!(summary.files.contains(&format!("{stem}.png")));
    }
}

#[test]
fn a_report_is_a_pure_function_of_its_input() {
    let input = fixture();
    let (_a, first) = write_fixture_report(&input);
    let (_b, second) = write_fixture_report(&input);
    assert_eq!(first.files, second.files);
    for name in &first.files {
        let (x, y) = (
            fs::read(first.dir.join(name)),
            fs::read(second.dir.join(name)),
        );
        assert!(
            x.unwrap() == y.unwrap(),
            "{name} differs between two writes"
        );
    }
}

#[test]
fn rewriting_replaces_the_whole_directory() {
    let input = fixture();
    let (_root, summary) = write_fixture_report(&input);
    fs::write(summary.dir.join("stale.txt"), "from an older report").unwrap();
    let again = report::write_report(&input, &summary.dir).unwrap();
    assert!(!again.dir.join("stale.txt").exists());
    let parent = again.dir.parent().unwrap();
    assert_eq!(
        entries(parent),
        std::slice::from_ref(&again.dir),
        "temporary directories left"
    );
}

#[test]
fn a_failed_write_leaves_the_previous_report_and_no_half_written_dir() {
    let input = fixture();
    let (root, summary) = write_fixture_report(&input);
    let before = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    // An inconsistent input (a run of a model the spec does not have) fails.
    let mut bad = input.clone();
    bad.runs[0].metrics.model = "Z-net".into();
    let err = report::write_report(&bad, &summary.dir).unwrap_err();
    assert!(err.to_string().contains("Z-net"), "{err}");
    // A file in the way of the report directory fails too.
    let blocked = root.path().join("blocked");
    fs::write(&blocked, "a file").unwrap();
    assert!(report::write_report(&input, &blocked).is_err());
    assert_eq!(fs::read_to_string(&blocked).unwrap(), "a file");
    // The previous report is intact and nothing else was left behind.
    let after = fs::read_to_string(summary.dir.join("report.md")).unwrap();
    assert_eq!(before, after);
    assert_eq!(entries(root.path()), [blocked, summary.dir.clone()]);
}

#[test]
fn inconsistent_parameter_counts_are_refused() {
    let mut input = fixture();
    input.models[0].params += 1;
    let err = report::build_table(&input).unwrap_err().to_string();
    assert!(err.contains("O-net") && err.contains("4189"), "{err}");
}
