//! Operators that tract-core lacks or computes differently from TFLite.
//!
//! Each one is a tract `TypedOp`, so it lives in the same optimized plan as the core
//! operators. They exist for one of three reasons: TFLite semantics differ (bounds-
//! checked GATHER, stable partial TOPK_V2, affine (de)quantization with TFLite's
//! rounding), tract has no equivalent (WHILE over TFLite subgraphs, the fused LSTM), or
//! exactness needs integer arithmetic (dynamic-range and int8 fully-connected).

use tract_core::internal::*;

/// `real = scale * (q - zero_point)`, per tensor or per channel along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dequantize {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: usize,
}

impl Op for Dequantize {
    fn name(&self) -> StaticName {
        "tflite.Dequantize".into()
    }
    op_as_typed_op!();
}

fn channel_index(shape: &[usize], axis: usize, per_channel: bool) -> impl Fn(usize) -> usize {
    let inner: usize = if per_channel {
        shape[axis + 1..].iter().product()
    } else {
        1
    };
    let dim = if per_channel { shape[axis] } else { 1 };
    move |i| {
        if dim <= 1 {
            0
        } else {
            (i / inner.max(1)) % dim
        }
    }
}

impl EvalOp for Dequantize {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let per_channel = self.scale.len() > 1;
        let plain = input.try_as_plain_ram()?;
        // Per-tensor int8/uint8 is the hot case (activations between layers): convert
        // straight from the stored type without an intermediate copy.
        let out: Vec<f32> = match (input.datum_type(), per_channel) {
            (DatumType::I8, false) => {
                let (z, s) = (self.zero_point[0], self.scale[0]);
                plain
                    .as_slice::<i8>()?
                    .iter()
                    .map(|q| (*q as i32 - z) as f32 * s)
                    .collect()
            }
            (DatumType::U8, false) => {
                let (z, s) = (self.zero_point[0], self.scale[0]);
                plain
                    .as_slice::<u8>()?
                    .iter()
                    .map(|q| (*q as i32 - z) as f32 * s)
                    .collect()
            }
            _ => {
                let ch = channel_index(input.shape(), self.axis, per_channel);
                let vals = input.cast_to::<i32>()?;
                let vals = vals.try_as_plain_ram()?;
                vals.as_slice::<i32>()?
                    .iter()
                    .enumerate()
                    .map(|(i, q)| {
                        let c = ch(i);
                        (q - self.zero_point[c]) as f32 * self.scale[c]
                    })
                    .collect()
            }
        };
        Ok(tvec!(Tensor::from_shape(input.shape(), &out)?.into_tvalue()))
    }
}

impl TypedOp for Dequantize {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        check_channels(&self.scale, &self.zero_point, self.axis, inputs[0])?;
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }
    as_op!();
}

/// Per-channel parameters must match the dimension they index: the tensor's declared
/// shape was checked when parsing, but the computed shape may differ from it.
fn check_channels(scale: &[f32], zp: &[i32], axis: usize, fact: &TypedFact) -> TractResult<()> {
    ensure!(
        !scale.is_empty() && scale.len() == zp.len(),
        "quantization parameters"
    );
    if scale.len() > 1 {
        ensure!(
            fact.rank() > axis && fact.shape[axis] == scale.len().to_dim(),
            "{} per-channel scales do not match axis {axis} of {:?}",
            scale.len(),
            fact.shape
        );
    }
    Ok(())
}

/// `q = clamp(round_half_even(x / scale) + zero_point)`, as LiteRT's XNNPACK convert
/// kernels do; integer inputs are requantized through their real value.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantize {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: usize,
    pub to: DatumType,
}

impl Op for Quantize {
    fn name(&self) -> StaticName {
        "tflite.Quantize".into()
    }
    op_as_typed_op!();
}

pub fn quant_range(dt: DatumType) -> (i32, i32) {
    match dt {
        DatumType::I8 => (-128, 127),
        DatumType::U8 => (0, 255),
        DatumType::I16 => (-32768, 32767),
        _ => (i32::MIN, i32::MAX),
    }
}

/// Round half to even without the libm `rintf` call baseline x86_64 compiles
/// `f32::round_ties_even` to (it dominated int8 models). Adding and subtracting
/// 1.5 * 2^23 leaves x rounded to an integer, ties to even, in the default rounding
/// mode; inputs are first clamped to +-2^22 where that holds (every quantized type
/// saturates long before). NaN maps to 0.
#[inline]
fn round_ties_even_i32(x: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    if x.is_nan() {
        return 0;
    }
    let x = x.clamp(-4_194_304.0, 4_194_304.0);
    ((x + MAGIC) - MAGIC) as i32
}

impl EvalOp for Quantize {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let per_channel = self.scale.len() > 1;
        let ch = channel_index(input.shape(), self.axis, per_channel);
        let x = input.cast_to::<f32>()?;
        let x = x.try_as_plain_ram()?;
        let x = x.as_slice::<f32>()?;
        let (lo, hi) = quant_range(self.to);
        let one = |c: usize, v: f32| -> i32 {
            let r = round_ties_even_i32(v / self.scale[c]);
            (r as i64 + self.zero_point[c] as i64).clamp(lo as i64, hi as i64) as i32
        };
        let t = match (self.to, per_channel) {
            // Hot case: per-tensor int8 activations, written in their final type.
            (DatumType::I8, false) => {
                let q: Vec<i8> = x.iter().map(|v| one(0, *v) as i8).collect();
                Tensor::from_shape(input.shape(), &q)?
            }
            (DatumType::U8, false) => {
                let q: Vec<u8> = x.iter().map(|v| one(0, *v) as u8).collect();
                Tensor::from_shape(input.shape(), &q)?
            }
            _ => {
                let q: Vec<i32> = x.iter().enumerate().map(|(i, v)| one(ch(i), *v)).collect();
                Tensor::from_shape(input.shape(), &q)?
                    .cast_to_dt(self.to)?
                    .into_owned()
            }
        };
        Ok(tvec!(t.into_tvalue()))
    }
}

