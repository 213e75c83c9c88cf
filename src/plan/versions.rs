//! Task code versions, and the guard that keeps them from going stale.
//!
//! Every task key covers its kind's code version, so bumping a version makes
//! the cache recompute that kind (and, through upstream keys, everything
//! downstream of it). A version that is not bumped when the code changes
//! serves results of older code as if they were current; a version bumped on
//! every edit throws away days of training over a comment. So the version is
//! decided by a person, but never forgotten:
//!
//! - `build.rs` digests the code each kind runs (the sources listed in
//!   `src/plan/code_digest.rs`), ignoring comments, formatting and
//!   `#[cfg(test)]` items ([`BUILT`]);
//! - [`RECORDED`] holds, per kind, the version that enters task keys and the
//!   digest of the code that version stands for;
//! - the test `every_kind_code_change_is_recorded` fails, naming each kind,
//!   until every changed digest is recorded: with a version bump when the
//!   change alters what the kind computes (any output byte), without one when
//!   it is result-neutral (a refactor, a rename). When unsure, bump: a rerun
//!   costs time, a stale result costs correctness.

/// The digest of each kind's code in this build (from `build.rs`), by kind name.
pub const BUILT: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/code_digests.rs"));

/// Per kind: its name, the code version that enters its task keys, and the
/// digest of the code that version was recorded for.
pub const RECORDED: &[(&str, u32, &str)] = &[
    // Every kind recorded result-neutral: the device queue runs several
    // trainings at once (each draws its random numbers under the lock it
    // held before: the bytes it gives alone, tested); a GPU training gathers
    // its batches on the device from a corpus uploaded once (copies of the
    // host batches' values, tested bit for bit) and reads its logits back
    // once per epoch and once per validation pass, scored per batch in the
    // same order as before (the same sums, so the same metrics).
    // Every kind recorded result-neutral: the cache layout names the
    // TensorBoard log directories and the checksum index (no entry holds
    // them); trainings append their curves to event files outside their
    // entries; the dataset module gained the GTZAN loader, class-balance
    // warnings and the canonical-checksum check (no track list changes).
    // Every kind recorded result-neutral: `device` became a folder and
    // gained wgpu adapters (a new device class, keyed apart from cpu and
    // cuda); the fused op's GPU forward splits each window search into
    // bounded chunks and reduces them in (band, frame) order: the same
    // multiply-adds per window and the same arg-max, so the same bytes on
    // CUDA; the CPU path is unchanged.
    // Every kind recorded result-neutral: the house moved (executors into
    // `exec`, the report's own run rows, `stats`, the spec's claims, the report
    // task's parameters in `plan::params`, one audio front end, typed errors
    // that keep their causes, a device-class check before a task is claimed);
    // KIND_SOURCES now lists every file each kind's code reaches.
    // Every kind recorded result-neutral: layout.rs gained the Slurm run
    // directory's names (slurm/, slurm_files) and `slurm_root`, which no
    // task writes.
    // features recorded result-neutral: audio samples beyond ±1e6 (or
    // non-finite) are refused with an error instead of panicking in the
    // resampler (found by fuzzing); every accepted file's output is unchanged.
    (
        "features",
        1,
        "9b13d0a3815e9dc0747199984294ab4b5a6546dfc87ef8ecbf806bd637d8cc99",
    ),
    (
        "norm",
        1,
        "69da5f60f4cb3bfec6866ca774975c90ba6914ae26b775aabeaa55649baa0eb7",
    ),
    (
        "chunks",
        1,
        "ab4dde1996254f916733c5fab36fed8d268d9d326fdf5b562e176b3834f1de9a",
    ),
    // train v2: entries hold the model card (`model.json`); digest
    // re-recorded for an error text, and for the optional
    // `schedule.val_patience` (off unless a spec sets it, and then part of
    // the key: result-neutral for every existing key).
    // train v3: banks the fused op does not cover (the CBMI baselines) run
    // the pooled convolution (`model::pooled`), and dense layers the dense
    // op (`model::dense`): the same values up to float rounding, so
    // trainings differ in the last bits. Re-recorded: the pooled convolution
    // reads one-frame-wide patches in place (sgemm packs the same values
    // from any strides) and scans pool windows eight filters at a time (the
    // same first maximum); the ops borrow their inputs; the dense op's
    // products skip zeroing their output; the pooled `dbias` sums filters in
    // parallel, each in the same order (same bits: a training's logits
    // compared bit for bit before and after). The two arg-max ops' NdArray
    // passes read and upload through `model::host` (`forward_on_host`,
    // `HostBackward`).
    // train v4: on GPUs (CUDA, wgpu) the pooled convolution runs kernels of
    // its own instead of burn's conv2d and max-pool ops, and the dense op's
    // backward pass too instead of burn's matmul: the same values up to float
    // rounding, so GPU trainings of the baselines differ in the last bits
    // (CPU trainings are unchanged; bumped all the same, as a version covers
    // every device class).
    (
        "train",
        4,
        "cd1b72e8a7d257b632bb6f1cd97924e905256a37b42e4f5e4ff13157b0c0d401",
    ),
    // report v2: gathered from the train entries (no aggregate kind); a
    // missing filter tensor is an error, not an empty plot; the profile line
    // and notes say "none (the spec as written)" and name the full command.
    // report v3: title, description and reference rows come from the spec;
    // models carry their sweep settings (the sweep view); the spec's claims
    // (the Findings). Re-recorded: the protocol line names `val_patience`
    // when a spec sets it (result-neutral otherwise).
    // report v4: Markdown tables align columns of words left (the Findings'
    // comparisons and verdicts). Re-recorded: the model code it builds
    // architectures from gained the pooled convolution and the dense op
    // (no report byte changes).
    // report v5: the Findings' verdicts have four outcomes (holds, not shown
    // with the difference the folds could have shown, contradicted, not
    // enough runs); results.* and summary.csv gain balanced song-level
    // accuracy; the header says whether a Ballroom or GTZAN copy is canonical.
    (
        "report",
        5,
        "c8cf7a11421f730997657f0586bc4480d11b50aad49421fb16083df50b20b79f",
    ),
];

