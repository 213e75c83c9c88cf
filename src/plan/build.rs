//! Expands an [`Experiment`] and its loaded [`Dataset`] into a [`TaskGraph`]:
//! features per track → normalisation statistics → chunk sets per
//! (chunk frames, hop, fold) → train per (model, hop, fold) → report.
//!
//! It never decodes audio nor reads a cache entry: it needs only the track
//! list and each track's content hash (see [`super::sources`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::Dataset;
use crate::features::{FeatureConfig, NormSplit};
use crate::spec::{Experiment, ModelSpec};

use super::graph::TaskGraph;
use super::params::{
    ChunksParams, DatasetInfo, DeviceClass, FeaturesParams, ModelReportInfo, NormParams, NormSongs,
    PaperOnlyRow, ReportParams, SongRef, SplitParams, SweepInfo, TaskParams, TrainParams,
};
use super::task::{Dep, KeyError, Locator, Task};
use super::PlanError;

/// What to plan beyond the spec (command-line selections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Device class training runs on (keyed).
    pub device: DeviceClass,
    /// Only these models (`--only`); empty = all. A selection leaves out the report.
    pub only: Vec<String>,
    /// Only these folds (`--folds`); `None` = all. A selection leaves out the report.
    pub folds: Option<Vec<usize>>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            device: DeviceClass::Cpu,
            only: Vec::new(),
            folds: None,
        }
    }
}

/// Plans the experiment. `source_hashes[i]` is the content hash of
/// `dataset.tracks[i]`; `canonical` is how a Ballroom or GTZAN copy compares
/// with the canonical checksums (the report header says it).
pub fn build(
    exp: &Experiment,
    dataset: &Dataset,
    source_hashes: &[String],
    canonical: Option<&str>,
    opts: &PlanOptions,
) -> Result<TaskGraph, PlanError> {
    check_inputs(exp, dataset, source_hashes, opts)?;
    let models = select_models(exp, &opts.only)?;
    let folds: Vec<usize> = match &opts.folds {
        Some(f) => f.clone(),
        None => (0..exp.protocol.folds).collect(),
    };
    let mut graph = TaskGraph::new();

    let features = features_tasks(dataset, source_hashes, &exp.features)?;
    for task in &features {
        graph.insert(task.clone())?;
    }
    let split = SplitParams {
        folds: exp.protocol.folds,
        seed: exp.seed,
        songs: dataset
            .tracks
            .iter()
            .zip(&features)
            .map(|(t, f)| SongRef {
                track: t.id.clone(),
                label: t.label,
                features: f.key,
            })
            .collect(),
    };
    let song_deps: Vec<Dep> = features.iter().map(Task::as_dep).collect();
    let context = TrainContext {
        device: opts.device,
        features: exp.features.clone(),
        class_names: dataset.classes.clone(),
        dataset_hash: dataset_hash(dataset, source_hashes),
    };

    // Chunk sets and statistics are shared by models: build each once.
    let mut norms: BTreeMap<Option<usize>, Dep> = BTreeMap::new();
    let mut chunk_sets: BTreeMap<(usize, usize, usize), Dep> = BTreeMap::new();
    let mut trains = Vec::new();
    for &(m, model) in &models {
        for &hop in &model.hops {
            for &fold in &folds {
                let norm_fold = match exp.normalisation.split {
                    NormSplit::AllSongs => None,
                    NormSplit::TrainOnly => Some(fold),
                };
                let norm = match norms.get(&norm_fold) {
                    Some(d) => d.clone(),
                    None => {
                        let task = norm_task(exp, norm_fold, &split, &song_deps)?;
                        let d = task.as_dep();
                        graph.insert(task)?;
                        norms.insert(norm_fold, d.clone());
                        d
                    }
                };
                let at = (model.chunk_frames, hop, fold);
                let chunks = match chunk_sets.get(&at) {
                    Some(d) => d.clone(),
                    None => {
                        let task = chunks_task(exp, at, &split, &song_deps)?;
                        let d = task.as_dep();
                        graph.insert(task)?;
                        chunk_sets.insert(at, d.clone());
                        d
                    }
                };
                let train = train_task(m, model, (hop, fold), &context, vec![chunks, norm])?;
                trains.push(train.as_dep());
                graph.insert(train)?;
            }
        }
    }
    if opts.only.is_empty() && opts.folds.is_none() {
        let dataset_info = DatasetInfo {
            name: dataset.name.clone(),
            tracks: dataset.tracks.len(),
            content_hash: context.dataset_hash.clone(),
            canonical: canonical.map(str::to_owned),
        };
        let report = report_task(exp, dataset, dataset_info, &models, trains)?;
        graph.insert(report)?;
    }
    Ok(graph)
}

/// What every train task of a plan shares besides its model.
struct TrainContext {
    device: DeviceClass,
    features: FeatureConfig,
    class_names: Vec<String>,
    dataset_hash: String,
}

