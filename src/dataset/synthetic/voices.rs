//! Synthesis layers of the synthetic corpus: noise source, drum-like bursts and
//! harmonic notes, each rendered additively into an output buffer.
//!
//! Every function is O(samples it touches) and allocates nothing. Must not know
//! about rhythm patterns, classes or random parameter draws (timbres arrive as
//! plain structs).

use std::f64::consts::TAU;

/// Envelope level below which a decaying sound is considered finished.
const SILENCE: f32 = 1e-3;

/// Fast deterministic white noise (xorshift64*), for per-sample noise where a
/// cryptographic generator would dominate the cost.
#[derive(Debug, Clone)]
pub struct Noise(u64);

impl Noise {
    /// A noise source; any seed works (zero is remapped).
    pub fn new(seed: u64) -> Self {
        Noise(seed | 1)
    }

    /// Next sample, uniform in [-1, 1).
    #[inline]
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 40) as f32) * (2.0 / (1u64 << 24) as f32) - 1.0
    }
}

/// The sound of one percussive role in one clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrumTimbre {
    /// Frequency of the tonal body at the end of the pitch sweep (Hz); 0 = none.
    pub tone_hz: f32,
    /// Start frequency / end frequency of the pitch sweep (≥ 1).
    pub sweep_ratio: f32,
    /// Time constant of the pitch sweep (s).
    pub sweep_tau: f32,
    /// Time constant of the amplitude decay (s).
    pub decay_tau: f32,
    /// Share of noise in the sound, in [0, 1].
    pub noise_mix: f32,
    /// One-pole low-pass coefficient applied to the noise, in (0, 1] (1 = bright).
    pub noise_lowpass: f32,
    /// Keep only the high-passed part of the noise (hats, snares).
    pub noise_highpass: bool,
}

/// Renders one drum hit of velocity `vel` starting at sample `start`.
pub fn render_drum(
    out: &mut [f32],
    start: usize,
    vel: f32,
    t: &DrumTimbre,
    sr: f32,
    noise: &mut Noise,
) {
    if start >= out.len() {
        return;
    }
    let decay = (-1.0 / (t.decay_tau * sr)).exp();
    let sweep = (-1.0 / (t.sweep_tau.max(1e-4) * sr)).exp();
    let mut env = vel;
    let mut excess = t.sweep_ratio - 1.0; // frequency factor above 1, decaying
    let mut phase = 0.0f32; // in turns
    let mut lp = 0.0f32;
    for y in &mut out[start..] {
        let mut s = 0.0;
        if t.tone_hz > 0.0 {
            s += (1.0 - t.noise_mix) * fast_sin(phase);
            phase += t.tone_hz * (1.0 + excess) / sr;
            phase -= phase.floor();
            excess *= sweep;
        }
        if t.noise_mix > 0.0 {
            let n = noise.next();
            lp += t.noise_lowpass * (n - lp);
            let filtered = if t.noise_highpass { n - lp } else { lp };
            s += t.noise_mix * filtered;
        }
        *y += env * s;
        env *= decay;
        if env < SILENCE {
            break;
        }
    }
}

/// Sine of `turns` full turns (argument in [0, 1)), by a parabolic
/// approximation refined once (max error ≈ 0.001): cheap and exactly
/// reproducible across platforms, unlike libm's `sin`.
#[inline]
fn fast_sin(turns: f32) -> f32 {
    let x = if turns < 0.5 { turns } else { turns - 1.0 } * 2.0; // [-1, 1)
    let y = 4.0 * x * (1.0 - x.abs());
    0.225 * (y * y.abs() - y) + y
}

/// Maximum number of simultaneous partials in one note event.
pub const MAX_PARTIALS: usize = 16;

/// The sound of one tonal role in one clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneTimbre {
    /// Amplitudes of harmonics 1..=4.
    pub harmonics: [f32; 4],
    /// Attack time (s).
    pub attack: f32,
    /// Time constant of the decay while the note is held (s).
    pub decay_tau: f32,
    /// Time constant of the release after the note's length (s).
    pub release_tau: f32,
}

