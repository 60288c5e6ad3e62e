//! A TensorFlow Lite importer over tract-core that loads the `.tflite` files real
//! Keras personalization exports produce: embeddings (GATHER), two-tower scoring with
//! top-k, sequence models (WHILE from Keras 3 RNNs, the fused LSTM from tf_keras),
//! dynamic-range and int8 quantization, and a dynamic candidate batch.
//!
//! The flatbuffer is read through tract-tflite's public schema module; the operator
//! table and translation are this crate's own. A model is parsed and validated once
//! ([`Model::load`]); it is then translated and optimized for concrete input shapes
//! on first use and the plan is cached, so ranking N candidates with a dynamic-batch
//! model costs what a model exported for N would.
//!
//! ```no_run
//! use attune_tflite::{Model, Tensor};
//! # fn main() -> Result<(), attune_tflite::ModelError> {
//! let bytes = std::fs::read("model.tflite").expect("read");
//! let model = Model::load(&bytes)?;
//! let history = Tensor::from_shape(&[10], &[1i32, 2, 3, 0, 0, 0, 0, 0, 0, 0]).expect("tensor");
//! let outputs = model.run(vec![history])?;
//! println!("{:?}", outputs[0]);
//! # Ok(()) }
//! ```
//!
//! Every failure is a [`ModelError`] with a stable [`code`](ModelError::code); the
//! parser never panics on malformed input (it is fuzzed).
#![deny(missing_docs)]

mod error;
pub mod ir;
mod kernels;
mod ops_array;
mod ops_control;
mod ops_nn;
mod ops_quant;
mod translate;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use tract_core::internal::*;

pub use error::{ModelError, OpLocation};
pub use ir::{DType, ModelDesc, Quant, TensorDesc};
pub use kernels::top_k_indices;
pub use tract_core::prelude::{DatumType, Tensor};
pub use translate::supported_op_names;

/// How many prepared plans (one per distinct set of input shapes) a model keeps.
const PLAN_CACHE: usize = 8;

/// Prepared plans keyed by their input shapes, most recently used last.
type PlanCache = Vec<(Vec<Vec<usize>>, Arc<TypedSimplePlan>)>;

/// A loaded, validated model. Cheap to share across threads (`Send + Sync`).
pub struct Model {
    desc: Arc<ModelDesc>,
    plans: Mutex<PlanCache>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("inputs", &self.inputs().len())
            .field("outputs", &self.outputs().len())
            .finish()
    }
}

/// Parses a model without checking that its operators are supported, for inspection.
pub fn parse(bytes: &[u8]) -> Result<ModelDesc, ModelError> {
    guard(|| ir::parse(bytes)).and_then(|r| r)
}

/// Every unsupported operator reachable from the main subgraph.
pub fn unsupported_ops(desc: &ModelDesc) -> Vec<OpLocation> {
    translate::unsupported_ops(desc)
}

/// Operator histogram (builtin name → count) over all subgraphs.
pub fn op_histogram(desc: &ModelDesc) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for sg in &desc.subgraphs {
        for op in &sg.ops {
            *h.entry(op.name.clone()).or_insert(0) += 1;
        }
    }
    h
}

fn guard<T>(f: impl FnOnce() -> T) -> Result<T, ModelError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        ModelError::Prepare(format!("internal error (please report): {msg}"))
    })
}

impl Model {
    /// Parses and validates a model: the flatbuffer, every operator (all unsupported
    /// ones are listed at once), and a translation at the model's default shapes.
    pub fn load(bytes: &[u8]) -> Result<Model, ModelError> {
        let desc = parse(bytes)?;
        let unsupported = unsupported_ops(&desc);
        if !unsupported.is_empty() {
            return Err(ModelError::UnsupportedOps(unsupported));
        }
        let model = Model {
            desc: Arc::new(desc),
            plans: Mutex::new(vec![]),
        };
        let shapes: Vec<Vec<usize>> = model.inputs().iter().map(|t| t.shape.clone()).collect();
        model.translate(&shapes)?;
        Ok(model)
    }

    /// The parsed model.
    pub fn desc(&self) -> &ModelDesc {
        &self.desc
    }

    /// Input tensors of the main subgraph, in order.
    pub fn inputs(&self) -> Vec<&TensorDesc> {
        let sg = &self.desc.subgraphs[0];
        sg.inputs.iter().map(|t| &sg.tensors[*t]).collect()
    }

    /// Output tensors of the main subgraph, in order.
    pub fn outputs(&self) -> Vec<&TensorDesc> {
        let sg = &self.desc.subgraphs[0];
        sg.outputs.iter().map(|t| &sg.tensors[*t]).collect()
    }

    fn translate(&self, shapes: &[Vec<usize>]) -> Result<TypedModel, ModelError> {
        let inputs = self.inputs();
        let facts = inputs
            .iter()
            .zip(shapes)
            .map(|(t, s)| translate::fact_for(t, s))
            .collect::<TractResult<Vec<_>>>()
            .map_err(|e| ModelError::malformed(error::chain(&e)))?;
        guard(|| translate::translate(&self.desc, 0, &facts))?
    }