/// Content hash of a dataset: track ids, labels and audio content hashes, in order.
fn dataset_hash(dataset: &Dataset, source_hashes: &[String]) -> String {
    let mut hasher = blake3::Hasher::new();
    for (track, hash) in dataset.tracks.iter().zip(source_hashes) {
        for part in [track.id.as_str(), &track.label.to_string(), hash] {
            hasher.update(part.as_bytes());
            hasher.update(b"\0");
        }
    }
    hasher.finalize().to_hex().to_string()
}

/// The features task of every track, in track order (also planned alone by
/// `tempora features <dataset>`). `source_hashes[i]` belongs to `dataset.tracks[i]`.
pub fn features_tasks(
    dataset: &Dataset,
    source_hashes: &[String],
    config: &FeatureConfig,
) -> Result<Vec<Task>, KeyError> {
    dataset
        .tracks
        .iter()
        .zip(source_hashes)
        .enumerate()
        .map(|(i, (track, hash))| {
            Task::new(
                format!("features/{}", track.id),
                TaskParams::Features(FeaturesParams {
                    config: config.clone(),
                }),
                BTreeMap::from([("audio".to_string(), hash.clone())]),
                vec![],
                Locator::Track(i),
            )
        })
        .collect()
}

/// Refuses the same recording (equal content hash) under two labels: its
/// class is ambiguous and it may sit in a training and a test fold at once (a
/// known defect of public MIR datasets). Copies under one label are allowed.
fn check_one_label_per_recording(dataset: &Dataset, hashes: &[String]) -> Result<(), PlanError> {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, hash) in hashes.iter().enumerate() {
        let j = *first.entry(hash.as_str()).or_insert(i);
        let (a, b) = (&dataset.tracks[j], &dataset.tracks[i]);
        if a.label != b.label {
            return Err(PlanError::SameRecording {
                first: a.id.clone(),
                second: b.id.clone(),
                hash: hash.chars().take(16).collect(),
            });
        }
    }
    Ok(())
}

fn check_inputs(
    exp: &Experiment,
    dataset: &Dataset,
    source_hashes: &[String],
    opts: &PlanOptions,
) -> Result<(), PlanError> {
    if source_hashes.len() != dataset.tracks.len() {
        return Err(PlanError::Internal(format!(
            "{} content hashes for {} tracks",
            source_hashes.len(),
            dataset.tracks.len()
        )));
    }
    if dataset.tracks.len() < exp.protocol.folds {
        return Err(PlanError::TooFewSongs {
            dataset: dataset.name.clone(),
            songs: dataset.tracks.len(),
            folds: exp.protocol.folds,
        });
    }
    if let [only] = dataset.classes.as_slice() {
        return Err(PlanError::OneClass {
            dataset: dataset.name.clone(),
            class: only.clone(),
        });
    }
    check_one_label_per_recording(dataset, source_hashes)?;
    if dataset.classes.len() != exp.protocol.classes {
        return Err(PlanError::ClassMismatch {
            dataset: dataset.name.clone(),
            found: dataset.classes.len(),
            spec: exp.protocol.classes,
        });
    }
    if let Some(&fold) = opts
        .folds
        .iter()
        .flatten()
        .find(|&&f| f >= exp.protocol.folds)
    {
        return Err(PlanError::NoSuchFold {
            fold,
            folds: exp.protocol.folds,
        });
    }
    Ok(())
}

fn select_models<'e>(
    exp: &'e Experiment,
    only: &[String],
) -> Result<Vec<(usize, &'e ModelSpec)>, PlanError> {
    if only.is_empty() {
        return Ok(exp.models.iter().enumerate().collect());
    }
    let mut picked = Vec::new();
    for name in only {
        let Some(i) = exp.models.iter().position(|m| &m.name == name) else {
            let nearest = exp
                .models
                .iter()
                .map(|m| (strsim::jaro_winkler(&m.name, name), m.name.clone()))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| n)
                .unwrap_or_default();
            return Err(PlanError::NoSuchModel {
                name: name.clone(),
                nearest,
            });
        };
        picked.push((i, &exp.models[i]));
    }
    picked.sort_by_key(|(i, _)| *i);
    picked.dedup_by_key(|(i, _)| *i);
    Ok(picked)
}

fn norm_task(
    exp: &Experiment,
    fold: Option<usize>,
    split: &SplitParams,
    deps: &[Dep],
) -> Result<Task, KeyError> {
    // All-songs statistics are one task shared by every fold; train-only
    // statistics depend on the fold's split.
    let (id, songs) = match fold {
        None => (
            "norm/all".to_string(),
            NormSongs::All {
                songs: split.songs.clone(),
            },
        ),
        Some(fold) => (
            format!("norm/fold{fold}"),
            NormSongs::TrainOfFold {
                fold,
                split: split.clone(),
            },
        ),
    };
    let params = TaskParams::Norm(NormParams {
        config: exp.normalisation,
        songs,
    });
    Task::new(id, params, BTreeMap::new(), deps.to_vec(), Locator::None)
}

