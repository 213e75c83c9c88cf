//! Architecture descriptions: what a single-layer filter-bank network is made of,
//! independent of any backend. [`crate::spec`] produces them; the model builder
//! turns them into burn modules; the planner prints their parameter counts.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Which axis of the `bands × frames` input a bank's filters slide along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankAxis {
    /// 1×n filters: one mel band high, n frames long (the paper's O and P banks).
    Time,
    /// m×1 filters: m mel bands high, one frame long.
    Freq,
    /// m×n filters.
    #[serde(rename = "2d")]
    TwoD,
}

/// How far a max-pool extends along one axis of a bank's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolExtent {
    /// Over the whole remaining axis.
    All,
    /// Non-overlapping windows of this size (a trailing remainder is dropped).
    Factor(usize),
}

impl PoolExtent {
    /// Number of pooled outputs along an axis of `len` values.
    pub fn pooled_len(self, len: usize) -> usize {
        match self {
            PoolExtent::All => usize::from(len > 0),
            PoolExtent::Factor(f) => len / f.max(1),
        }
    }
}

/// `count` filters of one shape: `height` mel bands × `width` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilterGroup {
    /// Filter extent along the mel-band axis (1 for time filters).
    pub height: usize,
    /// Filter extent along the frame axis (1 for frequency filters).
    pub width: usize,
    /// Number of filters of this shape.
    pub count: usize,
}

/// One bank: groups of filters applied to the input with "valid" convolution,
/// bias, ReLU and max pooling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BankConfig {
    /// Bank name as in the spec (e.g. `O`, `P`).
    pub name: String,
    /// Axis the filters slide along.
    pub axis: BankAxis,
    /// Filter shapes and counts, in spec order.
    pub groups: Vec<FilterGroup>,
    /// Max-pool extent along the mel-band axis.
    pub pool_freq: PoolExtent,
    /// Max-pool extent along the frame axis.
    pub pool_time: PoolExtent,
}

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// He uniform filters as Lasagne's `HeUniform()` (gain 1), Glorot-uniform
    /// dense layers, biases zero (the paper's models, as the reference
    /// implementation initialises them).
    #[default]
    HeUniform,
    /// Glorot (Xavier) uniform everywhere, biases zero (the CBMI 2016 baselines).
    GlorotUniform,
}

/// A whole single-layer network: banks side by side on a `bands × frames` input,
/// outputs flattened and concatenated, optional dense ReLU hidden layers,
/// dropout, dense softmax output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchConfig {
    /// Mel bands of the input (paper: 40).
    pub bands: usize,
    /// Frames of the input chunk (paper: 250; baselines: 80).
    pub frames: usize,
    /// The first layer's banks.
    pub banks: Vec<BankConfig>,
    /// Widths of dense ReLU hidden layers after the banks (baselines: `[200]`).
    pub hidden: Vec<usize>,
    /// Dropout probability before the output layer (paper and baselines: 0.5;
    /// the baselines' hidden layer comes before it, see docs/reference-protocol.md §Baselines).
    pub dropout: f64,
    /// Output classes (Ballroom: 8).
    pub classes: usize,
    /// Weight initialisation.
    pub init: Init,
}

impl BankConfig {
    /// Output size of one filter of `group` on a `bands × frames` input,
    /// after pooling: `(pooled bands, pooled frames)`.
    pub fn pooled_shape(&self, group: &FilterGroup, bands: usize, frames: usize) -> (usize, usize) {
        let conv_bands = (bands + 1).saturating_sub(group.height);
        let conv_frames = (frames + 1).saturating_sub(group.width);
        (
            self.pool_freq.pooled_len(conv_bands),
            self.pool_time.pooled_len(conv_frames),
        )
    }

    /// Trainable parameters of the bank (weights + one bias per filter).
    pub fn param_count(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.count * (g.height * g.width + 1))
            .sum()
    }

    /// Values the bank contributes to the flattened feature vector.
    pub fn output_len(&self, bands: usize, frames: usize) -> usize {
        self.groups
            .iter()
            .map(|g| {
                let (b, t) = self.pooled_shape(g, bands, frames);
                g.count * b * t
            })
            .sum()
    }
}

