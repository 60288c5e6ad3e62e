//! Translation of a parsed TFLite subgraph into a tract `TypedModel`.
//!
//! Translation happens for concrete input shapes: a dynamic batch (`shape_signature`
//! -1) is bound before translating, so every shape here is known and the optimizer
//! produces the same plan a fixed-size model would get (ANCHORS §2: a symbolic batch
//! runs ~4x slower).
//!
//! Quantized operators follow one rule: operators that only move data (reshape, gather,
//! slicing, concatenation with equal parameters, max pooling...) run on the integers
//! directly; every other one runs on dequantized values and requantizes its outputs,
//! unless a dedicated integer kernel reproduces LiteRT's arithmetic (see `kernels`).

use std::collections::HashMap;
use std::sync::Arc;

use tract_core::internal::*;
use tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_core::ops::change_axes::AxisOp;
use tract_core::ops::element_wise::ElementWiseOp;
use tract_core::ops::{cast, logic, math, nn};
use tract_tflite::tflite::BuiltinOperator as B;

use crate::error::{chain, ModelError, OpLocation};
use crate::ir::{DType, ModelDesc, OpDesc, Quant, SubgraphDesc, TensorDesc};
use crate::kernels;
use crate::ops_quant;

/// Translation state for one subgraph.
pub(crate) struct Ctx<'a> {
    pub model: &'a ModelDesc,
    pub sg: &'a SubgraphDesc,
    pub target: TypedModel,
    wires: Vec<Option<OutletId>>,
    /// Replacement wires for tensors while translating a quantized operator through
    /// floats (the dequantized inputs).
    overrides: HashMap<usize, OutletId>,
    /// Set while translating through floats: quantization is hidden from translators.
    pub float_view: bool,
}

/// The builtin operators this engine translates.
pub fn is_supported(code: i32) -> bool {
    SUPPORTED.contains(&B(code))
}

const SUPPORTED: &[B] = &[
    B::ADD,
    B::SUB,
    B::MUL,
    B::DIV,
    B::SQUARED_DIFFERENCE,
    B::MAXIMUM,
    B::MINIMUM,
    B::POW,
    B::NEG,
    B::ABS,
    B::SQRT,
    B::RSQRT,
    B::SQUARE,
    B::EXP,
    B::LOG,
    B::TANH,
    B::LOGISTIC,
    B::RELU,
    B::RELU6,
    B::RELU_N1_TO_1,
    B::LEAKY_RELU,
    B::GELU,
    B::HARD_SWISH,
    B::SOFTMAX,
    B::LOG_SOFTMAX,
    B::FULLY_CONNECTED,
    B::BATCH_MATMUL,
    B::CONV_2D,
    B::DEPTHWISE_CONV_2D,
    B::MAX_POOL_2D,
    B::AVERAGE_POOL_2D,
    B::GATHER,
    B::GATHER_ND,
    B::EMBEDDING_LOOKUP,
    B::ONE_HOT,
    B::CONCATENATION,
    B::RESHAPE,
    B::SQUEEZE,
    B::EXPAND_DIMS,
    B::TRANSPOSE,
    B::SLICE,
    B::STRIDED_SLICE,
    B::SPLIT,
    B::SPLIT_V,
    B::PACK,
    B::UNPACK,
    B::TILE,
    B::BROADCAST_TO,
    B::PAD,
    B::PADV2,
    B::SHAPE,
    B::FILL,
    B::ZEROS_LIKE,
    B::RANGE,
    B::CAST,
    B::QUANTIZE,
    B::DEQUANTIZE,
    B::MEAN,
    B::SUM,
    B::REDUCE_MAX,
    B::REDUCE_MIN,
    B::REDUCE_PROD,
    B::CUMSUM,
    B::L2_NORMALIZATION,
    B::TOPK_V2,
    B::ARG_MAX,
    B::ARG_MIN,
    B::SELECT,
    B::SELECT_V2,
    B::WHERE,
    B::EQUAL,
    B::NOT_EQUAL,
    B::LESS,
    B::LESS_EQUAL,
    B::GREATER,
    B::GREATER_EQUAL,
    B::LOGICAL_AND,
    B::LOGICAL_OR,
    B::LOGICAL_NOT,
    B::WHILE,
    B::UNIDIRECTIONAL_SEQUENCE_LSTM,
];

