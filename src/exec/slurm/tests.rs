//! The Slurm executor against a fake Slurm: compilation invariants on the
//! tiny Table 1 plan, the submitted argument vectors and batch scripts
//! (insta snapshots), MaxArraySize splits, transient-failure retries, and a
//! second run attaching instead of submitting, failures explained by
//! accounting only where it exists, and which run directories `gc` removes.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::commands::{parse_sacct, Accounted, CommandError, QueuedElement, Slurm};
use super::compile::compile;
use super::config::{parse, Settings};
use super::{RunDir, SlurmExecutor};
use crate::device::ComputeDevice;
use crate::exec::executor::{Batch, Executor};
use crate::exec::runner::{JobInfo, Observer, Outcome, StopFlag, Update};
use crate::exec::store::Check;
use crate::exec::ExecError;
use crate::plan::{Plan, PlanOptions, TaskKind};
use crate::workspace::{SpecTarget, Workspace};

/// Records every call; answers from its fields.
#[derive(Default)]
struct FakeSlurm {
    submitted: Mutex<Vec<Vec<String>>>,
    queue: Mutex<Vec<QueuedElement>>,
    max_array_size: u32,
    transient_failures: Mutex<u32>,
    /// `sacct` output; `None`: no accounting (sacct fails).
    accounting: Option<String>,
    /// `squeue` fails (Slurm unreachable).
    down: bool,
}

impl Slurm for FakeSlurm {
    fn sbatch(&self, args: &[String]) -> Result<u64, CommandError> {
        let mut failures = self.transient_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(CommandError::Failed {
                command: "sbatch".into(),
                status: "exit status: 1".into(),
                stderr: "sbatch: error: Socket timed out on send/recv operation".into(),
            });
        }
        let mut s = self.submitted.lock().unwrap();
        s.push(args.to_vec());
        let job = 100 + s.len() as u64;
        self.queue.lock().unwrap().push(QueuedElement {
            job,
            index: 0,
            state: "PENDING".into(),
        });
        Ok(job)
    }
    fn squeue(&self, jobs: &[u64]) -> Result<Vec<QueuedElement>, CommandError> {
        if self.down {
            return Err(CommandError::Spawn {
                program: "squeue".into(),
                reason: "No such file or directory (os error 2)".into(),
            });
        }
        let q = self.queue.lock().unwrap();
        Ok(q.iter()
            .filter(|e| jobs.contains(&e.job))
            .cloned()
            .collect())
    }
    fn scancel(&self, jobs: &[u64]) -> Result<(), CommandError> {
        self.queue
            .lock()
            .unwrap()
            .retain(|e| !jobs.contains(&e.job));
        Ok(())
    }
    fn max_array_size(&self) -> Result<u32, CommandError> {
        Ok(self.max_array_size)
    }
    fn sacct(&self, jobs: &[u64]) -> Result<Vec<Accounted>, CommandError> {
        match &self.accounting {
            Some(text) => Ok(parse_sacct(text, jobs)),
            None => Err(CommandError::Failed {
                command: "sacct".into(),
                status: "exit status: 1".into(),
                stderr: "Slurm accounting storage is disabled".into(),
            }),
        }
    }
}

struct Quiet;

impl Observer for Quiet {
    fn started(&self, _: &JobInfo) {}
    fn update(&self, _: &JobInfo, _: &Update) {}
    fn finished(&self, _: &JobInfo, _: &Result<Outcome, String>, _: f64) {}
    fn skipped(&self, _: &JobInfo, _: &str) {}
}

const SETTINGS: &str = r#"
account = "lab"
partition = "cpu"
poll_seconds = 0.05
[kinds.features]
time = "00:10:00"
cpus = 1
memory = "1G"
shard = 16
concurrency = 4
[kinds.norm]
time = "5"
cpus = 1
memory = "1G"
[kinds.chunks]
time = "5"
cpus = 1
memory = "1G"
[kinds.train]
partition = "gpu"
gres = "gpu:1"
time = "02:00:00"
cpus = 4
memory = "8G"
[kinds.report]
time = "5"
cpus = 1
memory = "2G"
"#;

fn settings() -> Settings {
    parse(Path::new("slurm.toml"), SETTINGS, &[]).unwrap()
}

fn tiny(dir: &Path) -> (Workspace, Plan) {
    let workspace = Workspace::open(&dir.join("cache")).unwrap();
    let target = SpecTarget {
        spec: Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/table1.toml"),
        profile: Some("tiny".into()),
        data: None,
    };
    let plan = workspace
        .plan_spec(&target, &PlanOptions::default(), Check::Sizes)
        .unwrap();
    (workspace, plan)
}

fn batch(workspace: &Workspace, plan: &Plan) -> Batch {
    Batch {
        experiment: plan.experiment.name.clone(),
        profile: plan.experiment.profile.clone(),
        context: Arc::new(workspace.context(plan.dataset.clone(), ComputeDevice::Cpu)),
        tasks: plan.graph.tasks().cloned().collect(),
        upstream: Vec::new(),
    }
}