impl TypedOp for Quantize {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        check_channels(&self.scale, &self.zero_point, self.axis, inputs[0])?;
        Ok(tvec!(self.to.fact(inputs[0].shape.clone())))
    }
    as_op!();
}

/// GATHER with TFLite semantics: negative or out-of-range indices are an error (not a
/// panic), indices may be i32 or i64, and `batch_dims` leading dimensions are shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gather {
    pub axis: usize,
    pub batch_dims: usize,
}

impl Op for Gather {
    fn name(&self) -> StaticName {
        "tflite.Gather".into()
    }
    op_as_typed_op!();
}

impl Gather {
    fn out_shape<D: DimLike>(&self, data: &[D], indices: &[D]) -> TVec<D> {
        let mut s: TVec<D> = data[..self.axis].iter().cloned().collect();
        s.extend(indices[self.batch_dims..].iter().cloned());
        s.extend(data[self.axis + 1..].iter().cloned());
        s
    }
}

impl EvalOp for Gather {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (data, indices) = args_2!(inputs);
        let indices = indices.cast_to::<i64>()?;
        let idx = indices.try_as_plain_ram()?;
        let idx = idx.as_slice::<i64>()?;
        let dshape = data.shape();
        let axis_len = dshape[self.axis];
        let batch: usize = dshape[..self.batch_dims].iter().product();
        let outer_per_batch: usize = dshape[self.batch_dims..self.axis].iter().product();
        let inner: usize = dshape[self.axis + 1..].iter().product();
        let idx_per_batch: usize = indices.shape()[self.batch_dims..].iter().product();
        if let Some(bad) = idx.iter().find(|i| **i < 0 || **i as usize >= axis_len) {
            bail!("GATHER index {bad} out of range [0, {axis_len})");
        }
        let out_shape = self.out_shape(dshape, indices.shape());
        let elem = data.datum_type().size_of();
        let src = data.as_bytes();
        let mut out = vec![0u8; out_shape.iter().product::<usize>() * elem];
        let block = inner * elem;
        let mut o = 0;
        for b in 0..batch {
            for outer in 0..outer_per_batch {
                let base = ((b * outer_per_batch + outer) * axis_len) * block;
                for i in &idx[b * idx_per_batch..(b + 1) * idx_per_batch] {
                    let s = base + *i as usize * block;
                    out[o..o + block].copy_from_slice(&src[s..s + block]);
                    o += block;
                }
            }
        }
        let t = unsafe_free_from_bytes(data.datum_type(), &out_shape, &out)?;
        Ok(tvec!(t.into_tvalue()))
    }
}

/// Builds a tensor of `dt` from native-endian bytes without unsafe code.
fn unsafe_free_from_bytes(dt: DatumType, shape: &[usize], bytes: &[u8]) -> TractResult<Tensor> {
    let mut t = Tensor::zero_dt(dt, shape)?;
    t.as_bytes_mut().copy_from_slice(bytes);
    Ok(t)
}

impl TypedOp for Gather {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(self.axis < inputs[0].rank());
        ensure!(self.batch_dims <= self.axis && self.batch_dims <= inputs[1].rank());
        ensure!(inputs[1].datum_type.is_integer());
        ensure!(
            inputs[0].shape[..self.batch_dims] == inputs[1].shape[..self.batch_dims],
            "GATHER batch dimensions differ: {:?} and {:?}",
            inputs[0].shape,
            inputs[1].shape
        );
        let shape = self.out_shape(&inputs[0].shape, &inputs[1].shape);
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
    as_op!();
}

/// TOPK_V2 on the last axis by partial selection: O(n + k log k) per row instead of a
/// full sort. Ties keep the lower index first, as TFLite does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopK {
    pub k: usize,
    pub index_dt: DatumType,
}

impl Op for TopK {
    fn name(&self) -> StaticName {
        "tflite.TopK".into()
    }
    op_as_typed_op!();
}

/// Indices of the `k` largest values of `row`, best first, lower index first on ties.
/// NaN sorts below every number.
pub fn top_k_indices<T: Copy + PartialOrd>(row: &[T], k: usize, scratch: &mut Vec<u32>) -> usize {
    let n = row.len();
    let k = k.min(n);
    scratch.clear();
    scratch.extend(0..n as u32);
    let better = |a: &u32, b: &u32| -> std::cmp::Ordering {
        let (x, y) = (row[*a as usize], row[*b as usize]);
        match y.partial_cmp(&x) {
            Some(std::cmp::Ordering::Equal) => a.cmp(b),
            Some(o) => o,
            // At least one NaN: numbers first, then by index.
            None => {
                #[allow(clippy::eq_op)] // x != x is the NaN test that works for any PartialOrd
                let (xn, yn) = (x != x, y != y);
                xn.cmp(&yn).then(a.cmp(b))
            }
        }
    };
    if k == 0 {
        return 0;
    }
    if k < n {
        scratch.select_nth_unstable_by(k - 1, better);
    }
    scratch[..k].sort_unstable_by(better);
    k
}

