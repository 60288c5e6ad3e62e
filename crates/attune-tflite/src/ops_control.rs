//! WHILE over TFLite subgraphs, and the fused UNIDIRECTIONAL_SEQUENCE_LSTM.

use std::fmt;
use std::sync::Arc;

use tract_core::internal::*;

use crate::ir::OpDesc;
use crate::translate::{translate, Ctx};

/// Iterations after which a WHILE is considered runaway (E_RUNTIME). Recurrent models
/// loop once per time step (tens to thousands); a crafted never-ending loop hit the
/// former 2^24 cap only after minutes (found by fuzzing); 2^16 takes about a second.
const MAX_ITERATIONS: usize = 1 << 16;

/// WHILE: runs the body subgraph on the loop values while the cond subgraph says so.
/// Both subgraphs are translated for the concrete shapes of the loop values and
/// optimized once, at preparation.
#[derive(Clone)]
pub struct While {
    cond: Arc<TypedSimplePlan>,
    body: Arc<TypedSimplePlan>,
    facts: TVec<TypedFact>,
}

impl fmt::Debug for While {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "While({} loop values)", self.facts.len())
    }
}

impl PartialEq for While {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cond, &other.cond) && Arc::ptr_eq(&self.body, &other.body)
    }
}

impl Op for While {
    fn name(&self) -> StaticName {
        "tflite.While".into()
    }
    op_as_typed_op!();
}

impl EvalOp for While {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut values = inputs;
        for _ in 0..MAX_ITERATIONS {
            let c = self.cond.run(values.clone())?;
            let go = c
                .first()
                .filter(|t| t.len() == 1)
                .context("WHILE cond must return one value")?
                .cast_to_scalar::<bool>()?;
            if !go {
                return Ok(values);
            }
            let next = self.body.run(values)?;
            ensure!(
                next.len() == self.facts.len(),
                "WHILE body returned {} values",
                next.len()
            );
            for (v, f) in next.iter().zip(&self.facts) {
                ensure!(
                    v.datum_type() == f.datum_type
                        && f.shape
                            .as_concrete()
                            .map(|s| s == v.shape())
                            .unwrap_or(true),
                    "WHILE body changed the shape or type of a loop value"
                );
            }
            values = next;
        }
        bail!("WHILE did not terminate after {MAX_ITERATIONS} iterations")
    }
}

impl TypedOp for While {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(self.facts.clone())
    }
    as_op!();
}

fn prepare(model: TypedModel) -> TractResult<Arc<TypedSimplePlan>> {
    let optimized = model.into_optimized()?;
    SimplePlan::new(optimized)
}

pub(crate) fn while_loop(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let mut inputs = tvec!();
    for i in 0..op.inputs.len() {
        inputs.push(ctx.input(op, i)?);
    }
    let facts: TVec<TypedFact> = inputs
        .iter()
        .map(|o| ctx.fact(*o).map(|f| f.datum_type.fact(f.shape.clone())))
        .collect::<TractResult<_>>()?;
    let (cond_ix, body_ix) = (op.options.ints[0] as usize, op.options.ints[1] as usize);
    let cond = translate(ctx.model, cond_ix, &facts)?;
    let body = translate(ctx.model, body_ix, &facts)?;
    ensure!(
        cond.output_outlets()?.len() == 1,
        "WHILE cond must have one output"
    );
    let cf = cond.output_fact(0)?;
    ensure!(
        cf.datum_type == bool::datum_type() && cf.shape.volume().is_one(),
        "WHILE cond must return one bool"
    );
    let outs = body.output_outlets()?.len();
    ensure!(
        outs == facts.len(),
        "WHILE body returns {outs} values for {} loop values",
        facts.len()
    );
    for (i, f) in facts.iter().enumerate() {
        let bf = body.output_fact(i)?;
        ensure!(
            bf.datum_type == f.datum_type && bf.shape == f.shape,
            "WHILE loop value {i} changes from {f:?} to {bf:?}; shape-changing loops are not supported"
        );
    }
    let op = While {
        cond: prepare(cond)?,
        body: prepare(body)?,
        facts,
    };
    let name = format!("while_{}", op.facts.len());
    ctx.wire(&name, op, &inputs)
}

/// UNIDIRECTIONAL_SEQUENCE_LSTM, float, with optional CIFG (no input gate), peepholes,
/// projection, layer normalization and clipping.
#[derive(Debug, Clone, PartialEq)]
pub struct Lstm {
    n_input: usize,
    n_cell: usize,
    n_out: usize,
    /// input-to-gate weights for i, f, c, o: [n_cell, n_input] each; i is None for CIFG.
    wx: [Option<Vec<f32>>; 4],
    /// recurrent-to-gate weights: [n_cell, n_out] each.
    wh: [Option<Vec<f32>>; 4],
    /// peephole cell-to-gate weights for i, f, o.
    peep: [Option<Vec<f32>>; 3],
    bias: [Option<Vec<f32>>; 4],
    proj_w: Option<Vec<f32>>,
    proj_b: Option<Vec<f32>>,
    layer_norm: [Option<Vec<f32>>; 4],
    cell_clip: f32,
    proj_clip: f32,
    activation: i8,
    time_major: bool,
}