/// Names of all supported builtin operators, sorted.
pub fn supported_op_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = SUPPORTED.iter().filter_map(|b| b.variant_name()).collect();
    v.sort_unstable();
    v
}

/// Lists every unsupported operator reachable from subgraph 0 (following WHILE).
pub fn unsupported_ops(model: &ModelDesc) -> Vec<OpLocation> {
    let mut out = vec![];
    let mut seen = vec![false; model.subgraphs.len()];
    let mut todo = vec![0usize];
    while let Some(sg) = todo.pop() {
        if std::mem::replace(&mut seen[sg], true) {
            continue;
        }
        for (ix, op) in model.subgraphs[sg].ops.iter().enumerate() {
            if !is_supported(op.code) {
                out.push(OpLocation {
                    subgraph: sg,
                    index: ix,
                    op: op.name.clone(),
                });
            }
            if op.code == B::WHILE.0 {
                todo.push(op.options.ints[0] as usize);
                todo.push(op.options.ints[1] as usize);
            }
        }
    }
    out.sort_by_key(|l| (l.subgraph, l.index));
    out
}

/// Translates subgraph `sg_ix` for inputs of the given facts.
pub fn translate(
    model: &ModelDesc,
    sg_ix: usize,
    inputs: &[TypedFact],
) -> Result<TypedModel, ModelError> {
    translate_guarded(model, sg_ix, inputs)
}

/// Largest tensor (in bytes) an operator may compute. Constants are bounded by the
/// file and inputs by `Model::check_shapes`; this keeps a crafted shape, TILE
/// multiple, padding or ONE_HOT depth from asking for gigabytes.
pub(crate) const MAX_COMPUTED_BYTES: usize = 1 << 29;

/// Largest extent (product of the non-zero dimensions) of an empty tensor: there is
/// no use for a [2^24, 0] tensor, and kernels loop over its rows (a SOFTMAX took
/// 20 s; found by fuzzing).
pub(crate) const MAX_EMPTY_EXTENT: usize = 1 << 20;

/// Checked element count of a shape; `None` on overflow.
pub(crate) fn volume(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d))
}

/// Fails when a tensor of `shape` and `dt` would exceed [`MAX_COMPUTED_BYTES`].
///
/// Empty dimensions count as 1: a tensor of shape [2^30, 0] holds nothing but kernels
/// still loop over its 2^30 rows (found by fuzzing: a LOG_SOFTMAX that ran for
/// minutes).
pub(crate) fn check_size(shape: &[usize], dt: DatumType, what: &str) -> TractResult<()> {
    let nonzero: Vec<usize> = shape.iter().map(|d| (*d).max(1)).collect();
    let mut bytes = volume(&nonzero).and_then(|v| v.checked_mul(dt.size_of().max(1)));
    if shape.contains(&0) && volume(&nonzero).is_none_or(|e| e > MAX_EMPTY_EXTENT) {
        bytes = None;
    }
    ensure!(
        bytes.is_some_and(|b| b <= MAX_COMPUTED_BYTES),
        "{what} of shape {shape:?} ({dt:?}) would exceed {MAX_COMPUTED_BYTES} bytes"
    );
    Ok(())
}

thread_local! {
    /// Subgraphs being translated on this thread, outermost first.
    static STACK: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(vec![]) };
}

fn translate_guarded(
    model: &ModelDesc,
    sg_ix: usize,
    inputs: &[TypedFact],
) -> Result<TypedModel, ModelError> {
    // WHILE bodies translate their subgraphs recursively; a crafted model could make a
    // subgraph contain itself (directly or through others), which TFLite forbids.
    let stack = STACK.with(|s| s.borrow().clone());
    if stack.contains(&sg_ix) {
        return Err(ModelError::malformed(format!(
            "subgraph {sg_ix} is used recursively (WHILE nesting {stack:?})"
        )));
    }
    if stack.len() > 16 {
        return Err(ModelError::malformed(
            "subgraphs nest deeper than 16 levels",
        ));
    }
    STACK.with(|s| s.borrow_mut().push(sg_ix));
    let r = translate_inner(model, sg_ix, inputs);
    STACK.with(|s| s.borrow_mut().pop());
    r
}