impl EvalOp for TopK {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        let n = *shape.last().context("TOPK_V2 on a scalar")?;
        ensure!(
            self.k <= n,
            "TOPK_V2 k={} is larger than the last dimension {n}",
            self.k
        );
        let rows = input.len().checked_div(n).unwrap_or(0);
        let mut out_shape: TVec<usize> = shape.into();
        *out_shape.last_mut().unwrap_or(&mut 0) = self.k;
        let mut idx_out: Vec<i64> = Vec::with_capacity(rows * self.k);
        let mut scratch = vec![];
        fn run<T: Datum + Copy + PartialOrd>(
            input: &Tensor,
            n: usize,
            rows: usize,
            k: usize,
            idx_out: &mut Vec<i64>,
            scratch: &mut Vec<u32>,
        ) -> TractResult<Tensor> {
            let plain = input.try_as_plain_ram()?;
            let data = plain.as_slice::<T>()?;
            let mut vals: Vec<T> = Vec::with_capacity(rows * k);
            for r in 0..rows {
                let row = &data[r * n..(r + 1) * n];
                let got = top_k_indices(row, k, scratch);
                for i in &scratch[..got] {
                    vals.push(row[*i as usize]);
                    idx_out.push(*i as i64);
                }
            }
            let mut shape: TVec<usize> = input.shape().into();
            if let Some(l) = shape.last_mut() {
                *l = k;
            }
            Tensor::from_shape(&shape, &vals)
        }
        let vals = match input.datum_type() {
            DatumType::F32 => run::<f32>(&input, n, rows, self.k, &mut idx_out, &mut scratch)?,
            DatumType::I32 => run::<i32>(&input, n, rows, self.k, &mut idx_out, &mut scratch)?,
            DatumType::I64 => run::<i64>(&input, n, rows, self.k, &mut idx_out, &mut scratch)?,
            DatumType::I8 => run::<i8>(&input, n, rows, self.k, &mut idx_out, &mut scratch)?,
            DatumType::U8 => run::<u8>(&input, n, rows, self.k, &mut idx_out, &mut scratch)?,
            dt => bail!("TOPK_V2 does not support {dt:?}"),
        };
        let idx = Tensor::from_shape(&out_shape, &idx_out)?
            .cast_to_dt(self.index_dt)?
            .into_owned();
        Ok(tvec!(vals.into_tvalue(), idx.into_tvalue()))
    }
}

impl TypedOp for TopK {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        ensure!(!shape.is_empty(), "TOPK_V2 needs rank >= 1");
        let last = shape.len() - 1;
        shape[last] = self.k.to_dim();
        Ok(tvec!(
            inputs[0].datum_type.fact(&*shape),
            self.index_dt.fact(&*shape)
        ))
    }
    as_op!();
}

/// GATHER_ND with bounds checks: the last axis of `indices` addresses the leading
/// dimensions of `data`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatherNd;

impl Op for GatherNd {
    fn name(&self) -> StaticName {
        "tflite.GatherNd".into()
    }
    op_as_typed_op!();
}

impl EvalOp for GatherNd {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (data, indices) = args_2!(inputs);
        let ishape = indices.shape();
        let depth = *ishape.last().context("indices rank")?;
        let dshape = data.shape();
        ensure!(depth <= dshape.len());
        let idx = indices.cast_to::<i64>()?;
        let idx = idx.try_as_plain_ram()?;
        let idx = idx.as_slice::<i64>()?;
        let inner: usize = dshape[depth..].iter().product();
        let elem = data.datum_type().size_of();
        let block = inner * elem;
        // one index tuple per position of the leading index dimensions (with depth 0,
        // `ishape` ends in 0 and each tuple selects all of `data`; found by fuzzing)
        let count = ishape[..ishape.len() - 1].iter().product::<usize>();
        let src = data.as_bytes();
        let mut out = vec![0u8; count * block];
        for (n, chunk) in out.chunks_exact_mut(block.max(1)).enumerate().take(count) {
            let mut off = 0usize;
            for d in 0..depth {
                let i = idx[n * depth + d];
                ensure!(
                    i >= 0 && (i as usize) < dshape[d],
                    "GATHER_ND index {i} out of range for dimension of size {}",
                    dshape[d]
                );
                off = off * dshape[d] + i as usize;
            }
            chunk.copy_from_slice(&src[off * block..off * block + block]);
        }
        let mut shape: TVec<usize> = ishape[..ishape.len() - 1].into();
        shape.extend(dshape[depth..].iter().copied());
        Ok(tvec!(unsafe_free_from_bytes(
            data.datum_type(),
            &shape,
            &out
        )?
        .into_tvalue()))
    }
}

impl TypedOp for GatherNd {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let depth = inputs[1].shape.last().context("indices rank")?.to_usize()?;
        ensure!(depth <= inputs[0].rank());
        let mut shape: TVec<TDim> = inputs[1].shape[..inputs[1].rank() - 1].into();
        shape.extend(inputs[0].shape[depth..].iter().cloned());
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
    as_op!();
}

/// Dynamic-range fully-connected: per-row runtime quantization of float inputs to
/// int8 (symmetric, or asymmetric with a zero point), int32 dot products with int8
/// weights, then `bias + dot * input_scale * weight_scale` in f32, in the same order
/// of operations as LiteRT's hybrid kernel so results agree to the last bits.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridFc {
    pub weights: Arc<Vec<i8>>,
    pub row_sums: Arc<Vec<i32>>,
    pub scales: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub out: usize,
    pub asymmetric: bool,
}

impl Op for HybridFc {
    fn name(&self) -> StaticName {
        "tflite.HybridFullyConnected".into()
    }
    op_as_typed_op!();
}

