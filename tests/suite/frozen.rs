//! Frozen plans and tasks run by key in another process: the entry a second
//! process publishes equals the one the local executor publishes; two
//! processes publishing one task end with one valid entry; a frozen task whose
//! inputs no longer give its key is refused; and a train entry alone holds
//! everything needed to classify new audio.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};

use tempora::dataset::DatasetSource;
use tempora::device::ComputeDevice;
use tempora::exec::runner::{JobInfo, Mode, Observer, Outcome, Update};
use tempora::exec::store::{Check, Probe};
use tempora::features::mel_spectrogram;
use tempora::plan::{FrozenPlan, Plan, PlanOptions, TaskKind};
use tempora::train::ModelCard;
use tempora::workspace::{Batch, Executor, LocalExecutor, SpecTarget, Workspace};

const BIN: &str = env!("CARGO_BIN_EXE_tempora");

fn table1_tiny() -> SpecTarget {
    SpecTarget {
        spec: Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/table1.toml"),
        profile: Some("tiny".into()),
        data: None,
    }
}

struct Quiet;

impl Observer for Quiet {
    fn started(&self, _: &JobInfo) {}
    fn update(&self, _: &JobInfo, _: &Update) {}
    fn finished(&self, _: &JobInfo, _: &Result<Outcome, String>, _: f64) {}
    fn skipped(&self, _: &JobInfo, _: &str) {}
}

/// Plans `table1 --profile tiny` in a fresh cache under `dir`, with `opts`.
fn planned(dir: &Path, opts: &PlanOptions) -> (Workspace, Plan) {
    let workspace = Workspace::open(&dir.join("cache")).expect("open the cache");
    let plan = workspace
        .plan_spec(&table1_tiny(), opts, Check::Sizes)
        .expect("plan the tiny profile");
    (workspace, plan)
}

/// Runs the tasks of `kinds` of the plan with the local executor.
fn run_kinds(workspace: &Workspace, plan: &Plan, kinds: &[TaskKind]) {
    let batch = Batch {
        experiment: plan.experiment.name.clone(),
        profile: plan.experiment.profile.clone(),
        context: Arc::new(workspace.context(plan.dataset.clone(), ComputeDevice::Cpu)),
        tasks: plan
            .graph
            .tasks()
            .filter(|t| kinds.contains(&t.kind()))
            .cloned()
            .collect(),
        upstream: Vec::new(),
    };
    let mut local = LocalExecutor::all_cores(Mode::Run);
    local.jobs = 2;
    let summary = local.execute(&batch, Arc::new(Quiet)).expect("run");
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
}

fn exec_task(frozen: &Path, cache: &Path, task: &str) -> Output {
    Command::new(BIN)
        .args(["exec-task", "--device", "cpu", "--task", task, "--plan"])
        .arg(frozen)
        .arg("--cache")
        .arg(cache)
        .output()
        .expect("spawn tempora exec-task")
}

/// Every output file of a published entry, by relative path (the manifest,
/// which records timings, as its list of outputs only).
fn entry_files(workspace: &Workspace, kind: TaskKind, key: &str) -> BTreeMap<String, Vec<u8>> {
    let store = workspace.store();
    let Ok(Probe::Present(manifest)) = store.probe(kind.name(), key, Check::Hashes) else {
        panic!("{kind}/{key} is not published");
    };
    manifest
        .outputs
        .iter()
        .map(|o| {
            let bytes = store.read_output(kind.name(), key, &o.path).expect("read");
            (o.path.clone(), bytes)
        })
        .collect()
}