fn translate_inner(
    model: &ModelDesc,
    sg_ix: usize,
    inputs: &[TypedFact],
) -> Result<TypedModel, ModelError> {
    let sg = model
        .subgraphs
        .get(sg_ix)
        .ok_or_else(|| ModelError::malformed(format!("no subgraph {sg_ix}")))?;
    let mut ctx = Ctx {
        model,
        sg,
        target: TypedModel::default(),
        wires: vec![None; sg.tensors.len()],
        overrides: HashMap::new(),
        float_view: false,
    };
    if inputs.len() != sg.inputs.len() {
        return Err(ModelError::malformed(format!(
            "subgraph {sg_ix} has {} inputs, {} given",
            sg.inputs.len(),
            inputs.len()
        )));
    }
    for (fact, &t) in inputs.iter().zip(&sg.inputs) {
        let name = unique_tensor_name(&ctx.target, &sg.tensors[t], t);
        let o = ctx
            .target
            .add_source(name, fact.clone())
            .map_err(|e| ModelError::Prepare(chain(&e)))?;
        ctx.wires[t] = Some(o);
    }
    for (ix, op) in sg.ops.iter().enumerate() {
        let at = || OpLocation {
            subgraph: sg_ix,
            index: ix,
            op: op.name.clone(),
        };
        if !is_supported(op.code) {
            return Err(ModelError::UnsupportedOps(vec![at()]));
        }
        let nodes_before = ctx.target.nodes().len();
        let outs = translate_op(&mut ctx, op).map_err(|e| match e.downcast::<ModelError>() {
            Ok(me) => me,
            Err(e) => ModelError::InvalidOperator {
                at: at(),
                reason: chain(&e),
            },
        })?;
        if outs.len() < op.outputs.len() {
            return Err(ModelError::InvalidOperator {
                at: at(),
                reason: format!(
                    "produced {} outputs, the model declares {}",
                    outs.len(),
                    op.outputs.len()
                ),
            });
        }
        let nodes_after = ctx.target.nodes().len();
        for node in nodes_before..nodes_after {
            let n = ctx.target.node(node);
            // constants come from the file (bounded by its size) or are checked where
            // they are built
            if n.op_is::<tract_core::ops::konst::Const>() {
                continue;
            }
            for (slot, of) in n.outputs.iter().enumerate() {
                let Some(shape) = of.fact.shape.as_concrete() else {
                    continue;
                };
                let r = check_size(shape, of.fact.datum_type, "a result");
                if let Err(e) = r {
                    return Err(ModelError::InvalidOperator {
                        at: at(),
                        reason: format!("{} (node output {slot})", chain(&e)),
                    });
                }
            }
        }
        for (o, &t) in outs.iter().zip(&op.outputs) {
            let want = sg.tensors[t].dtype.datum_type();
            let got = ctx.target.outlet_fact(*o).map(|f| f.datum_type).ok();
            if want != got {
                return Err(ModelError::InvalidOperator {
                    at: at(),
                    reason: format!(
                        "output {} should be {:?} but the translation gives {:?}",
                        sg.tensors[t].name, want, got
                    ),
                });
            }
            ctx.wires[t] = Some(*o);
        }
    }
    let mut outputs = vec![];
    for &t in &sg.outputs {
        let o = ctx
            .wire_of(t)
            .map_err(|e| ModelError::malformed(chain(&e)))?;
        outputs.push(o);
    }
    ctx.target
        .select_output_outlets(&outputs)
        .map_err(|e| ModelError::Prepare(chain(&e)))?;
    Ok(ctx.target)
}

fn unique_tensor_name(model: &TypedModel, t: &TensorDesc, ix: usize) -> String {
    let base = if t.name.is_empty() {
        format!("tensor_{ix}")
    } else {
        t.name.clone()
    };
    model.unique_name(base).to_string()
}

/// A fact for a TFLite tensor with concrete dims.
pub fn fact_for(t: &TensorDesc, shape: &[usize]) -> TractResult<TypedFact> {
    let dt = t
        .dtype
        .datum_type()
        .with_context(|| format!("tensor {} has unsupported type {:?}", t.name, t.dtype))?;
    Ok(dt.fact(shape))
}

