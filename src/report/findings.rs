//! Findings: each claim the spec states (`[[claim]]`), tested on the
//! experiment's own runs.
//!
//! A claim compares two sides, each a model (or the best of several models,
//! by mean song-level accuracy) at a hop. The runs of one experiment share
//! their folds (same songs, same split), so the comparison is **paired
//! across folds**: with `d_f` = accuracy of the first side − the second's on
//! fold `f`, over the `n` folds both finished,
//!
//! - effect: mean(d) ± sd(d) in percentage points, and `d_z` = mean / sd;
//! - one-sided 95 % confidence bounds `L = mean − t(0.95, n−1)·sd/√n` and
//!   `U = mean + t(0.95, n−1)·sd/√n`;
//! - against a bar `b` (0 for "better", −m for "at least as good, within a
//!   margin m"), one of four verdicts:
//!   **holds** when `L > b`; **contradicted** when `U < b` (significant the
//!   other way), or when `fewer_params` is asked and the first side does not
//!   have fewer parameters; **not shown** otherwise — the folds cannot tell,
//!   which is not evidence against the claim: the finding gives the smallest
//!   mean difference these folds could have shown, `b + t(0.95, n−1)·sd/√n`;
//!   **not enough runs** below [`MIN_FOLDS`] paired folds or when a side has
//!   no runs at that hop.
//!
//! Nothing is tuned to make a claim hold: the verdict is what the runs say.
//! The claims are the spec's, validated ([`ClaimSpec`]); must not know the
//! spec's TOML or the cache.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::table::markdown_grid;
use super::ReportInput;
use crate::spec::{ClaimSide, ClaimSpec, Relation};
use crate::stats::{mean_sd, t95};

/// Paired folds a claim needs before it gets a verdict.
pub const MIN_FOLDS: usize = 3;

/// What the runs say of a claim at one hop.
/// In `findings.json` too it is written as its words ([`Verdict::words`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The lower confidence bound clears the bar (and the parameters, when asked).
    #[serde(rename = "holds")]
    Holds,
    /// Neither bound clears the bar: these folds cannot tell.
    #[serde(rename = "not shown")]
    NotShown,
    /// The upper confidence bound falls below the bar (significant the other
    /// way), or the first side does not have fewer parameters.
    #[serde(rename = "contradicted")]
    Contradicted,
    /// Fewer than [`MIN_FOLDS`] paired folds, or a side without runs.
    #[serde(rename = "not enough runs")]
    NotEnoughRuns,
}

impl Verdict {
    /// The verdict in words, the same in the terminal, `report.md` and
    /// `findings.json`: holds, not shown, contradicted, not enough runs.
    pub fn words(self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::NotShown => "not shown",
            Self::Contradicted => "contradicted",
            Self::NotEnoughRuns => "not enough runs",
        }
    }
}

/// One claim tested at one hop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The claim in words.
    pub says: String,
    /// `model @ hop` of the first side (the best of its models), if any ran.
    pub model: Option<String>,
    /// `model @ hop` of the second side, if any ran.
    pub than: Option<String>,
    /// Paired folds.
    pub folds: usize,
    /// Mean of the per-fold differences, percentage points.
    pub mean_pp: Option<f64>,
    /// Sample standard deviation of the differences, percentage points.
    pub sd_pp: Option<f64>,
    /// One-sided 95 % lower confidence bound of the mean difference, points.
    pub lower_bound_pp: Option<f64>,
    /// One-sided 95 % upper confidence bound of the mean difference, points.
    pub upper_bound_pp: Option<f64>,
    /// The smallest mean difference that would have cleared the bar with
    /// this sd and number of folds (`bar + t·sd/√n`), points.
    pub detectable_pp: Option<f64>,
    /// Effect size `d_z` = mean / sd of the differences.
    pub effect_dz: Option<f64>,
    /// Parameters of the two sides' models.
    pub params: Option<(usize, usize)>,
    /// What the runs say.
    pub verdict: Verdict,
    /// Why, in a few words (e.g. which side has no runs).
    pub detail: String,
}

/// Per model and hop: song accuracy by fold.
type Accuracies<'a> = BTreeMap<(&'a str, usize), BTreeMap<usize, f64>>;

