//! tract execution: one parsed ONNX graph, optimized once per input shape, run on a chosen
//! number of threads, in f32 or (translated by tract) in f16.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::floats::FloatPrecisionTranslator;
use tract_onnx::tract_core::knobs::KnobScope;
use tract_onnx::tract_core::plan::eval;
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::Error;
use crate::runtime::kernels;

type Plan = Arc<TypedRunnableModel>;
/// A plan's key: the input shapes, and whether it runs on the calling thread alone.
type PlanKey = (Vec<Vec<usize>>, bool);

/// An ONNX graph with f32 inputs (our graphs have one) and a cache of optimized plans per input
/// shapes and executor.
pub struct Graph {
    name: &'static str,
    model: InferenceModel,
    executor: Executor,
    half: bool,
    direct_conv: bool,
    plans: Mutex<HashMap<PlanKey, Plan>>,
}

/// An input of a graph as its ONNX file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredInput {
    /// The input's name.
    pub name: String,
    /// Its dims (`None` for a free one), when its rank is declared.
    pub dims: Option<Vec<Option<i64>>>,
    /// Its element type as tract names it (`F32`, `I64`, ...), when declared.
    pub datum: Option<String>,
}

/// Time spent in one node of an optimized plan, summed over the profiled runs.
#[derive(Debug, Clone)]
pub struct NodeTime {
    /// The node's name in the optimized graph.
    pub name: String,
    /// The op tract runs there (for example `OptMatMul`, `Im2col`, `DeconvSum`).
    pub op: String,
    /// Wall-clock time in that node.
    pub time: Duration,
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
    /// Parses `onnx` (once); `name` is used in errors. The process's kernel set is decided here
    /// (for f32) unless the caller decided it first ([`kernels::select`]).
    pub fn load(name: &'static str, onnx: &[u8], executor: Executor) -> TractResult<Self> {
        kernels::select(false);
        let model = tract_onnx::onnx().model_for_read(&mut &onnx[..])?;
        Ok(Self {
            name,
            model,
            executor,
            half: false,
            direct_conv: false,
            plans: Mutex::new(HashMap::new()),
        })
    }

    /// The name given at load (used in errors).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Lets tract use its direct spatial convolution (`DirectSpatialConv`) where it applies.
    /// Off by default: on x86 (AVX-512) the im2col + matmul path ran our decoder 1.45x and
    /// the denoiser up to 1.3x faster; `latent bench --direct-conv` A/Bs it on other CPUs.
    pub fn with_direct_conv(self, on: bool) -> Self {
        Self {
            direct_conv: on,
            ..self
        }
    }

    /// Runs the graph in f16 when `on`: tract's f32-to-f16 translation of every float op and
    /// constant, with the input and output converted at the edges. Only fast on CPUs with
    /// native f16 arithmetic (see `precision`): elsewhere tract emulates it, ~240x slower.
    pub fn with_f16(self, on: bool) -> Self {
        Self { half: on, ..self }
    }

    /// The first input's dims as the ONNX file declares them (`None` for a free dim), when its
    /// rank is declared.
    pub fn declared_input(&self) -> Option<Vec<Option<i64>>> {
        self.inputs().into_iter().next()?.dims
    }

    /// Every input, in order, as the ONNX file declares it.
    pub fn inputs(&self) -> Vec<DeclaredInput> {
        (0..self.model.inputs.len())
            .filter_map(|i| {
                let fact = self.model.input_fact(i).ok()?;
                let dims = (!fact.shape.is_open()).then(|| {
                    fact.shape
                        .dims()
                        .map(|d| d.concretize().and_then(|d| d.to_i64().ok()))
                        .collect()
                });
                Some(DeclaredInput {
                    name: self.model.node(self.model.inputs[i].node).name.clone(),
                    dims,
                    datum: fact.datum_type.concretize().map(|t| format!("{t:?}")),
                })
            })
            .collect()
    }

    /// The plan for input `shapes`, on the graph's executor or (`alone`) on the calling thread
    /// only.
    fn plan(&self, shapes: &[Vec<usize>], alone: bool) -> TractResult<Plan> {
        let alone = alone || matches!(self.executor, Executor::SingleThread);
        let key = (shapes.to_vec(), alone);
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(&key) {
            return Ok(plan.clone());
        }
        let executor = if alone {
            Executor::SingleThread
        } else {
            self.executor.clone()
        };
        let options = RunOptions {
            executor: Some(executor),
            ..Default::default()
        };
        let direct = if self.direct_conv { "false" } else { "true" };
        let knobs = KnobScope::new([("TRACT_DISABLE_DIRECT_SPATIAL", direct)])?;
        let plan = knobs.enter(|| {
            self.decluttered(shapes)?
                .into_optimized()?
                .into_runnable_with_options(&options)
        })?;
        plans.insert(key, plan.clone());
        Ok(plan)
    }

    /// The typed, decluttered graph for input `shapes`, translated to f16 when asked.
    fn decluttered(&self, shapes: &[Vec<usize>]) -> TractResult<TypedModel> {
        let mut model = self.model.clone();
        for (i, shape) in shapes.iter().enumerate() {
            model = model.with_input_fact(i, f32::fact(shape).into())?;
        }
        let mut model = model.into_typed()?.into_decluttered()?;
        if self.half {
            model.transform(&FloatPrecisionTranslator::new(
                f32::datum_type(),
                f16::datum_type(),
            ))?;
            model.declutter()?;
        }
        Ok(model)
    }