impl<'a> Ctx<'a> {
    pub fn tensor(&self, ix: usize) -> &'a TensorDesc {
        &self.sg.tensors[ix]
    }

    pub fn in_ix(&self, op: &OpDesc, i: usize) -> TractResult<usize> {
        op.inputs
            .get(i)
            .copied()
            .flatten()
            .with_context(|| format!("missing input {i}"))
    }

    pub fn has_input(&self, op: &OpDesc, i: usize) -> bool {
        op.inputs.get(i).copied().flatten().is_some()
    }

    pub fn in_tensor(&self, op: &OpDesc, i: usize) -> TractResult<&'a TensorDesc> {
        Ok(self.tensor(self.in_ix(op, i)?))
    }

    pub fn out_tensor(&self, op: &OpDesc, i: usize) -> TractResult<&'a TensorDesc> {
        let t = op
            .outputs
            .get(i)
            .with_context(|| format!("missing output {i}"))?;
        Ok(self.tensor(*t))
    }

    pub fn q_out(&self, op: &OpDesc, i: usize) -> Option<&'a Quant> {
        if self.float_view {
            return None;
        }
        op.outputs.get(i).and_then(|t| quant_of(self.tensor(*t)))
    }

    pub fn wire_of(&mut self, t: usize) -> TractResult<OutletId> {
        if let Some(o) = self.overrides.get(&t) {
            return Ok(*o);
        }
        if let Some(o) = self.wires[t] {
            return Ok(o);
        }
        let desc = self.tensor(t);
        if let Some(data) = &desc.data {
            let name = unique_tensor_name(&self.target, desc, t);
            let o = self.target.add_const(name, data.clone())?;
            self.wires[t] = Some(o);
            return Ok(o);
        }
        bail!(
            "tensor {} ({}) is read before anything produces it",
            t,
            desc.name
        )
    }

    pub fn input(&mut self, op: &OpDesc, i: usize) -> TractResult<OutletId> {
        let t = self.in_ix(op, i)?;
        self.wire_of(t)
    }

    pub fn fact(&self, o: OutletId) -> TractResult<TypedFact> {
        Ok(self.target.outlet_fact(o)?.clone())
    }

    pub fn shape(&self, o: OutletId) -> TractResult<TVec<usize>> {
        let f = self.target.outlet_fact(o)?;
        f.shape
            .iter()
            .map(|d| {
                d.to_usize()
                    .with_context(|| format!("dimension {d} is not concrete"))
            })
            .collect()
    }

    pub fn rank(&self, o: OutletId) -> TractResult<usize> {
        Ok(self.target.outlet_fact(o)?.rank())
    }

    pub fn dt(&self, o: OutletId) -> TractResult<DatumType> {
        Ok(self.target.outlet_fact(o)?.datum_type)
    }

    /// Constant value of input `i`, if it is known at translation time.
    pub fn konst(&mut self, op: &OpDesc, i: usize) -> TractResult<Option<Arc<Tensor>>> {
        let o = self.input(op, i)?;
        Ok(self.target.outlet_fact(o)?.konst.clone())
    }

    /// Constant input `i` as a list of i64 (for axes, shapes, paddings...).
    pub fn konst_i64(&mut self, op: &OpDesc, i: usize, what: &str) -> TractResult<Vec<i64>> {
        let k = self
            .konst(op, i)?
            .with_context(|| format!("{what} (input {i}) must be a constant"))?;
        let k = k.cast_to::<i64>()?;
        Ok(k.try_as_plain_ram()?.as_slice::<i64>()?.to_vec())
    }

    pub fn wire(
        &mut self,
        name: &str,
        op: impl Into<Box<dyn TypedOp>>,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let name = self.target.unique_name(name).to_string();
        self.target.wire_node(name, op, inputs)
    }

    pub fn wire1(
        &mut self,
        name: &str,
        op: impl Into<Box<dyn TypedOp>>,
        inputs: &[OutletId],
    ) -> TractResult<OutletId> {
        Ok(self.wire(name, op, inputs)?[0])
    }

    pub fn konst_wire(&mut self, name: &str, t: impl Into<Arc<Tensor>>) -> TractResult<OutletId> {
        let name = self.target.unique_name(name).to_string();
        self.target.add_const(name, t.into())
    }

    /// A scalar constant of the same datum type as `like`.
    pub fn scalar_like(&mut self, name: &str, like: OutletId, v: f64) -> TractResult<OutletId> {
        let dt = self.dt(like)?;
        let t = tensor0(v).cast_to_dt(dt)?.into_owned();
        self.konst_wire(name, t)
    }

    /// Binary op with numpy broadcasting (ranks aligned on the right).
    pub fn binary(
        &mut self,
        name: &str,
        mini: Box<dyn BinMiniOp>,
        a: OutletId,
        b: OutletId,
    ) -> TractResult<OutletId> {
        let (fa, fb) = (self.fact(a)?, self.fact(b)?);
        check_broadcast(&fa.shape, &fb.shape)?;
        let wires =
            tract_core::ops::change_axes::wire_rank_broadcast(name, &mut self.target, &[a, b])?;
        // tract's integer ADD/SUB panic on overflow (with overflow checks) and its DIV
        // on a zero divisor: integers take a wrapping, checked kernel instead.
        let int_op = match mini.name() {
            "Add" => Some(kernels::IntOp::Add),
            "Sub" => Some(kernels::IntOp::Sub),
            "Mul" => Some(kernels::IntOp::Mul),
            "Div" => Some(kernels::IntOp::Div),
            "Pow" => Some(kernels::IntOp::Pow),
            _ => None,
        };
        if let Some(op) = int_op {
            if fa.datum_type == fb.datum_type && fa.datum_type.is_integer() {
                return self.wire1(name, kernels::IntBinary { op }, &wires);
            }
        }
        self.wire1(name, TypedBinOp(mini, None), &wires)
    }

    pub fn unary(&mut self, name: &str, op: ElementWiseOp, a: OutletId) -> TractResult<OutletId> {
        self.wire1(name, op, &[a])
    }

    pub fn reshape(&mut self, name: &str, x: OutletId, to: &[usize]) -> TractResult<OutletId> {
        let from = self.shape(x)?;
        if &*from == to {
            return Ok(x);
        }
        let vf: usize = from.iter().product();
        let vt: usize = to.iter().product();
        ensure!(
            vf == vt,
            "cannot reshape {from:?} ({vf} elements) to {to:?} ({vt} elements)"
        );
        let op = AxisOp::Reshape(
            0,
            from.iter().map(|d| d.to_dim()).collect(),
            to.iter().map(|d| d.to_dim()).collect(),
        );
        self.wire1(name, op, &[x])
    }

    pub fn cast(&mut self, name: &str, x: OutletId, to: DatumType) -> TractResult<OutletId> {
        if self.dt(x)? == to {
            return Ok(x);
        }
        self.wire1(name, cast::cast(to), &[x])
    }
}

