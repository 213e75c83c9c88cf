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

/// The reference implementation's shuffle seed.
pub const REFERENCE_SEED: u64 = 11;

/// How many songs one fold puts in each part (see the module doc): the one
/// rule that both [`fold_splits`] and the planner's cost estimate follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FoldSizes {
    /// Training songs.
    pub train: usize,
    /// Validation songs.
    pub validation: usize,
    /// Test songs.
    pub test: usize,
}

/// The part sizes of fold `fold` of `folds` over `songs` songs: test = its
/// block (the first `songs % folds` blocks have one extra song), validation =
/// `songs / folds` of the rest, training = what remains. All zero when
/// `fold >= folds` (so when `folds` is 0).
pub fn fold_sizes(songs: usize, folds: usize, fold: usize) -> FoldSizes {
    if fold >= folds {
        return FoldSizes::default();
    }
    let base = songs / folds;
    let test = base + usize::from(fold < songs % folds);
    let rest = songs - test;
    let validation = base.min(rest);
    FoldSizes {
        train: rest - validation,
        validation,
        test,
    }
}

/// Splits `songs` songs into `folds` folds as the reference protocol does
/// (seeded shuffle, consecutive blocks, part sizes from [`fold_sizes`]).
/// Returns no fold when `folds` is 0; with more folds than songs some test
/// blocks are empty.
pub fn fold_splits(songs: usize, folds: usize, seed: u64) -> Vec<FoldSplit> {
    let order = shuffled(songs, seed);
    let mut splits = Vec::with_capacity(folds);
    let mut start = 0;
    for k in 0..folds {
        let sizes = fold_sizes(songs, folds, k);
        let end = start + sizes.test;
        let rest: Vec<usize> = order[..start]
            .iter()
            .chain(&order[end..])
            .copied()
            .collect();
        let (validation, train) = rest.split_at(sizes.validation);
        splits.push(FoldSplit {
            test: order[start..end].to_vec(),
            validation: validation.to_vec(),
            train: train.to_vec(),
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
    fn fold_sizes_are_the_lengths_of_fold_splits() {
        let cases = [
            (698, 10),
            (200, 3),
            (23, 4),
            (10, 3),
            (3, 5),
            (0, 3),
            (1, 1),
        ];
        for (songs, folds) in cases {
            for (k, split) in fold_splits(songs, folds, 7).iter().enumerate() {
                let want = FoldSizes {
                    train: split.train.len(),
                    validation: split.validation.len(),
                    test: split.test.len(),
                };
                assert_eq!(
                    fold_sizes(songs, folds, k),
                    want,
                    "{songs} songs, fold {k}/{folds}"
                );
            }
            assert_eq!(fold_sizes(songs, folds, folds), FoldSizes::default());
        }
        let ballroom = fold_sizes(698, 10, 9);
        assert_eq!(
            (ballroom.train, ballroom.validation, ballroom.test),
            (560, 69, 69)
        );
        let three = fold_sizes(200, 3, 0);
        assert_eq!((three.train, three.validation, three.test), (67, 66, 67));
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