    /// The matrix-multiply kernels tract picked for input `shapes` (for example
    /// `avx512_mmm_f32_16x12` or `arm64fp16_mmm_f16_16x8_gen`), in plan order, without repeats.
    pub fn kernels(&self, shapes: &[Vec<usize>]) -> Result<Vec<String>, Error> {
        self.kernels_inner(shapes).map_err(|e| self.error(e))
    }

    fn kernels_inner(&self, shapes: &[Vec<usize>]) -> TractResult<Vec<String>> {
        let plan = self.plan(shapes, false)?;
        let mut kernels = Vec::new();
        for node in plan.model().nodes() {
            for line in node.op.info()? {
                for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if word.contains("_mmm_") && !kernels.iter().any(|k| k == word) {
                        kernels.push(word.to_string());
                    }
                }
            }
        }
        Ok(kernels)
    }

    /// Multiply-accumulates of one run on input `shapes`, summed from tract's per-op cost model
    /// (on the decluttered graph, before kernel selection).
    pub fn fma_count(&self, shapes: &[Vec<usize>]) -> Result<u64, Error> {
        self.fma_inner(shapes).map_err(|e| self.error(e))
    }

    fn fma_inner(&self, shapes: &[Vec<usize>]) -> TractResult<u64> {
        let model = self.decluttered(shapes)?;
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
    /// `alone`: the plan that runs on the calling thread only (see [`Graph::run`]).
    pub fn prepare(&self, shape: &[usize], alone: bool) -> Result<(), Error> {
        self.prepare_all(&[shape.to_vec()], alone)
    }

    /// [`Graph::prepare`] for a graph of several inputs, of `shapes` in order.
    pub fn prepare_all(&self, shapes: &[Vec<usize>], alone: bool) -> Result<(), Error> {
        self.plan(shapes, alone)
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// Runs the graph on one f32 tensor of `shape` (row-major `data`); returns its first
    /// output's shape and data. `alone` runs it on the calling thread only, whatever the graph's
    /// executor, for callers that run several tiles at once; the results are the same either way.
    pub fn run(
        &self,
        shape: &[usize],
        data: Vec<f32>,
        alone: bool,
    ) -> Result<(Vec<usize>, Vec<f32>), Error> {
        self.run_all(vec![(shape.to_vec(), data)], alone)
    }

    /// [`Graph::run`] for a graph of several inputs: each input's shape and data, in order.
    pub fn run_all(
        &self,
        inputs: Vec<(Vec<usize>, Vec<f32>)>,
        alone: bool,
    ) -> Result<(Vec<usize>, Vec<f32>), Error> {
        self.run_inner(inputs, alone).map_err(|e| self.error(e))
    }

    fn run_inner(
        &self,
        inputs: Vec<(Vec<usize>, Vec<f32>)>,
        alone: bool,
    ) -> TractResult<(Vec<usize>, Vec<f32>)> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|(s, _)| s.clone()).collect();
        let plan = self.plan(&shapes, alone)?;
        let values = inputs
            .into_iter()
            .map(|(shape, data)| self.input(&shape, data))
            .collect::<TractResult<TVec<TValue>>>()?;
        Self::output(plan.run(values)?)
    }

    fn input(&self, shape: &[usize], data: Vec<f32>) -> TractResult<TValue> {
        let input = tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into_tensor();
        let input = if self.half {
            input.cast_to::<f16>()?.into_owned()
        } else {
            input
        };
        Ok(input.into_tvalue())
    }

    fn output(out: TVec<TValue>) -> TractResult<(Vec<usize>, Vec<f32>)> {
        let out = out
            .into_iter()
            .next()
            .ok_or_else(|| TractError::msg("graph has no output"))?;
        let out = out.cast_to::<f32>()?;
        let view = out.to_plain_array_view::<f32>()?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }

    /// Runs the graph `runs` times on `inputs` (each input's shape and data, in order) and
    /// returns the time spent in each node of the optimized plan, slowest first.
    pub fn profile(
        &self,
        inputs: &[(Vec<usize>, Vec<f32>)],
        runs: usize,
    ) -> Result<Vec<NodeTime>, Error> {
        self.profile_inner(inputs, runs).map_err(|e| self.error(e))
    }

    fn profile_inner(
        &self,
        inputs: &[(Vec<usize>, Vec<f32>)],
        runs: usize,
    ) -> TractResult<Vec<NodeTime>> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|(s, _)| s.clone()).collect();
        let plan = self.plan(&shapes, false)?;
        let mut state = plan.spawn()?;
        let mut times = vec![Duration::ZERO; plan.model().nodes().len()];
        for _ in 0..runs {
            let values = inputs
                .iter()
                .map(|(shape, data)| self.input(shape, data.clone()))
                .collect::<TractResult<TVec<TValue>>>()?;
            state.run_plan_with_eval(values, |ctx, op_state, node, inputs| {
                let start = Instant::now();
                let out = eval(ctx, op_state, node, inputs);
                times[node.id] += start.elapsed();
                out
            })?;
        }
        let mut nodes: Vec<NodeTime> = plan
            .model()
            .nodes()
            .iter()
            .zip(times)
            .map(|(node, time)| NodeTime {
                name: node.name.clone(),
                op: node.op.name().to_string(),
                time,
            })
            .collect();
        nodes.sort_by_key(|n| std::cmp::Reverse(n.time));
        Ok(nodes)
    }

    fn error(&self, e: TractError) -> Error {
        Error::Inference {
            graph: self.name,
            message: format!("{e:#}"),
        }
    }
}