/// `f32::round` (half away from zero) for values well inside the i32 range, without
/// the libm call `round` compiles to on baseline x86_64 (it dominated hybrid kernels).
#[inline]
fn round_half_away(x: f32) -> i32 {
    let x = x.clamp(-1e9, 1e9);
    let t = x as i32; // truncates toward zero
    let frac = x - t as f32; // exact: |x| < 2^30 and t is x without its fraction
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// Symmetric per-row quantization: returns the scaling factor.
fn symmetric_quantize(x: &[f32], q: &mut [i8]) -> f32 {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in x {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if x.is_empty() || (lo == 0.0 && hi == 0.0) {
        q.iter_mut().for_each(|v| *v = 0);
        return 1.0;
    }
    let range = lo.abs().max(hi.abs());
    let scale = 127.0f32 / range;
    for (qv, v) in q.iter_mut().zip(x) {
        *qv = round_half_away(scale * v).clamp(-127, 127) as i8;
    }
    range / 127.0
}

/// Asymmetric per-row quantization: returns (scaling factor, zero point).
fn asymmetric_quantize(x: &[f32], q: &mut [i8]) -> (f32, i32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in x {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let rmin = lo.min(0.0) as f64;
    let rmax = hi.max(0.0) as f64;
    if x.is_empty() || rmin == rmax {
        q.iter_mut().for_each(|v| *v = 0);
        return (1.0, 0);
    }
    let (qmin, qmax) = (-128.0f64, 127.0f64);
    let scale = (rmax - rmin) / (qmax - qmin);
    let zp_from_min = qmin - rmin / scale;
    let zp_from_max = qmax - rmax / scale;
    let err_min = qmin.abs() + (rmin / scale).abs();
    let err_max = qmax.abs() + (rmax / scale).abs();
    let zp = if err_min < err_max {
        zp_from_min
    } else {
        zp_from_max
    };
    let nudged = if zp <= qmin {
        -128
    } else if zp >= qmax {
        127
    } else {
        zp.round() as i32
    };
    let inv = (1.0 / scale) as f32;
    for (qv, v) in q.iter_mut().zip(x) {
        let r = round_half_away(v * inv) + nudged;
        *qv = r.clamp(-128, 127) as i8;
    }
    (scale as f32, nudged)
}

impl EvalOp for HybridFc {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let x = x.cast_to::<f32>()?;
        let xp = x.try_as_plain_ram()?;
        let xs = xp.as_slice::<f32>()?;
        let shape = x.shape();
        ensure!(shape.len() == 2);
        let (rows, k) = (shape[0], shape[1]);
        ensure!(
            self.weights.len() == k * self.out,
            "weights do not match input depth {k}"
        );
        let mut out = vec![0f32; rows * self.out];
        let mut q = vec![0i8; k];
        for r in 0..rows {
            let row = &xs[r * k..(r + 1) * k];
            let (sf, zp) = if self.asymmetric {
                asymmetric_quantize(row, &mut q)
            } else {
                (symmetric_quantize(row, &mut q), 0)
            };
            let orow = &mut out[r * self.out..(r + 1) * self.out];
            for (o, y) in orow.iter_mut().enumerate() {
                let w = &self.weights[o * k..(o + 1) * k];
                // |q|, |w| <= 128, so k < 2^17 products cannot overflow i32.
                let mut dot: i32 = q.iter().zip(w).map(|(a, b)| *a as i32 * *b as i32).sum();
                if zp != 0 {
                    dot -= zp * self.row_sums[o];
                }
                let ws = if self.scales.len() == 1 {
                    self.scales[0]
                } else {
                    self.scales[o]
                };
                let b = self.bias.as_ref().map(|b| b[o]).unwrap_or(0.0);
                *y = b + dot as f32 * (sf * ws);
            }
        }
        Ok(tvec!(
            Tensor::from_shape(&[rows, self.out], &out)?.into_tvalue()
        ))
    }
}

impl TypedOp for HybridFc {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].rank() == 2);
        Ok(tvec!(f32::fact([
            inputs[0].shape[0].clone(),
            self.out.to_dim()
        ])))
    }
    as_op!();
}

// Float parameters are compared bitwise-equal by the derived PartialEq; these ops are
// never compared for anything but graph deduplication, where that is the right notion.
impl Eq for Dequantize {}
impl Eq for Quantize {}
impl Eq for HybridFc {}

/// ONE_HOT: indices outside [0, depth) give a row of `off` values, as in TFLite.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneHot {
    pub axis: usize,
    pub depth: usize,
    pub on: Arc<Tensor>,
    pub off: Arc<Tensor>,
}

impl Op for OneHot {
    fn name(&self) -> StaticName {
        "tflite.OneHot".into()
    }
    op_as_typed_op!();
}

impl OneHot {
    /// A tensor of `shape` filled with the bytes of the scalar `value`.
    fn filled(value: &Tensor, shape: &[usize]) -> TractResult<Tensor> {
        let mut t = Tensor::zero_dt(value.datum_type(), shape)?;
        let v = value.as_bytes();
        if v.iter().any(|b| *b != 0) {
            for chunk in t.as_bytes_mut().chunks_exact_mut(v.len()) {
                chunk.copy_from_slice(v);
            }
        }
        Ok(t)
    }
}