fn chunks_task(
    exp: &Experiment,
    (frames, hop, fold): (usize, usize, usize),
    split: &SplitParams,
    deps: &[Dep],
) -> Result<Task, KeyError> {
    let params = TaskParams::Chunks(ChunksParams {
        chunk_frames: frames,
        hop,
        fold,
        split: split.clone(),
        chunk_policy: exp.protocol.chunk_policy,
        short_songs: exp.protocol.short_songs,
    });
    Task::new(
        format!("chunks/frames{frames}/hop{hop}/fold{fold}"),
        params,
        BTreeMap::new(),
        deps.to_vec(),
        Locator::None,
    )
}

fn train_task(
    index: usize,
    model: &ModelSpec,
    (hop, fold): (usize, usize),
    context: &TrainContext,
    deps: Vec<Dep>,
) -> Result<Task, KeyError> {
    // The model name is keyed because the test metrics record it.
    let params = TaskParams::Train(TrainParams {
        model: model.name.clone(),
        arch: model.arch.clone(),
        train: model.train.clone(),
        hop,
        fold,
        device: context.device,
        features: context.features.clone(),
        class_names: context.class_names.clone(),
        dataset_hash: context.dataset_hash.clone(),
    });
    Task::new(
        format!("train/{}/hop{hop}/fold{fold}", model.name),
        params,
        BTreeMap::new(),
        deps,
        Locator::Model(index),
    )
}

/// The report task: provenance fixed at plan time, the models with the
/// paper's numbers, every train task upstream.
fn report_task(
    exp: &Experiment,
    dataset: &Dataset,
    dataset_info: DatasetInfo,
    models: &[(usize, &ModelSpec)],
    trains: Vec<Dep>,
) -> Result<Task, KeyError> {
    let infos: Vec<ModelReportInfo> = models
        .iter()
        .map(|(_, m)| ModelReportInfo {
            name: m.name.clone(),
            params: m.arch.param_count(),
            paper_params: m.paper.as_ref().map(|p| p.params),
            hops: m.hops.clone(),
            paper_accuracy: m
                .paper
                .as_ref()
                .map(|p| p.accuracy.iter().map(|(&h, &a)| (h, a / 100.0)).collect())
                .unwrap_or_default(),
            sweep: m.sweep.as_ref().map(|s| SweepInfo {
                base: s.base.clone(),
                settings: s.settings.clone(),
            }),
        })
        .collect();
    let params = TaskParams::Report(ReportParams {
        experiment: exp.name.clone(),
        title: exp.title.clone(),
        description: exp.description.clone(),
        profile: exp.profile.clone(),
        profile_description: exp.profile_description.clone(),
        spec_hash: exp
            .hash()
            .map_err(|source| KeyError {
                task: "report".to_string(),
                source,
            })?
            .to_string(),
        dataset: dataset_info,
        protocol: protocol_summary(exp, models),
        folds: exp.protocol.folds,
        class_names: dataset.classes.clone(),
        models: infos,
        archs: models.iter().map(|(_, m)| m.arch.clone()).collect(),
        references: exp
            .references
            .iter()
            .map(|r| PaperOnlyRow {
                name: r.name.clone(),
                accuracy: r.accuracy / 100.0,
                source: r.source.clone(),
            })
            .collect(),
        claims: exp.claims.clone(),
    });
    Task::new(
        format!("report/{}", exp.name),
        params,
        BTreeMap::new(),
        trains,
        Locator::None,
    )
}

/// One line for the report header: folds, optimiser, epochs, schedule, chunking.
fn protocol_summary(exp: &Experiment, models: &[(usize, &ModelSpec)]) -> String {
    fn distinct<T: ToString>(values: impl Iterator<Item = T>) -> String {
        let mut seen: Vec<String> = Vec::new();
        for v in values.map(|v| v.to_string()) {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen.join("/")
    }
    let ms = || models.iter().map(|(_, m)| *m);
    let schedule = distinct(ms().map(|m| {
        let s = &m.train.schedule;
        let val = s.val_patience.map_or(String::new(), |p| {
            format!("; also stops after {p} epochs without a better validation accuracy")
        });
        format!(
            "patience {}, stop after {}, factor {}{val}",
            s.patience, s.stop_after, s.factor
        )
    }));
    format!(
        "{} folds (seed {}); SGD lr {}, batch {}, epoch limit {}, loss-stall schedule ({}); \
         chunks of {} frames at hops {}; {} chunk starts; {} normalisation over {}",
        exp.protocol.folds,
        exp.seed,
        distinct(ms().map(|m| m.train.learning_rate)),
        distinct(ms().map(|m| m.train.batch_size)),
        distinct(ms().map(|m| m.train.epochs)),
        schedule,
        distinct(ms().map(|m| m.chunk_frames)),
        distinct(ms().flat_map(|m| m.hops.iter().copied())),
        word(&exp.protocol.chunk_policy),
        word(&exp.normalisation.scope),
        word(&exp.normalisation.split).replace('_', " "),
    )
}

/// A unit enum's serde name (`all_songs`), as specs spell it.
fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}
