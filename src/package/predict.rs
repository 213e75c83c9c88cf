//! Classifying recordings with a package: the same front end and the same
//! evaluation code as training and testing, nothing re-implemented.
//!
//! Per recording: the shared front end ([`recording_mel`], which is
//! [`crate::features::file_to_mel`]: decode, downmix and resample with
//! [`crate::audio::load`], wav, flac, mp3, ogg at any rate → log-mel
//! spectrogram with the package's feature configuration) → standardise with
//! the package's statistics → chunks of `chunk_frames` at the package's hop
//! and chunk policy ([`ChunkSet`]; a recording shorter than one chunk gets one
//! zero-padded chunk) → per-chunk softmax ([`crate::train::evaluate::score`])
//! → the song's class by majority vote over chunks with the tie rule of
//! [`crate::train::evaluate`] (most chunk votes, then highest summed
//! probability, then lowest class index) and the mean softmax over chunks as
//! its class probabilities.
//!
//! Files are classified in parallel (rayon); a file that fails yields its
//! error and the others go on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::backend::cuda::CudaDevice;
use burn::backend::ndarray::NdArrayDevice;
use burn::backend::{Cuda, NdArray, Wgpu};
use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::ShortSongPolicy;
use crate::device::ComputeDevice;
use crate::features::{file_to_mel, FeatureConfig, FrontEndError, Recording};
use crate::model::{FilterBankBackend, FilterBankNet};
use crate::train::evaluate::{score, vote};
use crate::train::weights::NamedTensor;
use crate::train::{ChunkSet, ChunkSpec, SongInfo};

use super::{Package, PackageError, PredictError};

/// Chunks scored per forward pass.
const BATCH: usize = 64;

/// One chunk's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkPrediction {
    /// First frame of the chunk.
    pub start_frame: usize,
    /// Where the chunk starts in the recording, in seconds.
    pub start_seconds: f64,
    /// The chunk's class (arg-max of its logits).
    pub class: String,
    /// Softmax probabilities, in label order.
    pub probabilities: Vec<f64>,
}

/// One recording's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The recording.
    pub path: PathBuf,
    /// Song-level class (majority vote over chunks).
    pub class: String,
    /// Its index in the package's class names.
    pub class_index: usize,
    /// Chunk votes per class, in label order.
    pub votes: Vec<u32>,
    /// Mean softmax over chunks, per class, in label order.
    pub probabilities: Vec<f64>,
    /// Duration of the recording in seconds.
    pub seconds: f64,
    /// Per-chunk predictions, in time order.
    pub chunks: Vec<ChunkPrediction>,
}

/// A package's network on one device, ready to classify files.
pub struct Predictor<B: FilterBankBackend> {
    package: Package,
    // Cloned per file (cheap: tensors are reference-counted), so files can be
    // classified from several threads.
    model: Mutex<FilterBankNet<B>>,
    device: B::Device,
}

impl<B: FilterBankBackend> Predictor<B> {
    /// Loads the package's network on `device`.
    pub fn new(package: Package, device: B::Device) -> Result<Self, PackageError> {
        let model = package.model::<B>(&device)?;
        Ok(Self {
            package,
            model: Mutex::new(model),
            device,
        })
    }

    /// The recording's chunks as the network sees them: decoded, resampled,
    /// log-mel, standardised, cut at the package's hop (one zero-padded chunk
    /// when shorter than a chunk); and its duration in seconds.
    fn chunk_set(&self, path: &Path) -> Result<(ChunkSet, f64), PredictError> {
        let m = &self.package.manifest;
        let Recording { mut mel, seconds } = recording_mel(path, &m.features)?;
        m.normalisation
            .apply(&mut mel)
            .map_err(|source| PredictError::Features {
                path: path.to_owned(),
                source,
            })?;
        let song = SongInfo {
            track: path.display().to_string(),
            label: 0, // unknown; only the vote is used
            spectrogram: 0,
        };
        let spec = ChunkSpec {
            frames: m.chunk_frames,
            hop: m.hop,
            policy: m.chunk_policy,
            short_songs: ShortSongPolicy::Pad,
        };
        let set = ChunkSet::new(Arc::from(vec![mel]), vec![song], m.arch.bands, &spec).map_err(
            |source| PredictError::Model {
                path: path.to_owned(),
                source,
            },
        )?;
        Ok((set, seconds))
    }

    /// The network's input for one recording, `[chunks, bands, frames]`
    /// (named `input`): what [`Self::predict`] feeds the network, for checking
    /// the package in another framework (`benches/pytorch_reference.py`).
    pub fn model_input(&self, path: &Path) -> Result<NamedTensor, PredictError> {
        let (set, _) = self.chunk_set(path)?;
        let all: Vec<usize> = (0..set.len()).collect();
        let (input, _) = set.batch::<NdArray>(&all, &NdArrayDevice::Cpu);
        let shape = input.dims().to_vec();
        let values = input
            .into_data()
            .into_vec::<f32>()
            .map_err(|e| PredictError::Model {
                path: path.to_owned(),
                source: crate::train::TrainError::Data(format!("reading the chunks back: {e:?}")),
            })?;
        Ok(NamedTensor {
            name: "input".to_owned(),
            shape,
            values,
        })
    }

