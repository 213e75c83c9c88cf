//! Per-class tempo statistics of the real Ballroom dataset and the tempo
//! distribution the synthetic corpus draws from.
//!
//! Owns the class table (names, track counts, tempo quantiles, metre). Must not
//! know how audio is synthesised.

/// One Ballroom class as the synthetic corpus imitates it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassStats {
    /// Class name, exactly as Ballroom's folder (Rumba = the three Rumba folders merged).
    pub name: &'static str,
    /// Number of Ballroom tracks in the class (the `full` corpus's class size).
    pub tracks: usize,
    /// Tempo quantiles in BPM: minimum, 10th percentile, median, 90th percentile, maximum.
    pub bpm_quantiles: [f64; 5],
    /// Beats per bar: 3 for the waltzes, 4 otherwise.
    pub beats_per_bar: u32,
}

/// Cumulative probabilities of [`ClassStats::bpm_quantiles`].
pub const QUANTILE_LEVELS: [f64; 5] = [0.0, 0.1, 0.5, 0.9, 1.0];

/// The eight Ballroom classes, sorted by name (the corpus's label order).
///
/// Provenance: `docs/reference-protocol.md` §Ballroom (per-class track counts
/// and tempo quantiles, summarised from the per-track tempo annotations
/// published with the Ballroom dataset; Gouyon et al., ISMIR 2004 tempo
/// contest; 698 tracks, the three Rumba folders merged). Columns: class,
/// tracks, min, p10, median, p90, max (BPM).
pub const CLASSES: [ClassStats; 8] = [
    class("ChaChaCha", 111, [92.0, 117.0, 124.0, 128.0, 136.0], 4),
    class("Jive", 60, [124.0, 136.0, 172.0, 176.0, 180.0], 4),
    class("Quickstep", 82, [153.0, 200.0, 204.0, 208.0, 219.0], 4),
    class("Rumba", 98, [76.0, 88.0, 100.0, 115.0, 141.0], 4),
    class("Samba", 86, [68.0, 100.0, 102.0, 104.0, 224.0], 4),
    class("Tango", 86, [112.0, 120.0, 128.0, 132.0, 132.0], 4),
    class("VienneseWaltz", 65, [174.0, 174.0, 180.0, 180.0, 180.0], 3),
    class("Waltz", 110, [60.0, 84.0, 87.0, 87.0, 112.0], 3),
];

const fn class(
    name: &'static str,
    tracks: usize,
    bpm_quantiles: [f64; 5],
    beats_per_bar: u32,
) -> ClassStats {
    ClassStats {
        name,
        tracks,
        bpm_quantiles,
        beats_per_bar,
    }
}

impl ClassStats {
    /// Maps `u` in [0, 1] to a tempo through the piecewise-linear quantile
    /// function joining (0, min), (0.1, p10), (0.5, median), (0.9, p90), (1, max).
    /// A uniform `u` thus draws tempi with the class's quantiles; the result
    /// always lies in [min, max].
    pub fn bpm_at(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let q = &self.bpm_quantiles;
        for (level, bpm) in QUANTILE_LEVELS.windows(2).zip(q.windows(2)) {
            if u <= level[1] {
                let t = (u - level[0]) / (level[1] - level[0]);
                return bpm[0] + t * (bpm[1] - bpm[0]);
            }
        }
        q[q.len() - 1]
    }

    /// Lowest tempo of the class (BPM).
    pub fn min_bpm(&self) -> f64 {
        self.bpm_quantiles[0]
    }

    /// Highest tempo of the class (BPM).
    pub fn max_bpm(&self) -> f64 {
        self.bpm_quantiles[4]
    }
}

/// Total number of tracks in Ballroom (sum of [`ClassStats::tracks`]).
pub fn ballroom_track_count() -> usize {
    CLASSES.iter().map(|c| c.tracks).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_ballroom_totals_and_is_sorted() {
        assert_eq!(ballroom_track_count(), 698);
        let names: Vec<_> = CLASSES.iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn quantile_function_hits_the_table_and_stays_in_range() {
        for c in &CLASSES {
            for (level, q) in QUANTILE_LEVELS.iter().zip(c.bpm_quantiles) {
                assert!((c.bpm_at(*level) - q).abs() < 1e-9, "{}", c.name);
            }
            for k in 0..=1000 {
                let bpm = c.bpm_at(k as f64 / 1000.0);
                assert!(bpm >= c.min_bpm() && bpm <= c.max_bpm(), "{}", c.name);
            }
        }
    }
}
