//! Dense layers, matrix products, convolutions, pooling and normalization.

use tract_core::internal::*;
use tract_core::ops::change_axes::AxisOp;
use tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_core::ops::einsum::EinSum;
use tract_core::ops::math;
use tract_core::ops::nn::{DataFormat, Reduce, Reducer};
use tract_tflite::tflite::BuiltinOperator as B;

use crate::ir::OpDesc;
use crate::translate::{activation, Ctx};

fn einsum(ctx: &mut Ctx<'_>, name: &str, expr: &str, inputs: &[OutletId]) -> TractResult<OutletId> {
    let axes: AxesMapping = expr.parse()?;
    let dt = ctx.dt(inputs[0])?;
    ensure!(
        dt.is_float(),
        "matrix product of {dt:?} needs a quantized kernel"
    );
    ctx.wire1(name, EinSum::new(axes, dt), inputs)
}

/// FULLY_CONNECTED: `y = x · Wᵀ + b`, with x flattened to [batch, K] unless
/// `keep_num_dims`.
pub(crate) fn fully_connected(
    ctx: &mut Ctx<'_>,
    op: &OpDesc,
    name: &str,
) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let w = ctx.input(op, 1)?;
    let xs = ctx.shape(x)?;
    let ws = ctx.shape(w)?;
    ensure!(ws.len() == 2, "weights must be rank 2, got {ws:?}");
    ensure!(
        op.options.ints[0] == 0,
        "shuffled weight formats are not supported"
    );
    let (o, k) = (ws[0], ws[1]);
    let vol: usize = xs.iter().product();
    ensure!(
        k > 0 && vol.is_multiple_of(k),
        "input {xs:?} cannot be flattened to rows of {k}"
    );
    let b = vol / k;
    let x2 = ctx.reshape(&format!("{name}.flat"), x, &[b, k])?;
    let wdt = ctx.dt(w)?;
    let w = ctx.cast(&format!("{name}.w"), w, ctx.dt(x2)?.max(wdt))?;
    let mut y = einsum(ctx, name, "bk,ok->bo", &[x2, w])?;
    if ctx.has_input(op, 2) {
        let bias = ctx.input(op, 2)?;
        let bias = ctx.cast(&format!("{name}.bias"), bias, ctx.dt(y)?)?;
        y = ctx.binary(&format!("{name}.bias"), Box::new(math::Add), y, bias)?;
    }
    y = activation(ctx, name, y, op.options.activation)?;
    if op.options.flags[0] {
        let mut to: Vec<usize> = xs[..xs.len().saturating_sub(1)].to_vec();
        to.push(o);
        y = ctx.reshape(&format!("{name}.keepdims"), y, &to)?;
    }
    Ok(tvec!(y))
}

/// BATCH_MATMUL with numpy broadcasting of the batch dimensions.
pub(crate) fn batch_matmul(
    ctx: &mut Ctx<'_>,
    op: &OpDesc,
    name: &str,
) -> TractResult<TVec<OutletId>> {
    let mut a = ctx.input(op, 0)?;
    let mut b = ctx.input(op, 1)?;
    let (adj_a, adj_b) = (op.options.flags[0], op.options.flags[1]);
    let sa = ctx.shape(a)?;
    let sb = ctx.shape(b)?;
    ensure!(
        sa.len() >= 2 && sb.len() >= 2,
        "BATCH_MATMUL needs rank >= 2"
    );
    let rank = sa.len().max(sb.len());
    ensure!(rank <= 8, "BATCH_MATMUL rank too large");
    let letters = ['a', 'b', 'c', 'd', 'e', 'f'];
    let batch_a = &sa[..sa.len() - 2];
    let batch_b = &sb[..sb.len() - 2];
    let nb = rank - 2;
    let mut ea = String::new();
    let mut eb = String::new();
    let mut eo = String::new();
    // Drop size-1 batch axes that the other side broadcasts, so the einsum sees each
    // batch axis either on both sides with the same size, or on one side only.
    let mut rm_a = vec![];
    let mut rm_b = vec![];
    for (i, &l) in letters.iter().enumerate().take(nb) {
        let da = (i + batch_a.len()).checked_sub(nb).map(|j| batch_a[j]);
        let db = (i + batch_b.len()).checked_sub(nb).map(|j| batch_b[j]);
        match (da, db) {
            (Some(x), Some(y)) if x == y => {
                ea.push(l);
                eb.push(l);
            }
            (Some(x), Some(1)) => {
                ea.push(l);
                rm_b.push(i + batch_b.len() - nb);
                let _ = x;
            }
            (Some(1), Some(_)) => {
                eb.push(l);
                rm_a.push(i + batch_a.len() - nb);
            }
            (Some(_), None) => ea.push(l),
            (None, Some(_)) => eb.push(l),
            (x, y) => bail!("batch dimensions {x:?} and {y:?} do not broadcast"),
        }
        eo.push(l);
    }
    for ax in rm_a.iter().rev() {
        a = ctx.wire1(&format!("{name}.a"), AxisOp::Rm(*ax), &[a])?;
    }
    for ax in rm_b.iter().rev() {
        b = ctx.wire1(&format!("{name}.b"), AxisOp::Rm(*ax), &[b])?;
    }
    ea.push_str(if adj_a { "km" } else { "mk" });
    eb.push_str(if adj_b { "nk" } else { "kn" });
    eo.push_str("mn");
    let (ka, kb) = (
        if adj_a {
            sa[sa.len() - 2]
        } else {
            sa[sa.len() - 1]
        },
        if adj_b {
            sb[sb.len() - 1]
        } else {
            sb[sb.len() - 2]
        },
    );
    ensure!(ka == kb, "inner dimensions differ: {sa:?} x {sb:?}");
    let dt = ctx.dt(a)?;
    let b = ctx.cast(&format!("{name}.b"), b, dt)?;
    Ok(tvec!(einsum(
        ctx,
        name,
        &format!("{ea},{eb}->{eo}"),
        &[a, b]
    )?))
}

