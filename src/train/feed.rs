//! Where a training's batches are gathered: on the host and uploaded at every
//! step ([`Feed::Host`], the CPU, where "upload" is a copy in memory), or on
//! the device from a corpus uploaded once ([`Feed::Device`], GPUs).
//!
//! On the device, a fold's normalised spectrograms live in one
//! `[rows + 1, bands]` tensor (every song's frames one after the other, then
//! a row of zeros), a [`ResidentCorpus`]. It is uploaded once per device and
//! shared, by content digest, by every training in the process that uses the
//! same values (all models and hops of one fold). Each split keeps a chunk
//! table on the device ([`ResidentSet`]): the corpus row of every chunk's
//! first frame, how many of its frames the song has, and its label. A batch
//! is then gathered from chunk indices alone: rows `first + t` for
//! `t < frames`, the zero row past the song's end (the host batcher's zero
//! padding), selected from the corpus and viewed as `[batch, bands, frames]`.
//! The values are copies, so device batches equal host batches bit for bit
//! (`device_batches_equal_host_batches`).
//!
//! Must not know about models, optimisers or files.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::features::MelSpectrogram;

use super::data::{ChunkSet, FoldData};

/// Where batches are gathered (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// On the host, uploaded at every step (the CPU backend).
    Host,
    /// On the device, from a corpus uploaded once (GPU backends).
    Device,
}

/// A fold's normalised spectrograms on one device (see the module docs).
pub struct ResidentCorpus<B: Backend> {
    values: Tensor<B, 2>,
    offsets: Vec<usize>,
    zero_row: usize,
}

/// Corpora on devices, by (backend, device, content digest); an entry lives
/// as long as a training holds it.
type Registry = HashMap<(TypeId, String, [u8; 32]), Weak<dyn Any + Send + Sync>>;

static RESIDENT: Mutex<Option<Registry>> = Mutex::new(None);

impl<B: Backend> ResidentCorpus<B> {
    /// The corpus of `spectrograms` on `device`: the one already there when
    /// another training in this process uploaded the same values, else a new
    /// upload.
    pub fn shared(spectrograms: &[MelSpectrogram], bands: usize, device: &B::Device) -> Arc<Self> {
        let key = (
            TypeId::of::<B>(),
            format!("{device:?}"),
            content_digest(spectrograms),
        );
        let mut registry = RESIDENT.lock().unwrap_or_else(PoisonError::into_inner);
        let registry = registry.get_or_insert_with(HashMap::new);
        registry.retain(|_, corpus| corpus.strong_count() > 0);
        if let Some(found) = registry.get(&key).and_then(Weak::upgrade) {
            if let Ok(corpus) = found.downcast::<Self>() {
                return corpus;
            }
        }
        let corpus = Arc::new(Self::upload(spectrograms, bands, device));
        let erased: Arc<dyn Any + Send + Sync> = corpus.clone();
        registry.insert(key, Arc::downgrade(&erased));
        corpus
    }

    /// Uploads `spectrograms` (each `bands` wide) and a zero row.
    pub fn upload(spectrograms: &[MelSpectrogram], bands: usize, device: &B::Device) -> Self {
        let rows: usize = spectrograms.iter().map(|s| s.frames).sum();
        let mut values = Vec::with_capacity((rows + 1) * bands);
        let mut offsets = Vec::with_capacity(spectrograms.len());
        for spectrogram in spectrograms {
            offsets.push(values.len() / bands.max(1));
            values.extend_from_slice(&spectrogram.data);
        }
        values.resize((rows + 1) * bands, 0.0);
        Self {
            values: Tensor::from_data(TensorData::new(values, [rows + 1, bands]), device),
            offsets,
            zero_row: rows,
        }
    }

    /// Bytes the corpus holds on the device.
    pub fn bytes(&self) -> usize {
        self.values.shape().num_elements() * std::mem::size_of::<f32>()
    }
}

/// blake3 of every value, spectrogram by spectrogram, with the shapes.
fn content_digest(spectrograms: &[MelSpectrogram]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    for spectrogram in spectrograms {
        hasher.update(&(spectrogram.frames as u64).to_le_bytes());
        hasher.update(&(spectrogram.bands as u64).to_le_bytes());
        for value in &spectrogram.data {
            hasher.update(&value.to_le_bytes());
        }
    }
    *hasher.finalize().as_bytes()
}

/// One split's chunk table on the device, over a [`ResidentCorpus`].
pub struct ResidentSet<B: Backend> {
    corpus: Arc<ResidentCorpus<B>>,
    first_row: Tensor<B, 1, Int>,
    available: Tensor<B, 1, Int>,
    labels: Tensor<B, 1, Int>,
    frames: usize,
    bands: usize,
}