impl EvalOp for OneHot {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let idx = args_1!(inputs);
        let idx = idx.cast_to::<i64>()?;
        let ip = idx.try_as_plain_ram()?;
        let iv = ip.as_slice::<i64>()?;
        let ishape = idx.shape();
        let inner: usize = ishape[self.axis..].iter().product();
        let mut shape: TVec<usize> = ishape.into();
        shape.insert(self.axis, self.depth);
        // Fill with `off` once, then write `on` where an index is in range: O(output)
        // for the fill and O(indices) for the writes.
        let mut out = Self::filled(&self.off, &shape)?;
        let on = self.on.as_bytes();
        let elem = on.len();
        let bytes = out.as_bytes_mut();
        for (p, &d) in iv.iter().enumerate() {
            if d >= 0 && (d as usize) < self.depth {
                let (o, i) = (p / inner.max(1), p % inner.max(1));
                let pos = ((o * self.depth + d as usize) * inner + i) * elem;
                bytes[pos..pos + elem].copy_from_slice(on);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for OneHot {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(self.axis <= inputs[0].rank());
        ensure!(self.on.datum_type() == self.off.datum_type());
        let mut shape = inputs[0].shape.to_tvec();
        shape.insert(self.axis, self.depth.to_dim());
        Ok(tvec!(self.on.datum_type().fact(shape)))
    }

    /// ONE_HOT followed by REDUCE_MAX over every index axis (a "which items occur"
    /// mask, as sequence models build to exclude the history) becomes [`OneHotMax`],
    /// which never materialises the indices × depth tensor.
    fn declutter(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TypedModelPatch>> {
        let succs = &node.outputs[0].successors;
        if succs.len() != 1 || model.outputs.contains(&OutletId::new(node.id, 0)) {
            return Ok(None);
        }
        let next = model.node(succs[0].node);
        let Some(red) = next.op_as::<tract_core::ops::nn::Reduce>() else {
            return Ok(None);
        };
        if red.reducer != tract_core::ops::nn::Reducer::Max {
            return Ok(None);
        }
        let rank = node.outputs[0].fact.rank();
        let mut axes: Vec<usize> = red.axes.to_vec();
        axes.sort_unstable();
        let index_axes: Vec<usize> = (0..rank).filter(|a| *a != self.axis).collect();
        if axes != index_axes || index_axes.is_empty() {
            return Ok(None);
        }
        let op = OneHotMax {
            axis: self.axis,
            rank,
            depth: self.depth,
            on: self.on.clone(),
            off: self.off.clone(),
        };
        TypedModelPatch::replace_single_op(model, next, &[node.inputs[0]], op).map(Some)
    }
    as_op!();
}

/// REDUCE_MAX over the index axes of ONE_HOT: for each depth position, `on` if every
/// index equals it, `off` if none does, and the larger of the two otherwise. The
/// output keeps the reduced axes with size 1, as tract's reduction does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneHotMax {
    pub axis: usize,
    pub rank: usize,
    pub depth: usize,
    pub on: Arc<Tensor>,
    pub off: Arc<Tensor>,
}

impl Op for OneHotMax {
    fn name(&self) -> StaticName {
        "tflite.OneHotMax".into()
    }
    op_as_typed_op!();
}

impl EvalOp for OneHotMax {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let idx = args_1!(inputs);
        let idx = idx.cast_to::<i64>()?;
        let ip = idx.try_as_plain_ram()?;
        let iv = ip.as_slice::<i64>()?;
        let mut count = vec![0usize; self.depth];
        for &d in iv {
            if d >= 0 && (d as usize) < self.depth {
                count[d as usize] += 1;
            }
        }
        let on = self.on.cast_to_scalar::<f64>()?;
        let off = self.off.cast_to_scalar::<f64>()?;
        let mixed = if on >= off { &self.on } else { &self.off };
        let mut shape: TVec<usize> = tvec![1; self.rank];
        shape[self.axis] = self.depth;
        let mut out = OneHot::filled(&self.off, &shape)?;
        let elem = self.on.datum_type().size_of();
        let bytes = out.as_bytes_mut();
        for (d, c) in count.iter().enumerate() {
            if *c > 0 {
                let v = if *c == iv.len() { &self.on } else { mixed };
                bytes[d * elem..(d + 1) * elem].copy_from_slice(v.as_bytes());
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for OneHotMax {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = tvec![1.to_dim(); self.rank];
        shape[self.axis] = self.depth.to_dim();
        Ok(tvec!(self.on.datum_type().fact(shape)))
    }
    as_op!();
}

/// Operators whose output shape depends on input values: FILL and RANGE with
/// run-time arguments, and single-input WHERE (coordinates of true elements). Their
/// output dimensions are symbols bound when they run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataDependentKind {
    Fill,
    Range,
    Where,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataDependent {
    pub kind: DataDependentKind,
    pub dims: TVec<TDim>,
    pub dt: DatumType,
}

/// Largest tensor a data-dependent operator may create (elements).
const MAX_DYNAMIC_ELEMENTS: usize = 1 << 26;

impl Op for DataDependent {
    fn name(&self) -> StaticName {
        format!("tflite.{:?}", self.kind).into()
    }
    fn mints_runtime_symbols(&self) -> bool {
        true
    }
    op_as_typed_op!();
}

impl EvalOp for DataDependent {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let out = match self.kind {
            DataDependentKind::Fill => {
                let dims = inputs[0].cast_to::<i64>()?;
                let dims: Vec<usize> = dims
                    .try_as_plain_ram()?
                    .as_slice::<i64>()?
                    .iter()
                    .map(|d| {
                        usize::try_from(*d)
                            .map_err(|_| format_err!("FILL dimension {d} is negative"))
                    })
                    .collect::<TractResult<_>>()?;
                let volume = dims
                    .iter()
                    .try_fold(1usize, |a, d| a.checked_mul(*d))
                    .filter(|v| *v <= MAX_DYNAMIC_ELEMENTS);
                ensure!(volume.is_some(), "FILL of {dims:?} is too large");
                inputs[1].broadcast_scalar_to_shape(&dims)?
            }
            DataDependentKind::Range => {
                // tract reads element 0 unchecked: an empty argument is undefined
                // behaviour (an abort in debug builds; found by fuzzing)
                let f = |i: usize| -> TractResult<f64> {
                    ensure!(inputs[i].len() == 1, "RANGE arguments must be scalars");
                    inputs[i].cast_to_scalar::<f64>()
                };
                let (start, limit, delta) = (f(0)?, f(1)?, f(2)?);
                ensure!(
                    delta != 0.0 && delta.is_finite() && start.is_finite() && limit.is_finite(),
                    "bad RANGE arguments"
                );
                let n = ((limit - start) / delta).ceil().max(0.0);
                ensure!(
                    n <= MAX_DYNAMIC_ELEMENTS as f64,
                    "RANGE of {n} elements is too large"
                );
                let n = n as usize;
                if self.dt.is_integer() {
                    let (s, d) = (start as i64, delta as i64);
                    let v: Vec<i64> = (0..n as i64).map(|i| s + i * d).collect();
                    tensor1(&v).cast_to_dt(self.dt)?.into_owned()
                } else {
                    // TFLite accumulates in the output type
                    let (s, d) = (start as f32, delta as f32);
                    let mut v = Vec::with_capacity(n);
                    let mut x = s;
                    for _ in 0..n {
                        v.push(x);
                        x += d;
                    }
                    tensor1(&v).cast_to_dt(self.dt)?.into_owned()
                }
            }
            DataDependentKind::Where => {
                let c = inputs[0].cast_to::<bool>()?;
                let cv = c.try_as_plain_ram()?;
                let cv = cv.as_slice::<bool>()?;
                let shape = c.shape();
                let rank = shape.len();
                let mut coords: Vec<i64> = vec![];
                let mut idx = vec![0usize; rank];
                for (flat, v) in cv.iter().enumerate() {
                    if *v {
                        let mut rem = flat;
                        for ax in (0..rank).rev() {
                            idx[ax] = rem % shape[ax];
                            rem /= shape[ax];
                        }
                        coords.extend(idx.iter().map(|i| *i as i64));
                    }
                }
                let n = coords
                    .len()
                    .checked_div(rank)
                    .unwrap_or_else(|| cv.iter().filter(|v| **v).count());
                Tensor::from_shape(&[n, rank], &coords)?
                    .cast_to_dt(self.dt)?
                    .into_owned()
            }
        };
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DataDependent {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(self.dt.fact(self.dims.clone())))
    }
    as_op!();
}

/// Output size and leading padding of one spatial axis, TFLite's SAME/VALID rules.
pub fn conv_geometry(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    same: bool,
) -> (usize, usize) {
    let eff = (k - 1) * dilation + 1;
    if same {
        let out = input.div_ceil(stride);
        let total = ((out.max(1) - 1) * stride + eff).saturating_sub(input);
        (out, total / 2)
    } else {
        let out = if input >= eff {
            (input - eff) / stride + 1
        } else {
            0
        };
        (out, 0)
    }
}

/// DEPTHWISE_CONV_2D, NHWC input, filter [1, H, W, C*M], bias [C*M]: output channel
/// `c*M + m` convolves input channel `c` with filter channel `c*M + m`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DepthwiseConv {
    pub same: bool,
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        "tflite.DepthwiseConv2D".into()
    }
    op_as_typed_op!();
}

impl DepthwiseConv {
    fn out_shape(&self, x: &[usize], w: &[usize]) -> [usize; 4] {
        let (oh, _) = conv_geometry(x[1], w[1], self.strides[0], self.dilations[0], self.same);
        let (ow, _) = conv_geometry(x[2], w[2], self.strides[1], self.dilations[1], self.same);
        [x[0], oh, ow, w[3]]
    }
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, w, b) = args_3!(inputs);
        let (xs, ws) = (x.shape().to_vec(), w.shape().to_vec());
        let xp = x.try_as_plain_ram()?;
        let xv = xp.as_slice::<f32>()?;
        let wp = w.try_as_plain_ram()?;
        let wv = wp.as_slice::<f32>()?;
        let bp = b.try_as_plain_ram()?;
        let bv = bp.as_slice::<f32>()?;
        let [n, oh, ow, oc] = self.out_shape(&xs, &ws);
        let (ih, iw, ic) = (xs[1], xs[2], xs[3]);
        let (kh, kw) = (ws[1], ws[2]);
        ensure!(oc % ic.max(1) == 0 && bv.len() == oc);
        let mult = oc / ic;
        let (_, pt) = conv_geometry(ih, kh, self.strides[0], self.dilations[0], self.same);
        let (_, pl) = conv_geometry(iw, kw, self.strides[1], self.dilations[1], self.same);
        let mut out = vec![0f32; n * oh * ow * oc];
        for b_ in 0..n {
            for y in 0..oh {
                for x_ in 0..ow {
                    let obase = ((b_ * oh + y) * ow + x_) * oc;
                    out[obase..obase + oc].copy_from_slice(bv);
                    for ky in 0..kh {
                        let iy =
                            (y * self.strides[0] + ky * self.dilations[0]) as isize - pt as isize;
                        if iy < 0 || iy as usize >= ih {
                            continue;
                        }
                        for kx in 0..kw {
                            let ix = (x_ * self.strides[1] + kx * self.dilations[1]) as isize
                                - pl as isize;
                            if ix < 0 || ix as usize >= iw {
                                continue;
                            }
                            let ibase = ((b_ * ih + iy as usize) * iw + ix as usize) * ic;
                            let wbase = (ky * kw + kx) * oc;
                            for o in 0..oc {
                                out[obase + o] += xv[ibase + o / mult] * wv[wbase + o];
                            }
                        }
                    }
                }
            }
        }
        Ok(tvec!(
            Tensor::from_shape(&[n, oh, ow, oc], &out)?.into_tvalue()
        ))
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let xs: TVec<usize> = inputs[0]
            .shape
            .as_concrete()
            .context("concrete input")?
            .into();
        let ws: TVec<usize> = inputs[1]
            .shape
            .as_concrete()
            .context("concrete filter")?
            .into();
        ensure!(xs.len() == 4 && ws.len() == 4 && ws[1] > 0 && ws[2] > 0);
        ensure!(inputs[2].shape.volume() == ws[3].to_dim(), "bias size");
        Ok(tvec!(f32::fact(self.out_shape(&xs, &ws))))
    }
    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topk(row: &[f32], k: usize) -> Vec<u32> {
        let mut s = vec![];
        let n = top_k_indices(row, k, &mut s);
        s[..n].to_vec()
    }

    #[test]
    fn top_k_breaks_ties_by_lower_index() {
        assert_eq!(topk(&[1.0, 3.0, 3.0, 2.0, 3.0], 3), vec![1, 2, 4]);
        assert_eq!(topk(&[5.0, 5.0, 5.0], 2), vec![0, 1]);
    }

    #[test]
    fn top_k_matches_a_full_sort() {
        // deterministic pseudo-random rows with many repeated values
        let mut x = 12345u64;
        for n in [1usize, 2, 7, 100, 1000] {
            let row: Vec<f32> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 17) as f32
                })
                .collect();
            let mut full: Vec<u32> = (0..n as u32).collect();
            full.sort_by(|a, b| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b)));
            for k in [0, 1, n / 2, n] {
                assert_eq!(topk(&row, k), full[..k].to_vec(), "n={n} k={k}");
            }
        }
    }

    #[test]
    fn top_k_puts_nan_last() {
        assert_eq!(topk(&[f32::NAN, 1.0, 2.0], 3), vec![2, 1, 0]);
    }

    #[test]
    fn conv_geometry_follows_tflite_padding() {
        // SAME: out = ceil(in / stride), extra padding goes after
        assert_eq!(conv_geometry(5, 3, 2, 1, true), (3, 1));
        assert_eq!(conv_geometry(4, 3, 2, 1, true), (2, 0));
        // VALID with dilation: effective kernel 5
        assert_eq!(conv_geometry(7, 3, 1, 2, false), (3, 0));
        assert_eq!(conv_geometry(2, 3, 1, 1, false), (0, 0));
    }

    #[test]
    fn magic_rounding_matches_round_ties_even() {
        let mut x = 0x1234_5678u32;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // many exact halves, and ordinary values across the quantized range
            let v = if i % 2 == 0 {
                (x % 2001) as f32 / 2.0 - 500.0
            } else {
                (x as f32 / u32::MAX as f32 - 0.5) * 600.0
            };
            assert_eq!(round_ties_even_i32(v), v.round_ties_even() as i32, "{v}");
        }
        assert_eq!(round_ties_even_i32(f32::NAN), 0);
        assert_eq!(round_ties_even_i32(1e30), 4_194_304);
    }

    #[test]
    fn symmetric_quantization_scales_to_127() {
        let mut q = [0i8; 3];
        let sf = symmetric_quantize(&[-2.0, 1.0, 0.5], &mut q);
        assert_eq!(q, [-127, 64, 32]);
        assert!((sf - 2.0 / 127.0).abs() < 1e-9);
        assert_eq!(symmetric_quantize(&[0.0, 0.0], &mut q[..2]), 1.0);
    }
}

