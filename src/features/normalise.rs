//! Normalisation statistics: accumulate the mean and standard deviation of many
//! spectrograms ([`NormAccumulator`]), then standardise with [`NormStats::apply`].
//!
//! Numerics: each spectrogram contributes an exact two-pass `(count, mean, M2)` in
//! `f64` per statistic (one for [`NormScope::Scalar`], one per band for
//! [`NormScope::PerBand`]); contributions are merged with Chan et al.'s pairwise
//! update, which avoids the cancellation of `E[x²] − E[x]²`. The result depends
//! only on the order of `add`/`merge` calls, which the caller fixes (e.g. track
//! order), never on thread count. The standard deviation is the population one
//! (divide by `n`, numpy's `np.std` default, as the reference implementation).
//!
//! Which songs contribute (all, or a fold's training songs) is the caller's choice
//! ([`super::NormSplit`]). Knows nothing about datasets or files.

use super::{FeatureError, MelSpectrogram, NormScope, NormStats};

/// Running `(count, mean, M2)` of one statistic.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Exact two-pass moments of `values`.
    fn of(values: impl Iterator<Item = f64> + Clone) -> Self {
        let (count, sum) = values.clone().fold((0u64, 0.0), |(n, s), v| (n + 1, s + v));
        if count == 0 {
            return Self::default();
        }
        let mean = sum / count as f64;
        let m2 = values.map(|v| (v - mean) * (v - mean)).sum();
        Self { count, mean, m2 }
    }

    /// Chan et al. (1979) pairwise combination.
    fn merge(self, other: Self) -> Self {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        let count = self.count + other.count;
        let delta = other.mean - self.mean;
        let weight = other.count as f64 / count as f64;
        Self {
            count,
            mean: self.mean + delta * weight,
            m2: self.m2 + other.m2 + delta * delta * self.count as f64 * weight,
        }
    }
}

/// Accumulates normalisation statistics over spectrograms, in call order.
#[derive(Debug, Clone, PartialEq)]
pub struct NormAccumulator {
    scope: NormScope,
    bands: usize,
    moments: Vec<Moments>,
}

impl NormAccumulator {
    /// An empty accumulator for spectrograms of `bands` bands.
    pub fn new(scope: NormScope, bands: usize) -> Self {
        let stats = match scope {
            NormScope::Scalar => 1,
            NormScope::PerBand => bands,
        };
        Self {
            scope,
            bands,
            moments: vec![Moments::default(); stats],
        }
    }

    /// Adds every value of `spec`.
    pub fn add(&mut self, spec: &MelSpectrogram) -> Result<(), FeatureError> {
        check_bands(self.bands, spec.bands)?;
        let values = || spec.data.iter().map(|&v| f64::from(v));
        match self.scope {
            NormScope::Scalar => self.moments[0] = self.moments[0].merge(Moments::of(values())),
            NormScope::PerBand => {
                for (b, m) in self.moments.iter_mut().enumerate() {
                    let band = spec.data.iter().skip(b).step_by(spec.bands);
                    *m = m.merge(Moments::of(band.map(|&v| f64::from(v))));
                }
            }
        }
        Ok(())
    }

    /// Appends everything `other` accumulated (as if its spectrograms had been
    /// added after this one's): use it to reduce per-thread accumulators in a fixed order.
    pub fn merge(&mut self, other: &NormAccumulator) -> Result<(), FeatureError> {
        check_bands(self.bands, other.bands)?;
        if self.scope != other.scope {
            return Err(FeatureError::ScopeMismatch);
        }
        for (m, o) in self.moments.iter_mut().zip(&other.moments) {
            *m = m.merge(*o);
        }
        Ok(())
    }

    /// Number of values accumulated per statistic.
    pub fn count(&self) -> u64 {
        self.moments[0].count
    }

    /// The statistics; an error when nothing was added or a deviation is zero
    /// (constant features cannot be standardised).
    pub fn finish(&self) -> Result<NormStats, FeatureError> {
        let mut stats = NormStats {
            mean: Vec::with_capacity(self.moments.len()),
            std: Vec::with_capacity(self.moments.len()),
        };
        for (i, m) in self.moments.iter().enumerate() {
            if m.count == 0 {
                return Err(FeatureError::NoValues);
            }
            let std = (m.m2 / m.count as f64).sqrt();
            if std.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(FeatureError::ZeroDeviation { statistic: i });
            }
            stats.mean.push(m.mean as f32);
            stats.std.push(std as f32);
        }
        Ok(stats)
    }
}

