//! Seeded weight initialisation, independent of the backend: every value is
//! drawn on the host from a ChaCha8 stream seeded by the run's seed, in
//! parameter order, so CPU and CUDA start from identical weights.
//!
//! The reference implementation (Lasagne) initialises the paper models'
//! filters with `lasagne.init.HeUniform()` (gain 1): `U(-a, a)`,
//! `a = sqrt(3 / fan_in)`; its dense layers keep Lasagne's default
//! `GlorotUniform()`: `a = sqrt(6 / (fan_in + fan_out))`. The CBMI 2016
//! baselines use Glorot uniform throughout. Conv fans follow Lasagne:
//! `fan_in = height × width` (one input channel), `fan_out = count × height × width`;
//! dense `fan_in`/`fan_out` are the input/output widths. Biases start at zero.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::arch::Init;

/// `a² = 3 σ²` for `U(-a, a)`; Lasagne `HeUniform(gain=1)` has `σ² = 1 / fan_in`.
const HE_BOUND_NUMERATOR: f64 = 3.0;
/// Lasagne `GlorotUniform(gain=1)` has `σ² = 2 / (fan_in + fan_out)`, so `a² = 6 / ·`.
const GLOROT_BOUND_NUMERATOR: f64 = 6.0;

/// Draws initial weights in a fixed order.
#[derive(Debug)]
pub(crate) struct Initialiser {
    rng: ChaCha8Rng,
    init: Init,
}

impl Initialiser {
    /// A stream for `init` seeded with `seed`.
    pub(crate) fn new(init: Init, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            init,
        }
    }

    /// `len` filter weights of a bank with the given fans (the network's [`Init`]).
    pub(crate) fn weights(&mut self, len: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
        let (numerator, fans) = match self.init {
            Init::HeUniform => (HE_BOUND_NUMERATOR, fan_in),
            Init::GlorotUniform => (GLOROT_BOUND_NUMERATOR, fan_in + fan_out),
        };
        self.uniform(len, (numerator / fans.max(1) as f64).sqrt())
    }

    /// `len` dense-layer weights: Glorot uniform for every network (Lasagne's
    /// `DenseLayer` default, which the reference implementation keeps).
    pub(crate) fn dense_weights(&mut self, len: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
        let fans = (fan_in + fan_out).max(1) as f64;
        self.uniform(len, (GLOROT_BOUND_NUMERATOR / fans).sqrt())
    }

    fn uniform(&mut self, len: usize, bound: f64) -> Vec<f32> {
        let bound = bound as f32;
        (0..len)
            .map(|_| self.rng.random_range(-bound..bound))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn he_bound_and_seed_determine_the_values() {
        let a = Initialiser::new(Init::HeUniform, 7).weights(1000, 6, 30);
        let b = Initialiser::new(Init::HeUniform, 7).weights(1000, 6, 30);
        let c = Initialiser::new(Init::HeUniform, 8).weights(1000, 6, 30);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let bound = 0.5f32.sqrt(); // sqrt(3 / 6)
        assert!(a.iter().all(|v| v.abs() < bound));
        assert!(a.iter().any(|v| v.abs() > 0.9 * bound));
    }

    #[test]
    fn glorot_uses_both_fans() {
        let w = Initialiser::new(Init::GlorotUniform, 1).weights(1000, 2, 4);
        assert!(w.iter().all(|v| v.abs() < 1.0)); // sqrt(6 / 6)
        assert!(w.iter().any(|v| v.abs() > 0.9));
    }
}
