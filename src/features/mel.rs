//! The mel filterbank of essentia's `MelBands` defaults (which delegate to
//! `TriangularBands`), stored sparse.
//!
//! Construction, for `B` bands over a spectrum of `K` bins at sample rate `sr`:
//!
//! - HTK mel scale: `mel(f) = 2595·log10(1 + f/700)`, `f(m) = 700·(10^(m/2595) − 1)`
//!   (`warpingFormula='htkMel'`);
//! - `B + 2` edges `e_i = f(mel(f_min) + i·(mel(f_max) − mel(f_min))/(B + 1))`;
//! - bin `j` has frequency `j·Δ`, `Δ = (sr/2)/(K − 1)`; band `i` visits the bins
//!   chosen by [`MelBinRange`]: [`MelBinRange::Inside`] (essentia today, the default)
//!   every bin in `[e_i, e_{i+2}]`, i.e. `j ∈ [⌈e_i/Δ⌉, ⌊e_{i+2}/Δ⌋]`;
//!   [`MelBinRange::Rounded`] (essentia's `TriangularBands` of 2016) the bins
//!   `j ∈ [⌊e_i/Δ + ½⌋, ⌊e_{i+2}/Δ + ½⌋)` that also lie in `[e_i, e_{i+2})`, which
//!   drops a bin at a band's top edge whenever that edge rounds down. Which of the
//!   two the authors' essentia had is not known; `Inside` matches the essentia
//!   the benchmark compares against (to float rounding);
//! - triangle weights are linear **in mel** (`weighting='warping'`): rising
//!   `(mel(jΔ) − mel(e_i)) / (mel(e_{i+1}) − mel(e_i))` below `e_{i+1}`,
//!   falling `(mel(e_{i+2}) − mel(jΔ)) / (mel(e_{i+2}) − mel(e_{i+1}))` from it;
//! - each band divided by the sum of its weights (`normalize='unit_sum'`);
//! - a band with no positive weight is an error (essentia throws too), as is, for
//!   `Rounded`, one visiting fewer than two bins.
//!
//! Knows nothing about frames, windows or files.

use super::{FeatureError, MelBinRange};

/// HTK mel of a frequency in Hz (essentia `hz2mel10`).
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Frequency in Hz of an HTK mel value (essentia `mel102hz`).
pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// A sparse `bands × bins` matrix: band `b` has weights for bins
/// `first_bin[b] .. first_bin[b] + len[b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    edges_hz: Vec<f64>,
    bins: usize,
    first_bin: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl MelFilterbank {
    /// Builds the filterbank as essentia's `MelBands` does (see the module doc).
    pub fn new(
        bands: usize,
        bins: usize,
        sample_rate: f64,
        f_min: f64,
        f_max: f64,
        range: MelBinRange,
    ) -> Result<Self, FeatureError> {
        let (mel_lo, mel_hi) = (hz_to_mel(f_min), hz_to_mel(f_max));
        let step = (mel_hi - mel_lo) / (bands + 1) as f64;
        let edges_hz: Vec<f64> = (0..bands + 2)
            .map(|i| mel_to_hz(mel_lo + i as f64 * step))
            .collect();
        let bin_hz = (sample_rate / 2.0) / (bins as f64 - 1.0);
        let mut bank = MelFilterbank {
            edges_hz,
            bins,
            first_bin: Vec::with_capacity(bands),
            offsets: vec![0],
            weights: Vec::new(),
        };
        for band in 0..bands {
            let [lo, mid, hi] = [0, 1, 2].map(|d| bank.edges_hz[band + d]);
            let (begin, end) = bin_span(range, lo, hi, bin_hz, bins);
            let too_narrow = end < begin + range_min_bins(range);
            let triangle: Vec<f64> = (begin..end.max(begin))
                .map(|j| triangle_weight(j as f64 * bin_hz, lo, mid, hi))
                .collect();
            let total: f64 = triangle.iter().sum();
            if too_narrow || total <= 0.0 {
                return Err(FeatureError::InvalidConfig {
                    field: "mel_bands",
                    reason: format!(
                        "band {band} ({lo:.1}–{hi:.1} Hz) covers too few of the {bins} spectrum bins; \
                         use fewer bands or a longer frame"
                    ),
                });
            }
            let scale = 1.0 / total;
            bank.first_bin.push(begin);
            bank.weights
                .extend(triangle.iter().map(|w| (w * scale) as f32));
            bank.offsets.push(bank.weights.len());
        }
        Ok(bank)
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.first_bin.len()
    }

    /// Number of spectrum bins the bank expects.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The `bands + 2` band edges in Hz (band `b` spans `edges[b]..edges[b + 2]`,
    /// peaking at `edges[b + 1]`).
    pub fn edges_hz(&self) -> &[f64] {
        &self.edges_hz
    }

    /// Band `b`'s first bin and its weights.
    pub fn band(&self, b: usize) -> (usize, &[f32]) {
        (
            self.first_bin[b],
            &self.weights[self.offsets[b]..self.offsets[b + 1]],
        )
    }

    /// `out[b] = Σ_j weight[b][j] · spectrum[j]` (`spectrum.len() == bins`).
    pub fn apply(&self, spectrum: &[f32], out: &mut [f32]) {
        for (b, o) in out.iter_mut().enumerate() {
            let (first, w) = self.band(b);
            *o = dot(w, &spectrum[first..first + w.len()]);
        }
    }
}

