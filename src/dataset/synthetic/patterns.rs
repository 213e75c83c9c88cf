//! One-bar rhythm patterns per dance class: which role plays where in the bar,
//! how loud and (for tonal roles) how long.
//!
//! Owns the musical content that distinguishes the classes (accents,
//! syncopation, subdivisions). Positions are in beats from the downbeat; the
//! generator applies swing, humanisation, dropout and ghost notes on top, so a
//! pattern is a style, not a fingerprint. Must not know about sample rates or
//! synthesis.

/// What plays a hit. Percussive roles get randomised timbres per clip; tonal
/// roles follow the clip's random key and chord progression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Low drum (kick, surdo).
    Kick,
    /// Mid noisy drum (snare, clap, rim).
    Snare,
    /// Short bright noise (hi-hat, shaker, guiro).
    Hat,
    /// Short pitched percussion (clave, cowbell, tamborim).
    Perc,
    /// Bass note, `n` semitones above the bar's chord root.
    Bass(i8),
    /// The bar's chord.
    Chord,
}

/// One event of a pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Position in beats from the downbeat.
    pub at: f32,
    /// Who plays it.
    pub role: Role,
    /// Relative velocity in (0, 1].
    pub vel: f32,
    /// Length in beats (tonal roles; percussive roles decay on their own).
    pub len: f32,
}

const fn h(at: f32, role: Role, vel: f32, len: f32) -> Hit {
    Hit { at, role, vel, len }
}

use Role::{Bass, Chord, Hat, Kick, Perc, Snare};

/// A class's rhythmic style: pattern variants and swing ranges.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// One-bar patterns; each clip uses one, chosen at random.
    pub variants: &'static [&'static [Hit]],
    /// Range of eighth-note swing (0 = straight, 1 = triplet feel).
    pub swing8: (f32, f32),
    /// Range of sixteenth-note swing (0 = straight, 1 = triplet feel).
    pub swing16: (f32, f32),
}

/// Cha-cha-cha: the "2-3-4&1" step (hits on 2, 3, 4, 4&, 1), cowbell on the
/// beats, anticipated tumbao bass.
#[rustfmt::skip]
const CHACHA: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.9, 0.0), h(2.0, Kick, 0.5, 0.0),
            h(0.0, Perc, 0.9, 0.0), h(1.0, Perc, 0.6, 0.0), h(2.0, Perc, 0.8, 0.0), h(3.0, Perc, 0.6, 0.0),
            h(1.0, Hat, 0.6, 0.0), h(2.0, Hat, 0.6, 0.0), h(3.0, Hat, 0.9, 0.0), h(3.5, Hat, 0.9, 0.0),
            h(3.0, Snare, 0.7, 0.0), h(3.5, Snare, 0.8, 0.0),
            h(1.5, Bass(7), 0.9, 0.5), h(3.0, Bass(0), 0.9, 1.0),
            h(0.5, Chord, 0.6, 0.3), h(1.5, Chord, 0.6, 0.3), h(2.5, Chord, 0.6, 0.3), h(3.5, Chord, 0.7, 0.3),
        ],
        &[
            h(0.0, Kick, 0.9, 0.0),
            h(1.0, Perc, 0.7, 0.0), h(2.0, Perc, 0.7, 0.0), h(3.0, Perc, 0.9, 0.0), h(3.5, Perc, 0.9, 0.0),
            h(0.0, Hat, 0.5, 0.0), h(1.0, Hat, 0.5, 0.0), h(2.0, Hat, 0.5, 0.0), h(3.0, Hat, 0.8, 0.0), h(3.5, Hat, 0.8, 0.0),
            h(3.0, Snare, 0.6, 0.0), h(3.5, Snare, 0.7, 0.0),
            h(0.0, Bass(0), 0.8, 1.0), h(1.5, Bass(7), 0.8, 0.5), h(3.0, Bass(0), 0.8, 0.5),
            h(1.0, Chord, 0.6, 0.4), h(2.5, Chord, 0.6, 0.3), h(3.0, Chord, 0.6, 0.3), h(3.5, Chord, 0.7, 0.3),
        ],
    ],
    swing8: (0.0, 0.15),
    swing16: (0.0, 0.1),
};