#[test]
fn a_task_run_by_key_in_another_process_equals_the_local_executors_entry() {
    let local_dir = tempfile::tempdir().expect("temp dir");
    let (local, plan) = planned(local_dir.path(), &PlanOptions::default());
    run_kinds(
        &local,
        &plan,
        &[TaskKind::Features, TaskKind::Norm, TaskKind::Chunks],
    );

    let other_dir = tempfile::tempdir().expect("temp dir");
    let (other, plan_b) = planned(other_dir.path(), &PlanOptions::default());
    let frozen = other.freeze(&plan_b).expect("freeze");
    run_kinds(&other, &plan_b, &[TaskKind::Features]);
    let chunks = plan_b
        .graph
        .of_kind(TaskKind::Chunks)
        .next()
        .expect("a chunks task");
    let norm = plan_b.graph.of_kind(TaskKind::Norm).next().expect("norm");
    // One task by id, one by a key prefix, each in its own process.
    for selector in [chunks.id.0.clone(), norm.key.hex()[..16].to_string()] {
        let out = exec_task(&frozen, other.store().root(), &selector);
        assert!(
            out.status.success(),
            "exec-task {selector}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("computed "));
    }
    for task in [chunks, norm] {
        let key = task.key.hex();
        assert_eq!(
            entry_files(&other, task.kind(), &key),
            entry_files(&local, task.kind(), &key),
            "{}",
            task.id
        );
    }
}

#[test]
fn two_processes_publishing_one_frozen_task_leave_one_valid_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (workspace, plan) = planned(dir.path(), &PlanOptions::default());
    let frozen = workspace.freeze(&plan).expect("freeze");
    let task = plan
        .graph
        .of_kind(TaskKind::Features)
        .next()
        .expect("features");
    let cache = workspace.store().root().to_path_buf();
    let spawn = || {
        Command::new(BIN)
            .args([
                "exec-task",
                "--device",
                "cpu",
                "--task",
                &task.id.0,
                "--plan",
            ])
            .arg(&frozen)
            .arg("--cache")
            .arg(&cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let children = [spawn(), spawn()];
    let mut words: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("child ends");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    words.sort();
    assert_eq!(words, ["computed", "reused"]);
    let probe = workspace
        .store()
        .probe("features", &task.key.hex(), Check::Hashes)
        .expect("probe");
    assert!(matches!(probe, Probe::Present(_)), "{probe:?}");
    assert_eq!(workspace.store().entries().expect("entries").len(), 1);
}

#[test]
fn a_frozen_task_whose_inputs_no_longer_give_its_key_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (workspace, plan) = planned(dir.path(), &PlanOptions::default());
    let path = workspace.freeze(&plan).expect("freeze");
    let text = std::fs::read_to_string(&path).expect("read");
    // Change one parameter of every chunks task (their hop), keep the keys.
    let edited = text.replace("\"hop\":250", "\"hop\":125");
    assert_ne!(edited, text);
    let tampered: PathBuf = dir.path().join("tampered.json");
    std::fs::write(&tampered, edited).expect("write");
    let frozen = FrozenPlan::load(&tampered).expect("still a frozen plan");
    let id = &frozen
        .tasks
        .iter()
        .find(|t| t.id.0.starts_with("chunks/"))
        .expect("chunks")
        .id;
    let out = exec_task(&tampered, workspace.store().root(), &id.0);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to run it"), "{err}");
    assert!(workspace.store().entries().expect("entries").is_empty());
    let missing = exec_task(&path, workspace.store().root(), "train/nope/hop1/fold0");
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn a_train_entry_alone_classifies_new_audio() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = PlanOptions {
        only: vec!["O-net".into()],
        folds: Some(vec![0]),
        ..PlanOptions::default()
    };
    let (workspace, plan) = planned(dir.path(), &opts);
    let run = workspace
        .run(
            &plan,
            ComputeDevice::Cpu,
            &LocalExecutor::all_cores(Mode::Run),
            vec![],
            true,
        )
        .expect("run");
    assert!(run.ok(), "{:?}", run.summary.failed);
    let train = plan.graph.of_kind(TaskKind::Train).next().expect("train");
    let entry = workspace.store().layout().entry("train", &train.key.hex());

    // From here on: the entry directory only.
    let card = ModelCard::load(&entry).expect("model card");
    assert_eq!(card.class_names.len(), card.arch.classes);
    assert_eq!(card.provenance.task_key, train.key.hex());
    let device = Default::default();
    let net = card
        .load_model::<NdArray>(&entry, &device)
        .expect("weights load into the card's architecture");
    let dataset = "synthetic:tiny".parse::<DatasetSource>().expect("dataset");
    let track = &dataset.load().expect("load").tracks[0];
    let audio = track.load_audio().expect("audio");
    let mut mel = mel_spectrogram(&audio.samples, &card.features);
    card.normalisation.apply(&mut mel).expect("normalise");
    let (bands, frames) = (card.arch.bands, card.chunk_frames);
    assert!(mel.frames >= frames, "the clip holds one chunk");
    let mut input = vec![0.0f32; bands * frames];
    for f in 0..frames {
        for b in 0..bands {
            input[b * frames + f] = mel.data[f * mel.bands + b];
        }
    }
    let x = Tensor::<NdArray, 3>::from_data(TensorData::new(input, [1, bands, frames]), &device);
    let logits: Vec<f32> = net.forward(x).into_data().to_vec().expect("logits");
    assert_eq!(logits.len(), card.class_names.len());
    assert!(logits.iter().all(|v| v.is_finite()));
    let best = (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .expect("a class");
    assert!(!card.class_names[best].is_empty());
}

/// A training task keyed for the CPU is refused on another device class by
/// every path that runs tasks — the local run of a plan, one task of a frozen
/// plan (what `exec-task` and Slurm workers call) — with one error naming
/// both classes, before anything is claimed or published. (The device is
/// never touched: the refusal comes first, so this runs without a GPU.)
#[test]
fn a_cpu_keyed_task_is_refused_on_another_device_class_and_publishes_nothing() {
    use tempora::tasks::TaskError;
    use tempora::workspace::{ExecError, WorkspaceError};
    let dir = tempfile::tempdir().unwrap();
    let (workspace, plan) = planned(dir.path(), &PlanOptions::default());
    let cuda = ComputeDevice::Cuda(0);
    let local = LocalExecutor::all_cores(Mode::Run);
    let err = workspace
        .run(&plan, cuda, &local, Vec::new(), true)
        .expect_err("a CPU plan on CUDA is refused");
    let text = err.to_string();
    assert!(
        text.contains("made for the cpu device class") && text.contains("run on cuda"),
        "{text}"
    );
    let frozen = FrozenPlan::of(&plan);
    let train = plan.graph.of_kind(TaskKind::Train).next().unwrap();
    let err = workspace
        .run_frozen_task(&frozen, &train.id.0, cuda, Arc::new(Quiet))
        .expect_err("a CPU-keyed task on CUDA is refused");
    assert!(
        matches!(
            &err,
            WorkspaceError::Exec(e) if matches!(**e, ExecError::Task(TaskError::WrongDevice { .. }))
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("planned for the cpu device class but asked to run on cuda"),
        "{text}"
    );
    let layout = workspace.store().layout();
    let key = train.key.hex();
    assert!(!layout.entry("train", &key).exists(), "nothing published");
    assert!(!layout.work("train", &key).exists(), "nothing claimed");
    assert_eq!(frozen.device, tempora::plan::DeviceClass::Cpu);
}
