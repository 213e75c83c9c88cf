//! Renders a [`ClipPlan`] into samples: a drifting beat grid, the class's
//! pattern bar after bar (with swing, humanisation, dropout and ghost notes), a
//! chord progression, then master low-pass, background noise and peak level.
//!
//! O(samples): every event touches only the samples it sounds on; the only
//! allocations are the output and the beat grid. Must not know about files.

use super::patterns::{swing, Hit, Role, STYLES};
use super::plan::{ClipPlan, Draw};
use super::voices::{midi_hz, render_drum, render_note, Noise};

/// Scale degrees (semitones above the key's root) a progression moves through.
const PROGRESSION_DEGREES: [i32; 4] = [0, 5, 7, 9];

/// Roles a ghost note may take, with their velocity range.
const GHOST_ROLES: [Role; 3] = [Role::Hat, Role::Perc, Role::Snare];
const GHOST_VELOCITY: (f32, f32) = (0.15, 0.35);

/// Renders `seconds` of the clip at `sample_rate`.
pub fn render(plan: &ClipPlan, seconds: f64, sample_rate: u32) -> Vec<f32> {
    let sr = sample_rate as f32;
    let len = (seconds * sample_rate as f64).round() as usize;
    let mut out = vec![0.0f32; len];
    let beats = beat_grid(plan, seconds);
    let mut d = Draw::new(plan.render_seed);
    let mut noise = Noise::new(plan.render_seed ^ 0x9E37_79B9_7F4A_7C15);
    let bpb = plan.beats_per_bar as usize;
    let pattern: &[Hit] = STYLES[plan.class].variants[plan.variant];
    // Beat k of the grid is beat (k + start_beat) of the pattern's bars.
    let first_bar_beat = -(plan.start_beat as isize);
    let mut bar_start = first_bar_beat;
    let mut degree = 0;
    let mut bar_index = 0u32;
    while bar_start < beats.len() as isize - 1 {
        if bar_index % plan.bars_per_chord == 0 && bar_index > 0 {
            degree = PROGRESSION_DEGREES[d.below(PROGRESSION_DEGREES.len())];
        }
        let bar = Bar {
            start_beat: bar_start,
            root: plan.root_midi + degree,
        };
        for hit in pattern {
            if d.chance(plan.dropout) {
                continue;
            }
            let vel = hit.vel * d.rangef(0.8, 1.0);
            play(
                &mut out, plan, &beats, &bar, hit, vel, &mut d, &mut noise, sr,
            );
        }
        let ghosts = (plan.ghosts_per_bar * d.unit() * 2.0).round() as usize;
        for _ in 0..ghosts {
            let sixteenth = d.below(bpb * 4);
            let ghost = Hit {
                at: sixteenth as f32 / 4.0,
                role: GHOST_ROLES[d.below(GHOST_ROLES.len())],
                vel: d.rangef(GHOST_VELOCITY.0, GHOST_VELOCITY.1),
                len: 0.0,
            };
            play(
                &mut out, plan, &beats, &bar, &ghost, ghost.vel, &mut d, &mut noise, sr,
            );
        }
        bar_start += bpb as isize;
        bar_index += 1;
    }
    master(&mut out, plan, &mut noise, sr);
    out
}

/// The bar being rendered.
struct Bar {
    /// Grid index of the bar's downbeat (may be negative for the first bar).
    start_beat: isize,
    /// MIDI note of the bar's chord root (bass register).
    root: i32,
}

/// Beat times (s) of a tempo drifting sinusoidally around the plan's BPM; the
/// first entry is at or before 0 (the clip starts `start_phase` into a beat),
/// the last beyond `seconds`.
fn beat_grid(plan: &ClipPlan, seconds: f64) -> Vec<f64> {
    let period = |t: f64| {
        let drift = plan.drift_depth
            * (std::f64::consts::TAU * t / plan.drift_period + plan.drift_phase).sin();
        60.0 / (plan.bpm * (1.0 + drift))
    };
    let mut t = -plan.start_phase * period(0.0);
    let mut beats = Vec::with_capacity((seconds * plan.bpm / 60.0) as usize + 4);
    while t < seconds + 1.0 {
        beats.push(t);
        t += period(t);
    }
    beats
}

/// Time (s) of a fractional grid position, interpolating between beats.
fn time_at(beats: &[f64], position: f64) -> Option<f64> {
    if position < 0.0 {
        return None;
    }
    let k = position.floor() as usize;
    let (t0, t1) = (*beats.get(k)?, *beats.get(k + 1)?);
    Some(t0 + (position - k as f64) * (t1 - t0))
}

#[allow(clippy::too_many_arguments)]
fn play(
    out: &mut [f32],
    plan: &ClipPlan,
    beats: &[f64],
    bar: &Bar,
    hit: &Hit,
    vel: f32,
    d: &mut Draw,
    noise: &mut Noise,
    sr: f32,
) {
    let at = swing(hit.at, plan.swing8, plan.swing16) as f64;
    let jitter = d.range(-plan.humanize, plan.humanize);
    let Some(t) = time_at(beats, bar.start_beat as f64 + at) else {
        return;
    };
    let t = t + jitter;
    if t < 0.0 {
        return;
    }
    let start = (t * sr as f64) as usize;
    let beat_seconds = 60.0 / plan.bpm as f32;
    let hold = (hit.len * beat_seconds * sr) as usize;
    let g = &plan.layer_gain;
    match hit.role {
        Role::Kick => render_drum(out, start, vel * g[0], &plan.drums[0], sr, noise),
        Role::Snare => render_drum(out, start, vel * g[1], &plan.drums[1], sr, noise),
        Role::Hat => render_drum(out, start, vel * g[2], &plan.drums[2], sr, noise),
        Role::Perc => render_drum(out, start, vel * g[3], &plan.drums[3], sr, noise),
        Role::Bass(interval) if g[4] > 0.0 => {
            let f = midi_hz(bar.root + interval as i32);
            render_note(out, start, hold, &[f], vel * g[4], &plan.bass, sr);
        }
        Role::Chord if g[5] > 0.0 => {
            let base = bar.root + 12 * plan.chord_octaves;
            let third = if plan.minor { 3 } else { 4 };
            let f = [midi_hz(base), midi_hz(base + third), midi_hz(base + 7)];
            render_note(out, start, hold, &f, vel * g[5], &plan.chord, sr);
        }
        Role::Bass(_) | Role::Chord => {}
    }
}

/// Master bus: one-pole low-pass, background noise relative to the RMS, peak level.
fn master(out: &mut [f32], plan: &ClipPlan, noise: &mut Noise, sr: f32) {
    let a = 1.0 - (-std::f32::consts::TAU * plan.lowpass_hz / sr).exp();
    let mut lp = 0.0f32;
    let mut energy = 0.0f64;
    for y in out.iter_mut() {
        lp += a * (*y - lp);
        *y = lp;
        energy += (lp as f64) * (lp as f64);
    }
    let rms = (energy / out.len().max(1) as f64).sqrt() as f32;
    let level = plan.noise_level * rms.max(1e-4);
    let mut pink = 0.0f32;
    let mut peak = 0.0f32;
    for y in out.iter_mut() {
        pink += 0.05 * (noise.next() - pink);
        *y += level * (pink * 3.0 + 0.2 * noise.next());
        peak = peak.max(y.abs());
    }
    if peak > 0.0 {
        let gain = plan.peak / peak;
        out.iter_mut().for_each(|y| *y *= gain);
    }
}
