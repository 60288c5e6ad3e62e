//! Shape, indexing, reduction and selection operators.

use tract_core::internal::*;
use tract_core::ops::change_axes::AxisOp;
use tract_core::ops::nn::{Reduce, Reducer};
use tract_core::ops::{array, logic, math};
use tract_tflite::tflite::BuiltinOperator as B;

use crate::ir::OpDesc;
use crate::kernels;
use crate::translate::{check_broadcast, check_size, norm_axis, volume, Ctx};

pub(crate) fn translate(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let o = &op.options;
    match B(op.code) {
        B::RESHAPE => {
            let x = ctx.input(op, 0)?;
            let from = ctx.shape(x)?;
            let spec: Vec<i64> = if ctx.has_input(op, 1) {
                ctx.konst_i64(op, 1, "the new shape")?
            } else if let Some(l) = &o.list {
                l.iter().map(|v| *v as i64).collect()
            } else {
                // No shape at all: the output tensor's declared shape.
                ctx.out_tensor(op, 0)?
                    .shape
                    .iter()
                    .map(|d| *d as i64)
                    .collect()
            };
            let to = resolve_reshape(&from, &spec)?;
            Ok(tvec!(ctx.reshape(name, x, &to)?))
        }
        B::SQUEEZE => {
            let x = ctx.input(op, 0)?;
            let shape = ctx.shape(x)?;
            let mut axes: Vec<usize> = match &o.list {
                Some(l) if !l.is_empty() => l
                    .iter()
                    .map(|a| norm_axis(*a as i64, shape.len()))
                    .collect::<TractResult<_>>()?,
                _ => (0..shape.len()).filter(|a| shape[*a] == 1).collect(),
            };
            axes.sort_unstable();
            axes.dedup();
            let mut x = x;
            for a in axes.into_iter().rev() {
                ensure!(
                    shape[a] == 1,
                    "cannot squeeze axis {a} of size {}",
                    shape[a]
                );
                x = ctx.wire1(name, AxisOp::Rm(a), &[x])?;
            }
            Ok(tvec!(x))
        }
        B::EXPAND_DIMS => {
            let x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            let axis = *ctx
                .konst_i64(op, 1, "the axis")?
                .first()
                .context("empty axis")?;
            let axis = norm_axis(axis, rank + 1)?;
            Ok(tvec!(ctx.wire1(name, AxisOp::Add(axis), &[x])?))
        }
        B::TRANSPOSE => {
            let x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            let perm: Vec<usize> = ctx
                .konst_i64(op, 1, "the permutation")?
                .iter()
                .map(|p| norm_axis(*p, rank))
                .collect::<TractResult<_>>()?;
            Ok(tvec!(transpose(ctx, name, x, &perm)?))
        }
        B::SLICE => {
            let x = ctx.input(op, 0)?;
            let shape = ctx.shape(x)?;
            let begin = ctx.konst_i64(op, 1, "begin")?;
            let size = ctx.konst_i64(op, 2, "size")?;
            ensure!(
                begin.len() == shape.len() && size.len() == shape.len(),
                "begin/size rank mismatch"
            );
            let mut x = x;
            for ax in 0..shape.len() {
                let b = begin[ax];
                let e = if size[ax] < 0 {
                    shape[ax] as i64
                } else {
                    b.checked_add(size[ax]).context("slice size overflows")?
                };
                ensure!(
                    0 <= b && b <= e && e <= shape[ax] as i64,
                    "slice [{b}, {e}) out of range for axis {ax} of size {}",
                    shape[ax]
                );
                if b != 0 || e != shape[ax] as i64 {
                    x = ctx.wire1(name, array::Slice::new(ax, b as usize, e as usize), &[x])?;
                }
            }
            Ok(tvec!(x))
        }
        B::STRIDED_SLICE => strided_slice(ctx, op, name),
        B::SPLIT | B::SPLIT_V => {
            let (x, axis, sizes) = if B(op.code) == B::SPLIT {
                let x = ctx.input(op, 1)?;
                let rank = ctx.rank(x)?;
                let axis = norm_axis(
                    *ctx.konst_i64(op, 0, "the axis")?.first().context("axis")?,
                    rank,
                )?;
                let dim = ctx.shape(x)?[axis];
                let n = o.num.max(1) as usize;
                // one output per part: a crafted num_splits of 2^31 on an empty axis
                // asked for billions of slices
                ensure!(
                    n == op.outputs.len(),
                    "SPLIT into {n} parts with {} outputs",
                    op.outputs.len()
                );
                ensure!(dim % n == 0, "cannot split {dim} into {n} equal parts");
                (x, axis, vec![(dim / n) as i64; n])
            } else {
                let x = ctx.input(op, 0)?;
                let rank = ctx.rank(x)?;
                let axis = norm_axis(
                    *ctx.konst_i64(op, 2, "the axis")?.first().context("axis")?,
                    rank,
                )?;
                let dim = ctx.shape(x)?[axis] as i64;
                let mut sizes = ctx.konst_i64(op, 1, "the sizes")?;
                ensure!(
                    sizes.len() == op.outputs.len(),
                    "SPLIT_V into {} parts with {} outputs",
                    sizes.len(),
                    op.outputs.len()
                );
                let known: i64 = sizes
                    .iter()
                    .filter(|s| **s >= 0)
                    .try_fold(0i64, |a, s| a.checked_add(*s))
                    .context("SPLIT_V sizes overflow")?;
                let unknown = sizes.iter().filter(|s| **s < 0).count();
                ensure!(unknown <= 1, "more than one -1 in SPLIT_V sizes");
                for s in sizes.iter_mut() {
                    if *s < 0 {
                        *s = dim - known;
                    }
                }
                ensure!(
                    sizes.iter().all(|s| *s >= 0)
                        && sizes.iter().try_fold(0i64, |a, s| a.checked_add(*s)) == Some(dim),
                    "SPLIT_V sizes {sizes:?} do not add up to {dim}"
                );
                (x, axis, sizes)
            };
            let mut outs = tvec!();
            let mut start = 0usize;
            for s in sizes {
                let end = start + s as usize;
                outs.push(ctx.wire1(name, array::Slice::new(axis, start, end), &[x])?);
                start = end;
            }
            Ok(outs)
        }
        B::PACK => {
            let n = op.inputs.len();
            ensure!(n >= 1, "PACK needs inputs");
            let first = ctx.input(op, 0)?;
            let rank = ctx.rank(first)?;
            let axis = norm_axis(o.axis as i64, rank + 1)?;
            let mut parts = vec![];
            for i in 0..n {
                let x = ctx.input(op, i)?;
                parts.push(ctx.wire1(&format!("{name}.{i}"), AxisOp::Add(axis), &[x])?);
            }
            same_shapes_except(ctx, &parts, axis)?;
            Ok(tvec!(ctx.wire1(
                name,
                array::TypedConcat { axis },
                &parts
            )?))
        }
        B::UNPACK => {
            let x = ctx.input(op, 0)?;
            let shape = ctx.shape(x)?;
            let axis = norm_axis(o.axis as i64, shape.len())?;
            // one output per slice: unpacking a 2^20 axis wired 2^21 nodes and ran
            // for minutes (found by fuzzing)
            ensure!(
                shape[axis] == op.outputs.len(),
                "UNPACK of {} slices with {} outputs",
                shape[axis],
                op.outputs.len()
            );
            let mut outs = tvec!();
            for i in 0..shape[axis] {
                let s = ctx.wire1(
                    &format!("{name}.{i}"),
                    array::Slice::new(axis, i, i + 1),
                    &[x],
                )?;
                outs.push(ctx.wire1(&format!("{name}.{i}"), AxisOp::Rm(axis), &[s])?);
            }
            Ok(outs)
        }
        B::TILE => {
            let x = ctx.input(op, 0)?;
            let m = ctx.konst_i64(op, 1, "the multiples")?;
            ensure!(
                m.len() == ctx.rank(x)? && m.iter().all(|v| *v >= 0),
                "bad TILE multiples {m:?}"
            );
            let out: Vec<usize> = ctx
                .shape(x)?
                .iter()
                .zip(&m)
                .map(|(d, k)| usize::try_from(*k).ok().and_then(|k| d.checked_mul(k)))
                .collect::<Option<_>>()
                .context("TILE multiples overflow")?;
            check_size(&out, ctx.dt(x)?, "TILE output")?;
            let op = array::Tile {
                multipliers: m.iter().map(|v| (*v as usize).to_dim()).collect(),
            };
            Ok(tvec!(ctx.wire1(name, op, &[x])?))
        }
        B::BROADCAST_TO => {
            let x = ctx.input(op, 0)?;
            let shape: Vec<usize> = ctx
                .konst_i64(op, 1, "the shape")?
                .iter()
                .map(|v| usize::try_from(*v).unwrap_or(0))
                .collect();
            Ok(tvec!(broadcast_to(ctx, name, x, &shape)?))
        }
        B::PAD | B::PADV2 => {
            let x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            let p = ctx.konst_i64(op, 1, "the paddings")?;
            ensure!(
                p.len() == 2 * rank && p.iter().all(|v| *v >= 0),
                "bad paddings {p:?}"
            );
            let pads: Vec<(usize, usize)> = (0..rank)
                .map(|i| (p[2 * i] as usize, p[2 * i + 1] as usize))
                .collect();
            let out: Vec<usize> = ctx
                .shape(x)?
                .iter()
                .zip(&pads)
                .map(|(d, (a, b))| d.checked_add(*a)?.checked_add(*b))
                .collect::<Option<_>>()
                .context("paddings overflow")?;
            check_size(&out, ctx.dt(x)?, "PAD output")?;
            let dt = ctx.dt(x)?;
            let value = if B(op.code) == B::PADV2 && ctx.has_input(op, 2) {
                ctx.konst(op, 2)?
                    .context("PADV2 value must be a constant")?
                    .cast_to_dt(dt)?
                    .into_owned()
            } else if let Some(q) = ctx.q_out(op, 0) {
                tensor0(q.zero_point[0]).cast_to_dt(dt)?.into_owned()
            } else {
                Tensor::zero_scalar_dt(dt)?
            };
            let value = value.into_shape(&[])?;
            let op = array::Pad {
                pads,
                mode: array::PadMode::Constant(value.into_arc_tensor()),
            };
            Ok(tvec!(ctx.wire1(name, op, &[x])?))
        }
        B::SHAPE => {
            let x = ctx.input(op, 0)?;
            let shape: Vec<i64> = ctx.shape(x)?.iter().map(|d| *d as i64).collect();
            let dt = ctx
                .out_tensor(op, 0)?
                .dtype
                .datum_type()
                .context("SHAPE output type")?;
            let t = tensor1(&shape).cast_to_dt(dt)?.into_owned();
            Ok(tvec!(ctx.konst_wire(name, t)?))
        }
        B::FILL if ctx.konst(op, 0)?.is_none() => {
            let d = ctx.input(op, 0)?;
            let rank = *ctx.shape(d)?.first().unwrap_or(&0);
            ensure!(rank <= 8, "FILL rank {rank} too large");
            let dims = (0..rank)
                .map(|_| ctx.target.symbols.new_with_prefix("fill").to_dim())
                .collect();
            let v = ctx.input(op, 1)?;
            let dt = ctx.dt(v)?;
            let op = kernels::DataDependent {
                kind: kernels::DataDependentKind::Fill,
                dims,
                dt,
            };
            Ok(tvec!(ctx.wire1(name, op, &[d, v])?))
        }
        B::FILL => {
            let dims: Vec<usize> = ctx
                .konst_i64(op, 0, "the dims")?
                .iter()
                .map(|v| (*v).max(0) as usize)
                .collect();
            ensure!(
                volume(&dims).is_some_and(|v| v <= 1 << 28),
                "FILL of {dims:?} is too large"
            );
            let v = ctx.input(op, 1)?;
            ensure!(ctx.rank(v)? == 0, "FILL value must be a scalar");
            Ok(tvec!(broadcast_to(ctx, name, v, &dims)?))
        }
        B::ZEROS_LIKE => {
            let x = ctx.input(op, 0)?;
            let shape = ctx.shape(x)?;
            check_size(&shape, ctx.dt(x)?, "ZEROS_LIKE output")?;
            let t = Tensor::zero_dt(ctx.dt(x)?, &shape)?;
            Ok(tvec!(ctx.konst_wire(name, t)?))
        }
        B::RANGE if (0..3).any(|i| ctx.konst(op, i).map(|k| k.is_none()).unwrap_or(true)) => {
            let dt = ctx
                .out_tensor(op, 0)?
                .dtype
                .datum_type()
                .context("RANGE type")?;
            let dims = tvec!(ctx.target.symbols.new_with_prefix("range").to_dim());
            let inputs = [ctx.input(op, 0)?, ctx.input(op, 1)?, ctx.input(op, 2)?];
            let op = kernels::DataDependent {
                kind: kernels::DataDependentKind::Range,
                dims,
                dt,
            };
            Ok(tvec!(ctx.wire1(name, op, &inputs)?))
        }
        B::RANGE => {
            let dt = ctx
                .out_tensor(op, 0)?
                .dtype
                .datum_type()
                .context("RANGE type")?;
            let k = |ctx: &mut Ctx<'_>, i: usize| -> TractResult<f64> {
                let t = ctx
                    .konst(op, i)?
                    .context("RANGE needs constant start, limit and delta")?;
                ensure!(t.len() == 1, "RANGE arguments must be scalars");
                t.cast_to_scalar::<f64>()
            };
            let (start, limit, delta) = (k(ctx, 0)?, k(ctx, 1)?, k(ctx, 2)?);
            ensure!(
                delta != 0.0 && delta.is_finite(),
                "RANGE delta must be non-zero"
            );
            let n = ((limit - start) / delta).ceil().max(0.0);
            ensure!(
                n <= (1u64 << 26) as f64,
                "RANGE of {n} elements is too large"
            );
            let v: Vec<f64> = (0..n as usize).map(|i| start + i as f64 * delta).collect();
            let t = tensor1(&v).cast_to_dt(dt)?.into_owned();
            Ok(tvec!(ctx.konst_wire(name, t)?))
        }
        B::CAST => {
            let x = ctx.input(op, 0)?;
            let to = ctx
                .out_tensor(op, 0)?
                .dtype
                .datum_type()
                .context("CAST output type")?;
            Ok(tvec!(ctx.cast(name, x, to)?))
        }
        B::MEAN | B::SUM | B::REDUCE_MAX | B::REDUCE_MIN | B::REDUCE_PROD => reduce(ctx, op, name),
        B::CUMSUM => {
            let x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            let axis = norm_axis(
                *ctx.konst_i64(op, 1, "the axis")?.first().context("axis")?,
                rank,
            )?;
            let op = array::CumSum {
                axis,
                exclusive: o.flags[0],
                reverse: o.flags[1],
            };
            Ok(tvec!(ctx.wire1(name, op, &[x])?))
        }
        B::TOPK_V2 => {
            let x = ctx.input(op, 0)?;
            let shape = ctx.shape(x)?;
            let k = *ctx.konst_i64(op, 1, "k")?.first().context("k")?;
            let n = *shape.last().context("TOPK_V2 on a scalar")?;
            ensure!(
                k >= 0 && k as usize <= n,
                "TOPK_V2 k={k} out of range for {n} values"
            );
            let index_dt = ctx
                .out_tensor(op, 1)?
                .dtype
                .datum_type()
                .context("index type")?;
            Ok(ctx.wire(
                name,
                kernels::TopK {
                    k: k as usize,
                    index_dt,
                },
                &[x],
            )?)
        }
        B::ARG_MAX | B::ARG_MIN => {
            let x = ctx.input(op, 0)?;
            let rank = ctx.rank(x)?;
            let axis = norm_axis(
                *ctx.konst_i64(op, 1, "the axis")?.first().context("axis")?,
                rank,
            )?;
            ensure!(ctx.shape(x)?[axis] > 0, "arg max/min over an empty axis");
            let reducer = if B(op.code) == B::ARG_MAX {
                Reducer::ArgMax(false)
            } else {
                Reducer::ArgMin(false)
            };
            let r = ctx.wire1(
                name,
                Reduce {
                    axes: tvec!(axis),
                    reducer,
                },
                &[x],
            )?;
            let r = ctx.wire1(name, AxisOp::Rm(axis), &[r])?;
            let to = ctx
                .out_tensor(op, 0)?
                .dtype
                .datum_type()
                .context("output type")?;
            Ok(tvec!(ctx.cast(name, r, to)?))
        }
        B::SELECT | B::SELECT_V2 | B::WHERE => {
            if op.inputs.len() == 1 {
                let c = ctx.input(op, 0)?;
                let rank = ctx.rank(c)?;
                let dt = ctx
                    .out_tensor(op, 0)?
                    .dtype
                    .datum_type()
                    .context("WHERE type")?;
                let dims = tvec!(
                    ctx.target.symbols.new_with_prefix("where").to_dim(),
                    rank.to_dim()
                );
                let op = kernels::DataDependent {
                    kind: kernels::DataDependentKind::Where,
                    dims,
                    dt,
                };
                return Ok(tvec!(ctx.wire1(name, op, &[c])?));
            }
            let mut c = ctx.input(op, 0)?;
            let a = ctx.input(op, 1)?;
            let b = ctx.input(op, 2)?;
            let (sc, sa) = (ctx.shape(c)?, ctx.shape(a)?);
            if B(op.code) == B::SELECT && sc.len() == 1 && sa.len() > 1 && sc[0] == sa[0] {
                // SELECT v1: a rank-1 condition picks whole rows.
                for ax in 1..sa.len() {
                    c = ctx.wire1(&format!("{name}.cond"), AxisOp::Add(ax), &[c])?;
                }
            }
            let (fc, fa, fb) = (ctx.fact(c)?, ctx.fact(a)?, ctx.fact(b)?);
            check_broadcast(&fc.shape, &fa.shape)?;
            check_broadcast(&fc.shape, &fb.shape)?;
            check_broadcast(&fa.shape, &fb.shape)?;
            ensure!(
                fa.datum_type == fb.datum_type,
                "SELECT branches differ in type"
            );
            let wires = tract_core::ops::change_axes::wire_rank_broadcast(
                name,
                &mut ctx.target,
                &[c, a, b],
            )?;
            Ok(tvec!(ctx.wire1(name, logic::Iff, &wires)?))
        }
        B::GATHER => {
            let data = ctx.input(op, 0)?;
            let idx = ctx.input(op, 1)?;
            let rank = ctx.rank(data)?;
            let axis = norm_axis(o.axis as i64, rank)?;
            let irank = ctx.rank(idx)? as i64;
            let bd = if o.ints[0] < 0 {
                o.ints[0] as i64 + irank
            } else {
                o.ints[0] as i64
            };
            ensure!(
                bd >= 0 && bd as usize <= axis,
                "bad batch_dims {}",
                o.ints[0]
            );
            Ok(tvec!(ctx.wire1(
                name,
                kernels::Gather {
                    axis,
                    batch_dims: bd as usize
                },
                &[data, idx]
            )?))
        }
        B::EMBEDDING_LOOKUP => {
            let idx = ctx.input(op, 0)?;
            let table = ctx.input(op, 1)?;
            Ok(tvec!(ctx.wire1(
                name,
                kernels::Gather {
                    axis: 0,
                    batch_dims: 0
                },
                &[table, idx]
            )?))
        }
        B::GATHER_ND => {
            let data = ctx.input(op, 0)?;
            let idx = ctx.input(op, 1)?;
            let ds = ctx.shape(data)?;
            let is = ctx.shape(idx)?;
            let last = *is.last().context("GATHER_ND indices must have rank >= 1")?;
            ensure!(
                last <= ds.len(),
                "GATHER_ND index depth {last} exceeds data rank {}",
                ds.len()
            );
            Ok(tvec!(ctx.wire1(name, kernels::GatherNd, &[data, idx])?))
        }
        B::ONE_HOT => {
            let idx = ctx.input(op, 0)?;
            let rank = ctx.rank(idx)?;
            let depth = *ctx
                .konst_i64(op, 1, "the depth")?
                .first()
                .context("depth")?;
            ensure!((0..=1 << 24).contains(&depth), "bad ONE_HOT depth {depth}");
            let on = ctx
                .konst(op, 2)?
                .context("ONE_HOT on value must be a constant")?;
            let off = ctx
                .konst(op, 3)?
                .context("ONE_HOT off value must be a constant")?;
            let axis = if o.axis < 0 {
                rank
            } else {
                norm_axis(o.axis as i64, rank + 1)?
            };
            let idx = ctx.cast(&format!("{name}.idx"), idx, i64::datum_type())?;
            let op = kernels::OneHot {
                axis,
                depth: depth as usize,
                on: on.clone().into_tensor().into_shape(&[])?.into_arc_tensor(),
                off: off.clone().into_tensor().into_shape(&[])?.into_arc_tensor(),
            };
            Ok(tvec!(ctx.wire1(name, op, &[idx])?))
        }
        B::CONCATENATION => {
            let n = op.inputs.len();
            ensure!(n >= 1, "CONCATENATION needs inputs");
            let mut parts = vec![];
            for i in 0..n {
                parts.push(ctx.input(op, i)?);
            }
            let rank = ctx.rank(parts[0])?;
            let axis = norm_axis(o.axis as i64, rank)?;
            same_shapes_except(ctx, &parts, axis)?;
            let y = ctx.wire1(name, array::TypedConcat { axis }, &parts)?;
            Ok(tvec!(crate::translate::activation(
                ctx,
                name,
                y,
                o.activation
            )?))
        }
        other => bail!("no translation for {:?}", other.variant_name()),
    }
}

