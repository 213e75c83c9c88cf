//! [`Extractor`]: the whole per-frame chain (frame → window → FFT → power → mel →
//! log compression) with its FFT plan and every buffer allocated once, so that
//! computing a spectrogram allocates only its output.
//!
//! Knows nothing about files, datasets or normalisation.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::config::MelInput;
use super::framing::{fill_frame, frame_count};
use super::mel::MelFilterbank;
use super::window::{apply_window, cosine_sum_window};
use super::{FeatureConfig, FeatureError, MelSpectrogram};

/// A reusable feature extractor for one [`FeatureConfig`]. Not `Sync`: use one per
/// thread ([`super::mel_spectrogram`] keeps one per thread for you).
pub struct Extractor {
    cfg: FeatureConfig,
    window: Vec<f32>,
    mel: MelFilterbank,
    fft: Arc<dyn RealToComplex<f32>>,
    frame: Vec<f32>,
    fft_input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    weighted: Vec<f32>,
}

impl Extractor {
    /// Validates `cfg` and prepares the window, mel filterbank, FFT plan and buffers.
    pub fn new(cfg: &FeatureConfig) -> Result<Self, FeatureError> {
        cfg.validate()?;
        let mel = MelFilterbank::new(
            cfg.mel_bands,
            cfg.spectrum_bins(),
            f64::from(cfg.sample_rate),
            cfg.f_min,
            cfg.f_max,
            cfg.mel_bin_range,
        )?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(cfg.frame_size);
        Ok(Self {
            window: cosine_sum_window(
                cfg.frame_size,
                cfg.window_coefficients,
                cfg.normalise_window,
            ),
            mel,
            frame: vec![0.0; cfg.frame_size],
            fft_input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            weighted: vec![0.0; cfg.spectrum_bins()],
            fft,
            cfg: cfg.clone(),
        })
    }

    /// The configuration this extractor computes.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// The mel filterbank in use.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.mel
    }

    /// The log-compressed mel spectrogram of mono `samples` (at `cfg.sample_rate`),
    /// framed as essentia's `FrameGenerator` (see `framing.rs`).
    pub fn compute(&mut self, samples: &[f32]) -> MelSpectrogram {
        let frames = frame_count(samples.len(), self.cfg.frame_size, self.cfg.hop_size);
        let bands = self.cfg.mel_bands;
        let mut data = vec![0.0f32; frames * bands];
        for (k, row) in data.chunks_exact_mut(bands).enumerate() {
            self.frame_into(samples, k, row);
        }
        MelSpectrogram {
            frames,
            bands,
            data,
        }
    }

    /// Computes frame `k`'s compressed mel bands into `row`.
    fn frame_into(&mut self, samples: &[f32], k: usize, row: &mut [f32]) {
        fill_frame(samples, k, self.cfg.hop_size, &mut self.frame);
        apply_window(
            &self.frame,
            &self.window,
            self.cfg.zero_phase,
            &mut self.fft_input,
        );
        // Lengths come from the plan itself, so the transform cannot reject them.
        let transformed = self.fft.process_with_scratch(
            &mut self.fft_input,
            &mut self.spectrum,
            &mut self.scratch,
        );
        debug_assert!(transformed.is_ok(), "FFT buffers sized by the plan");
        // essentia squares the magnitude |X|; |X|² = re² + im² directly is the same
        // value up to one rounding.
        match self.cfg.mel_input {
            MelInput::Power => {
                for (w, c) in self.weighted.iter_mut().zip(&self.spectrum) {
                    *w = c.norm_sqr();
                }
            }
            MelInput::Magnitude => {
                for (w, c) in self.weighted.iter_mut().zip(&self.spectrum) {
                    *w = c.norm();
                }
            }
        }
        self.mel.apply(&self.weighted, row);
        let c = self.cfg.log_compression as f32;
        for v in row.iter_mut() {
            *v = (1.0 + c * *v).log10();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_signal_has_no_frames_and_short_signal_has_two() {
        let mut ex = Extractor::new(&FeatureConfig::default()).unwrap();
        let empty = ex.compute(&[]);
        assert_eq!((empty.frames, empty.data.len()), (0, 0));
        let short = ex.compute(&[0.5; 100]);
        assert_eq!((short.frames, short.bands), (2, 40));
        assert!(short.data.iter().all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn zero_phase_does_not_change_the_features() {
        let x: Vec<f32> = (0..10_000)
            .map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5)
            .collect();
        let a = Extractor::new(&FeatureConfig::default())
            .unwrap()
            .compute(&x);
        let cfg = FeatureConfig {
            zero_phase: false,
            ..FeatureConfig::default()
        };
        let b = Extractor::new(&cfg).unwrap().compute(&x);
        for (p, q) in a.data.iter().zip(&b.data) {
            assert!((p - q).abs() <= 1e-4 * p.abs().max(1.0), "{p} vs {q}");
        }
    }
}