/// Jive: swung triplet feel, strong backbeat, walking bass, triple steps.
#[rustfmt::skip]
const JIVE: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.8, 0.0), h(2.0, Kick, 0.8, 0.0),
            h(1.0, Snare, 1.0, 0.0), h(3.0, Snare, 1.0, 0.0),
            h(0.0, Hat, 0.7, 0.0), h(0.5, Hat, 0.4, 0.0), h(1.0, Hat, 0.7, 0.0), h(1.5, Hat, 0.4, 0.0),
            h(2.0, Hat, 0.7, 0.0), h(2.5, Hat, 0.4, 0.0), h(3.0, Hat, 0.7, 0.0), h(3.5, Hat, 0.4, 0.0),
            h(0.0, Bass(0), 0.9, 0.9), h(1.0, Bass(4), 0.8, 0.9), h(2.0, Bass(7), 0.9, 0.9), h(3.0, Bass(9), 0.8, 0.9),
            h(1.0, Chord, 0.7, 0.4), h(3.0, Chord, 0.7, 0.4),
        ],
        &[
            h(0.0, Kick, 0.8, 0.0), h(2.0, Kick, 0.7, 0.0),
            h(1.0, Snare, 1.0, 0.0), h(3.0, Snare, 1.0, 0.0), h(3.5, Snare, 0.5, 0.0),
            h(0.0, Hat, 0.6, 0.0), h(1.0, Hat, 0.6, 0.0), h(1.5, Hat, 0.5, 0.0), h(2.0, Hat, 0.6, 0.0),
            h(3.0, Hat, 0.6, 0.0), h(3.5, Hat, 0.5, 0.0),
            h(0.0, Bass(0), 0.9, 0.9), h(1.0, Bass(7), 0.8, 0.9), h(2.0, Bass(12), 0.9, 0.9), h(3.0, Bass(7), 0.8, 0.9),
            h(1.0, Chord, 0.6, 0.3), h(1.5, Chord, 0.6, 0.3), h(3.0, Chord, 0.6, 0.3), h(3.5, Chord, 0.6, 0.3),
        ],
    ],
    swing8: (0.6, 1.0),
    swing16: (0.0, 0.0),
};

/// Quickstep: fast 4/4, two-feel bass, off-beat chords and hats.
#[rustfmt::skip]
const QUICKSTEP: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.9, 0.0), h(2.0, Kick, 0.8, 0.0),
            h(1.0, Snare, 0.7, 0.0), h(3.0, Snare, 0.7, 0.0),
            h(0.5, Hat, 0.8, 0.0), h(1.5, Hat, 0.8, 0.0), h(2.5, Hat, 0.8, 0.0), h(3.5, Hat, 0.8, 0.0),
            h(0.0, Bass(0), 0.9, 1.5), h(2.0, Bass(7), 0.9, 1.5),
            h(0.5, Chord, 0.7, 0.3), h(1.5, Chord, 0.7, 0.3), h(2.5, Chord, 0.7, 0.3), h(3.5, Chord, 0.7, 0.3),
        ],
        &[
            h(0.0, Kick, 0.9, 0.0), h(1.5, Kick, 0.6, 0.0), h(2.0, Kick, 0.8, 0.0),
            h(1.0, Snare, 0.8, 0.0), h(3.0, Snare, 0.8, 0.0),
            h(0.0, Hat, 0.5, 0.0), h(1.0, Hat, 0.5, 0.0), h(2.0, Hat, 0.5, 0.0), h(3.0, Hat, 0.5, 0.0),
            h(0.0, Bass(0), 0.9, 1.0), h(1.5, Bass(7), 0.8, 0.5), h(2.0, Bass(0), 0.9, 1.0),
            h(0.0, Chord, 0.7, 0.4), h(1.5, Chord, 0.8, 0.4),
        ],
    ],
    swing8: (0.0, 0.3),
    swing16: (0.0, 0.0),
};