fn same_shapes_except(ctx: &Ctx<'_>, parts: &[OutletId], axis: usize) -> TractResult<()> {
    let first = ctx.fact(parts[0])?;
    for p in &parts[1..] {
        let f = ctx.fact(*p)?;
        ensure!(
            f.datum_type == first.datum_type,
            "inputs differ in type: {:?} vs {:?}",
            f.datum_type,
            first.datum_type
        );
        ensure!(f.rank() == first.rank(), "inputs differ in rank");
        for (i, (a, b)) in f.shape.iter().zip(first.shape.iter()).enumerate() {
            ensure!(
                i == axis || a == b,
                "input shapes {:?} and {:?} differ outside axis {axis}",
                f.shape,
                first.shape
            );
        }
    }
    Ok(())
}

pub(crate) fn resolve_reshape(from: &[usize], spec: &[i64]) -> TractResult<Vec<usize>> {
    let volume: usize = from.iter().product();
    let known: i64 = spec
        .iter()
        .filter(|d| **d >= 0)
        .try_fold(1i64, |a, d| a.checked_mul(*d))
        .context("reshape overflows")?;
    let unknown = spec.iter().filter(|d| **d < 0).count();
    ensure!(unknown <= 1, "more than one -1 in reshape {spec:?}");
    let to: Vec<usize> = spec
        .iter()
        .map(|d| {
            if *d < 0 {
                if known == 0 {
                    0
                } else {
                    volume / known as usize
                }
            } else {
                *d as usize
            }
        })
        .collect();
    ensure!(
        crate::translate::volume(&to) == Some(volume),
        "cannot reshape {from:?} to {spec:?}"
    );
    Ok(to)
}