impl Op for Lstm {
    fn name(&self) -> StaticName {
        "tflite.UnidirectionalSequenceLstm".into()
    }
    op_as_typed_op!();
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn apply_act(a: i8, x: f32) -> f32 {
    match a {
        1 => x.max(0.0),
        2 => x.clamp(-1.0, 1.0),
        3 => x.clamp(0.0, 6.0),
        4 => x.tanh(),
        6 => sigmoid(x),
        _ => x,
    }
}

fn matvec_acc(w: &[f32], rows: usize, cols: usize, v: &[f32], out: &mut [f32]) {
    for r in 0..rows {
        let mut s = 0f32;
        for (a, b) in w[r * cols..(r + 1) * cols].iter().zip(v) {
            s += a * b;
        }
        out[r] += s;
    }
}

fn layer_norm(g: &mut [f32], coef: &[f32]) {
    let n = g.len() as f32;
    let mean = g.iter().sum::<f32>() / n;
    let var = g.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + 1e-8).sqrt();
    for (v, c) in g.iter_mut().zip(coef) {
        *v = (*v - mean) * inv * c;
    }
}

impl EvalOp for Lstm {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = inputs[0].cast_to::<f32>()?;
        let xp = x.try_as_plain_ram()?;
        let xs = xp.as_slice::<f32>()?;
        let shape = x.shape();
        ensure!(shape.len() == 3, "LSTM input must be rank 3");
        let (t_len, batch) = if self.time_major {
            (shape[0], shape[1])
        } else {
            (shape[1], shape[0])
        };
        ensure!(
            shape[2] == self.n_input,
            "LSTM input depth {} differs from {}",
            shape[2],
            self.n_input
        );
        let (nc, no, ni) = (self.n_cell, self.n_out, self.n_input);
        let init = |i: usize, n: usize| -> TractResult<Vec<f32>> {
            match inputs.get(i) {
                Some(t) => {
                    let t = t.cast_to::<f32>()?;
                    let v = t.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
                    ensure!(
                        v.len() == batch * n,
                        "LSTM state has {} values, expected {}",
                        v.len(),
                        batch * n
                    );
                    Ok(v)
                }
                None => Ok(vec![0.0; batch * n]),
            }
        };
        let mut h = init(1, no)?;
        let mut c = init(2, nc)?;
        let mut out = vec![0f32; t_len * batch * no];
        let mut gates = [
            vec![0f32; nc],
            vec![0f32; nc],
            vec![0f32; nc],
            vec![0f32; nc],
        ];
        let mut hidden = vec![0f32; nc];
        for t in 0..t_len {
            for b in 0..batch {
                let xoff = if self.time_major {
                    (t * batch + b) * ni
                } else {
                    (b * t_len + t) * ni
                };
                let xv = &xs[xoff..xoff + ni];
                let hv = h[b * no..(b + 1) * no].to_vec();
                let cv = &mut c[b * nc..(b + 1) * nc];
                for (g, gate) in gates.iter_mut().enumerate() {
                    if self.wx[g].is_none() && g == 0 {
                        continue;
                    }
                    match &self.bias[g] {
                        Some(bv) if self.layer_norm[g].is_none() => gate.copy_from_slice(bv),
                        _ => gate.iter_mut().for_each(|v| *v = 0.0),
                    }
                    if let Some(w) = &self.wx[g] {
                        matvec_acc(w, nc, ni, xv, gate);
                    }
                    if let Some(w) = &self.wh[g] {
                        matvec_acc(w, nc, no, &hv, gate);
                    }
                    let peep = match g {
                        0 => self.peep[0].as_ref(),
                        1 => self.peep[1].as_ref(),
                        _ => None,
                    };
                    if let Some(p) = peep {
                        for ((v, pw), cc) in gate.iter_mut().zip(p).zip(cv.iter()) {
                            *v += pw * cc;
                        }
                    }
                    if let Some(ln) = &self.layer_norm[g] {
                        layer_norm(gate, ln);
                        if let Some(bv) = &self.bias[g] {
                            gate.iter_mut().zip(bv).for_each(|(v, b)| *v += b);
                        }
                    }
                }
                // forget, input, cell
                for j in 0..nc {
                    let f = sigmoid(gates[1][j]);
                    let i = if self.wx[0].is_none() {
                        1.0 - f
                    } else {
                        sigmoid(gates[0][j])
                    };
                    let g = apply_act(self.activation, gates[2][j]);
                    let mut cn = f * cv[j] + i * g;
                    if self.cell_clip > 0.0 {
                        cn = cn.clamp(-self.cell_clip, self.cell_clip);
                    }
                    cv[j] = cn;
                }
                // output gate (with peephole on the new cell state)
                for j in 0..nc {
                    let mut og = gates[3][j];
                    if let Some(p) = &self.peep[2] {
                        og += p[j] * cv[j];
                    }
                    hidden[j] = sigmoid(og) * apply_act(self.activation, cv[j]);
                }
                let hb = &mut h[b * no..(b + 1) * no];
                if let Some(pw) = &self.proj_w {
                    match &self.proj_b {
                        Some(pb) => hb.copy_from_slice(pb),
                        None => hb.iter_mut().for_each(|v| *v = 0.0),
                    }
                    matvec_acc(pw, no, nc, &hidden, hb);
                    if self.proj_clip > 0.0 {
                        hb.iter_mut()
                            .for_each(|v| *v = v.clamp(-self.proj_clip, self.proj_clip));
                    }
                } else {
                    hb.copy_from_slice(&hidden[..no]);
                }
                let ooff = if self.time_major {
                    (t * batch + b) * no
                } else {
                    (b * t_len + t) * no
                };
                out[ooff..ooff + no].copy_from_slice(hb);
            }
        }
        let oshape = if self.time_major {
            [t_len, batch, no]
        } else {
            [batch, t_len, no]
        };
        Ok(tvec!(Tensor::from_shape(&oshape, &out)?.into_tvalue()))
    }
}

