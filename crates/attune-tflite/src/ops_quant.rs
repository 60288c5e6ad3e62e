//! QUANTIZE / DEQUANTIZE and integer kernels that reproduce LiteRT's arithmetic.

use std::sync::Arc;

use tract_core::internal::*;
use tract_tflite::tflite::BuiltinOperator as B;

use crate::ir::{DType, OpDesc, Quant};
use crate::kernels::{
    Dequantize, HybridFc, HybridQuantizeRows, HybridRescale, Quantize, HYBRID_EXACT_MAX_K,
};
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

/// Wires a dynamic-range matrix product of `x` [rows, K] with int8 weights [N, K]:
/// through tract's f32 matmul when that is exact (see [`HybridQuantizeRows`]), else
/// through the integer loop of [`HybridFc`].
#[allow(clippy::too_many_arguments)] // one call per hybrid operator kind; a struct would only rename them
fn wire_hybrid(
    ctx: &mut Ctx<'_>,
    name: &str,
    x2: OutletId,
    weights: Vec<i8>,
    n: usize,
    k: usize,
    scales: Vec<f32>,
    bias: Option<Vec<f32>>,
    asymmetric: bool,
) -> TractResult<OutletId> {
    let row_sums: Vec<i32> = weights
        .chunks(k.max(1))
        .map(|r| r.iter().map(|v| *v as i32).sum())
        .collect();
    if k > HYBRID_EXACT_MAX_K {
        let kernel = HybridFc {
            weights: Arc::new(weights),
            row_sums: Arc::new(row_sums),
            scales,
            bias,
            out: n,
            asymmetric,
        };
        return ctx.wire1(name, kernel, &[x2]);
    }
    let q = ctx.wire(
        &format!("{name}.quantize_rows"),
        HybridQuantizeRows { asymmetric },
        &[x2],
    )?;
    let wf: Vec<f32> = weights.iter().map(|v| *v as f32).collect();
    let w = ctx.konst_wire(
        &format!("{name}.weights"),
        Tensor::from_shape(&[n, k], &wf)?,
    )?;
    let axes: AxesMapping = "bk,ok->bo".parse()?;
    let einsum = tract_core::ops::einsum::EinSum::new(axes, f32::datum_type());
    let dots = ctx.wire1(&format!("{name}.dots"), einsum, &[q[0], w])?;
    ctx.wire1(
        name,
        HybridRescale {
            row_sums: Arc::new(row_sums),
            scales,
            bias,
        },
        &[dots, q[1]],
    )
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
    if B(op.code) == B::BATCH_MATMUL {
        let it = ctx.in_tensor(op, 0)?;
        let wt = ctx.in_tensor(op, 1)?;
        let ot = ctx.out_tensor(op, 0)?;
        if it.dtype == DType::F32
            && ot.dtype == DType::F32
            && wt.dtype == DType::I8
            && wt.data.is_some()
        {
            return hybrid_batch_matmul(ctx, op).map(Some);
        }
    }
    Ok(None)
}

/// Dynamic-range BATCH_MATMUL with a constant int8 right-hand side: each row of the
/// left-hand side is quantized at run time, like LiteRT's hybrid kernel.
fn hybrid_batch_matmul(ctx: &mut Ctx<'_>, op: &OpDesc) -> TractResult<TVec<OutletId>> {
    let name = ctx.out_tensor(op, 0)?.name.clone();
    ensure!(
        !op.options.flags[0],
        "hybrid BATCH_MATMUL with adj_x is not supported"
    );
    let x = ctx.input(op, 0)?;
    let wt = ctx.in_tensor(op, 1)?;
    let q = wt
        .quant
        .clone()
        .context("hybrid weights without quantization")?;
    ensure!(
        q.scale.len() == 1,
        "per-channel hybrid BATCH_MATMUL is not supported"
    );
    let w = wt.data.clone().context("hybrid weights must be constant")?;
    let ws = w.shape().to_vec();
    ensure!(
        ws.len() >= 2,
        "hybrid BATCH_MATMUL needs a rank >= 2 right-hand side"
    );
    let (r0, r1) = (ws[ws.len() - 2], ws[ws.len() - 1]);
    let batches: usize = ws[..ws.len() - 2].iter().product();
    let w8 = w
        .cast_to::<i8>()?
        .try_as_plain_ram()?
        .as_slice::<i8>()?
        .to_vec();
    let (n, k) = if op.options.flags[1] {
        (r0, r1)
    } else {
        (r1, r0)
    };
    let xs = ctx.shape(x)?;
    ensure!(
        xs.len() >= 2 && xs[xs.len() - 1] == k,
        "inner dimensions differ: {xs:?} x {ws:?}"
    );
    // One slice of the left-hand side per weight matrix: all rows when the weights are
    // unbatched, else the matching leading batch index.
    let slices: Vec<(OutletId, Vec<usize>)> = if batches == 1 {
        vec![(x, xs[..xs.len() - 1].to_vec())]
    } else {
        ensure!(
            xs.len() == ws.len() && xs[..xs.len() - 2] == ws[..ws.len() - 2] && ws.len() == 3,
            "hybrid BATCH_MATMUL batch dimensions {xs:?} x {ws:?} are not supported"
        );
        (0..batches)
            .map(|b| {
                let s = ctx.wire1(
                    &format!("{name}.lhs{b}"),
                    tract_core::ops::array::Slice::new(0, b, b + 1),
                    &[x],
                )?;
                Ok((
                    s,
                    xs[..xs.len() - 1]
                        .iter()
                        .enumerate()
                        .map(|(i, d)| if i == 0 { 1 } else { *d })
                        .collect(),
                ))
            })
            .collect::<TractResult<_>>()?
    };
    let mut outs = vec![];
    for (b, (lhs, lead)) in slices.into_iter().enumerate() {
        let mat = &w8[b * r0 * r1..(b + 1) * r0 * r1];
        // weights as [N, K]
        let weights: Vec<i8> = if op.options.flags[1] {
            mat.to_vec()
        } else {
            let mut t = vec![0i8; r0 * r1];
            for kk in 0..r0 {
                for nn in 0..r1 {
                    t[nn * r0 + kk] = mat[kk * r1 + nn];
                }
            }
            t
        };
        let rows: usize = lead.iter().product();
        let x2 = ctx.reshape(&format!("{name}.flat{b}"), lhs, &[rows, k])?;
        let y = wire_hybrid(
            ctx,
            &format!("{name}.{b}"),
            x2,
            weights,
            n,
            k,
            q.scale.clone(),
            None,
            op.options.flags[2],
        )?;
        let mut to = lead.clone();
        to.push(n);
        outs.push(ctx.reshape(&format!("{name}.shape{b}"), y, &to)?);
    }
    if outs.len() == 1 {
        return Ok(tvec!(outs[0]));
    }
    Ok(tvec!(ctx.wire1(
        &name,
        tract_core::ops::array::TypedConcat { axis: 0 },
        &outs
    )?))
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
        k > 0 && vol.is_multiple_of(k),
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
    let mut y = wire_hybrid(
        ctx,
        &name,
        x2,
        weights,
        o,
        k,
        q.scale.clone(),
        bias,
        op.options.flags[1],
    )?;
    y = activation(ctx, &name, y, op.options.activation)?;
    if op.options.flags[0] {
        let mut to: Vec<usize> = xs[..xs.len().saturating_sub(1)].to_vec();
        to.push(o);
        y = ctx.reshape(&format!("{name}.keepdims"), y, &to)?;
    }
    Ok(tvec!(y))
}