pub fn quant_of(t: &TensorDesc) -> Option<&Quant> {
    match t.dtype {
        DType::I8 | DType::U8 | DType::I16 => t.quant.as_ref(),
        // int32 biases carry a scale but are consumed by their operator directly
        _ => None,
    }
}

pub fn check_broadcast(a: &[TDim], b: &[TDim]) -> TractResult<()> {
    let r = a.len().max(b.len());
    for i in 0..r {
        let da = if i < r - a.len() {
            1.to_dim()
        } else {
            a[i - (r - a.len())].clone()
        };
        let db = if i < r - b.len() {
            1.to_dim()
        } else {
            b[i - (r - b.len())].clone()
        };
        if da != db && !da.is_one() && !db.is_one() {
            bail!("shapes {a:?} and {b:?} do not broadcast");
        }
    }
    Ok(())
}

pub fn norm_axis(axis: i64, rank: usize) -> TractResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    // a scalar has no axis: tract's reductions index the axis unchecked (found by
    // fuzzing: a REDUCE over axis 0 of a rank-0 tensor)
    ensure!(
        (0..r).contains(&a),
        "axis {axis} out of range for rank {rank}"
    );
    Ok(a as usize)
}

/// Operators that only move or select data: they run on quantized integers unchanged
/// when all their quantized tensors share the same parameters.
fn is_data_movement(code: i32) -> bool {
    [
        B::RESHAPE,
        B::SQUEEZE,
        B::EXPAND_DIMS,
        B::TRANSPOSE,
        B::SLICE,
        B::STRIDED_SLICE,
        B::GATHER,
        B::GATHER_ND,
        B::EMBEDDING_LOOKUP,
        B::SPLIT,
        B::SPLIT_V,
        B::PACK,
        B::UNPACK,
        B::TILE,
        B::BROADCAST_TO,
        B::CONCATENATION,
        B::MAX_POOL_2D,
        B::REDUCE_MAX,
        B::REDUCE_MIN,
        B::TOPK_V2,
        B::ARG_MAX,
        B::ARG_MIN,
        B::SHAPE,
        B::PAD,
        B::PADV2,
        B::SELECT,
        B::SELECT_V2,
        B::EQUAL,
        B::NOT_EQUAL,
        B::LESS,
        B::LESS_EQUAL,
        B::GREATER,
        B::GREATER_EQUAL,
        B::ZEROS_LIKE,
        B::MAXIMUM,
        B::MINIMUM,
    ]
    .contains(&B(code))
}

