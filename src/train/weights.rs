//! The weights file (`best.safetensors`, and the checkpoints' weights): every
//! float parameter of a module as a [`NamedTensor`], `f32`, little-endian,
//! row-major, named by its module path joined with `.` (the struct field names
//! chosen in [`crate::model`], `Vec` elements by index, e.g. `banks.0.weight`).
//! Layouts are burn's: dense weights are `[in, out]` (PyTorch's
//! `nn.Linear.weight` is the transpose), biases `[out]`; filter-bank layouts are
//! documented by the model. One metadata entry, `tempora`, holds a JSON object
//! (sorted keys) describing the run, so the file is bit-identical for the same
//! weights.
//!
//! No burn here: a module's tensors are collected and loaded by
//! [`super::export`]; readers of a train entry (the report task, packages)
//! decode the file alone.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::TrainError;

/// Name of the single safetensors metadata entry.
pub const METADATA_KEY: &str = "tempora";

/// One named parameter, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Module path joined with `.`.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// Encodes tensors as safetensors bytes with one metadata entry
/// ([`METADATA_KEY`]) holding `metadata` as JSON with sorted keys.
pub fn encode_safetensors(
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, TrainError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|view| (t.name.clone(), view))
                .map_err(|e| TrainError::Weights(format!("tensor {}: {e}", t.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let json = serde_json::to_string(metadata)
        .map_err(|e| TrainError::Weights(format!("weights metadata: {e}")))?;
    let info = HashMap::from([(METADATA_KEY.to_owned(), json)]);
    safetensors::tensor::serialize(views, Some(info))
        .map_err(|e| TrainError::Weights(format!("encoding safetensors: {e}")))
}

/// Decodes safetensors bytes written by [`encode_safetensors`]: the tensors
/// (sorted by name) and the metadata map. `origin` names the file in errors.
pub fn decode_safetensors(
    bytes: &[u8],
    origin: &Path,
) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), TrainError> {
    let bad = |what: String| TrainError::Weights(format!("{}: {what}", origin.display()));
    let file = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let metadata = match header.metadata().as_ref().and_then(|m| m.get(METADATA_KEY)) {
        Some(json) => serde_json::from_str(json).map_err(|e| bad(format!("metadata: {e}")))?,
        None => BTreeMap::new(),
    };
    let mut names = file.names();
    names.sort_unstable();
    let tensors = names
        .into_iter()
        .map(|name| {
            let view = file.tensor(name).map_err(|e| bad(e.to_string()))?;
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!(
                    "tensor {name} is {:?}, expected F32",
                    view.dtype()
                )));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(NamedTensor {
                name: name.to_owned(),
                shape: view.shape().to_vec(),
                values,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tensors, metadata))
}
