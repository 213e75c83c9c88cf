//! Evaluation: chunk-level loss and accuracy, song-level majority vote with a
//! deterministic tie rule, and the song-level confusion matrix.
//!
//! Scores are computed on the host in `f64` from the model's logits, row by
//! row in chunk order, so they do not depend on the backend's reduction order.
//! The logits of a whole pass stay on the device until it ends and come back
//! in one read ([`read_logits`], counted per thread by [`host_reads`]): a GPU
//! is never made to wait for the host between batches.
//!
//! **Tie rule** (majority vote): among the classes with the most chunk votes,
//! the one with the highest summed softmax probability over the song's chunks
//! wins; if that is tied too, the lowest class index. A chunk votes for its
//! arg-max logit (the lowest index among equal logits).
//!
//! Must not know about optimisers or files.

use std::cell::Cell;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::data::ChunkSet;
use super::feed::ResidentSet;
use super::{SongPrediction, TrainError};

/// Something that maps a `[batch, bands, frames]` input to `[batch, classes]`
/// logits: the networks of [`crate::model`], and small models in tests.
pub trait Classifier<B: Backend>: Module<B> {
    /// Unnormalised class scores of a batch.
    ///
    /// # Shapes
    /// - `input`: `[batch, bands, frames]`
    /// - output: `[batch, classes]`
    fn logits(&self, input: Tensor<B, 3>) -> Tensor<B, 2>;
}

/// Per-chunk scores of a whole [`ChunkSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkScores {
    /// Number of classes (columns of `probabilities`).
    pub classes: usize,
    /// Softmax probabilities, `[chunk][class]`, row-major.
    pub probabilities: Vec<f64>,
    /// Predicted class per chunk.
    pub predicted: Vec<usize>,
    /// Mean cross-entropy over the chunks.
    pub loss: f64,
    /// Fraction of chunks predicted correctly (0..1).
    pub accuracy: f64,
}

/// Row statistics of a batch of logits: `(cross-entropy sum, correct count)`;
/// appends probabilities and predictions to `scores` when given.
pub(crate) fn score_rows(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    mut scores: Option<(&mut Vec<f64>, &mut Vec<usize>)>,
) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &label) in logits.chunks_exact(classes).zip(labels) {
        let (best, max) =
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                });
        let max = f64::from(max);
        let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        let log_sum = sum.ln();
        loss -= f64::from(row[label]) - max - log_sum;
        correct += usize::from(best == label);
        if let Some((probabilities, predicted)) = scores.as_mut() {
            probabilities.extend(row.iter().map(|&v| (f64::from(v) - max - log_sum).exp()));
            predicted.push(best);
        }
    }
    (loss, correct)
}

thread_local! {
    static HOST_READS: Cell<u64> = const { Cell::new(0) };
}

/// How many times this thread has read logits back from a device (one per
/// training epoch and one per scoring pass): the check that training does not
/// wait for the device at every step.
pub fn host_reads() -> u64 {
    HOST_READS.with(Cell::get)
}

/// Reads a logits tensor back to the host as `f32` values: the one place
/// training and scoring wait for the device (counted by [`host_reads`]).
pub fn read_logits<B: Backend>(logits: Tensor<B, 2>) -> Result<Vec<f32>, TrainError> {
    HOST_READS.with(|reads| reads.set(reads.get() + 1));
    logits
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| TrainError::Backend(format!("reading logits back: {e:?}")))
}

/// Scores every chunk of `set` with `model` (an inference-mode model: no
/// dropout), in batches of `batch_size`, in chunk order, from host batches.
pub fn score<B: Backend, M: Classifier<B>>(
    model: &M,
    set: &ChunkSet,
    classes: usize,
    batch_size: usize,
    device: &B::Device,
) -> Result<ChunkScores, TrainError> {
    score_with(model, set, None, classes, batch_size, device)
}