    /// Checks that `shapes` fit the inputs' signatures (fixed dims must match, dynamic
    /// dims may take any size).
    pub fn check_shapes(&self, shapes: &[Vec<usize>]) -> Result<(), ModelError> {
        let inputs = self.inputs();
        if shapes.len() != inputs.len() {
            return Err(ModelError::InvalidInput {
                index: shapes.len().min(inputs.len()),
                name: String::new(),
                reason: format!(
                    "the model takes {} inputs, {} given",
                    inputs.len(),
                    shapes.len()
                ),
            });
        }
        for (i, (t, s)) in inputs.iter().zip(shapes).enumerate() {
            let fits = s.len() == t.signature.len()
                && s.iter()
                    .zip(&t.signature)
                    .all(|(d, sig)| *sig < 0 || *d as i64 == *sig);
            if !fits {
                return Err(ModelError::InvalidInput {
                    index: i,
                    name: t.name.clone(),
                    reason: format!("shape {s:?} does not fit the signature {:?}", t.signature),
                });
            }
            // empty dimensions count as 1: kernels still loop over the others
            let volume = s
                .iter()
                .try_fold(1usize, |a, d| a.checked_mul((*d).max(1)))
                .filter(|v| *v <= 1 << 28);
            if volume.is_none() {
                return Err(ModelError::InvalidInput {
                    index: i,
                    name: t.name.clone(),
                    reason: format!("shape {s:?} is too large"),
                });
            }
        }
        Ok(())
    }

    /// Translates and optimizes the model for these input shapes, or returns the cached
    /// plan. Call it ahead of time to keep preparation out of the first `run`.
    pub fn prepare(&self, shapes: &[Vec<usize>]) -> Result<Arc<TypedSimplePlan>, ModelError> {
        self.check_shapes(shapes)?;
        if let Some(p) = self.cached(shapes) {
            return Ok(p);
        }
        let typed = self.translate(shapes)?;
        let plan = guard(|| -> TractResult<Arc<TypedSimplePlan>> {
            let optimized = typed.into_optimized()?;
            SimplePlan::new(optimized)
        })?
        .map_err(|e| ModelError::Prepare(error::chain(&e)))?;
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if plans.len() >= PLAN_CACHE {
            plans.remove(0);
        }
        plans.push((shapes.to_vec(), plan.clone()));
        Ok(plan)
    }

    fn cached(&self, shapes: &[Vec<usize>]) -> Option<Arc<TypedSimplePlan>> {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let pos = plans.iter().position(|(s, _)| s == shapes)?;
        // most recently used goes last
        let entry = plans.remove(pos);
        let plan = entry.1.clone();
        plans.push(entry);
        Some(plan)
    }

    /// Runs the model. Inputs must match the model's input dtypes and signatures.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, ModelError> {
        let decl = self.inputs();
        for (i, (t, d)) in inputs.iter().zip(&decl).enumerate() {
            let want = d.dtype.datum_type();
            if Some(t.datum_type()) != want {
                return Err(ModelError::InvalidInput {
                    index: i,
                    name: d.name.clone(),
                    reason: format!(
                        "expected {} values, got {:?}",
                        d.dtype.name(),
                        t.datum_type()
                    ),
                });
            }
        }
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let plan = self.prepare(&shapes)?;
        let tv: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        let out = guard(|| plan.run(tv))?.map_err(|e| ModelError::Runtime(error::chain(&e)))?;
        Ok(out.into_iter().map(|t| t.into_tensor()).collect())
    }
}

/// Mean time per run spent in one operator of the optimized plan ([`Model::profile`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OpTime {
    /// Node name in the optimized plan (derived from the TFLite tensor names).
    pub node: String,
    /// Operator, as the plan runs it (after translation and optimization).
    pub op: String,
    /// Mean microseconds per run.
    pub micros: f64,
}

impl Model {
    /// Runs the model `runs` times on `inputs` and reports the mean time of each
    /// operator of the optimized plan, slowest first: what dominates a model's latency.
    /// Needs a clock, so it is not available on wasm32-unknown-unknown.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn profile(&self, inputs: Vec<Tensor>, runs: usize) -> Result<Vec<OpTime>, ModelError> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let plan = self.prepare(&shapes)?;
        let runs = runs.max(1);
        let mut total: BTreeMap<usize, f64> = BTreeMap::new();
        let mut state =
            SimpleState::new(&plan).map_err(|e| ModelError::Runtime(error::chain(&e)))?;
        for _ in 0..runs {
            let tv: TVec<TValue> = inputs.iter().cloned().map(|t| t.into_tvalue()).collect();
            guard(|| {
                state.run_plan_with_eval(tv, |ctx, op_state, node, input| {
                    let t = std::time::Instant::now();
                    let out = tract_core::plan::eval(ctx, op_state, node, input);
                    *total.entry(node.id).or_default() += t.elapsed().as_secs_f64();
                    out
                })
            })?
            .map_err(|e| ModelError::Runtime(error::chain(&e)))?;
        }
        let graph = plan.model();
        let mut times: Vec<OpTime> = total
            .into_iter()
            .map(|(id, secs)| {
                let node = graph.node(id);
                OpTime {
                    node: node.name.clone(),
                    op: node.op().name().to_string(),
                    micros: secs * 1e6 / runs as f64,
                }
            })
            .collect();
        times.sort_by(|a, b| b.micros.total_cmp(&a.micros));
        Ok(times)
    }
}

/// Reads a tensor from raw little-endian bytes (the conformance `.bin` layout).
pub fn tensor_from_bytes(
    dtype: DType,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Tensor, ModelError> {
    let dt = dtype
        .datum_type()
        .ok_or_else(|| ModelError::malformed(format!("unsupported dtype {dtype:?}")))?;
    ir::tensor_from_le_bytes(dt, shape, bytes).map_err(|e| ModelError::malformed(error::chain(&e)))
}