/// Rumba: slow "quick-quick-slow" (2, 3, 4-1), rumba clave, anticipated bass,
/// legato chords.
#[rustfmt::skip]
const RUMBA: Style = Style {
    variants: &[
        &[
            h(0.0, Perc, 0.9, 0.0), h(0.75, Perc, 0.8, 0.0), h(1.75, Perc, 0.8, 0.0), h(2.5, Perc, 0.9, 0.0), h(3.0, Perc, 0.9, 0.0),
            h(0.0, Kick, 0.6, 0.0),
            h(1.0, Snare, 0.5, 0.0), h(2.0, Snare, 0.5, 0.0), h(3.0, Snare, 0.7, 0.0),
            h(0.0, Hat, 0.3, 0.0), h(0.5, Hat, 0.3, 0.0), h(1.0, Hat, 0.3, 0.0), h(1.5, Hat, 0.3, 0.0),
            h(2.0, Hat, 0.3, 0.0), h(2.5, Hat, 0.3, 0.0), h(3.0, Hat, 0.3, 0.0), h(3.5, Hat, 0.3, 0.0),
            h(1.5, Bass(7), 0.9, 1.5), h(3.0, Bass(0), 0.9, 1.0),
            h(0.0, Chord, 0.5, 2.0), h(2.0, Chord, 0.5, 2.0),
        ],
        &[
            h(0.0, Perc, 0.9, 0.0), h(0.75, Perc, 0.8, 0.0), h(1.5, Perc, 0.8, 0.0), h(2.5, Perc, 0.9, 0.0), h(3.0, Perc, 0.9, 0.0),
            h(1.0, Snare, 0.6, 0.0), h(2.0, Snare, 0.6, 0.0),
            h(3.0, Kick, 0.7, 0.0),
            h(1.5, Bass(0), 0.9, 1.5), h(3.0, Bass(7), 0.8, 1.0),
            h(0.0, Chord, 0.5, 1.5), h(1.5, Chord, 0.4, 1.5), h(3.0, Chord, 0.5, 1.0),
        ],
    ],
    swing8: (0.0, 0.15),
    swing16: (0.0, 0.1),
};