impl NormStats {
    /// Statistics of `specs`, accumulated in iteration order.
    pub fn compute<'a>(
        specs: impl IntoIterator<Item = &'a MelSpectrogram>,
        scope: NormScope,
        bands: usize,
    ) -> Result<NormStats, FeatureError> {
        let mut acc = NormAccumulator::new(scope, bands);
        for spec in specs {
            acc.add(spec)?;
        }
        acc.finish()
    }

    /// Standardises `spec` in place: `(x − mean) / std`, with the scalar statistic
    /// or band `b`'s.
    pub fn apply(&self, spec: &mut MelSpectrogram) -> Result<(), FeatureError> {
        match self.mean.len() {
            1 => {
                let (mean, std) = (self.mean[0], self.std[0]);
                spec.data.iter_mut().for_each(|v| *v = (*v - mean) / std);
            }
            n => {
                check_bands(n, spec.bands)?;
                for row in spec.data.chunks_exact_mut(spec.bands) {
                    for ((v, mean), std) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                        *v = (*v - mean) / std;
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_bands(expected: usize, found: usize) -> Result<(), FeatureError> {
    if expected == found {
        Ok(())
    } else {
        Err(FeatureError::BandMismatch { expected, found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bands: usize, data: Vec<f32>) -> MelSpectrogram {
        MelSpectrogram {
            frames: data.len() / bands,
            bands,
            data,
        }
    }

    #[test]
    fn scalar_stats_equal_the_direct_population_formula() {
        let a = spec(2, vec![1.0, 2.0, 3.0, 4.0]);
        let b = spec(2, vec![10.0, 20.0]);
        let s = NormStats::compute([&a, &b], NormScope::Scalar, 2).unwrap();
        let all = [1.0f64, 2.0, 3.0, 4.0, 10.0, 20.0];
        let mean = all.iter().sum::<f64>() / 6.0;
        let var = all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((f64::from(s.mean[0]) - mean).abs() < 1e-6);
        assert!((f64::from(s.std[0]) - var.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn per_band_stats_and_apply_standardise_each_band() {
        let mut a = spec(2, vec![1.0, 100.0, 3.0, 300.0]);
        let s = NormStats::compute([&a], NormScope::PerBand, 2).unwrap();
        assert_eq!(s.mean, vec![2.0, 200.0]);
        assert_eq!(s.std, vec![1.0, 100.0]);
        s.apply(&mut a).unwrap();
        assert_eq!(a.data, vec![-1.0, -1.0, 1.0, 1.0]);
    }

    #[test]
    fn merging_partial_accumulators_equals_one_pass() {
        let specs: Vec<_> = (0..5)
            .map(|i| {
                spec(
                    3,
                    (0..30)
                        .map(|j| ((i * 31 + j * 17) % 23) as f32 + 1e4)
                        .collect(),
                )
            })
            .collect();
        let mut whole = NormAccumulator::new(NormScope::Scalar, 3);
        specs.iter().for_each(|s| whole.add(s).unwrap());
        let (mut left, mut right) = (
            NormAccumulator::new(NormScope::Scalar, 3),
            NormAccumulator::new(NormScope::Scalar, 3),
        );
        specs[..2].iter().for_each(|s| left.add(s).unwrap());
        specs[2..].iter().for_each(|s| right.add(s).unwrap());
        left.merge(&right).unwrap();
        let (w, l) = (whole.finish().unwrap(), left.finish().unwrap());
        assert!((w.mean[0] - l.mean[0]).abs() < 1e-3);
        assert!((w.std[0] - l.std[0]).abs() < 1e-4 * w.std[0]);
        assert_eq!(whole.count(), 150);
    }

    #[test]
    fn constant_or_empty_input_and_band_mismatch_are_errors() {
        let c = spec(1, vec![2.0; 4]);
        assert!(matches!(
            NormStats::compute([&c], NormScope::Scalar, 1),
            Err(FeatureError::ZeroDeviation { .. })
        ));
        assert!(matches!(
            NormStats::compute([], NormScope::Scalar, 1),
            Err(FeatureError::NoValues)
        ));
        let mut acc = NormAccumulator::new(NormScope::PerBand, 40);
        assert!(matches!(
            acc.add(&c),
            Err(FeatureError::BandMismatch { .. })
        ));
    }
}