impl ArchConfig {
    /// Checks that every filter fits the input, pools leave at least one value,
    /// and the dense layers and dropout are well-formed.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |bank: &str, reason: String| ModelError::Invalid {
            bank: bank.to_owned(),
            reason,
        };
        for bank in &self.banks {
            if bank.groups.is_empty() {
                return Err(bad(&bank.name, "it has no filter groups".into()));
            }
            for g in &bank.groups {
                let shape = format!("{}×{}", g.height, g.width);
                if g.count == 0 || g.height == 0 || g.width == 0 {
                    return Err(bad(
                        &bank.name,
                        format!("group {shape} ×{} is empty", g.count),
                    ));
                }
                let fits = match bank.axis {
                    BankAxis::Time => g.height == 1,
                    BankAxis::Freq => g.width == 1,
                    BankAxis::TwoD => true,
                };
                if !fits {
                    let msg = format!("filter {shape} does not match axis {:?}", bank.axis);
                    return Err(bad(&bank.name, msg));
                }
                if g.height > self.bands || g.width > self.frames {
                    let msg = format!(
                        "filter {shape} exceeds the {}×{} input; use smaller filters or longer chunks",
                        self.bands, self.frames
                    );
                    return Err(bad(&bank.name, msg));
                }
                if bank.pooled_shape(g, self.bands, self.frames).0 == 0
                    || bank.pooled_shape(g, self.bands, self.frames).1 == 0
                {
                    let msg = format!(
                        "pooling leaves no output for filter {shape}; lower the pool factor"
                    );
                    return Err(bad(&bank.name, msg));
                }
            }
        }
        if self.banks.is_empty() || self.classes == 0 || self.hidden.contains(&0) {
            let msg = "a network needs at least one bank, one class and non-empty hidden layers";
            return Err(bad("-", msg.into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(bad(
                "-",
                format!("dropout {} must lie in [0, 1)", self.dropout),
            ));
        }
        Ok(())
    }

    /// Length of the concatenated bank outputs (the first dense layer's input).
    pub fn feature_len(&self) -> usize {
        self.banks
            .iter()
            .map(|b| b.output_len(self.bands, self.frames))
            .sum()
    }

    /// Trainable parameters of the whole network (Table 1's "#params").
    pub fn param_count(&self) -> usize {
        let banks: usize = self.banks.iter().map(BankConfig::param_count).sum();
        let mut width = self.feature_len();
        let mut dense = 0;
        for &h in self.hidden.iter().chain(std::iter::once(&self.classes)) {
            dense += width * h + h;
            width = h;
        }
        banks + dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time_bank(name: &str, widths: impl Iterator<Item = usize>, count: usize) -> BankConfig {
        BankConfig {
            name: name.into(),
            axis: BankAxis::Time,
            groups: widths
                .map(|width| FilterGroup {
                    height: 1,
                    width,
                    count,
                })
                .collect(),
            pool_freq: PoolExtent::Factor(4),
            pool_time: PoolExtent::All,
        }
    }

    fn net(banks: Vec<BankConfig>) -> ArchConfig {
        ArchConfig {
            bands: 40,
            frames: 250,
            banks,
            hidden: vec![],
            dropout: 0.5,
            classes: 8,
            init: Init::HeUniform,
        }
    }

    /// Table 1's O-net + P-net: 11,608 parameters.
    #[test]
    fn o_plus_p_net_matches_the_paper() {
        let o = time_bank("O", (6..=41).step_by(5), 5);
        let p = time_bank("P", (46..=216).step_by(5), 1);
        assert_eq!(net(vec![o.clone()]).param_count(), 4_188);
        assert_eq!(net(vec![p.clone()]).param_count(), 7_428);
        assert_eq!(net(vec![o, p]).param_count(), 11_608);
    }
}