/// Integer element-wise arithmetic with TFLite's (two's complement) semantics.
/// tract's integer ADD/SUB use plain `+`/`-`, which panic on overflow in builds with
/// overflow checks, and its DIV panics on a zero divisor in every build; here
/// overflow wraps, and a zero divisor or a negative exponent is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntBinary {
    pub op: IntOp,
}

impl Op for IntBinary {
    fn name(&self) -> StaticName {
        format!("tflite.Int{:?}", self.op).into()
    }
    op_as_typed_op!();
}

/// Calls `f` with the flat positions in `a` and `b` of each output element
/// (row-major), under numpy broadcasting of equal-rank shapes.
fn for_each_broadcast(
    a: &[usize],
    b: &[usize],
    out: &[usize],
    mut f: impl FnMut(usize, usize) -> TractResult<()>,
) -> TractResult<()> {
    let strides = |s: &[usize]| -> Vec<usize> {
        let mut st = vec![0; s.len()];
        let mut acc = 1;
        for i in (0..s.len()).rev() {
            st[i] = if s[i] == 1 { 0 } else { acc };
            acc *= s[i];
        }
        st
    };
    let (sa, sb) = (strides(a), strides(b));
    let n: usize = out.iter().product();
    let mut idx = vec![0usize; out.len()];
    for _ in 0..n {
        let pa = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let pb = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
        f(pa, pb)?;
        for ax in (0..out.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < out[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    Ok(())
}

macro_rules! int_binary_eval {
    ($t:ty, $op:expr, $a:expr, $b:expr, $shape:expr) => {{
        let ap = $a.try_as_plain_ram()?;
        let bp = $b.try_as_plain_ram()?;
        let (av, bv) = (ap.as_slice::<$t>()?, bp.as_slice::<$t>()?);
        let mut out: Vec<$t> = Vec::with_capacity($shape.iter().product());
        for_each_broadcast($a.shape(), $b.shape(), &$shape, |pa, pb| {
            let (x, y) = (av[pa], bv[pb]);
            out.push(match $op {
                IntOp::Add => x.wrapping_add(y),
                IntOp::Sub => x.wrapping_sub(y),
                IntOp::Mul => x.wrapping_mul(y),
                IntOp::Div => {
                    ensure!(y != 0, "integer DIV by zero");
                    x.wrapping_div(y)
                }
                IntOp::Pow => {
                    #[allow(unused_comparisons)]
                    let negative = y < 0;
                    ensure!(!negative, "integer POW with a negative exponent {y}");
                    x.wrapping_pow(u32::try_from(y).unwrap_or(u32::MAX))
                }
            });
            Ok(())
        })?;
        Tensor::from_shape(&$shape, &out)?
    }};
}

impl EvalOp for IntBinary {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        ensure!(
            a.datum_type() == b.datum_type() && a.rank() == b.rank(),
            "integer arithmetic on {:?} and {:?}",
            a.datum_type(),
            b.datum_type()
        );
        let shape: TVec<usize> = tract_core::broadcast::multi_broadcast(&[a.shape(), b.shape()])?;
        let t = match a.datum_type() {
            DatumType::I8 => int_binary_eval!(i8, self.op, a, b, shape),
            DatumType::I16 => int_binary_eval!(i16, self.op, a, b, shape),
            DatumType::I32 => int_binary_eval!(i32, self.op, a, b, shape),
            DatumType::I64 => int_binary_eval!(i64, self.op, a, b, shape),
            DatumType::U8 => int_binary_eval!(u8, self.op, a, b, shape),
            DatumType::U16 => int_binary_eval!(u16, self.op, a, b, shape),
            DatumType::U32 => int_binary_eval!(u32, self.op, a, b, shape),
            DatumType::U64 => int_binary_eval!(u64, self.op, a, b, shape),
            dt => bail!("integer arithmetic on {dt:?}"),
        };
        Ok(tvec!(t.into_tvalue()))
    }
}

impl TypedOp for IntBinary {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == inputs[1].datum_type);
        ensure!(inputs[0].datum_type.is_integer());
        ensure!(inputs[0].rank() == inputs[1].rank());
        let shape =
            tract_core::broadcast::multi_broadcast(&[&*inputs[0].shape, &*inputs[1].shape])?;
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
    as_op!();
}

/// First half of the fast dynamic-range path: quantizes each row of a [rows, K] float
/// input like LiteRT's hybrid kernels (see [`HybridFc`]) and emits the int8 values as
/// f32, plus per-row `[scaling factor, zero point]`. A float matmul of these against
/// integer-valued f32 weights is exact while K * 127 * 128 < 2^24, so tract's
/// optimized f32 kernels compute exactly LiteRT's int32 dot products.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HybridQuantizeRows {
    pub asymmetric: bool,
}