    /// Classifies one recording.
    pub fn predict(&self, path: &Path) -> Result<Prediction, PredictError> {
        let m = &self.package.manifest;
        let (set, seconds) = self.chunk_set(path)?;
        let model_error = |source| PredictError::Model {
            path: path.to_owned(),
            source,
        };
        let model = self
            .model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let classes = m.class_names.len();
        let scores = score(&model, &set, classes, BATCH, &self.device).map_err(model_error)?;
        let song = vote(&set, &scores).into_iter().next();
        let Some(song) = song else {
            // Cannot happen with the pad policy; kept as an error, not a panic.
            return Err(model_error(crate::train::TrainError::Data(
                "the recording yields no chunk".into(),
            )));
        };
        let frame_seconds = m.features.hop_size as f64 / f64::from(m.features.sample_rate);
        let chunks: Vec<ChunkPrediction> = set
            .chunks()
            .iter()
            .zip(scores.probabilities.chunks_exact(classes))
            .zip(&scores.predicted)
            .map(|((chunk, probabilities), &class)| ChunkPrediction {
                start_frame: chunk.start,
                start_seconds: chunk.start as f64 * frame_seconds,
                class: m.class_names[class].clone(),
                probabilities: probabilities.to_vec(),
            })
            .collect();
        let n = chunks.len().max(1) as f64;
        let probabilities = (0..classes)
            .map(|c| chunks.iter().map(|ch| ch.probabilities[c]).sum::<f64>() / n)
            .collect();
        Ok(Prediction {
            path: path.to_owned(),
            class: m.class_names[song.predicted].clone(),
            class_index: song.predicted,
            votes: song.votes,
            probabilities,
            seconds,
            chunks,
        })
    }

    /// Classifies `paths` in parallel, in input order; `done` is called once
    /// per file as it finishes (from any thread).
    pub fn predict_all(
        &self,
        paths: &[PathBuf],
        done: &(dyn Fn(&Path) + Sync),
    ) -> Vec<Result<Prediction, PredictError>> {
        paths
            .par_iter()
            .map(|path| {
                let result = self.predict(path);
                done(path);
                result
            })
            .collect()
    }
}

/// A recording's log-mel spectrogram as `predict` computes it, before the
/// package's standardisation and chunking: the shared front end
/// ([`crate::features::file_to_mel`]) with the package's feature configuration
/// `features`; and the recording's duration in seconds.
pub fn recording_mel(path: &Path, features: &FeatureConfig) -> Result<Recording, PredictError> {
    file_to_mel(path, features).map_err(|source| match source {
        // Audio errors name the file already.
        FrontEndError::Audio(e) => PredictError::Audio(e),
        source => PredictError::FrontEnd {
            path: path.to_owned(),
            source,
        },
    })
}

/// Writes each recording's network input (see [`Predictor::model_input`]) to
/// `dir/<file name>.input.safetensors`, computed on the CPU; returns the files
/// written, in input order. A recording that fails is skipped (its error is
/// what `predict` reports).
pub fn save_model_inputs(
    package: Package,
    paths: &[PathBuf],
    dir: &Path,
) -> Result<Vec<PathBuf>, PackageError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PackageError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let predictor = Predictor::<NdArray>::new(package, NdArrayDevice::Cpu)?;
    let mut written = Vec::new();
    for path in paths {
        let Ok(input) = predictor.model_input(path) else {
            continue;
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let out = dir.join(format!("{name}.input.safetensors"));
        let bytes = crate::train::weights::encode_safetensors(&[input], &Default::default())
            .map_err(|e| PackageError::Io {
                path: out.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        std::fs::write(&out, bytes).map_err(io(&out))?;
        written.push(out);
    }
    Ok(written)
}

/// Classifies `paths` with `package` on `device` (CPU: NdArray; CUDA; wgpu).
pub fn predict_files(
    package: Package,
    paths: &[PathBuf],
    device: ComputeDevice,
    done: &(dyn Fn(&Path) + Sync),
) -> Result<Vec<Result<Prediction, PredictError>>, PackageError> {
    Ok(match device {
        ComputeDevice::Cpu => {
            Predictor::<NdArray>::new(package, NdArrayDevice::Cpu)?.predict_all(paths, done)
        }
        ComputeDevice::Cuda(index) => {
            Predictor::<Cuda>::new(package, CudaDevice::new(index))?.predict_all(paths, done)
        }
        ComputeDevice::Wgpu(index) => {
            let device = crate::device::wgpu_device(index)?;
            Predictor::<Wgpu>::new(package, device)?.predict_all(paths, done)
        }
    })
}

/// The recordings `inputs` name: files as given (a file with an unsupported
/// extension is kept, so that it reports its own error), folders walked
/// recursively for files with a supported extension, sorted.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, PackageError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PackageError> {
    let io = |source| PackageError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if crate::audio::has_supported_extension(&path) {
            out.push(path);
        }
    }
    Ok(())
}
