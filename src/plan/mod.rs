//! Planning: an [`crate::spec::Experiment`] becomes a DAG of tasks whose keys are
//! content hashes of their inputs, so only what is missing is computed.
//!
//! Must not know how tasks run.
