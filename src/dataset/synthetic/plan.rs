//! The random parameters of one synthetic clip, drawn from the clip's own seed:
//! tempo, drift, swing, pattern variant, key, layer levels, timbres, noise.
//!
//! Owns every random choice made before rendering (the renderer only draws
//! per-bar and per-hit variations). Must not know about files or datasets.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::patterns::{Style, STYLES};
use super::tempo::{ClassStats, CLASSES};
use super::voices::{DrumTimbre, ToneTimbre};

/// Number of layers (roles) mixed in a clip: kick, snare, hat, perc, bass, chord.
pub const LAYERS: usize = 6;

/// Probability that a layer is left out of a clip entirely.
const LAYER_MUTE_PROBABILITY: f64 = 0.12;

/// Everything random about one clip, drawn once from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipPlan {
    /// Class index into [`CLASSES`].
    pub class: usize,
    /// Beats per bar (3 or 4).
    pub beats_per_bar: u32,
    /// Mean tempo (BPM), drawn from the class's tempo distribution.
    pub bpm: f64,
    /// Relative depth of the slow sinusoidal tempo drift.
    pub drift_depth: f64,
    /// Period of the tempo drift (s).
    pub drift_period: f64,
    /// Phase of the tempo drift (radians).
    pub drift_phase: f64,
    /// Where in the bar the clip starts (beats), and the fraction of a beat
    /// before the first beat.
    pub start_beat: u32,
    /// Fraction of a beat elapsed at time 0.
    pub start_phase: f64,
    /// Eighth-note swing in [0, 1].
    pub swing8: f32,
    /// Sixteenth-note swing in [0, 1].
    pub swing16: f32,
    /// Index of the pattern variant.
    pub variant: usize,
    /// Random timing deviation per hit, up to this many seconds either way.
    pub humanize: f64,
    /// Probability of leaving out one pattern hit.
    pub dropout: f64,
    /// Expected number of random ghost notes per bar.
    pub ghosts_per_bar: f64,
    /// Level of each layer (0 = muted), in the order of [`LAYERS`].
    pub layer_gain: [f32; LAYERS],
    /// Drum timbres: kick, snare, hat, perc.
    pub drums: [DrumTimbre; 4],
    /// Bass timbre.
    pub bass: ToneTimbre,
    /// Chord timbre.
    pub chord: ToneTimbre,
    /// MIDI note of the key's root in the bass register.
    pub root_midi: i32,
    /// Minor (true) or major chords.
    pub minor: bool,
    /// Octaves between the bass root and the chords (1 or 2).
    pub chord_octaves: i32,
    /// Bars per chord of the progression (1 or 2).
    pub bars_per_chord: u32,
    /// Background noise level relative to the mix's RMS (linear).
    pub noise_level: f32,
    /// Master low-pass cut-off (Hz).
    pub lowpass_hz: f32,
    /// Final peak level in (0, 1).
    pub peak: f32,
    /// Seed of the per-bar/per-hit variations and of the noise.
    pub render_seed: u64,
}

/// Uniform draws in a range from a ChaCha stream (53-bit resolution, our own
/// mapping so the values do not depend on rand's distribution code).
pub(crate) struct Draw(pub ChaCha8Rng);