fn accuracies(input: &ReportInput) -> Accuracies<'_> {
    let mut out: Accuracies<'_> = BTreeMap::new();
    for run in &input.runs {
        let m = &run.metrics;
        out.entry((m.model.as_str(), m.hop))
            .or_default()
            .insert(m.fold, m.song_accuracy);
    }
    out
}

/// The side's best model at `hop` (highest mean accuracy; ties: spec order).
fn best<'a>(acc: &Accuracies<'a>, models: &'a [String], hop: usize) -> Option<&'a str> {
    let mean = |f: &BTreeMap<usize, f64>| f.values().sum::<f64>() / f.len() as f64;
    let mut best: Option<(&str, f64)> = None;
    for name in models {
        if let Some(folds) = acc.get(&(name.as_str(), hop)).filter(|f| !f.is_empty()) {
            let m = mean(folds);
            if best.is_none_or(|(_, b)| m > b) {
                best = Some((name, m));
            }
        }
    }
    best.map(|(name, _)| name)
}

/// The (first side, second side) hop pairs a claim is tested at.
fn hop_pairs(input: &ReportInput, claim: &ClaimSpec) -> Vec<(usize, usize)> {
    match (claim.model.hop, claim.than.hop) {
        (Some(a), Some(b)) => vec![(a, b)],
        (Some(a), None) => vec![(a, a)],
        (None, Some(b)) => vec![(b, b)],
        (None, None) => {
            let hops_of = |side: &ClaimSide| -> Vec<usize> {
                input
                    .models
                    .iter()
                    .filter(|m| side.models.contains(&m.name))
                    .flat_map(|m| m.hops.iter().copied())
                    .collect()
            };
            let (ours, theirs) = (hops_of(&claim.model), hops_of(&claim.than));
            let mut hops: Vec<usize> = ours.into_iter().filter(|h| theirs.contains(h)).collect();
            let mut seen = Vec::new();
            hops.retain(|h| {
                let new = !seen.contains(h);
                seen.push(*h);
                new
            });
            hops.into_iter().map(|h| (h, h)).collect()
        }
    }
}

/// Tests every claim of `input` at each hop it applies to.
pub fn evaluate(input: &ReportInput) -> Vec<Finding> {
    let acc = accuracies(input);
    let mut out = Vec::new();
    for claim in &input.claims {
        let pairs = hop_pairs(input, claim);
        if pairs.is_empty() {
            let planned =
                |side: &ClaimSide| input.models.iter().any(|m| side.models.contains(&m.name));
            let why = match (planned(&claim.model), planned(&claim.than)) {
                (false, _) => format!("{} not run here", claim.model.models.join(" / ")),
                (_, false) => format!("{} not run here", claim.than.models.join(" / ")),
                _ => "the two sides share no hop".to_owned(),
            };
            out.push(not_enough(claim, None, None, &why));
        }
        for (hop_a, hop_b) in pairs {
            out.push(test_at(input, &acc, claim, hop_a, hop_b));
        }
    }
    out
}

fn not_enough(
    claim: &ClaimSpec,
    model: Option<String>,
    than: Option<String>,
    why: &str,
) -> Finding {
    Finding {
        says: claim.says.clone(),
        model,
        than,
        folds: 0,
        mean_pp: None,
        sd_pp: None,
        lower_bound_pp: None,
        upper_bound_pp: None,
        detectable_pp: None,
        effect_dz: None,
        params: None,
        verdict: Verdict::NotEnoughRuns,
        detail: why.to_owned(),
    }
}