fn translate_op(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let code = B(op.code);
    if code == B::QUANTIZE || code == B::DEQUANTIZE {
        return ops_quant::quantize_or_dequantize(ctx, op);
    }
    if code == B::WHILE {
        return crate::ops_control::while_loop(ctx, op);
    }
    let quantized: Vec<&Quant> = op
        .inputs
        .iter()
        .flatten()
        .chain(op.outputs.iter())
        .filter_map(|t| quant_of(ctx.tensor(*t)))
        .collect();
    if quantized.is_empty() {
        return translate_float(ctx, op);
    }
    if let Some(outs) = ops_quant::integer_kernel(ctx, op)? {
        return Ok(outs);
    }
    let uniform = quantized.windows(2).all(|w| w[0] == w[1]);
    if is_data_movement(op.code) && uniform {
        return translate_float(ctx, op);
    }
    translate_through_float(ctx, op)
}

/// Dequantizes the quantized inputs, translates the float operator, requantizes the
/// quantized outputs.
fn translate_through_float(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let mut saved = vec![];
    for t in op.inputs.iter().flatten() {
        // an operator may read the same tensor twice (ADD(x, x)): dequantize it once,
        // not the dequantized floats again (found by fuzzing: i32 overflow)
        if saved.iter().any(|(s, _)| s == t) {
            continue;
        }
        let desc = ctx.tensor(*t);
        // int32 biases carry the product scale of input and weights: dequantize them too
        let q = quant_of(desc).or(if desc.dtype == DType::I32 {
            desc.quant.as_ref()
        } else {
            None
        });
        if let Some(q) = q {
            let w = ctx.wire_of(*t)?;
            let deq = kernels::Dequantize {
                scale: q.scale.clone(),
                zero_point: q.zero_point.iter().map(|z| *z as i32).collect(),
                axis: q.axis,
            };
            let d = ctx.wire1(&format!("{}.dequant", desc.name), deq, &[w])?;
            saved.push((*t, ctx.overrides.insert(*t, d)));
        }
    }
    ctx.float_view = true;
    let r = translate_float(ctx, op);
    ctx.float_view = false;
    for (t, prev) in saved.into_iter().rev() {
        match prev {
            Some(p) => ctx.overrides.insert(t, p),
            None => ctx.overrides.remove(&t),
        };
    }
    let mut outs = r?;
    for (i, t) in op.outputs.iter().enumerate() {
        let desc = ctx.tensor(*t);
        if let (Some(q), Some(o)) = (quant_of(desc), outs.get(i).copied()) {
            let dt = desc.dtype.datum_type().context("output type")?;
            let o = ctx.cast(&format!("{}.f32", desc.name), o, f32::datum_type())?;
            let qop = kernels::Quantize {
                scale: q.scale.clone(),
                zero_point: q.zero_point.iter().map(|z| *z as i32).collect(),
                axis: q.axis,
                to: dt,
            };
            outs[i] = ctx.wire1(&format!("{}.quant", desc.name), qop, &[o])?;
        }
    }
    Ok(outs)
}

fn out_name(ctx: &Ctx<'_>, op: &OpDesc) -> String {
    op.outputs
        .first()
        .map(|t| ctx.tensor(*t).name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| op.name.to_lowercase())
}

/// Applies a fused activation (`ActivationFunctionType`).
pub fn activation(ctx: &mut Ctx<'_>, name: &str, x: OutletId, act: i8) -> TractResult<OutletId> {
    let clamp = |ctx: &mut Ctx<'_>, lo: Option<f64>, hi: Option<f64>| -> TractResult<OutletId> {
        let mut x = x;
        if let Some(lo) = lo {
            let c = ctx.scalar_like(&format!("{name}.lo"), x, lo)?;
            x = ctx.binary(&format!("{name}.max"), Box::new(math::Max), x, c)?;
        }
        if let Some(hi) = hi {
            let c = ctx.scalar_like(&format!("{name}.hi"), x, hi)?;
            x = ctx.binary(&format!("{name}.min"), Box::new(math::Min), x, c)?;
        }
        Ok(x)
    };
    match act {
        0 => Ok(x),
        1 => clamp(ctx, Some(0.0), None),
        2 => clamp(ctx, Some(-1.0), Some(1.0)),
        3 => clamp(ctx, Some(0.0), Some(6.0)),
        4 => ctx.unary(&format!("{name}.tanh"), math::tanh(), x),
        5 => bail!("fused activation SIGN_BIT is not supported"),
        a => bail!("unknown fused activation {a}"),
    }
}

