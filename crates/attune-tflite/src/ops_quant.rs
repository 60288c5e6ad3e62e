//! QUANTIZE / DEQUANTIZE and integer kernels that reproduce LiteRT's arithmetic.

use std::sync::Arc;

use tract_core::internal::*;
use tract_tflite::tflite::BuiltinOperator as B;

use crate::ir::{DType, OpDesc, Quant};
use crate::kernels::{Dequantize, Quantize};
use crate::translate::{activation, quant_of, Ctx};

fn dequant_op(q: &Quant) -> Dequantize {
    Dequantize {
        scale: q.scale.clone(),
        zero_point: q.zero_point.iter().map(|z| *z as i32).collect(),
        axis: q.axis,
    }
}

fn quant_op(q: &Quant, to: DatumType) -> Quantize {
    Quantize {
        scale: q.scale.clone(),
        zero_point: q.zero_point.iter().map(|z| *z as i32).collect(),
        axis: q.axis,
        to,
    }
}

pub(crate) fn quantize_or_dequantize(
    ctx: &mut Ctx<'_>,
    op: &OpDesc,
) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let it = ctx.in_tensor(op, 0)?;
    let ot = ctx.out_tensor(op, 0)?;
    let name = if ot.name.is_empty() {
        op.name.to_lowercase()
    } else {
        ot.name.clone()
    };
    let to = ot.dtype.datum_type().context("output type")?;
    let mut y = x;
    if let Some(q) = quant_of(it) {
        y = ctx.wire1(&format!("{name}.dequant"), dequant_op(q), &[y])?;
    } else if it.dtype == DType::F16 {
        y = ctx.cast(&format!("{name}.f32"), y, f32::datum_type())?;
    }
    if let Some(q) = quant_of(ot) {
        y = ctx.cast(&format!("{name}.f32"), y, f32::datum_type())?;
        y = ctx.wire1(&name, quant_op(q, to), &[y])?;
    } else {
        y = ctx.cast(&name, y, to)?;
    }
    Ok(tvec!(y))
}

/// A dedicated integer kernel for this quantized operator, when there is one.
pub(crate) fn integer_kernel(
    ctx: &mut Ctx<'_>,
    op: &OpDesc,
) -> TractResult<Option<TVec<OutletId>>> {
    if B(op.code) == B::FULLY_CONNECTED {
        let it = ctx.in_tensor(op, 0)?;
        let wt = ctx.in_tensor(op, 1)?;
        let ot = ctx.out_tensor(op, 0)?;
        if it.dtype == DType::F32 && ot.dtype == DType::F32 && wt.dtype == DType::I8 {
            return hybrid_fully_connected(ctx, op).map(Some);
        }
    }
    Ok(None)
}

/// Dynamic-range FULLY_CONNECTED: float activations are quantized per row at run
/// time and multiplied with int8 weights in integers, as LiteRT's hybrid kernel does.
fn hybrid_fully_connected(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let name = ctx.out_tensor(op, 0)?.name.clone();
    let x = ctx.input(op, 0)?;
    let wt = ctx.in_tensor(op, 1)?;
    let q = wt
        .quant
        .clone()
        .context("hybrid weights without quantization")?;
    let w = wt.data.clone().context("hybrid weights must be constant")?;
    ensure!(w.rank() == 2, "weights must be rank 2");
    let (o, k) = (w.shape()[0], w.shape()[1]);
    ensure!(
        q.scale.len() == 1 || q.scale.len() == o,
        "weight scales do not match {o} output channels"
    );
    let xs = ctx.shape(x)?;
    let vol: usize = xs.iter().product();
    ensure!(
        k > 0 && vol % k == 0,
        "input {xs:?} cannot be flattened to rows of {k}"
    );
    let rows = vol / k;
    let x2 = ctx.reshape(&format!("{name}.flat"), x, &[rows, k])?;
    let bias = if ctx.has_input(op, 2) {
        let b = ctx.konst(op, 2)?.context("hybrid bias must be constant")?;
        let b = b.cast_to::<f32>()?;
        let v = b.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        ensure!(v.len() == o, "bias length {} differs from {o}", v.len());
        Some(v)
    } else {
        None
    };
    let weights = w
        .cast_to::<i8>()?
        .try_as_plain_ram()?
        .as_slice::<i8>()?
        .to_vec();
    let row_sums = weights
        .chunks(k)
        .map(|r| r.iter().map(|v| *v as i32).sum())
        .collect();
    let kernel = crate::kernels::HybridFc {
        weights: Arc::new(weights),
        row_sums: Arc::new(row_sums),
        scales: q.scale.clone(),
        bias,
        out: o,
        asymmetric: op.options.flags[1],
    };
    let mut y = ctx.wire1(&name, kernel, &[x2])?;
    y = activation(ctx, &name, y, op.options.activation)?;
    if op.options.flags[0] {
        let mut to: Vec<usize> = xs[..xs.len().saturating_sub(1)].to_vec();
        to.push(o);
        y = ctx.reshape(&format!("{name}.keepdims"), y, &to)?;
    }
    Ok(tvec!(y))
}