fn executor(slurm: Arc<FakeSlurm>, dir: &Path) -> SlurmExecutor {
    let binary = dir.join("tempora-bin");
    std::fs::write(&binary, b"#!/bin/sh\n").unwrap();
    SlurmExecutor {
        settings: settings(),
        slurm,
        binary,
        detach: true,
        interrupt: StopFlag::new(),
        workdir: dir.to_path_buf(),
    }
}

#[test]
fn every_task_is_in_one_element_after_the_elements_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, plan) = tiny(dir.path());
    let tasks: Vec<_> = plan.graph.tasks().cloned().collect();
    let compiled = compile(&tasks, &settings(), 3).unwrap();
    assert_eq!(compiled.task_ids().count(), tasks.len());
    for t in &tasks {
        let at = compiled.element_of(&t.id).unwrap();
        let array = &compiled.arrays[at.array];
        for d in &t.deps {
            let dep = compiled.element_of(&d.id).unwrap();
            assert!(dep.array < at.array, "{} before {}", d.id, t.id);
            assert!(array.deps.contains(&dep), "{} waits for {}", t.id, d.id);
        }
    }
    for a in &compiled.arrays {
        assert!(a.elements.len() <= 3, "{} split at MaxArraySize", a.name);
        if a.kind == TaskKind::Features {
            assert!(a.elements.iter().all(|e| e.len() <= 16));
        }
    }
}

#[test]
fn a_kind_without_settings_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_, plan) = tiny(dir.path());
    let tasks: Vec<_> = plan.graph.tasks().cloned().collect();
    let partial = parse(
        Path::new("s.toml"),
        "account = \"\"\npartition = \"p\"",
        &[],
    )
    .unwrap();
    let e = compile(&tasks, &partial, 100).unwrap_err().to_string();
    assert!(
        e.contains("kinds.features.time") && e.contains("s.toml"),
        "{e}"
    );
}

#[test]
fn submission_scripts_and_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let (workspace, plan) = tiny(dir.path());
    let slurm = Arc::new(FakeSlurm {
        max_array_size: 1000,
        transient_failures: Mutex::new(2),
        ..FakeSlurm::default()
    });
    let run = executor(slurm.clone(), dir.path())
        .submit(&batch(&workspace, &plan))
        .unwrap();
    let submitted = slurm.submitted.lock().unwrap().clone();
    let compiled = run.arrays().unwrap();
    assert_eq!(submitted.len(), compiled.arrays.len(), "retried, not lost");
    assert_eq!(run.submission().unwrap().jobs.len(), submitted.len());
    assert!(run.binary().exists());
    let root = dir.path().to_string_lossy().to_string();
    let shown: Vec<String> = submitted
        .iter()
        .map(|args| args.join(" ").replace(&root, "[DIR]"))
        .collect();
    let hash = run.path.file_name().unwrap().to_string_lossy().to_string();
    let shown: Vec<String> = shown.iter().map(|s| s.replace(&hash, "[HASH]")).collect();
    insta::assert_snapshot!("sbatch_arguments", shown.join("\n"));
    let script = std::fs::read_to_string(run.script("train-0")).unwrap();
    let canonical = std::fs::canonicalize(dir.path()).unwrap();
    let script = script
        .replace(&*canonical.to_string_lossy(), "[DIR]")
        .replace(&root, "[DIR]")
        .replace(&hash, "[HASH]");
    insta::assert_snapshot!("train_batch_script", script);
}

#[test]
fn a_second_run_attaches_to_live_jobs_without_submitting() {
    let dir = tempfile::tempdir().unwrap();
    let (workspace, plan) = tiny(dir.path());
    let slurm = Arc::new(FakeSlurm {
        max_array_size: 1000,
        ..FakeSlurm::default()
    });
    let exec = executor(slurm.clone(), dir.path());
    let b = batch(&workspace, &plan);
    let first = exec.execute(&b, Arc::new(Quiet));
    let detached = |r: &Result<_, ExecError>| matches!(r, Err(ExecError::Slurm(e)) if matches!(**e, super::SlurmError::Detached { .. }));
    assert!(detached(&first));
    let n = slurm.submitted.lock().unwrap().len();
    let _ = exec.execute(&b, Arc::new(Quiet));
    assert_eq!(
        slurm.submitted.lock().unwrap().len(),
        n,
        "attached, nothing new"
    );
    let layout = workspace.store().layout();
    let name = &plan.experiment.name;
    let cancelled = super::cancel(slurm.as_ref(), layout, name, Some("tiny")).unwrap();
    assert_eq!(cancelled.len(), n);
    assert!(slurm.queue.lock().unwrap().is_empty());
    assert!(RunDir::active(layout, name, Some("tiny")).is_some());
}

