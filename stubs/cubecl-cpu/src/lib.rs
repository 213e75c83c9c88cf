//! Empty stand-in for `cubecl-cpu` (see this crate's Cargo.toml): tempora runs
//! burn on NdArray (CPU) and CUDA only, never on CubeCL's MLIR CPU runtime.
