//! tract execution: one parsed ONNX graph, optimized once per input shape, run on a chosen
//! number of threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::Error;

type Plan = Arc<TypedRunnableModel>;

/// An ONNX graph with a single f32 input and a cache of optimized plans per input shape.
pub struct Graph {
    name: &'static str,
    model: InferenceModel,
    executor: Executor,
    plans: Mutex<HashMap<Vec<usize>, Plan>>,
}

/// The executor for `threads` (1 = tract's single-thread executor: a one-thread rayon pool
/// would fall back to all cores).
pub fn executor(threads: usize) -> Executor {
    if threads <= 1 {
        Executor::SingleThread
    } else {
        Executor::multithread(threads)
    }
}

impl Graph {
    /// Parses `onnx` (once); `name` is used in errors.
    pub fn load(name: &'static str, onnx: &[u8], executor: Executor) -> TractResult<Self> {
        let model = tract_onnx::onnx().model_for_read(&mut &onnx[..])?;
        Ok(Self {
            name,
            model,
            executor,
            plans: Mutex::new(HashMap::new()),
        })
    }

    /// The input's dims as the ONNX file declares them (`None` for a free dim), when its rank is
    /// declared.
    pub fn declared_input(&self) -> Option<Vec<Option<i64>>> {
        let fact = self.model.input_fact(0).ok()?;
        if fact.shape.is_open() {
            return None;
        }
        let dims = fact
            .shape
            .dims()
            .map(|d| d.concretize().and_then(|d| d.to_i64().ok()));
        Some(dims.collect())
    }

    fn plan(&self, shape: &[usize]) -> TractResult<Plan> {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(shape) {
            return Ok(plan.clone());
        }
        let options = RunOptions {
            executor: Some(self.executor.clone()),
            ..Default::default()
        };
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())?
            .into_optimized()?
            .into_runnable_with_options(&options)?;
        plans.insert(shape.to_vec(), plan.clone());
        Ok(plan)
    }

    /// Multiply-accumulates of one run on `shape`, summed from tract's per-op cost model (on
    /// the decluttered graph, before kernel selection).
    pub fn fma_count(&self, shape: &[usize]) -> Result<u64, Error> {
        self.fma_inner(shape).map_err(|e| self.error(e))
    }

    fn fma_inner(&self, shape: &[usize]) -> TractResult<u64> {
        let model = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())?
            .into_typed()?
            .into_decluttered()?;
        let mut total = 0i64;
        for node in model.nodes() {
            let inputs = model.node_input_facts(node.id)?;
            for (cost, count) in node.op.cost(&inputs)? {
                if matches!(cost, tract_onnx::tract_core::ops::Cost::FMA(_)) {
                    total += count.to_i64()?;
                }
            }
        }
        Ok(total.max(0) as u64)
    }

    /// Optimizes the plan for `shape` now (so that a later run measures inference only).
    pub fn prepare(&self, shape: &[usize]) -> Result<(), Error> {
        self.plan(shape).map(drop).map_err(|e| self.error(e))
    }

    /// Runs the graph on one f32 tensor of `shape` (row-major `data`); returns its first
    /// output's shape and data.
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>), Error> {
        self.run_inner(shape, data).map_err(|e| self.error(e))
    }

    fn run_inner(&self, shape: &[usize], data: Vec<f32>) -> TractResult<(Vec<usize>, Vec<f32>)> {
        let plan = self.plan(shape)?;
        let input = tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into_tensor();
        let out = plan.run(tvec!(input.into_tvalue()))?;
        let out = out
            .into_iter()
            .next()
            .ok_or_else(|| TractError::msg("graph has no output"))?;
        let view = out.to_plain_array_view::<f32>()?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }

    fn error(&self, e: TractError) -> Error {
        Error::Inference {
            graph: self.name,
            message: format!("{e:#}"),
        }
    }
}
