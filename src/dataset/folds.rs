//! Cross-validation folds exactly as the reference protocol builds them.
//!
//! 1. Songs are indices `0..songs` in dataset order (class folder by class folder).
//! 2. They are shuffled once: Fisher–Yates (Durstenfeld, from the last position
//!    down) driven by `ChaCha8Rng::seed_from_u64(seed)` from rand_chacha 0.9,
//!    with our own unbiased bounded integers (Lemire's multiply-shift with
//!    rejection) so the permutation depends only on the ChaCha8 stream, which
//!    rand_chacha documents as stable. The reference implementation used
//!    numpy's Mersenne Twister with seed 11; its stream cannot be replicated
//!    here, so fold *membership* differs from the reference while the fold
//!    *construction* is identical.
//! 3. Folds are consecutive blocks of the shuffled list; the first
//!    `songs % folds` blocks get one extra song.
//! 4. Fold k: test = block k; the other songs keep their shuffled order;
//!    validation = the first `songs / folds` of them (integer division of the
//!    *total* count — the reference's `len / 10`); training = the rest.
//!
//! For Ballroom (698 songs, 10 folds): test 70 (folds 0–7) or 69 (folds 8–9),
//! validation 69, training 559 or 560.
//!
//! Must not know about audio or training.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::FoldSplit;

/// The reference protocol's fold count (10-fold cross-validation, 80/10/10).
pub const REFERENCE_FOLDS: usize = 10;

/// The reference implementation's shuffle seed.
pub const REFERENCE_SEED: u64 = 11;

/// Splits `songs` songs into `folds` folds as the reference protocol does
/// (seeded shuffle, consecutive blocks, validation = first `songs / folds` of
/// the rest). Returns no fold when `folds` is 0; with more folds than songs
/// some test blocks are empty.
pub fn fold_splits(songs: usize, folds: usize, seed: u64) -> Vec<FoldSplit> {
    if folds == 0 {
        return Vec::new();
    }
    let order = shuffled(songs, seed);
    let (base, extra) = (songs / folds, songs % folds);
    let mut splits = Vec::with_capacity(folds);
    let mut start = 0;
    for k in 0..folds {
        let end = start + base + usize::from(k < extra);
        let rest: Vec<usize> = order[..start]
            .iter()
            .chain(&order[end..])
            .copied()
            .collect();
        let validation_len = base.min(rest.len());
        splits.push(FoldSplit {
            test: order[start..end].to_vec(),
            validation: rest[..validation_len].to_vec(),
            train: rest[validation_len..].to_vec(),
        });
        start = end;
    }
    splits
}

/// `0..n` shuffled by Fisher–Yates with ChaCha8 seeded by `seed`.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = bounded(&mut rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// Unbiased integer in `[0, bound)` (bound ≥ 1): Lemire, "Fast random integer
/// generation in an interval" (2019), multiply-shift with rejection.
fn bounded(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let m = rng.next_u64() as u128 * bound as u128;
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_follow_the_rules() {
        let splits = fold_splits(23, 4, 1);
        let sizes: Vec<_> = splits.iter().map(|s| s.test.len()).collect();
        assert_eq!(sizes, [6, 6, 6, 5]);
        for s in &splits {
            assert_eq!(s.validation.len(), 5);
            assert_eq!(s.test.len() + s.validation.len() + s.train.len(), 23);
        }
        assert!(fold_splits(10, 0, 1).is_empty());
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let a = shuffled(100, 11);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, shuffled(100, 11));
        assert_ne!(a, shuffled(100, 12));
        assert_ne!(a, sorted);
    }
}