pub(crate) fn transpose(
    ctx: &mut Ctx<'_>,
    name: &str,
    x: OutletId,
    perm: &[usize],
) -> TractResult<OutletId> {
    let rank = ctx.rank(x)?;
    ensure!(
        perm.len() == rank,
        "permutation {perm:?} has the wrong length for rank {rank}"
    );
    let mut seen = vec![false; rank];
    for p in perm {
        ensure!(
            !std::mem::replace(&mut seen[*p], true),
            "{perm:?} is not a permutation"
        );
    }
    // current[i] = which original axis sits at position i
    let mut current: Vec<usize> = (0..rank).collect();
    let mut x = x;
    for (i, want) in perm.iter().enumerate() {
        let pos = current
            .iter()
            .position(|a| a == want)
            .context("permutation")?;
        if pos != i {
            x = ctx.wire1(name, AxisOp::Move(pos, i), &[x])?;
            let a = current.remove(pos);
            current.insert(i, a);
        }
    }
    Ok(x)
}

pub(crate) fn broadcast_to(
    ctx: &mut Ctx<'_>,
    name: &str,
    x: OutletId,
    shape: &[usize],
) -> TractResult<OutletId> {
    ensure!(
        volume(shape).is_some_and(|v| v <= 1 << 28),
        "broadcast to {shape:?} is too large"
    );
    let mut x = x;
    let rank = ctx.rank(x)?;
    ensure!(
        rank <= shape.len(),
        "cannot broadcast rank {rank} to {shape:?}"
    );
    for _ in rank..shape.len() {
        x = ctx.wire1(name, AxisOp::Add(0), &[x])?;
    }
    let have = ctx.shape(x)?;
    for (h, w) in have.iter().zip(shape) {
        ensure!(h == w || *h == 1, "cannot broadcast {have:?} to {shape:?}");
    }
    if &*have == shape {
        return Ok(x);
    }
    let op = array::MultiBroadcastTo {
        shape: shape.iter().map(|d| d.to_dim()).collect::<TVec<_>>().into(),
    };
    ctx.wire1(name, op, &[x])
}