/// Samba: "boom-chick" surdo with the stronger beat on 2 and 4, accented
/// fourth sixteenth on the shaker, syncopated chords, sixteenth swing.
#[rustfmt::skip]
const SAMBA: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.5, 0.0), h(0.75, Kick, 0.4, 0.0), h(1.0, Kick, 1.0, 0.0),
            h(2.0, Kick, 0.5, 0.0), h(2.75, Kick, 0.4, 0.0), h(3.0, Kick, 1.0, 0.0),
            h(0.0, Hat, 0.3, 0.0), h(0.25, Hat, 0.5, 0.0), h(0.5, Hat, 0.3, 0.0), h(0.75, Hat, 0.9, 0.0),
            h(1.0, Hat, 0.3, 0.0), h(1.25, Hat, 0.5, 0.0), h(1.5, Hat, 0.3, 0.0), h(1.75, Hat, 0.9, 0.0),
            h(2.0, Hat, 0.3, 0.0), h(2.25, Hat, 0.5, 0.0), h(2.5, Hat, 0.3, 0.0), h(2.75, Hat, 0.9, 0.0),
            h(3.0, Hat, 0.3, 0.0), h(3.25, Hat, 0.5, 0.0), h(3.5, Hat, 0.3, 0.0), h(3.75, Hat, 0.9, 0.0),
            h(0.25, Perc, 0.7, 0.0), h(0.75, Perc, 0.7, 0.0), h(1.5, Perc, 0.8, 0.0), h(2.25, Perc, 0.7, 0.0), h(2.75, Perc, 0.7, 0.0), h(3.5, Perc, 0.8, 0.0),
            h(0.0, Bass(0), 0.7, 0.7), h(0.75, Bass(0), 0.6, 0.25), h(1.0, Bass(7), 0.9, 0.9),
            h(2.0, Bass(0), 0.7, 0.7), h(2.75, Bass(0), 0.6, 0.25), h(3.0, Bass(7), 0.9, 0.9),
            h(0.25, Chord, 0.6, 0.2), h(0.75, Chord, 0.6, 0.2), h(1.5, Chord, 0.6, 0.2),
            h(2.25, Chord, 0.6, 0.2), h(2.75, Chord, 0.6, 0.2), h(3.5, Chord, 0.6, 0.2),
        ],
        &[
            h(1.0, Kick, 1.0, 0.0), h(3.0, Kick, 1.0, 0.0), h(0.0, Kick, 0.4, 0.0), h(2.0, Kick, 0.4, 0.0),
            h(0.5, Snare, 0.5, 0.0), h(1.75, Snare, 0.6, 0.0), h(2.5, Snare, 0.5, 0.0), h(3.75, Snare, 0.6, 0.0),
            h(0.0, Hat, 0.4, 0.0), h(0.5, Hat, 0.4, 0.0), h(0.75, Hat, 0.8, 0.0),
            h(1.0, Hat, 0.4, 0.0), h(1.5, Hat, 0.4, 0.0), h(1.75, Hat, 0.8, 0.0),
            h(2.0, Hat, 0.4, 0.0), h(2.5, Hat, 0.4, 0.0), h(2.75, Hat, 0.8, 0.0),
            h(3.0, Hat, 0.4, 0.0), h(3.5, Hat, 0.4, 0.0), h(3.75, Hat, 0.8, 0.0),
            h(0.0, Bass(0), 0.6, 0.5), h(1.0, Bass(7), 0.9, 0.7), h(2.0, Bass(0), 0.6, 0.5), h(3.0, Bass(7), 0.9, 0.7),
            h(0.75, Chord, 0.6, 0.2), h(1.5, Chord, 0.6, 0.2), h(2.75, Chord, 0.6, 0.2), h(3.25, Chord, 0.6, 0.2),
        ],
    ],
    swing8: (0.0, 0.0),
    swing16: (0.2, 0.6),
};

/// Tango: staccato marcato on every beat with the "1-2-3&4" figure, accented
/// downbeat; a habanera-like variant.
#[rustfmt::skip]
const TANGO: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.9, 0.0), h(2.0, Kick, 0.7, 0.0),
            h(2.5, Snare, 0.6, 0.0),
            h(0.0, Bass(0), 1.0, 0.2), h(1.0, Bass(0), 0.7, 0.2), h(2.0, Bass(7), 0.9, 0.2), h(2.5, Bass(7), 0.7, 0.2), h(3.0, Bass(0), 0.8, 0.2),
            h(0.0, Chord, 0.9, 0.15), h(1.0, Chord, 0.6, 0.15), h(2.0, Chord, 0.8, 0.15), h(2.5, Chord, 0.7, 0.15), h(3.0, Chord, 0.7, 0.15),
        ],
        &[
            h(0.0, Kick, 0.9, 0.0), h(0.75, Kick, 0.6, 0.0), h(2.0, Kick, 0.8, 0.0),
            h(3.0, Snare, 0.5, 0.0),
            h(0.0, Bass(0), 1.0, 0.2), h(0.75, Bass(0), 0.7, 0.2), h(1.0, Bass(7), 0.8, 0.2), h(2.0, Bass(0), 0.9, 0.2), h(3.0, Bass(7), 0.7, 0.2),
            h(0.0, Chord, 0.9, 0.15), h(1.0, Chord, 0.6, 0.15), h(2.0, Chord, 0.8, 0.15), h(3.0, Chord, 0.7, 0.15), h(3.5, Chord, 0.6, 0.1),
        ],
    ],
    swing8: (0.0, 0.05),
    swing16: (0.0, 0.0),
};