fn translate_float(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let name = out_name(ctx, op);
    let name = name.as_str();
    let code = B(op.code);
    let o = &op.options;
    let binary = |ctx: &mut Ctx<'_>, mini: Box<dyn BinMiniOp>| -> TractResult<TVec<OutletId>> {
        let a = ctx.input(op, 0)?;
        let b = ctx.input(op, 1)?;
        let y = ctx.binary(name, mini, a, b)?;
        Ok(tvec!(activation(ctx, name, y, o.activation)?))
    };
    let unary = |ctx: &mut Ctx<'_>, e: ElementWiseOp| -> TractResult<TVec<OutletId>> {
        let a = ctx.input(op, 0)?;
        Ok(tvec!(ctx.unary(name, e, a)?))
    };
    let compare = |ctx: &mut Ctx<'_>, mini: Box<dyn BinMiniOp>| -> TractResult<TVec<OutletId>> {
        let a = ctx.input(op, 0)?;
        let b = ctx.input(op, 1)?;
        Ok(tvec!(ctx.binary(name, mini, a, b)?))
    };
    match code {
        B::ADD => binary(ctx, Box::new(math::Add)),
        B::SUB => binary(ctx, Box::new(math::Sub)),
        B::MUL => binary(ctx, Box::new(math::Mul)),
        B::DIV => binary(ctx, Box::new(math::Div)),
        B::MAXIMUM => binary(ctx, Box::new(math::Max)),
        B::MINIMUM => binary(ctx, Box::new(math::Min)),
        B::POW => binary(ctx, Box::new(math::Pow)),
        B::SQUARED_DIFFERENCE => {
            let a = ctx.input(op, 0)?;
            let b = ctx.input(op, 1)?;
            let d = ctx.binary(&format!("{name}.sub"), Box::new(math::Sub), a, b)?;
            Ok(tvec!(ctx.unary(name, math::square(), d)?))
        }
        B::NEG | B::ABS
            if {
                let x = ctx.input(op, 0)?;
                ctx.dt(x)?.is_integer()
            } =>
        {
            // wrapping, like TFLite (tract's integer NEG/ABS overflow on MIN)
            let x = ctx.input(op, 0)?;
            let zero = ctx.scalar_like(&format!("{name}.zero"), x, 0.0)?;
            let neg = ctx.binary(&format!("{name}.neg"), Box::new(math::Sub), zero, x)?;
            if code == B::NEG {
                return Ok(tvec!(neg));
            }
            Ok(tvec!(ctx.binary(name, Box::new(math::Max), x, neg)?))
        }
        B::NEG => unary(ctx, math::neg()),
        B::ABS => unary(ctx, math::abs()),
        B::SQRT => unary(ctx, math::sqrt()),
        B::RSQRT => unary(ctx, math::rsqrt()),
        B::SQUARE => unary(ctx, math::square()),
        B::EXP => unary(ctx, math::exp()),
        B::LOG => unary(ctx, math::ln()),
        B::TANH => unary(ctx, math::tanh()),
        B::LOGISTIC => unary(ctx, nn::sigmoid()),
        B::RELU => {
            let a = ctx.input(op, 0)?;
            Ok(tvec!(activation(ctx, name, a, 1)?))
        }
        B::RELU6 => {
            let a = ctx.input(op, 0)?;
            Ok(tvec!(activation(ctx, name, a, 3)?))
        }
        B::RELU_N1_TO_1 => {
            let a = ctx.input(op, 0)?;
            Ok(tvec!(activation(ctx, name, a, 2)?))
        }
        B::LEAKY_RELU => unary(ctx, nn::leaky_relu(o.floats[0])),
        B::HARD_SWISH => {
            // x * relu6(x + 3) / 6
            let x = ctx.input(op, 0)?;
            let three = ctx.scalar_like(&format!("{name}.3"), x, 3.0)?;
            let s = ctx.binary(&format!("{name}.add3"), Box::new(math::Add), x, three)?;
            let r = activation(ctx, name, s, 3)?;
            let m = ctx.binary(&format!("{name}.mul"), Box::new(math::Mul), x, r)?;
            let six = ctx.scalar_like(&format!("{name}.6"), x, 6.0)?;
            Ok(tvec!(ctx.binary(name, Box::new(math::Div), m, six)?))
        }
        B::GELU => gelu(ctx, op, name),
        B::SOFTMAX | B::LOG_SOFTMAX => {
            let mut x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            ensure!(rank >= 1, "softmax on a scalar");
            let beta = if code == B::SOFTMAX { o.floats[0] } else { 1.0 };
            if beta != 1.0 && beta != 0.0 {
                let b = ctx.scalar_like(&format!("{name}.beta"), x, beta as f64)?;
                x = ctx.binary(&format!("{name}.scaled"), Box::new(math::Mul), x, b)?;
            }
            let kind = if code == B::SOFTMAX {
                nn::SoftmaxKind::Softmax
            } else {
                nn::SoftmaxKind::LogSoftmax
            };
            let sm = nn::Softmax {
                axes: tvec!(rank - 1),
                quant_output_dt: None,
                kind,
            };
            Ok(tvec!(ctx.wire1(name, sm, &[x])?))
        }
        B::FULLY_CONNECTED => crate::ops_nn::fully_connected(ctx, op, name),
        B::BATCH_MATMUL => crate::ops_nn::batch_matmul(ctx, op, name),
        B::CONV_2D | B::DEPTHWISE_CONV_2D => crate::ops_nn::conv(ctx, op, name),
        B::MAX_POOL_2D | B::AVERAGE_POOL_2D => crate::ops_nn::pool(ctx, op, name),
        B::L2_NORMALIZATION => crate::ops_nn::l2_normalization(ctx, op, name),
        B::UNIDIRECTIONAL_SEQUENCE_LSTM => crate::ops_control::lstm(ctx, op, name),
        B::EQUAL => compare(ctx, logic::comp_eq()),
        B::NOT_EQUAL => compare(ctx, logic::comp_ne()),
        B::LESS => compare(ctx, logic::comp_lt()),
        B::LESS_EQUAL => compare(ctx, logic::comp_lte()),
        B::GREATER => compare(ctx, logic::comp_gt()),
        B::GREATER_EQUAL => compare(ctx, logic::comp_gte()),
        B::LOGICAL_AND => compare(ctx, Box::new(logic::And)),
        B::LOGICAL_OR => compare(ctx, Box::new(logic::Or)),
        B::LOGICAL_NOT => unary(ctx, logic::not()),
        _ => crate::ops_array::translate(ctx, op, name),
    }
}