fn reduce(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let shape = ctx.shape(x)?;
    let rank = shape.len();
    let mut axes: Vec<usize> = ctx
        .konst_i64(op, 1, "the axes")?
        .iter()
        .map(|a| norm_axis(*a, rank))
        .collect::<TractResult<_>>()?;
    axes.sort_unstable();
    axes.dedup();
    // tract's sum divides by the reduced length (found by fuzzing: MEAN of [4, 0])
    ensure!(
        axes.iter().all(|a| shape[*a] > 0),
        "reduction over an empty axis of {shape:?}"
    );
    let reducer = match B(op.code) {
        B::MEAN | B::SUM => Reducer::Sum,
        B::REDUCE_MAX => Reducer::Max,
        B::REDUCE_MIN => Reducer::Min,
        _ => Reducer::Prod,
    };
    let mut y = if axes.is_empty() {
        x
    } else {
        ctx.wire1(
            name,
            Reduce {
                axes: axes.iter().copied().collect(),
                reducer,
            },
            &[x],
        )?
    };
    if B(op.code) == B::MEAN {
        let n: usize = axes.iter().map(|a| shape[*a]).product();
        let dt = ctx.dt(y)?;
        ensure!(dt.is_float() || dt.is_integer(), "MEAN of {dt:?}");
        let c = ctx.scalar_like(&format!("{name}.n"), y, n.max(1) as f64)?;
        y = ctx.binary(&format!("{name}.mean"), Box::new(math::Div), y, c)?;
    }
    if !op.options.flags[0] {
        for a in axes.iter().rev() {
            y = ctx.wire1(name, AxisOp::Rm(*a), &[y])?;
        }
    }
    Ok(tvec!(y))
}