fn test_at(
    input: &ReportInput,
    acc: &Accuracies<'_>,
    claim: &ClaimSpec,
    hop_a: usize,
    hop_b: usize,
) -> Finding {
    let a = best(acc, &claim.model.models, hop_a);
    let b = best(acc, &claim.than.models, hop_b);
    let label = |m: Option<&str>, hop| m.map(|m| format!("{m} @ hop {hop}"));
    let (Some(a), Some(b)) = (a, b) else {
        let which = if a.is_none() {
            &claim.model
        } else {
            &claim.than
        };
        let hop = if a.is_none() { hop_a } else { hop_b };
        let why = format!("no run of {} at hop {hop}", which.models.join(" / "));
        return not_enough(claim, label(a, hop_a), label(b, hop_b), &why);
    };
    let (fa, fb) = (&acc[&(a, hop_a)], &acc[&(b, hop_b)]);
    let d: Vec<f64> = fa
        .iter()
        .filter_map(|(fold, x)| fb.get(fold).map(|y| 100.0 * (x - y)))
        .collect();
    let params_of = |name: &str| {
        input
            .models
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.params)
    };
    let params = params_of(a).zip(params_of(b));
    let mut finding = not_enough(claim, label(Some(a), hop_a), label(Some(b), hop_b), "");
    finding.folds = d.len();
    finding.params = params;
    if d.len() < MIN_FOLDS {
        finding.detail = format!("{} paired folds; at least {MIN_FOLDS} are needed", d.len());
        return finding;
    }
    let n = d.len() as f64;
    let (mean, sd) = mean_sd(&d);
    let sd = sd.unwrap_or(0.0); // at least MIN_FOLDS values: always Some
    let half_width = t95(d.len() - 1) * sd / n.sqrt();
    let (lower, upper) = (mean - half_width, mean + half_width);
    let bar = match claim.relation {
        Relation::Better => 0.0,
        Relation::AtLeast { margin_pp } => -margin_pp,
    };
    finding.mean_pp = Some(mean);
    finding.sd_pp = Some(sd);
    finding.lower_bound_pp = Some(lower);
    finding.upper_bound_pp = Some(upper);
    finding.detectable_pp = Some(bar + half_width);
    finding.effect_dz = (sd > 0.0).then(|| mean / sd);
    let folds = d.len();
    (finding.verdict, finding.detail) = if lower > bar {
        (Verdict::Holds, String::new())
    } else if upper < bar {
        let detail = format!("the other way beyond noise (U = {})", signed(upper));
        (Verdict::Contradicted, detail)
    } else {
        let detail = format!(
            "these {folds} folds could show a mean difference of {} pp or more",
            signed(bar + half_width)
        );
        (Verdict::NotShown, detail)
    };
    if claim.fewer_params {
        if let Some((pa, pb)) = params.filter(|(pa, pb)| pa >= pb) {
            finding.verdict = Verdict::Contradicted;
            finding.detail = format!("not fewer parameters ({pa} against {pb})");
        }
    }
    finding
}

fn signed(value: f64) -> String {
    if value < 0.0 {
        format!("−{:.2}", -value)
    } else {
        format!("+{value:.2}")
    }
}

