//! What a dataset's class balance means for a fold protocol, said before any
//! training: a class with fewer songs than folds (some folds will not test
//! it), a class with fewer than [`MIN_TRAINING_SONGS`] training songs in some
//! fold, and a largest/smallest class ratio above [`MAX_CLASS_RATIO`] (plain
//! accuracy then mostly measures the large classes; the report gives the
//! balanced accuracy beside it).
//!
//! The folds are the protocol's own ([`super::fold_splits`]), so the fold
//! numbers named are the ones the run will have.

use super::{fold_splits, Dataset};

/// Fewer training songs than this for a class in a fold is warned about.
pub const MIN_TRAINING_SONGS: usize = 2;

/// A largest/smallest class ratio above this is warned about.
pub const MAX_CLASS_RATIO: f64 = 3.0;

/// The warnings for `dataset` split into `folds` folds with `seed`, one
/// sentence each, naming the class (and folds); empty when there is nothing
/// to say.
pub fn balance_warnings(dataset: &Dataset, folds: usize, seed: u64) -> Vec<String> {
    let counts = dataset.class_counts();
    let splits = fold_splits(dataset.tracks.len(), folds, seed);
    let per_class = |songs: &[usize], class: usize| {
        songs
            .iter()
            .filter(|&&s| dataset.tracks[s].label == class)
            .count()
    };
    let list = |folds: &[usize]| {
        folds
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for (class, name) in dataset.classes.iter().enumerate() {
        let songs = counts[class];
        let untested: Vec<usize> = (0..splits.len())
            .filter(|&k| per_class(&splits[k].test, class) == 0)
            .collect();
        if songs < folds {
            out.push(format!(
                "class '{name}' has {songs} song{} for {folds} folds: fold{} {} will not test it",
                plural(songs),
                plural(untested.len()),
                list(&untested)
            ));
        }
        let thin: Vec<usize> = (0..splits.len())
            .filter(|&k| per_class(&splits[k].train, class) < MIN_TRAINING_SONGS)
            .collect();
        if !thin.is_empty() {
            let fewest = thin
                .iter()
                .map(|&k| per_class(&splits[k].train, class))
                .min()
                .unwrap_or(0);
            out.push(format!(
                "class '{name}' has fewer than {MIN_TRAINING_SONGS} training songs in fold{} {} \
                 (as few as {fewest}): its models there barely see it",
                plural(thin.len()),
                list(&thin)
            ));
        }
    }
    let largest = counts.iter().enumerate().max_by_key(|(_, c)| **c);
    let smallest = counts.iter().enumerate().min_by_key(|(_, c)| **c);
    if let (Some((big, &nb)), Some((small, &ns))) = (largest, smallest) {
        let ratio = nb as f64 / ns.max(1) as f64;
        if ratio > MAX_CLASS_RATIO {
            out.push(format!(
                "classes are unbalanced: '{}' has {nb} songs, '{}' {ns} (ratio {ratio:.1}, \
                 above {MAX_CLASS_RATIO}); read the report's balanced accuracy beside the \
                 accuracy",
                dataset.classes[big], dataset.classes[small]
            ));
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Track, TrackSource};

    fn dataset(counts: &[usize]) -> Dataset {
        let classes: Vec<String> = (0..counts.len()).map(|c| format!("c{c}")).collect();
        let mut tracks = Vec::new();
        for (label, &n) in counts.iter().enumerate() {
            for i in 0..n {
                tracks.push(Track {
                    id: format!("c{label}/{i}"),
                    label,
                    source: TrackSource::File(format!("/x/{label}/{i}.wav").into()),
                });
            }
        }
        Dataset {
            name: "t".into(),
            classes,
            tracks,
        }
    }

    #[test]
    fn a_balanced_dataset_gets_no_warning() {
        let warnings = balance_warnings(&dataset(&[30, 36, 27]), 3, 11);
        assert!(warnings.is_empty(), "{warnings:#?}");
    }

    #[test]
    fn a_one_song_class_names_the_folds_that_will_not_test_it() {
        let d = dataset(&[12, 1, 10]);
        let warnings = balance_warnings(&d, 3, 11);
        let splits = fold_splits(d.tracks.len(), 3, 11);
        let tested = (0..3).find(|&k| splits[k].test.contains(&12)).unwrap();
        let untested: Vec<String> = (0..3)
            .filter(|&k| k != tested)
            .map(|k| k.to_string())
            .collect();
        let expected = format!(
            "class 'c1' has 1 song for 3 folds: folds {} will not test it",
            untested.join(", ")
        );
        assert!(warnings.contains(&expected), "{warnings:#?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("class 'c1' has fewer than 2 training songs")),
            "{warnings:#?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("'c0' has 12 songs, 'c1' 1 (ratio 12.0")),
            "{warnings:#?}"
        );
    }
}