fn gelu(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let half = ctx.scalar_like(&format!("{name}.half"), x, 0.5)?;
    let one = ctx.scalar_like(&format!("{name}.one"), x, 1.0)?;
    let inner = if op.options.flags[0] {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        let c = ctx.scalar_like(&format!("{name}.c"), x, 0.044715)?;
        let k = ctx.scalar_like(
            &format!("{name}.k"),
            x,
            (2.0f64 / std::f64::consts::PI).sqrt(),
        )?;
        let x2 = ctx.binary(&format!("{name}.x2"), Box::new(math::Mul), x, x)?;
        let x3 = ctx.binary(&format!("{name}.x3"), Box::new(math::Mul), x2, x)?;
        let cx3 = ctx.binary(&format!("{name}.cx3"), Box::new(math::Mul), x3, c)?;
        let s = ctx.binary(&format!("{name}.s"), Box::new(math::Add), x, cx3)?;
        let ks = ctx.binary(&format!("{name}.ks"), Box::new(math::Mul), s, k)?;
        ctx.unary(&format!("{name}.tanh"), math::tanh(), ks)?
    } else {
        // 0.5 x (1 + erf(x / sqrt 2))
        let k = ctx.scalar_like(&format!("{name}.k"), x, std::f64::consts::FRAC_1_SQRT_2)?;
        let xs = ctx.binary(&format!("{name}.xs"), Box::new(math::Mul), x, k)?;
        ctx.unary(&format!("{name}.erf"), math::erf(), xs)?
    };
    let p = ctx.binary(&format!("{name}.1p"), Box::new(math::Add), inner, one)?;
    let hx = ctx.binary(&format!("{name}.hx"), Box::new(math::Mul), x, half)?;
    Ok(tvec!(ctx.binary(name, Box::new(math::Mul), hx, p)?))
}