impl Draw {
    pub(crate) fn new(seed: u64) -> Self {
        Draw(ChaCha8Rng::seed_from_u64(seed))
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub(crate) fn rangef(&mut self, lo: f32, hi: f32) -> f32 {
        self.range(lo as f64, hi as f64) as f32
    }
    /// An integer in [0, n) (n ≥ 1), by multiply-shift (bias < 2⁻⁵⁰ for small n).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.0.next_u64() as u128 * n as u128) >> 64) as usize
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

impl ClipPlan {
    /// Draws the plan of clip `class` from `clip_seed` (see `super::clip_seed`).
    pub fn draw(class: usize, clip_seed: u64) -> Self {
        let stats: &ClassStats = &CLASSES[class];
        let style: &Style = &STYLES[class];
        let mut d = Draw::new(clip_seed);
        let bpm = stats.bpm_at(d.unit());
        let beats_per_bar = stats.beats_per_bar;
        ClipPlan {
            class,
            beats_per_bar,
            bpm,
            drift_depth: d.range(0.0, 0.02),
            drift_period: d.range(8.0, 40.0),
            drift_phase: d.range(0.0, std::f64::consts::TAU),
            start_beat: d.below(beats_per_bar as usize) as u32,
            start_phase: d.unit(),
            swing8: d.rangef(style.swing8.0, style.swing8.1),
            swing16: d.rangef(style.swing16.0, style.swing16.1),
            variant: d.below(style.variants.len()),
            humanize: d.range(0.0, 0.015),
            dropout: d.range(0.0, 0.15),
            ghosts_per_bar: d.range(0.0, 2.0),
            layer_gain: layer_gains(&mut d),
            drums: [kick(&mut d), snare(&mut d), hat(&mut d), perc(&mut d)],
            bass: tone(&mut d, (0.003, 0.02), (0.2, 1.5)),
            chord: tone(&mut d, (0.005, 0.08), (0.3, 2.0)),
            root_midi: 33 + d.below(12) as i32,
            minor: d.chance(0.5),
            chord_octaves: 1 + d.below(2) as i32,
            bars_per_chord: 1 + d.below(2) as u32,
            noise_level: 10f32.powf(d.rangef(-40.0, -15.0) / 20.0),
            lowpass_hz: d.rangef(2_500.0, 16_000.0),
            peak: d.rangef(0.25, 0.95),
            render_seed: d.0.next_u64(),
        }
    }
}

fn layer_gains(d: &mut Draw) -> [f32; LAYERS] {
    let mut gains = [0.0f32; LAYERS];
    for g in &mut gains {
        let level = d.rangef(0.35, 1.0);
        *g = if d.chance(LAYER_MUTE_PROBABILITY) {
            0.0
        } else {
            level
        };
    }
    if gains.iter().all(|&g| g == 0.0) {
        gains[d.below(LAYERS)] = 1.0;
    }
    gains
}

fn kick(d: &mut Draw) -> DrumTimbre {
    DrumTimbre {
        tone_hz: d.rangef(45.0, 75.0),
        sweep_ratio: d.rangef(1.5, 4.0),
        sweep_tau: d.rangef(0.01, 0.04),
        decay_tau: d.rangef(0.06, 0.25),
        noise_mix: d.rangef(0.02, 0.15),
        noise_lowpass: d.rangef(0.05, 0.3),
        noise_highpass: false,
    }
}

fn snare(d: &mut Draw) -> DrumTimbre {
    DrumTimbre {
        tone_hz: d.rangef(150.0, 260.0),
        sweep_ratio: d.rangef(1.0, 1.5),
        sweep_tau: d.rangef(0.005, 0.02),
        decay_tau: d.rangef(0.04, 0.15),
        noise_mix: d.rangef(0.5, 0.9),
        noise_lowpass: d.rangef(0.1, 0.5),
        noise_highpass: true,
    }
}

fn hat(d: &mut Draw) -> DrumTimbre {
    DrumTimbre {
        tone_hz: 0.0,
        sweep_ratio: 1.0,
        sweep_tau: 0.01,
        decay_tau: d.rangef(0.012, 0.06),
        noise_mix: 1.0,
        noise_lowpass: d.rangef(0.3, 0.9),
        noise_highpass: true,
    }
}

fn perc(d: &mut Draw) -> DrumTimbre {
    DrumTimbre {
        tone_hz: d.rangef(500.0, 2_500.0),
        sweep_ratio: d.rangef(1.0, 1.2),
        sweep_tau: 0.005,
        decay_tau: d.rangef(0.02, 0.1),
        noise_mix: d.rangef(0.0, 0.3),
        noise_lowpass: d.rangef(0.3, 0.9),
        noise_highpass: true,
    }
}

fn tone(d: &mut Draw, attack: (f32, f32), decay: (f32, f32)) -> ToneTimbre {
    ToneTimbre {
        harmonics: [
            1.0,
            d.rangef(0.0, 0.6),
            d.rangef(0.0, 0.4),
            d.rangef(0.0, 0.25),
        ],
        attack: d.rangef(attack.0, attack.1),
        decay_tau: d.rangef(decay.0, decay.1),
        release_tau: d.rangef(0.01, 0.05),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_deterministic_and_in_range() {
        for class in 0..CLASSES.len() {
            for seed in 0..50u64 {
                let p = ClipPlan::draw(class, seed);
                assert_eq!(p, ClipPlan::draw(class, seed));
                let c = &CLASSES[class];
                assert!(p.bpm >= c.min_bpm() && p.bpm <= c.max_bpm());
                assert!(p.variant < STYLES[class].variants.len());
                assert!(p.start_beat < p.beats_per_bar);
                assert!(p.layer_gain.iter().any(|&g| g > 0.0));
            }
        }
    }

    #[test]
    fn below_covers_its_range() {
        let mut d = Draw::new(3);
        let mut seen = [false; 5];
        for _ in 0..200 {
            seen[d.below(5)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
