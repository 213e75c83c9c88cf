//! The embedded synthetic corpus: eight Ballroom-like dance classes generated
//! deterministically by code from a seed (no audio is committed).
//!
//! # How a clip is made
//! Each clip's parameters derive only from (corpus seed, class, index), so one
//! clip can be regenerated alone ([`clip_seed`]). [`plan::ClipPlan::draw`]
//! draws a tempo from the real class's tempo quantiles ([`tempo::CLASSES`]; 3/4
//! for the waltzes, 4/4 otherwise), a slow tempo drift, swing, one of the class's
//! one-bar patterns ([`patterns::STYLES`]), a random key and chord progression,
//! random timbres and levels for six layers (kick, snare, hat, pitched
//! percussion, bass, chords), background noise and a master level.
//! [`render::render`] then plays the pattern bar after bar with dropout, ghost
//! notes and humanised timing.
//!
//! Classes overlap in tempo as in Ballroom, layers can be muted, and no timbre
//! or pitch depends on the class: what separates classes is the rhythm (accents,
//! syncopation, subdivision, metre), so a shallow temporal CNN can learn a lot
//! but not everything.
//!
//! Must not know about files, features or training.

pub mod patterns;
pub mod plan;
pub mod render;
pub mod tempo;
pub mod voices;

use crate::audio::{Audio, TARGET_SAMPLE_RATE};

use super::{SyntheticClip, SyntheticSize};

/// Version of the generator's output. Part of every synthetic track's content
/// hash: bump it whenever the generated audio changes for any parameter.
pub const GENERATOR_VERSION: u32 = 1;

/// Default corpus seed (used by `synthetic:<size>` without `@seed`).
pub const DEFAULT_SEED: u64 = 2017;

/// Clips per class and clip length of the `tiny` corpus (tests, CI training).
pub const TINY: (usize, f64) = (6, 12.0);
/// Clips per class and clip length of the `small` corpus.
pub const SMALL: (usize, f64) = (25, 30.0);
/// Clip length of the `full` corpus (Ballroom excerpts are ≈ 30 s); class sizes
/// are Ballroom's ([`tempo::ClassStats::tracks`]).
pub const FULL_SECONDS: f64 = 30.0;

/// Class names of the corpus, sorted (= label order).
pub fn class_names() -> Vec<String> {
    tempo::CLASSES.iter().map(|c| c.name.to_string()).collect()
}

/// Every clip of a corpus, class by class, index by index.
pub fn clips(size: SyntheticSize, seed: u64) -> Vec<SyntheticClip> {
    let mut all = Vec::new();
    for (class, stats) in tempo::CLASSES.iter().enumerate() {
        let (count, seconds) = match size {
            SyntheticSize::Tiny => TINY,
            SyntheticSize::Small => SMALL,
            SyntheticSize::Full => (stats.tracks, FULL_SECONDS),
        };
        all.extend((0..count).map(|index| SyntheticClip {
            seed,
            class,
            index,
            seconds,
        }));
    }
    all
}

/// The seed of one clip: blake3 of a fixed tag, the corpus seed, the class
/// name and the clip index (first 8 bytes, little-endian).
pub fn clip_seed(corpus_seed: u64, class: usize, index: usize) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"tempora/synthetic/clip-seed\0");
    h.update(&corpus_seed.to_le_bytes());
    h.update(tempo::CLASSES[class % tempo::CLASSES.len()].name.as_bytes());
    h.update(&[0]);
    h.update(&(index as u64).to_le_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

impl SyntheticClip {
    /// Track id, e.g. `Waltz/synth-0007`.
    pub fn id(&self) -> String {
        format!("{}/synth-{:04}", self.class_name(), self.index)
    }

    /// Name of the clip's class.
    pub fn class_name(&self) -> &'static str {
        tempo::CLASSES[self.class % tempo::CLASSES.len()].name
    }

    /// The clip's random parameters (tempo, metre, pattern, timbres…).
    pub fn plan(&self) -> plan::ClipPlan {
        let class = self.class % tempo::CLASSES.len();
        plan::ClipPlan::draw(class, clip_seed(self.seed, class, self.index))
    }

    /// Generates the clip: mono f32 at [`TARGET_SAMPLE_RATE`].
    pub fn generate(&self) -> Audio {
        Audio {
            samples: render::render(&self.plan(), self.seconds, TARGET_SAMPLE_RATE),
            sample_rate: TARGET_SAMPLE_RATE,
        }
    }

    /// Canonical encoding of everything the audio depends on (generator version
    /// included), hashed into the track's content hash.
    pub fn content_hash(&self) -> blake3::Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"tempora/synthetic/clip\0");
        h.update(&GENERATOR_VERSION.to_le_bytes());
        h.update(&TARGET_SAMPLE_RATE.to_le_bytes());
        h.update(&self.seed.to_le_bytes());
        h.update(self.class_name().as_bytes());
        h.update(&[0]);
        h.update(&(self.index as u64).to_le_bytes());
        h.update(&self.seconds.to_bits().to_le_bytes());
        h.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_sizes() {
        assert_eq!(clips(SyntheticSize::Tiny, 1).len(), 48);
        assert_eq!(clips(SyntheticSize::Small, 1).len(), 200);
        assert_eq!(clips(SyntheticSize::Full, 1).len(), 698);
    }

    #[test]
    fn one_clip_regenerates_alone_and_hashes_differ() {
        let all = clips(SyntheticSize::Tiny, 5);
        let alone = SyntheticClip {
            seed: 5,
            class: 7,
            index: 3,
            seconds: TINY.1,
        };
        assert_eq!(all[7 * TINY.0 + 3], alone);
        assert_eq!(alone.id(), "Waltz/synth-0003");
        let other = SyntheticClip {
            index: 4,
            ..alone.clone()
        };
        assert_ne!(alone.content_hash(), other.content_hash());
        assert_ne!(clip_seed(5, 7, 3), clip_seed(6, 7, 3));
    }

    #[test]
    fn generated_audio_has_the_right_length_and_level() {
        let clip = SyntheticClip {
            seed: 1,
            class: 4,
            index: 0,
            seconds: 2.0,
        };
        let audio = clip.generate();
        assert_eq!(audio.samples.len(), 88_200);
        let peak = audio.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - clip.plan().peak).abs() < 1e-4, "{peak}");
    }
}