/// Lanes of the dot product: independent partial sums the compiler keeps in SIMD
/// registers. The summation order is fixed, so results do not depend on threads.
const DOT_LANES: usize = 8;

/// `Σ a[i]·b[i]` with [`DOT_LANES`] partial sums, then the tail.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; DOT_LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(DOT_LANES), b.chunks_exact(DOT_LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..DOT_LANES {
            acc[lane] += x[lane] * y[lane];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The bins `begin..end` band `[lo, hi]` visits under `range` (module doc).
fn bin_span(range: MelBinRange, lo: f64, hi: f64, bin_hz: f64, bins: usize) -> (usize, usize) {
    let (begin, end) = match range {
        MelBinRange::Inside => ((lo / bin_hz).ceil(), (hi / bin_hz).floor() + 1.0),
        MelBinRange::Rounded => ((lo / bin_hz + 0.5).floor(), (hi / bin_hz + 0.5).floor()),
    };
    (begin as usize, (end as usize).min(bins))
}

/// The fewest bins a band may visit (essentia's checks).
fn range_min_bins(range: MelBinRange) -> usize {
    match range {
        MelBinRange::Inside => 1,
        MelBinRange::Rounded => 2,
    }
}

/// The mel-linear triangle of `TriangularBands` at frequency `f` (0 outside `[lo, hi)`).
fn triangle_weight(f: f64, lo: f64, mid: f64, hi: f64) -> f64 {
    if f >= lo && f < mid {
        (hz_to_mel(f) - hz_to_mel(lo)) / (hz_to_mel(mid) - hz_to_mel(lo))
    } else if f >= mid && f < hi {
        (hz_to_mel(hi) - hz_to_mel(f)) / (hz_to_mel(hi) - hz_to_mel(mid))
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htk_scale_round_trips_and_hits_known_points() {
        // HTK: 1000 Hz ↦ 2595·log10(1 + 1000/700) ≈ 999.985 mel.
        assert!((hz_to_mel(1000.0) - 999.985).abs() < 1e-3);
        for f in [0.0, 55.0, 440.0, 8000.0, 22_050.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-6);
        }
    }

    #[test]
    fn too_many_bands_for_the_bins_is_an_error_naming_the_field() {
        let err =
            MelFilterbank::new(200, 65, 44_100.0, 0.0, 22_050.0, MelBinRange::Inside).unwrap_err();
        assert!(err.to_string().contains("mel_bands"), "{err}");
    }
}