/// Renders notes at `freqs` (Hz, at most 4) held for `len` samples from `start`.
pub fn render_note(
    out: &mut [f32],
    start: usize,
    len: usize,
    freqs: &[f32],
    vel: f32,
    t: &ToneTimbre,
    sr: f32,
) {
    if start >= out.len() {
        return;
    }
    // Rotating phasors (cos, sin) per partial: 4 multiplications per sample.
    let mut rot = [(0.0f64, 0.0f64); MAX_PARTIALS];
    let mut z = [(0.0f64, 0.0f64); MAX_PARTIALS];
    let mut amp = [0.0f64; MAX_PARTIALS];
    let mut n = 0;
    let norm = 1.0 / freqs.len().max(1) as f64;
    for &f in freqs.iter().take(MAX_PARTIALS / 4) {
        for (k, &a) in t.harmonics.iter().enumerate() {
            let hz = f as f64 * (k + 1) as f64;
            if a <= 0.0 || hz >= 0.45 * sr as f64 {
                continue;
            }
            let w = TAU * hz / sr as f64;
            rot[n] = (w.cos(), w.sin());
            z[n] = (1.0, 0.0);
            amp[n] = a as f64 * norm;
            n += 1;
        }
    }
    let attack = (t.attack * sr).max(1.0);
    let decay = (-1.0 / (t.decay_tau * sr)).exp();
    let release = (-1.0 / (t.release_tau * sr)).exp();
    let mut env = 1.0f32;
    for (i, y) in out[start..].iter_mut().enumerate() {
        let rise = (i as f32 / attack).min(1.0);
        let mut s = 0.0f64;
        for p in 0..n {
            let (c, si) = z[p];
            let (rc, rs) = rot[p];
            z[p] = (c * rc - si * rs, c * rs + si * rc);
            s += amp[p] * z[p].1;
        }
        *y += vel * rise * env * s as f32;
        env *= if i < len { decay } else { release };
        if env < SILENCE {
            break;
        }
    }
}

/// Frequency of a MIDI note number (A4 = 69 = 440 Hz).
pub fn midi_hz(note: i32) -> f32 {
    440.0 * 2f32.powf((note - 69) as f32 / 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sin_is_close_to_sin() {
        for k in 0..1000 {
            let turns = k as f32 / 1000.0;
            let exact = (turns * std::f32::consts::TAU).sin();
            assert!((fast_sin(turns) - exact).abs() < 2e-3, "{turns}");
        }
    }

    #[test]
    fn noise_is_bounded_and_centred() {
        let mut n = Noise::new(7);
        let xs: Vec<f32> = (0..100_000).map(|_| n.next()).collect();
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.02, "{mean}");
    }

    #[test]
    fn sounds_start_where_asked_and_decay() {
        let sr = 44_100.0;
        let mut out = vec![0.0f32; 44_100];
        let drum = DrumTimbre {
            tone_hz: 60.0,
            sweep_ratio: 3.0,
            sweep_tau: 0.02,
            decay_tau: 0.05,
            noise_mix: 0.1,
            noise_lowpass: 0.5,
            noise_highpass: false,
        };
        render_drum(&mut out, 1000, 1.0, &drum, sr, &mut Noise::new(1));
        assert!(out[..1000].iter().all(|&x| x == 0.0));
        assert!(out[1000..1500].iter().any(|&x| x.abs() > 0.1));
        assert!(out[40_000..].iter().all(|&x| x.abs() < 1e-2));
        let tone = ToneTimbre {
            harmonics: [1.0, 0.5, 0.0, 0.0],
            attack: 0.01,
            decay_tau: 1.0,
            release_tau: 0.01,
        };
        let mut out = vec![0.0f32; 44_100];
        render_note(&mut out, 0, 4410, &[220.0], 1.0, &tone, sr);
        assert!(out[1000..4000].iter().any(|&x| x.abs() > 0.5));
        assert!(out[10_000..].iter().all(|&x| x.abs() < 1e-2));
    }
}