/// Largest depth for which f32 accumulation of int8 products is exact.
pub const HYBRID_EXACT_MAX_K: usize = (1 << 24) / (127 * 128);

impl Op for HybridQuantizeRows {
    fn name(&self) -> StaticName {
        "tflite.HybridQuantizeRows".into()
    }
    op_as_typed_op!();
}

impl EvalOp for HybridQuantizeRows {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape = x.shape().to_vec();
        ensure!(shape.len() == 2);
        let (rows, k) = (shape[0], shape[1]);
        let xp = x.try_as_plain_ram()?;
        let xs = xp.as_slice::<f32>()?;
        let mut qf = vec![0f32; rows * k];
        let mut params = vec![0f32; rows * 2];
        let mut q = vec![0i8; k];
        for r in 0..rows {
            let row = &xs[r * k..(r + 1) * k];
            let (sf, zp) = if self.asymmetric {
                asymmetric_quantize(row, &mut q)
            } else {
                (symmetric_quantize(row, &mut q), 0)
            };
            for (d, v) in qf[r * k..(r + 1) * k].iter_mut().zip(&q) {
                *d = *v as f32;
            }
            params[2 * r] = sf;
            params[2 * r + 1] = zp as f32;
        }
        Ok(tvec!(
            Tensor::from_shape(&[rows, k], &qf)?.into_tvalue(),
            Tensor::from_shape(&[rows, 2], &params)?.into_tvalue()
        ))
    }
}