/// Most window positions x window elements a convolution or pooling may visit:
/// ~2^28, a few seconds (crafted 4096 x 4096 windows ran for minutes).
const MAX_WINDOW_WORK: usize = 1 << 28;

fn padding(p: i32) -> TractResult<PaddingSpec> {
    Ok(match p {
        0 => PaddingSpec::SameUpper,
        1 => PaddingSpec::Valid,
        p => bail!("unknown padding {p}"),
    })
}

fn positive(v: i32, what: &str) -> TractResult<usize> {
    ensure!((1..=4096).contains(&v), "{what} {v} out of range");
    Ok(v as usize)
}

/// CONV_2D (filter OHWI) and DEPTHWISE_CONV_2D (filter 1HW(C·M)), NHWC.
pub(crate) fn conv(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let w = ctx.input(op, 1)?;
    let xs = ctx.shape(x)?;
    let ws = ctx.shape(w)?;
    ensure!(
        xs.len() == 4 && ws.len() == 4,
        "CONV needs rank-4 input and filter"
    );
    ensure!(
        xs.iter().all(|d| *d > 0),
        "convolution of an empty input {xs:?}"
    );
    let o = &op.options.ints;
    let depthwise = B(op.code) == B::DEPTHWISE_CONV_2D;
    let c = xs[3];
    let (out_c, group) = if depthwise {
        ensure!(
            ws[0] == 1,
            "depthwise filter must be [1, H, W, C*M], got {ws:?}"
        );
        let m = ws[3];
        ensure!(
            c > 0 && m % c == 0,
            "depthwise filter channels {m} not a multiple of {c}"
        );
        (m, c)
    } else {
        ensure!(
            ws[3] > 0 && c % ws[3] == 0,
            "filter input channels {} do not divide {c}",
            ws[3]
        );
        (ws[0], c / ws[3])
    };
    // an empty input channel axis made `group` 0 (remainder by zero, found by fuzzing)
    ensure!(
        group > 0 && out_c % group == 0,
        "output channels do not divide into groups"
    );
    let (kh, kw) = (ws[1], ws[2]);
    ensure!(kh > 0 && kw > 0, "empty filter {ws:?}");
    let strides = [positive(o[1], "stride")?, positive(o[2], "stride")?];
    let dilations = [positive(o[3], "dilation")?, positive(o[4], "dilation")?];
    let dt = ctx.dt(x)?;
    let w = ctx.cast(&format!("{name}.w"), w, dt)?;
    let bias = if ctx.has_input(op, 2) {
        let b = ctx.input(op, 2)?;
        ctx.cast(&format!("{name}.bias"), b, dt)?
    } else {
        ctx.konst_wire(&format!("{name}.bias"), Tensor::zero_dt(dt, &[out_c])?)?
    };
    if depthwise {
        // tract's grouped convolution disagrees with TFLite for channel multipliers
        // above 1, so depthwise runs on a direct kernel of ours.
        ensure!(dt == f32::datum_type(), "depthwise convolution of {dt:?}");
        let dw = crate::kernels::DepthwiseConv {
            same: o[0] == 0,
            strides,
            dilations,
        };
        let y = ctx.wire1(name, dw, &[x, w, bias])?;
        return Ok(tvec!(activation(ctx, name, y, op.options.activation)?));
    }
    // work (and tract's im2col buffer) grows with output size x window x channels
    let mut work = xs[0] * (c / group.max(1));
    for (i, k, ax) in [(1usize, kh, 0usize), (2, kw, 1)] {
        let (out, _) =
            crate::kernels::conv_geometry(xs[i], k, strides[ax], dilations[ax], o[0] == 0);
        ensure!(out > 0, "convolution window larger than the input {xs:?}");
        work = work.saturating_mul(out).saturating_mul(k);
    }
    ensure!(
        work <= MAX_WINDOW_WORK,
        "convolution of {xs:?} with filter {ws:?} is too expensive"
    );
    let pool_spec = PoolSpec {
        data_format: DataFormat::NHWC,
        kernel_shape: tvec!(kh, kw),
        padding: padding(o[0])?,
        dilations: Some(tvec!(dilations[0], dilations[1])),
        strides: Some(tvec!(strides[0], strides[1])),
        input_channels: c,
        output_channels: out_c,
    };
    let conv = Conv {
        pool_spec,
        kernel_fmt: KernelFormat::OHWI,
        group,
        q_params: None,
    };
    let y = ctx.wire1(name, conv, &[x, w, bias])?;
    Ok(tvec!(activation(ctx, name, y, op.options.activation)?))
}