impl TypedOp for Lstm {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].rank() == 3);
        let s = &inputs[0].shape;
        Ok(tvec!(f32::fact([
            s[0].clone(),
            s[1].clone(),
            self.n_out.to_dim()
        ])))
    }
    as_op!();
}

pub(crate) fn lstm(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let xs = ctx.shape(x)?;
    ensure!(xs.len() == 3, "LSTM input must be rank 3, got {xs:?}");
    let mut vecs: Vec<Option<Vec<f32>>> = vec![];
    for i in 0..24 {
        if i == 0 || i == 18 || i == 19 || !ctx.has_input(op, i) {
            vecs.push(None);
            continue;
        }
        let k = ctx
            .konst(op, i)?
            .with_context(|| format!("LSTM weight input {i} must be constant"))?;
        let k = k.cast_to::<f32>()?;
        vecs.push(Some(k.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()));
    }
    let take = |i: usize| vecs[i].clone();
    let wf = take(2).context("LSTM needs input-to-forget weights")?;
    let wh_f = take(6).context("LSTM needs recurrent-to-forget weights")?;
    let n_input = xs[2];
    ensure!(
        n_input > 0 && wf.len() % n_input == 0,
        "weights do not match input depth"
    );
    let n_cell = wf.len() / n_input;
    ensure!(
        n_cell > 0 && wh_f.len() % n_cell == 0,
        "recurrent weights do not match the cell size"
    );
    let n_out = wh_f.len() / n_cell;
    let check = |v: &Option<Vec<f32>>, n: usize, what: &str| -> TractResult<()> {
        if let Some(v) = v {
            ensure!(v.len() == n, "{what} has {} values, expected {n}", v.len());
        }
        Ok(())
    };
    for v in &vecs[1..=4] {
        check(v, n_cell * n_input, "input weights")?;
    }
    for v in &vecs[5..=8] {
        check(v, n_cell * n_out, "recurrent weights")?;
    }
    for v in &vecs[9..=15] {
        check(v, n_cell, "peephole/bias")?;
    }
    check(&vecs[16], n_out * n_cell, "projection weights")?;
    check(&vecs[17], n_out, "projection bias")?;
    for v in &vecs[20..=23] {
        check(v, n_cell, "layer norm coefficients")?;
    }
    ensure!(
        vecs[16].is_some() || n_out == n_cell,
        "without projection the output size must equal the cell size"
    );
    let o = &op.options;
    let lstm = Lstm {
        n_input,
        n_cell,
        n_out,
        wx: [take(1), take(2), take(3), take(4)],
        wh: [take(5), take(6), take(7), take(8)],
        peep: [take(9), take(10), take(11)],
        bias: [take(12), take(13), take(14), take(15)],
        proj_w: take(16),
        proj_b: take(17),
        layer_norm: [take(20), take(21), take(22), take(23)],
        cell_clip: o.floats[0],
        proj_clip: o.floats[1],
        activation: o.activation,
        time_major: o.flags[0],
    };
    ensure!(
        lstm.wx[1].is_some() && lstm.wx[2].is_some() && lstm.wx[3].is_some(),
        "LSTM needs forget, cell and output weights"
    );
    let batch = if lstm.time_major { xs[1] } else { xs[0] };
    let mut inputs = tvec!(x);
    // State inputs are TFLite variable tensors, zero at the start of each run; when a
    // graph feeds them explicitly, use what it feeds.
    for (i, n) in [(18usize, n_out), (19, n_cell)] {
        let t = ctx.in_ix(op, i)?;
        let fed = ctx.wire_of(t).ok();
        match fed {
            Some(w) => inputs.push(w),
            None => {
                crate::translate::check_size(&[batch, n], f32::datum_type(), "LSTM state")?;
                let zero = Tensor::zero::<f32>(&[batch, n])?;
                inputs.push(ctx.konst_wire(&format!("{name}.state{i}"), zero)?);
            }
        }
    }
    Ok(tvec!(ctx.wire1(name, lstm, &inputs)?))
}

impl Eq for While {}
// Weights are compared with f32 equality; only used for graph deduplication.
impl Eq for Lstm {}
