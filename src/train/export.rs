//! Outputs of a training run, all written atomically (temp file in the target
//! directory, then rename):
//!
//! - **weights** (`best.safetensors`): every float parameter of the module
//!   ([`named_tensors`], [`load_named`]), encoded by [`super::weights`].
//! - **per-epoch metrics** (`epochs.csv`): [`super::entry::epochs_csv`].
//! - **test metrics** (`test.json`): [`TestMetrics`].
//!
//! Must not know about optimisers or datasets.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::weights::NamedTensor;
use super::{TestMetrics, TrainError};

/// Collects parameters with their module paths.
struct Collector {
    path: Vec<String>,
    tensors: Vec<NamedTensor>,
    error: Option<String>,
}

impl<B: Backend> ModuleVisitor<B> for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        match tensor.into_data().convert::<f32>().to_vec::<f32>() {
            Ok(values) => self.tensors.push(NamedTensor {
                name: self.path.join("."),
                shape,
                values,
            }),
            Err(e) => {
                let name = self.path.join(".");
                self.error
                    .get_or_insert(format!("reading parameter {name}: {e:?}"));
            }
        }
    }
}

/// Every float parameter of `module`, in visiting (declaration) order.
///
/// Reading a lazily initialised parameter initialises it, so calling this
/// right after construction also fixes the order in which initialisers draw
/// from the backend's random generator.
pub fn named_tensors<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<NamedTensor>, TrainError> {
    let mut collector = Collector {
        path: Vec::new(),
        tensors: Vec::new(),
        error: None,
    };
    module.visit::<Collector>(&mut collector);
    match collector.error {
        Some(e) => Err(TrainError::Backend(e)),
        None => Ok(collector.tensors),
    }
}

/// Replaces parameters by name.
struct Loader<'a, B: Backend> {
    path: Vec<String>,
    tensors: HashMap<&'a str, &'a NamedTensor>,
    used: usize,
    error: Option<String>,
    device: B::Device,
}

impl<B: Backend> ModuleMapper<B> for Loader<'_, B> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let name = self.path.join(".");
        let Some(stored) = self.tensors.get(name.as_str()) else {
            self.error
                .get_or_insert(format!("parameter {name} is missing from the weights"));
            return Param::from_mapped_value(id, tensor, mapper);
        };
        if stored.shape != tensor.dims() {
            self.error.get_or_insert(format!(
                "parameter {name}: stored shape {:?}, model shape {:?}",
                stored.shape,
                tensor.dims()
            ));
            return Param::from_mapped_value(id, tensor, mapper);
        }
        self.used += 1;
        let require_grad = tensor.is_require_grad();
        let data = TensorData::new(stored.values.clone(), stored.shape.clone());
        let loaded = Tensor::<B, D>::from_data(data, &self.device).set_require_grad(require_grad);
        Param::from_mapped_value(id, loaded, mapper)
    }
}

/// Loads `tensors` into `module` by name; every parameter must be present
/// with its shape, and every tensor must be used.
pub fn load_named<B: Backend, M: Module<B>>(
    module: M,
    tensors: &[NamedTensor],
    device: &B::Device,
) -> Result<M, TrainError> {
    let mut loader = Loader::<B> {
        path: Vec::new(),
        tensors: tensors.iter().map(|t| (t.name.as_str(), t)).collect(),
        used: 0,
        error: None,
        device: device.clone(),
    };
    let module = module.map(&mut loader);
    if let Some(e) = loader.error {
        return Err(TrainError::Weights(e));
    }
    if loader.used != tensors.len() {
        return Err(TrainError::Weights(format!(
            "{} stored tensors but the model has {} parameters with matching names",
            tensors.len(),
            loader.used
        )));
    }
    Ok(module)
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory,
/// flushed, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let io = |e: std::io::Error| TrainError::Io {
        path: path.to_owned(),
        source: e,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes the test metrics as pretty JSON.
pub fn write_test_metrics(path: &Path, metrics: &TestMetrics) -> Result<(), TrainError> {
    let json = serde_json::to_vec_pretty(metrics)
        .map_err(|e| TrainError::Output(format!("encoding {}: {e}", path.display())))?;
    write_atomic(path, &json)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::train::weights::{decode_safetensors, encode_safetensors};
    use burn::backend::NdArray;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Two<B: Backend> {
        first: Linear<B>,
        rest: Vec<Linear<B>>,
    }

    fn two(device: &burn::tensor::Device<NdArray>) -> Two<NdArray> {
        Two {
            first: LinearConfig::new(3, 2).init(device),
            rest: vec![LinearConfig::new(2, 1).with_bias(false).init(device)],
        }
    }

    #[test]
    fn names_are_module_paths_and_a_round_trip_is_exact() {
        let device = Default::default();
        let model = two(&device);
        let tensors = named_tensors::<NdArray, _>(&model).unwrap();
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["first.weight", "first.bias", "rest.0.weight"]);
        assert_eq!(tensors[0].shape, [3, 2]);

        let meta = BTreeMap::from([("model".to_owned(), "two".to_owned())]);
        let bytes = encode_safetensors(&tensors, &meta).unwrap();
        assert_eq!(bytes, encode_safetensors(&tensors, &meta).unwrap());
        let (decoded, decoded_meta) = decode_safetensors(&bytes, Path::new("x")).unwrap();
        assert_eq!(decoded_meta, meta);

        let other = load_named::<NdArray, _>(two(&device), &decoded, &device).unwrap();
        let mut reloaded = named_tensors::<NdArray, _>(&other).unwrap();
        let mut original = tensors;
        reloaded.sort_by(|a, b| a.name.cmp(&b.name));
        original.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(reloaded, original);
    }

    #[test]
    fn loading_rejects_a_wrong_shape_naming_the_parameter() {
        let device = Default::default();
        let mut tensors = named_tensors::<NdArray, _>(&two(&device)).unwrap();
        tensors[0].shape = vec![2, 3];
        let err = load_named::<NdArray, _>(two(&device), &tensors, &device).unwrap_err();
        assert!(err.to_string().contains("first.weight"), "{err}");
    }
}