/// [`score`], with the batches gathered on the device from `resident` (the
/// chunk table of `set`) when given. One host read for the whole pass.
pub fn score_with<B: Backend, M: Classifier<B>>(
    model: &M,
    set: &ChunkSet,
    resident: Option<&ResidentSet<B>>,
    classes: usize,
    batch_size: usize,
    device: &B::Device,
) -> Result<ChunkScores, TrainError> {
    let mut probabilities = Vec::with_capacity(set.len() * classes);
    let mut predicted = Vec::with_capacity(set.len());
    let mut loss = 0.0;
    let mut correct = 0;
    let indices: Vec<usize> = (0..set.len()).collect();
    let batches: Vec<&[usize]> = indices.chunks(batch_size.max(1)).collect();
    let mut pending = Vec::with_capacity(batches.len());
    for batch in &batches {
        let input = match (resident, batch.first()) {
            (Some(resident), Some(&first)) => resident.range(first, first + batch.len()).0,
            _ => set.batch::<B>(batch, device).0,
        };
        pending.push(model.logits(input));
    }
    let all = if pending.is_empty() {
        Vec::new()
    } else {
        read_logits(Tensor::cat(pending, 0))?
    };
    for (batch, logits) in batches.iter().zip(all.chunks(batch_size.max(1) * classes)) {
        let labels: Vec<usize> = batch.iter().map(|&i| set.label(i)).collect();
        let (l, c) = score_rows(
            logits,
            &labels,
            classes,
            Some((&mut probabilities, &mut predicted)),
        );
        loss += l;
        correct += c;
    }
    let n = set.len().max(1) as f64;
    Ok(ChunkScores {
        classes,
        probabilities,
        predicted,
        loss: loss / n,
        accuracy: correct as f64 / n,
    })
}

/// Majority vote per song of `set` (see the module docs for the tie rule).
pub fn vote(set: &ChunkSet, scores: &ChunkScores) -> Vec<SongPrediction> {
    let classes = scores.classes;
    let mut votes = vec![vec![0u32; classes]; set.songs().len()];
    let mut mass = vec![vec![0.0f64; classes]; set.songs().len()];
    for (i, chunk) in set.chunks().iter().enumerate() {
        votes[chunk.song][scores.predicted[i]] += 1;
        let row = &scores.probabilities[i * classes..][..classes];
        for (m, p) in mass[chunk.song].iter_mut().zip(row) {
            *m += p;
        }
    }
    set.songs()
        .iter()
        .zip(votes.into_iter().zip(mass))
        .map(|(song, (votes, mass))| SongPrediction {
            track: song.track.clone(),
            label: song.label,
            predicted: majority(&votes, &mass),
            votes,
        })
        .collect()
}

/// The winning class: most votes, then highest probability mass, then lowest index.
fn majority(votes: &[u32], mass: &[f64]) -> usize {
    let mut best = 0;
    for class in 1..votes.len() {
        let better =
            votes[class] > votes[best] || (votes[class] == votes[best] && mass[class] > mass[best]);
        if better {
            best = class;
        }
    }
    best
}

/// Song-level confusion matrix, `[true][predicted]`.
pub fn confusion(songs: &[SongPrediction], classes: usize) -> Vec<Vec<u32>> {
    let mut matrix = vec![vec![0u32; classes]; classes];
    for song in songs {
        matrix[song.label][song.predicted] += 1;
    }
    matrix
}

/// Fraction of songs whose vote matches their label (0 when there is none).
pub fn song_accuracy(songs: &[SongPrediction]) -> f64 {
    let correct = songs.iter().filter(|s| s.label == s.predicted).count();
    correct as f64 / songs.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_prefers_votes_then_probability_mass_then_lowest_index() {
        assert_eq!(majority(&[1, 3, 2], &[0.9, 0.1, 0.5]), 1);
        assert_eq!(majority(&[2, 0, 2], &[0.4, 0.9, 0.6]), 2);
        assert_eq!(majority(&[2, 0, 2], &[0.6, 0.9, 0.6]), 0);
    }

    #[test]
    fn score_rows_matches_a_hand_computed_cross_entropy() {
        // Row 0: equal logits -> p = 1/2, predicted 0 (lowest index), label 1.
        // Row 1: logits (0, ln 3) -> p = (1/4, 3/4), label 1, predicted 1.
        let logits = [0.0, 0.0, 0.0, 3.0f32.ln()];
        let (mut probabilities, mut predicted) = (Vec::new(), Vec::new());
        let (loss, correct) = score_rows(
            &logits,
            &[1, 1],
            2,
            Some((&mut probabilities, &mut predicted)),
        );
        assert_eq!(correct, 1);
        assert_eq!(predicted, vec![0, 1]);
        let expected = 2f64.ln() + (4.0f64 / 3.0).ln();
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
        assert!((probabilities[3] - 0.75).abs() < 1e-6);
    }

    #[test]
    fn confusion_counts_true_by_predicted() {
        let song = |label, predicted| SongPrediction {
            track: String::new(),
            label,
            predicted,
            votes: vec![],
        };
        let songs = [song(0, 0), song(0, 1), song(1, 1)];
        assert_eq!(confusion(&songs, 2), vec![vec![1, 1], vec![0, 1]]);
        assert!((song_accuracy(&songs) - 2.0 / 3.0).abs() < 1e-12);
    }
}