fn strided_slice(ctx: &mut Ctx<'_>, op: &OpDesc, name: &str) -> TractResult<TVec<OutletId>> {
    let x = ctx.input(op, 0)?;
    let shape = ctx.shape(x)?;
    let rank = shape.len();
    let begin = ctx.konst_i64(op, 1, "begin")?;
    let end = ctx.konst_i64(op, 2, "end")?;
    let strides = if ctx.has_input(op, 3) {
        ctx.konst_i64(op, 3, "strides")?
    } else {
        vec![1; begin.len()]
    };
    let n = begin.len();
    ensure!(
        end.len() == n && strides.len() == n,
        "begin, end and strides differ in length"
    );
    ensure!(n <= 32, "too many slice dimensions");
    let [begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask, ..] = op.options.ints;
    let bit = |m: i32, i: usize| (m >> i) & 1 == 1;

    enum Entry {
        NewAxis,
        Dim { axis: usize, shrink: bool },
    }
    let mut entries = vec![];
    let mut ranges: Vec<(i64, i64, i64)> = shape.iter().map(|d| (0, *d as i64, 1)).collect();
    let mut axis = 0usize;
    let mut seen_ellipsis = false;
    for i in 0..n {
        if bit(ellipsis_mask, i) && !seen_ellipsis {
            seen_ellipsis = true;
            let consuming_after = (i + 1..n).filter(|j| !bit(new_axis_mask, *j)).count();
            let covered = rank.saturating_sub(axis + consuming_after);
            for _ in 0..covered {
                entries.push(Entry::Dim {
                    axis,
                    shrink: false,
                });
                axis += 1;
            }
            continue;
        }
        if bit(new_axis_mask, i) {
            entries.push(Entry::NewAxis);
            continue;
        }
        ensure!(
            axis < rank,
            "strided slice has more dimensions than its input (rank {rank})"
        );
        let d = shape[axis] as i64;
        let s = strides[i];
        ensure!(s != 0, "stride 0");
        let shrink = bit(shrink_mask, i);
        let norm = |v: i64| if v < 0 { v + d } else { v };
        if shrink {
            let b = norm(begin[i]);
            ensure!(
                (0..d).contains(&b),
                "shrink index {} out of range for size {d}",
                begin[i]
            );
            ranges[axis] = (b, b + 1, 1);
        } else {
            let (lo, hi) = if s > 0 { (0, d) } else { (-1, d - 1) };
            let b = if bit(begin_mask, i) {
                if s > 0 {
                    0
                } else {
                    d - 1
                }
            } else {
                norm(begin[i]).clamp(lo, hi)
            };
            let e = if bit(end_mask, i) {
                if s > 0 {
                    d
                } else {
                    -1
                }
            } else {
                norm(end[i]).clamp(lo, hi)
            };
            ranges[axis] = (b, e, s);
        }
        entries.push(Entry::Dim { axis, shrink });
        axis += 1;
    }
    while axis < rank {
        entries.push(Entry::Dim {
            axis,
            shrink: false,
        });
        axis += 1;
    }
    let mut y = x;
    for (ax, (b, e, s)) in ranges.iter().copied().enumerate() {
        let d = shape[ax] as i64;
        if s == 1 {
            let (b, e) = (b.clamp(0, d), e.clamp(0, d).max(b.clamp(0, d)));
            if b != 0 || e != d {
                y = ctx.wire1(name, array::Slice::new(ax, b as usize, e as usize), &[y])?;
            }
        } else {
            // b and e are clamped to [-1, d]; widen so that a huge stride cannot overflow
            let (b2, e2, s2) = (b as i128, e as i128, s as i128);
            let count = if s2 > 0 {
                ((e2 - b2) + s2 - 1) / s2
            } else {
                ((b2 - e2) + (-s2) - 1) / (-s2)
            }
            .max(0) as i64;
            let idx: Vec<i64> = (0..count).map(|k| b + k * s).collect();
            ensure!(
                idx.iter().all(|i| (0..d).contains(i)),
                "strided slice out of range"
            );
            let it = ctx.konst_wire(&format!("{name}.idx{ax}"), tensor1(&idx))?;
            y = ctx.wire1(
                name,
                kernels::Gather {
                    axis: ax,
                    batch_dims: 0,
                },
                &[y, it],
            )?;
        }
    }
    for e in entries.iter().rev() {
        if let Entry::Dim { axis, shrink: true } = e {
            y = ctx.wire1(name, AxisOp::Rm(*axis), &[y])?;
        }
    }
    let mut pos = 0;
    for e in &entries {
        match e {
            Entry::NewAxis => {
                y = ctx.wire1(name, AxisOp::Add(pos), &[y])?;
                pos += 1;
            }
            Entry::Dim { shrink: false, .. } => pos += 1,
            _ => {}
        }
    }
    Ok(tvec!(y))
}

#[cfg(test)]
mod tests {
    use super::resolve_reshape;

    #[test]
    fn reshape_infers_one_dimension() {
        assert_eq!(resolve_reshape(&[2, 3, 4], &[-1, 4]).unwrap(), vec![6, 4]);
        assert_eq!(resolve_reshape(&[2, 3, 4], &[24]).unwrap(), vec![24]);
        assert!(resolve_reshape(&[2, 3, 4], &[-1, -1]).is_err());
        assert!(resolve_reshape(&[2, 3, 4], &[5, -1]).is_err());
        assert_eq!(resolve_reshape(&[0, 3], &[-1, 3]).unwrap(), vec![0, 3]);
    }
}