/// The code version of the kind named `kind` (part of every key of its tasks).
///
/// # Panics
///
/// When `kind` is not in [`RECORDED`] (a test checks every `TaskKind` is).
pub fn code_version(kind: &str) -> u32 {
    RECORDED
        .iter()
        .find(|(name, _, _)| *name == kind)
        .map(|&(_, version, _)| version)
        .unwrap_or_else(|| panic!("no code version recorded for task kind {kind:?}"))
}

/// The digest of the kind's code in this build.
pub fn built_digest(kind: &str) -> Option<&'static str> {
    BUILT
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|&(_, d)| d)
}

/// A kind whose code changed since its digest was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChange {
    /// The kind's name.
    pub kind: &'static str,
    /// Its recorded version.
    pub version: u32,
    /// The recorded digest (`None`: the kind has no entry in [`RECORDED`]).
    pub recorded: Option<&'static str>,
    /// The digest of this build.
    pub built: &'static str,
}

/// The kinds whose built digest differs from the recorded one.
pub fn unrecorded_changes() -> Vec<CodeChange> {
    BUILT
        .iter()
        .filter_map(|&(kind, built)| {
            let entry = RECORDED.iter().find(|(name, _, _)| *name == kind);
            match entry {
                Some(&(_, _, recorded)) if recorded == built => None,
                Some(&(_, version, recorded)) => Some(CodeChange {
                    kind,
                    version,
                    recorded: Some(recorded),
                    built,
                }),
                None => Some(CodeChange {
                    kind,
                    version: 0,
                    recorded: None,
                    built,
                }),
            }
        })
        .collect()
}

/// What the guard test says about `changes`: each kind, and exactly what to
/// do about it.
pub fn guard_message(changes: &[CodeChange]) -> String {
    let names: Vec<&str> = changes.iter().map(|c| c.kind).collect();
    let mut text = format!(
        "the code of task kind(s) {} changed since it was recorded in src/plan/versions.rs \
         (RECORDED; each kind's sources: KIND_SOURCES in src/plan/code_digest.rs).\n\
         For EACH kind below, replace its entry in RECORDED with ONE of its two lines:\n\
         - bump: the change alters what the kind computes (any output byte: values, float \
         rounding, file layout, JSON fields); its cached results and everything downstream \
         are recomputed;\n\
         - record: the change is result-neutral (refactor, rename, error text, bit-identical \
         speed-up); cached results stay valid.\n\
         When unsure, bump: a rerun costs time, a stale result costs correctness.\n",
        names.join(", ")
    );
    for c in changes {
        let (kind, new) = (c.kind, c.built);
        text.push_str(&format!(
            "\n  {kind} (recorded: v{}, digest {}):\n    bump:   (\"{kind}\", {}, \"{new}\"),\n    \
             record: (\"{kind}\", {}, \"{new}\"),\n",
            c.version,
            c.recorded.unwrap_or("none"),
            c.version + 1,
            c.version.max(1),
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TaskKind;

    #[test]
    fn every_kind_code_change_is_recorded() {
        let changes = unrecorded_changes();
        assert!(changes.is_empty(), "{}", guard_message(&changes));
    }

    #[test]
    fn every_task_kind_has_a_version_and_a_digest() {
        let names = |it: &mut dyn Iterator<Item = &'static str>| it.collect::<Vec<_>>();
        let kinds = names(&mut TaskKind::ALL.iter().map(|k| k.name()));
        assert_eq!(names(&mut RECORDED.iter().map(|r| r.0)), kinds);
        assert_eq!(names(&mut BUILT.iter().map(|b| b.0)), kinds);
        for kind in TaskKind::ALL {
            assert!(code_version(kind.name()) >= 1);
            assert_eq!(built_digest(kind.name()).map(str::len), Some(64));
        }
    }

    #[test]
    fn the_guard_message_names_each_kind_and_both_remedies() {
        let changes = [
            CodeChange {
                kind: "train",
                version: 3,
                recorded: Some("aaaa"),
                built: "bbbb",
            },
            CodeChange {
                kind: "norm",
                version: 1,
                recorded: Some("cccc"),
                built: "dddd",
            },
        ];
        let text = guard_message(&changes);
        assert!(text.contains("kind(s) train, norm changed"), "{text}");
        assert!(text.contains("(\"train\", 4, \"bbbb\"),"), "{text}");
        assert!(text.contains("(\"train\", 3, \"bbbb\"),"), "{text}");
        assert!(text.contains("(\"norm\", 2, \"dddd\"),"), "{text}");
        assert!(text.contains("result-neutral"), "{text}");
    }
}
