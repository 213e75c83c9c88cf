//! The batch script and the `sbatch` argument vector of one array.
//!
//! Options go on the `sbatch` command line (an argument vector, no shell);
//! the script is a file in the run directory that Slurm copies at submission,
//! so what a requeued element runs never changes. It starts the copied
//! `tempora` binary on the element's tasks and handles the time-limit
//! warning (`--signal=B:USR2@…`): it passes USR2 on to the worker, which
//! stops once the running training has saved its next epoch checkpoint and
//! exits with [`REQUEUE_EXIT`]; the script then requeues the element, at most
//! `max_requeues` times (`SLURM_RESTART_COUNT`).

use std::path::Path;

use super::compile::ArrayPlan;
use super::rundir::RunDir;

/// Seconds before the time limit at which Slurm sends USR2.
pub const WARNING_SECONDS: u32 = 300;

/// The worker's exit status for "stopped on the warning; requeue me".
pub const REQUEUE_EXIT: u8 = 75;

/// `'text'` for bash.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What every script of one run shares.
#[derive(Debug, Clone)]
pub struct ScriptContext<'a> {
    /// Experiment name (comments only).
    pub experiment: &'a str,
    /// The run directory.
    pub run: &'a RunDir,
    /// The cache (absolute).
    pub cache: &'a Path,
    /// `cpu` or `cuda`.
    pub device: &'a str,
    /// Bound on self-requeues.
    pub max_requeues: u32,
}

/// The batch script of `array`.
pub fn batch_script(ctx: &ScriptContext, array: &ArrayPlan) -> String {
    let run = quote(&ctx.run.path.to_string_lossy());
    let cache = quote(&ctx.cache.to_string_lossy());
    let tasks: usize = array.elements.iter().map(Vec::len).sum();
    format!(
        r#"#!/bin/bash
# tempora: {experiment}, array {name}: {kind} tasks, {tasks} in {elements} element(s).
# Written by `tempora run --executor slurm`. Each element runs its tasks of the
# frozen plan ({plan}) with the binary copied into the run directory; results
# go to the cache, one event file per task to events/.
set -u
run={run}
"$run/{binary}" slurm-worker --run "$run" --array {name} --element "$SLURM_ARRAY_TASK_ID" \
    --cache {cache} --device {device} &
worker=$!
# Time-limit warning: the worker stops after its next checkpoint; requeue (bounded).
trap 'kill -USR2 "$worker" 2>/dev/null' USR2
status=0
while :; do
    wait "$worker"; status=$?
    kill -0 "$worker" 2>/dev/null || break
done
if [ "$status" = {requeue} ]; then
    if [ "${{SLURM_RESTART_COUNT:-0}}" -lt {max} ]; then
        echo "tempora: requeueing after the time-limit warning (restart ${{SLURM_RESTART_COUNT:-0}} of {max})"
        scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
        exit 0
    fi
    echo "tempora: stopped on the time-limit warning {max} times; not requeueing again (raise the time limit)"
    exit 1
fi
exit "$status"
"#,
        experiment = ctx.experiment,
        name = array.name,
        kind = array.kind.name(),
        elements = array.elements.len(),
        plan = crate::layout::slurm_files::PLAN,
        binary = crate::layout::slurm_files::BINARY,
        device = ctx.device,
        requeue = REQUEUE_EXIT,
        max = ctx.max_requeues,
    )
}

/// The `sbatch` arguments of `array` (without `--parsable`, which the
/// Slurm client adds), with its `afterok` dependency and the script last.
pub fn sbatch_args(
    ctx: &ScriptContext,
    account: Option<&str>,
    array: &ArrayPlan,
    dependency: Option<String>,
    workdir: &Path,
) -> Vec<String> {
    let r = &array.resources;
    let last = array.elements.len().saturating_sub(1);
    let mut args = vec![
        format!("--job-name=tempora:{}:{}", ctx.experiment, array.name),
        match r.concurrency {
            Some(c) => format!("--array=0-{last}%{c}"),
            None => format!("--array=0-{last}"),
        },
        format!("--partition={}", r.partition),
        format!("--time={}", r.time),
        format!("--cpus-per-task={}", r.cpus),
        format!("--mem={}", r.memory),
    ];
    if let Some(account) = account {
        args.push(format!("--account={account}"));
    }
    if let Some(gres) = &r.gres {
        args.push(format!("--gres={gres}"));
    }
    args.extend([
        format!("--output={}", ctx.run.log_pattern(&array.name).display()),
        // a requeued element appends to its output instead of truncating it
        "--open-mode=append".to_string(),
        format!("--chdir={}", workdir.display()),
        "--requeue".to_string(),
        format!("--signal=B:USR2@{WARNING_SECONDS}"),
        "--kill-on-invalid-dep=yes".to_string(),
    ]);
    if let Some(dep) = dependency {
        args.push(format!("--dependency={dep}"));
    }
    args.push(ctx.run.script(&array.name).display().to_string());
    args
}
