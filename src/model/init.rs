//! Seeded weight initialisation, independent of the backend: every value is
//! drawn on the host from a ChaCha8 stream seeded by the run's seed, in
//! parameter order, so CPU and CUDA start from identical weights.
//!
//! He uniform (paper models): `U(-a, a)`, `a = sqrt(6 / fan_in)` (He et al.
//! 2015 with the ReLU gain √2). Glorot uniform (CBMI 2016 baselines):
//! `a = sqrt(6 / (fan_in + fan_out))`. Conv fans follow Lasagne/Keras:
//! `fan_in = height × width` (one input channel), `fan_out = count × height × width`.
//! Biases start at zero.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::arch::Init;

/// Numerator of the uniform bounds: `Var(U(-a, a)) = a² / 3`, and both He
/// (`2 / fan_in`) and Glorot (`2 / (fan_in + fan_out)`) variances give `6 / ·`.
const UNIFORM_BOUND_NUMERATOR: f64 = 6.0;

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

    /// `len` weights of a layer with the given fans.
    pub(crate) fn weights(&mut self, len: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
        let fans = match self.init {
            Init::HeUniform => fan_in,
            Init::GlorotUniform => fan_in + fan_out,
        };
        let bound = (UNIFORM_BOUND_NUMERATOR / fans.max(1) as f64).sqrt() as f32;
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
        let bound = 1.0f32; // sqrt(6 / 6)
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