/// The `## Findings` section of `report.md`; empty when the spec states no claim.
pub(crate) fn render_findings_md(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Findings\n\nEach claim of the spec, tested on this experiment's runs: Δ = the first \
         model's song-level accuracy − the second's, paired by fold (mean ± sample std, \
         percentage points); L and U = its one-sided 95 % confidence bounds \
         (mean ∓ t(0.95, n − 1)·sd/√n); d_z = mean / sd. The bar is 0 (−margin for \"at least \
         as good\"). A claim **holds** when L clears the bar; is **contradicted** when U falls \
         below it (or the first model does not have the fewer parameters it claims); is \
         **not shown** otherwise: these folds cannot tell, which is not evidence against it \
         (the verdict says how large a difference they could have shown); with fewer than 3 \
         paired folds there are **not enough runs**.\n\n",
    );
    let header: Vec<String> = [
        "Claim", "Compared", "Folds", "Δ (pp)", "L (pp)", "d_z", "Verdict",
    ]
    .map(String::from)
    .to_vec();
    let dash = || "—".to_owned();
    let body: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let compared = match (&f.model, &f.than) {
                (Some(a), Some(b)) => format!("{a} vs {b}"),
                (a, b) => format!(
                    "{} vs {}",
                    a.as_deref().unwrap_or("—"),
                    b.as_deref().unwrap_or("—")
                ),
            };
            let delta = match (f.mean_pp, f.sd_pp) {
                (Some(m), Some(s)) => format!("{} ± {s:.2}", signed(m)),
                _ => dash(),
            };
            let mut verdict = f.verdict.words().to_owned();
            if !f.detail.is_empty() {
                let _ = write!(verdict, ": {}", f.detail);
            }
            vec![
                f.says.clone(),
                compared,
                f.folds.to_string(),
                delta,
                f.lower_bound_pp.map_or_else(dash, signed),
                f.effect_dz.map_or_else(dash, signed),
                verdict,
            ]
        })
        .collect();
    out.push_str(&markdown_grid(&header, &body));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::params::{DatasetInfo, ModelReportInfo};
    use crate::report::{RunMetrics, RunOutput};

    fn model(name: &str, params: usize) -> ModelReportInfo {
        ModelReportInfo {
            name: name.into(),
            params,
            paper_params: None,
            hops: vec![250],
            paper_accuracy: BTreeMap::new(),
            sweep: None,
        }
    }

    fn run(name: &str, fold: usize, song_accuracy: f64) -> RunOutput {
        let metrics = RunMetrics {
            model: name.into(),
            hop: 250,
            fold,
            params: 1,
            chunk_accuracy: song_accuracy,
            song_accuracy,
            epochs_run: 1,
            best_epoch: 1,
            seconds: 1.0,
            device: "cpu".into(),
            confusion: Vec::new(),
            songs: Vec::new(),
        };
        RunOutput {
            metrics,
            epochs: Vec::new(),
        }
    }

    /// Two models, A and B, with the given per-fold accuracies, and one claim "A beats B".
    fn input(a: &[f64], b: &[f64], relation: Relation, fewer_params: bool) -> ReportInput {
        let mut runs = Vec::new();
        runs.extend(a.iter().enumerate().map(|(f, &x)| run("A", f, x)));
        runs.extend(b.iter().enumerate().map(|(f, &x)| run("B", f, x)));
        let side = |m: &str| ClaimSide {
            models: vec![m.into()],
            hop: None,
        };
        ReportInput {
            experiment: "e".into(),
            title: String::new(),
            description: None,
            spec_hash: "0".into(),
            profile: "p".into(),
            dataset: DatasetInfo {
                name: "d".into(),
                tracks: 1,
                content_hash: "0".into(),
                canonical: None,
            },
            protocol: String::new(),
            folds: a.len().max(b.len()),
            device: "cpu".into(),
            code_version: String::new(),
            wall_seconds: 0.0,
            notes: Vec::new(),
            class_names: Vec::new(),
            models: vec![model("A", 100), model("B", 50)],
            paper_only: Vec::new(),
            claims: vec![ClaimSpec {
                says: "A beats B".into(),
                model: side("A"),
                than: side("B"),
                relation,
                fewer_params,
            }],
            runs,
            filters: None,
        }
    }

    fn only(input: &ReportInput) -> Finding {
        let findings = evaluate(input);
        assert_eq!(findings.len(), 1, "{findings:?}");
        findings.into_iter().next().unwrap()
    }

    #[test]
    fn a_clear_paired_gain_holds() {
        let f = only(&input(
            &[0.80, 0.85, 0.90, 0.82],
            &[0.70, 0.74, 0.81, 0.71],
            Relation::Better,
            false,
        ));
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
        assert_eq!(f.folds, 4);
        let mean = f.mean_pp.unwrap();
        assert!((mean - 10.25).abs() < 1e-9, "{mean}");
        assert!(f.lower_bound_pp.unwrap() > 0.0);
        assert!(f.effect_dz.unwrap() > 5.0);
    }

    #[test]
    fn a_clear_loss_contradicts_the_claim() {
        let f = only(&input(
            &[0.6, 0.62, 0.58],
            &[0.8, 0.79, 0.83],
            Relation::Better,
            false,
        ));
        assert_eq!(f.verdict, Verdict::Contradicted, "{f:?}");
        assert!(f.mean_pp.unwrap() < -15.0);
        assert!(f.upper_bound_pp.unwrap() < 0.0);
        assert_eq!(f.verdict.words(), "contradicted");
    }

    #[test]
    fn a_gain_within_fold_noise_is_not_shown_and_says_what_could_be() {
        // Mean +1 point, but the folds disagree in sign.
        let f = only(&input(
            &[0.80, 0.70, 0.90],
            &[0.75, 0.76, 0.86],
            Relation::Better,
            false,
        ));
        assert_eq!(f.verdict, Verdict::NotShown, "{f:?}");
        assert_eq!(f.verdict.words(), "not shown");
        assert!(f.mean_pp.unwrap() > 0.0 && f.lower_bound_pp.unwrap() <= 0.0);
        // d = +5, −6, +4 points: sd = 6.083, t(0.95, 2) = 2.920, n = 3, so a
        // mean of 2.920 · 6.083 / √3 = 10.25 points would have cleared 0.
        let detectable = f.detectable_pp.unwrap();
        assert!((detectable - 10.255).abs() < 0.01, "{detectable}");
        assert!(
            f.detail.contains("could show a mean difference of +10.2"),
            "{}",
            f.detail
        );
        // The same result with a mean that went the other way is not shown either.
        let f = only(&input(
            &[0.75, 0.76, 0.86],
            &[0.80, 0.70, 0.90],
            Relation::Better,
            false,
        ));
        assert_eq!(f.verdict, Verdict::NotShown, "{f:?}");
    }

    #[test]
    fn the_quick_profiles_combination_gain_is_not_shown_not_refuted() {
        // The quick profile's O-net + P-net against P-net: +2.9 ± 2.4 points
        // over 3 folds (per-fold +0.5, +2.9, +5.3). L = 2.9 − 2.920 · 2.4 / √3
        // = −1.15 < 0 < U = 6.95: these folds could only have shown a mean of
        // +4.05 points or more.
        let b = [0.700, 0.720, 0.690];
        let a = [0.705, 0.749, 0.743];
        let f = only(&input(&a, &b, Relation::Better, false));
        assert_eq!(f.verdict, Verdict::NotShown, "{f:?}");
        assert!((f.mean_pp.unwrap() - 2.9).abs() < 1e-9);
        assert!((f.sd_pp.unwrap() - 2.4).abs() < 1e-9);
        assert!((f.detectable_pp.unwrap() - 4.046).abs() < 0.001, "{f:?}");
        assert!(f.detail.contains("+4.05 pp"), "{}", f.detail);
    }

    #[test]
    fn findings_json_writes_the_verdicts_words() {
        for verdict in [
            Verdict::Holds,
            Verdict::NotShown,
            Verdict::Contradicted,
            Verdict::NotEnoughRuns,
        ] {
            let json = serde_json::to_string(&verdict).unwrap();
            assert_eq!(json, format!("\"{}\"", verdict.words()));
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), verdict);
        }
    }

    #[test]
    fn too_few_folds_or_a_side_without_runs_gets_no_verdict() {
        let f = only(&input(&[0.9, 0.9], &[0.1, 0.1], Relation::Better, false));
        assert_eq!(f.verdict, Verdict::NotEnoughRuns, "{f:?}");
        assert!(f.detail.contains("2 paired folds"), "{}", f.detail);
        let f = only(&input(&[0.9, 0.9, 0.9], &[], Relation::Better, false));
        assert_eq!(f.verdict, Verdict::NotEnoughRuns, "{f:?}");
        assert!(f.detail.contains("no run of B"), "{}", f.detail);
    }

    #[test]
    fn at_least_within_a_margin_and_fewer_parameters() {
        // A is half a point worse on every fold: at least as good within 1 point...
        let a = [0.795, 0.845, 0.895];
        let b = [0.80, 0.85, 0.90];
        let f = only(&input(&a, &b, Relation::AtLeast { margin_pp: 1.0 }, false));
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
        // ... but A has 100 parameters against B's 50.
        let f = only(&input(&a, &b, Relation::AtLeast { margin_pp: 1.0 }, true));
        assert_eq!(f.verdict, Verdict::Contradicted, "{f:?}");
        assert_eq!(f.detail, "not fewer parameters (100 against 50)");
        // Not within a quarter point: half a point worse on every fold (sd 0).
        let f = only(&input(&a, &b, Relation::AtLeast { margin_pp: 0.25 }, false));
        assert_eq!(f.verdict, Verdict::Contradicted, "{f:?}");
    }

    #[test]
    fn the_best_of_several_models_is_compared() {
        let mut input = input(&[0.6, 0.6, 0.6], &[0.7, 0.7, 0.7], Relation::Better, false);
        input.models.push(model("C", 10));
        input.runs.extend((0..3).map(|f| run("C", f, 0.9)));
        input.claims[0].model.models = vec!["A".into(), "C".into()];
        let f = only(&input);
        assert_eq!(f.model.as_deref(), Some("C @ hop 250"));
        assert_eq!(f.verdict, Verdict::Holds, "{f:?}");
    }
}
