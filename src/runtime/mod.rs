//! Running ONNX graphs: model bundles, tract plans, kernel choice, precision and the CPU.

pub mod bundle;
pub mod engine;
pub mod kernels;
pub mod parallel;
pub mod precision;
pub mod sysinfo;