#[test]
fn a_finished_run_is_settled_from_events_and_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (workspace, plan) = tiny(dir.path());
    let slurm = Arc::new(FakeSlurm {
        max_array_size: 1000,
        ..FakeSlurm::default()
    });
    let exec = executor(slurm.clone(), dir.path());
    let b = batch(&workspace, &plan);
    let run = exec.submit(&b).unwrap();
    // The first features task failed; its element then ended; the rest never ran.
    let first = &run.arrays().unwrap().arrays[0].elements[0][0];
    let writer = super::rundir::EventWriter { run: run.clone() };
    let info = JobInfo {
        id: first.0.clone(),
        label: first.0.clone(),
        resource: crate::exec::runner::Resource::Cpu,
    };
    writer.started(&info);
    writer.finished(&info, &Err("cannot decode a.wav".into()), 0.1);
    slurm.queue.lock().unwrap().clear();
    let summary = exec.watch(workspace.store(), &run, &Quiet).unwrap();
    // Features tasks whose elements never ran failed; everything after them is skipped.
    let features = b
        .tasks
        .iter()
        .filter(|t| t.kind() == TaskKind::Features)
        .count();
    assert_eq!(summary.failed.len(), features, "{:?}", summary.failed);
    let (id, error) = summary
        .failed
        .iter()
        .find(|(id, _)| id == &first.0)
        .unwrap();
    assert!(
        error.contains("a.wav") && error.contains("features-0-0.out"),
        "{id}: {error}"
    );
    assert!(
        !error.contains("accounting"),
        "no accounting, nothing more: {error}"
    );
    assert_eq!(summary.skipped, b.tasks.len() - features);
}

#[test]
fn accounting_explains_an_element_that_died() {
    let dir = tempfile::tempdir().unwrap();
    let (workspace, plan) = tiny(dir.path());
    let slurm = Arc::new(FakeSlurm {
        max_array_size: 1000,
        // jobs are 101, 102, …: the first features element ran out of time
        accounting: Some("101_0|TIMEOUT|0:0|TimeLimit\n101_1|COMPLETED|0:0|None\n".into()),
        ..FakeSlurm::default()
    });
    let exec = executor(slurm.clone(), dir.path());
    let run = exec.submit(&batch(&workspace, &plan)).unwrap();
    let arrays = run.arrays().unwrap();
    let writer = super::rundir::EventWriter { run: run.clone() };
    for (i, element) in arrays.arrays[0].elements.iter().enumerate().take(2) {
        let info = JobInfo {
            id: element[0].0.clone(),
            label: element[0].0.clone(),
            resource: crate::exec::runner::Resource::Cpu,
        };
        writer.started(&info);
        if i == 1 {
            writer.finished(&info, &Err("cannot decode b.wav".into()), 0.1);
        }
    }
    slurm.queue.lock().unwrap().clear();
    let summary = exec.watch(workspace.store(), &run, &Quiet).unwrap();
    let error = |id: &str| &summary.failed.iter().find(|f| f.0 == id).unwrap().1;
    let died = error(&arrays.arrays[0].elements[0][0].0);
    assert!(
        died.contains("ended before the task did")
            && died.ends_with("; Slurm accounting: state TIMEOUT, exit code 0:0, reason TimeLimit"),
        "{died}"
    );
    let own = error(&arrays.arrays[0].elements[1][0].0);
    assert!(
        !own.contains("accounting"),
        "a completed element adds nothing: {own}"
    );
}

fn fake_run(layout: &crate::layout::CacheLayout, hash: &str, job: u64) -> RunDir {
    let run = RunDir::new(layout, "table1", Some("tiny"), hash);
    let submission = super::Submission {
        experiment: "table1".into(),
        profile: Some("tiny".into()),
        jobs: vec![job],
    };
    run.save_submission(&submission).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    run
}

#[test]
fn gc_removes_finished_runs_and_keeps_live_newest_and_unsubmitted_ones() {
    use super::gc::collect_runs;
    let dir = tempfile::tempdir().unwrap();
    let layout = crate::layout::CacheLayout::new(dir.path());
    let replaced = fake_run(&layout, "a1", 1);
    let active = fake_run(&layout, "b2", 2);
    active.activate().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // written after `active`: being submitted (or a failed submission)
    let newer = fake_run(&layout, "c3", 3);
    let running = FakeSlurm {
        queue: Mutex::new(vec![QueuedElement {
            job: 2,
            index: 0,
            state: "RUNNING".into(),
        }]),
        ..FakeSlurm::default()
    };
    let listed = collect_runs(&layout, &running, true).unwrap();
    assert_eq!(listed.removed, vec![replaced.path.clone()]);
    assert!(replaced.path.exists(), "a dry run removes nothing");

    let down = FakeSlurm {
        down: true,
        ..FakeSlurm::default()
    };
    let collected = collect_runs(&layout, &down, false).unwrap();
    assert_eq!(collected.removed, vec![replaced.path.clone()]);
    assert!(!replaced.path.exists());
    assert!(
        active.path.exists() && newer.path.exists(),
        "without Slurm the active run stays"
    );

    let empty = FakeSlurm::default();
    let collected = collect_runs(&layout, &empty, false).unwrap();
    assert_eq!(collected.removed, vec![active.path.clone()]);
    assert_eq!(collected.kept, vec![newer.path.clone()]);
    assert!(RunDir::active(&layout, "table1", Some("tiny")).is_none());
}