impl TypedOp for HybridQuantizeRows {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].rank() == 2 && inputs[0].datum_type == f32::datum_type());
        let rows = inputs[0].shape[0].clone();
        Ok(tvec!(
            f32::fact(inputs[0].shape.clone()),
            f32::fact([rows, 2.to_dim()])
        ))
    }
    as_op!();
}

/// Second half: `bias + (dot - zp * rowsum(W)) * (sf * weight_scale)`, in LiteRT's
/// order of float operations.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridRescale {
    pub row_sums: Arc<Vec<i32>>,
    pub scales: Vec<f32>,
    pub bias: Option<Vec<f32>>,
}

impl Eq for HybridRescale {}

impl Op for HybridRescale {
    fn name(&self) -> StaticName {
        "tflite.HybridRescale".into()
    }
    op_as_typed_op!();
}

impl EvalOp for HybridRescale {
    op_out_of_plan!();
    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (dots, params) = args_2!(inputs);
        let shape = dots.shape().to_vec();
        let (rows, o) = (shape[0], shape[1]);
        ensure!(self.row_sums.len() == o);
        let dp = dots.try_as_plain_ram()?;
        let dv = dp.as_slice::<f32>()?;
        let pp = params.try_as_plain_ram()?;
        let pv = pp.as_slice::<f32>()?;
        let mut out = vec![0f32; rows * o];
        let scales: Vec<f32> = if self.scales.len() == 1 {
            vec![self.scales[0]; o]
        } else {
            self.scales.clone()
        };
        let zeros = vec![0f32; o];
        let bias = self.bias.as_deref().unwrap_or(&zeros);
        for r in 0..rows {
            let (sf, zp) = (pv[2 * r], pv[2 * r + 1] as i32);
            let orow = &mut out[r * o..(r + 1) * o];
            let drow = &dv[r * o..(r + 1) * o];
            for c in 0..o {
                // exact: the f32 dot product holds an integer below 2^24
                let dot = drow[c] as i32 - zp * self.row_sums[c];
                orow[c] = bias[c] + dot as f32 * (sf * scales[c]);
            }
        }
        Ok(tvec!(Tensor::from_shape(&[rows, o], &out)?.into_tvalue()))
    }
}

impl TypedOp for HybridRescale {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].rank() == 2);
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }
    as_op!();
}