/// Viennese waltz: "oom-pah-pah" with the second beat played early.
#[rustfmt::skip]
const VIENNESE_WALTZ: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.9, 0.0),
            h(0.0, Bass(0), 1.0, 0.9),
            h(0.9, Chord, 0.6, 0.4), h(2.0, Chord, 0.5, 0.4),
            h(0.9, Hat, 0.4, 0.0), h(2.0, Hat, 0.4, 0.0),
        ],
        &[
            h(0.0, Kick, 0.9, 0.0),
            h(0.0, Bass(0), 1.0, 0.9),
            h(0.9, Chord, 0.6, 0.4), h(2.0, Chord, 0.5, 0.4),
            h(0.9, Snare, 0.4, 0.0), h(2.0, Snare, 0.3, 0.0),
            h(0.0, Hat, 0.3, 0.0),
        ],
    ],
    swing8: (0.0, 0.1),
    swing16: (0.0, 0.0),
};

/// Slow waltz: strong downbeat bass, "pah-pah" chords, soft eighth fills.
#[rustfmt::skip]
const WALTZ: Style = Style {
    variants: &[
        &[
            h(0.0, Kick, 0.8, 0.0),
            h(0.0, Bass(0), 1.0, 1.0),
            h(1.0, Chord, 0.6, 0.8), h(2.0, Chord, 0.5, 0.8),
            h(1.0, Hat, 0.4, 0.0), h(2.0, Hat, 0.4, 0.0), h(1.5, Hat, 0.2, 0.0), h(2.5, Hat, 0.2, 0.0),
        ],
        &[
            h(0.0, Kick, 0.7, 0.0),
            h(0.0, Bass(0), 1.0, 1.0), h(2.0, Bass(7), 0.5, 0.9),
            h(1.0, Chord, 0.5, 0.4), h(1.5, Chord, 0.4, 0.4), h(2.0, Chord, 0.5, 0.4), h(2.5, Chord, 0.4, 0.4),
            h(1.0, Snare, 0.3, 0.0), h(2.0, Snare, 0.3, 0.0),
        ],
    ],
    swing8: (0.0, 0.2),
    swing16: (0.0, 0.0),
};

/// Styles in the order of [`super::tempo::CLASSES`].
pub const STYLES: [Style; 8] = [
    CHACHA,
    JIVE,
    QUICKSTEP,
    RUMBA,
    SAMBA,
    TANGO,
    VIENNESE_WALTZ,
    WALTZ,
];

/// Moves an off-beat eighth (or sixteenth) towards the triplet position.
///
/// `at` is a position in beats. Eighth swing `s8` moves x.5 to x.5 + s8/6
/// (s8 = 1 gives x.667, the triplet); sixteenth swing `s16` moves x.25 and x.75
/// by s16/12. Other positions are unchanged.
pub fn swing(at: f32, s8: f32, s16: f32) -> f32 {
    let frac = at - at.floor();
    let near = |x: f32| (frac - x).abs() < 1e-3;
    if near(0.5) {
        at + s8 / 6.0
    } else if near(0.25) || near(0.75) {
        at + s16 / 12.0
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::super::tempo::CLASSES;
    use super::*;

    #[test]
    fn patterns_fit_in_their_bar() {
        for (style, class) in STYLES.iter().zip(CLASSES) {
            for pattern in style.variants {
                for hit in *pattern {
                    assert!(
                        hit.at >= 0.0 && hit.at < class.beats_per_bar as f32,
                        "{}",
                        class.name
                    );
                    assert!(hit.vel > 0.0 && hit.vel <= 1.0, "{}", class.name);
                }
            }
        }
    }

    #[test]
    fn swing_moves_only_offbeats() {
        assert_eq!(swing(1.0, 1.0, 1.0), 1.0);
        assert!((swing(1.5, 1.0, 0.0) - (1.5 + 1.0 / 6.0)).abs() < 1e-6);
        assert!((swing(2.75, 0.0, 0.6) - (2.75 + 0.05)).abs() < 1e-6);
    }
}
