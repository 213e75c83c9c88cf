//! Experiment specs: the TOML schema users write, validated with file:line:column
//! errors and expanded (banks, models, sweeps, profiles) into an [`Experiment`].
//!
//! Must not know about execution.

/// A validated, expanded experiment (owned by the spec module).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Experiment name.
    pub name: String,
}