impl<B: Backend> ResidentSet<B> {
    /// The chunk table of `set` over `corpus` (which must hold `set`'s
    /// spectrograms, as [`ResidentCorpus::shared`] of its fold does).
    pub fn new(set: &ChunkSet, corpus: Arc<ResidentCorpus<B>>, device: &B::Device) -> Self {
        let (mut first_row, mut available, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for (i, chunk) in set.chunks().iter().enumerate() {
            let song = &set.songs()[chunk.song];
            let length = set.song_frames(chunk.song);
            first_row.push((corpus.offsets[song.spectrogram] + chunk.start) as i64);
            available.push(length.saturating_sub(chunk.start).min(set.frames()) as i64);
            labels.push(set.label(i) as i64);
        }
        let int = |values: Vec<i64>| {
            let n = values.len();
            Tensor::<B, 1, Int>::from_data(TensorData::new(values, [n]), device)
        };
        Self {
            corpus,
            first_row: int(first_row),
            available: int(available),
            labels: int(labels),
            frames: set.frames(),
            bands: set.bands(),
        }
    }

    /// The chunks `chunks` (indices into the set, on the device) as an input
    /// `[n, bands, frames]` and labels `[n]`, gathered on the device.
    pub fn batch(&self, chunks: Tensor<B, 1, Int>) -> (Tensor<B, 3>, Tensor<B, 1, Int>) {
        let [n] = chunks.dims();
        let device = chunks.device();
        let first = self.first_row.clone().select(0, chunks.clone());
        let available = self.available.clone().select(0, chunks.clone());
        let offsets = Tensor::<B, 1, Int>::arange(0..self.frames as i64, &device);
        let offsets = offsets.reshape([1, self.frames]);
        // Frame t of a chunk lies past its song's end when t - available >= 0.
        let past_end = (offsets.clone() - available.reshape([n, 1])).greater_equal_elem(0);
        let rows = (first.reshape([n, 1]) + offsets)
            .mask_fill(past_end, self.corpus.zero_row as i64)
            .reshape([n * self.frames]);
        let input = self
            .corpus
            .values
            .clone()
            .select(0, rows)
            .reshape([n, self.frames, self.bands])
            .swap_dims(1, 2);
        (input, self.labels.clone().select(0, chunks))
    }

    /// Chunks `start..end` of the set, in order.
    pub fn range(&self, start: usize, end: usize) -> (Tensor<B, 3>, Tensor<B, 1, Int>) {
        let device = self.labels.device();
        self.batch(Tensor::arange(start as i64..end as i64, &device))
    }
}

/// A fold's three chunk tables on one device, over its shared corpus.
pub struct ResidentFold<B: Backend> {
    /// Training chunks.
    pub train: ResidentSet<B>,
    /// Validation chunks.
    pub validation: ResidentSet<B>,
    /// Test chunks.
    pub test: ResidentSet<B>,
}

impl<B: Backend> ResidentFold<B> {
    /// Uploads `data`'s chunk tables, and its spectrograms unless another
    /// training in this process already did.
    pub fn new(data: &FoldData, device: &B::Device) -> Self {
        let train = data.train.spectrograms();
        let corpus = ResidentCorpus::shared(train, data.train.bands(), device);
        let set = |set: &ChunkSet| {
            // A fold's three sets share one spectrogram list; one that does
            // not gets its own corpus.
            let corpus = if Arc::ptr_eq(set.spectrograms(), train) {
                corpus.clone()
            } else {
                ResidentCorpus::shared(set.spectrograms(), set.bands(), device)
            };
            ResidentSet::new(set, corpus, device)
        };
        Self {
            train: set(&data.train),
            validation: set(&data.validation),
            test: set(&data.test),
        }
    }
}

/// Uploads chunk indices (e.g. an epoch's order) to `device`.
pub fn upload_indices<B: Backend>(indices: &[usize], device: &B::Device) -> Tensor<B, 1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;
    use crate::train::fit::tests::toy_fold;

    /// Every chunk of every split, in a shuffled order and in order, padded
    /// chunks included, gathers on the device to the host batch's values.
    #[test]
    fn device_batches_equal_host_batches() {
        let device = Default::default();
        let fold = toy_fold(3, 2);
        // A chunk that runs 2 frames past its song's end (zero-padded).
        let mut chunks = fold.train.chunks().to_vec();
        chunks.push(crate::train::ChunkRef { song: 0, start: 20 });
        let padded = ChunkSet::from_chunks(
            fold.train.spectrograms().clone(),
            fold.train.songs().to_vec(),
            fold.train.bands(),
            fold.train.frames(),
            chunks,
        )
        .unwrap();
        let corpus = ResidentCorpus::<NdArray>::shared(
            fold.train.spectrograms(),
            fold.train.bands(),
            &device,
        );
        for set in [&padded, &fold.validation, &fold.test] {
            let resident = ResidentSet::new(set, corpus.clone(), &device);
            let order: Vec<usize> = (0..set.len()).rev().collect();
            let (host_x, host_y) = set.batch::<NdArray>(&order, &device);
            let (x, y) = resident.batch(upload_indices(&order, &device));
            assert_eq!(x.dims(), host_x.dims());
            let bits = |t: Tensor<NdArray, 3>| -> Vec<u32> {
                t.into_data()
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(x), bits(host_x));
            assert_eq!(y.into_data(), host_y.into_data());
            let (x, _) = resident.range(1, set.len());
            let (host_x, _) = set.batch::<NdArray>(&(1..set.len()).collect::<Vec<_>>(), &device);
            assert_eq!(bits(x), bits(host_x));
        }
    }

    #[test]
    fn one_upload_is_shared_by_equal_corpora() {
        let device = Default::default();
        let fold = toy_fold(2, 1);
        let copy: Vec<MelSpectrogram> = fold.train.spectrograms().to_vec();
        let a = ResidentCorpus::<NdArray>::shared(fold.train.spectrograms(), 4, &device);
        let b = ResidentCorpus::<NdArray>::shared(&copy, 4, &device);
        assert!(Arc::ptr_eq(&a, &b));
        let mut other = copy;
        other[0].data[0] += 1.0;
        let c = ResidentCorpus::<NdArray>::shared(&other, 4, &device);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(a.bytes(), c.bytes());
    }
}