/// MAX_POOL_2D and AVERAGE_POOL_2D (padding excluded from averages, as TFLite does).
pub(crate) fn pool(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let xs = ctx.shape(x)?;
    ensure!(xs.len() == 4, "pooling needs a rank-4 NHWC input");
    // tract's pooling kernels split rows into chunks of the channel count (a 0 chunk
    // size panics; found by fuzzing)
    ensure!(
        xs.iter().all(|d| *d > 0),
        "pooling over an empty input {xs:?}"
    );
    let o = &op.options.ints;
    let pool_spec = PoolSpec {
        data_format: DataFormat::NHWC,
        kernel_shape: tvec!(
            positive(o[3], "filter height")?,
            positive(o[4], "filter width")?
        ),
        padding: padding(o[0])?,
        dilations: None,
        strides: Some(tvec!(positive(o[1], "stride")?, positive(o[2], "stride")?)),
        input_channels: xs[3],
        output_channels: xs[3],
    };
    // tract's max pooling splits its output into rows: an empty output (a VALID
    // window larger than the input) panics on a 0 chunk size (found by fuzzing)
    let mut work = xs[0] * xs[3];
    for (i, ax) in [(1usize, 0usize), (2, 1)] {
        let (out, _) = crate::kernels::conv_geometry(
            xs[i],
            pool_spec.kernel_shape[ax],
            pool_spec.strides.as_ref().map(|s| s[ax]).unwrap_or(1),
            1,
            o[0] == 0,
        );
        ensure!(out > 0, "pooling window larger than the input {xs:?}");
        work = work
            .saturating_mul(out)
            .saturating_mul(pool_spec.kernel_shape[ax]);
    }
    // a 4096 x 4096 window with SAME padding on a small input is valid but costs
    // minutes (found by fuzzing)
    ensure!(
        work <= MAX_WINDOW_WORK,
        "pooling of {xs:?} with a {:?} window is too expensive",
        pool_spec.kernel_shape
    );
    let y = if B(op.code) == B::MAX_POOL_2D {
        ctx.wire1(
            name,
            MaxPool {
                pool_spec,
                with_index_outputs: None,
            },
            &[x],
        )?
    } else {
        ensure!(
            ctx.dt(x)?.is_float(),
            "integer average pooling needs a quantized kernel"
        );
        ctx.wire1(
            name,
            SumPool {
                pool_spec,
                count_include_pad: false,
                normalize: true,
            },
            &[x],
        )?
    };
    Ok(tvec!(activation(ctx, name, y, op.options.activation)?))
}

/// L2_NORMALIZATION over the last axis: `x / max(sqrt(Σx²), 1e-6)`.
pub(crate) fn l2_normalization(
    ctx: &mut Ctx<'_>,
    op: &OpDesc,
    name: &str,
) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let rank = ctx.rank(x)?;
    ensure!(rank >= 1, "L2_NORMALIZATION on a scalar");
    ensure!(
        ctx.shape(x)?[rank - 1] > 0,
        "L2_NORMALIZATION over an empty axis"
    );
    let sq = ctx.unary(&format!("{name}.sq"), math::square(), x)?;
    let s = ctx.wire1(
        &format!("{name}.sum"),
        Reduce {
            axes: tvec!(rank - 1),
            reducer: Reducer::Sum,
        },
        &[sq],
    )?;
    let n = ctx.unary(&format!("{name}.sqrt"), math::sqrt(), s)?;
    let eps = ctx.scalar_like(&format!("{name}.eps"), n, 1e-6)?;
    let n = ctx.binary(&format!("{name}.clamp"), Box::new(math::Max), n, eps)?;
    let y = ctx.binary(name, Box::new(math::Div), x, n)?;
    Ok(tvec!(activation(ctx, name, y, op.options.activation)?))
}
