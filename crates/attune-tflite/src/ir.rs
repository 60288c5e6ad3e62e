//! An owned, validated copy of what a TFLite flatbuffer says.
//!
//! All flatbuffer access happens here, once: every index is bounds-checked and every
//! buffer length is checked against its tensor's shape, so that translation works on
//! plain Rust data and cannot be steered into a panic by a crafted file.

use std::sync::Arc;

use tract_core::internal::*;
use tract_tflite::tflite;

use crate::error::ModelError;

/// Element type of a TFLite tensor, as far as this engine knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// 64-bit float.
    F64,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
    /// 16-bit signed integer.
    I16,
    /// 8-bit signed integer (often quantized).
    I8,
    /// 8-bit unsigned integer (often quantized).
    U8,
    /// Boolean.
    Bool,
    /// A TFLite type this engine does not handle (string, complex, int4, ...).
    Other(i8),
}

impl DType {
    fn from_tflite(t: tflite::TensorType) -> DType {
        match t {
            tflite::TensorType::FLOAT32 => DType::F32,
            tflite::TensorType::FLOAT16 => DType::F16,
            tflite::TensorType::FLOAT64 => DType::F64,
            tflite::TensorType::INT32 => DType::I32,
            tflite::TensorType::INT64 => DType::I64,
            tflite::TensorType::INT16 => DType::I16,
            tflite::TensorType::INT8 => DType::I8,
            tflite::TensorType::UINT8 => DType::U8,
            tflite::TensorType::BOOL => DType::Bool,
            other => DType::Other(other.0),
        }
    }

    /// The tract datum type used to carry this dtype (quantized types travel as plain
    /// integers; their parameters live in [`Quant`]).
    pub fn datum_type(self) -> Option<DatumType> {
        Some(match self {
            DType::F32 => f32::datum_type(),
            DType::F16 => f16::datum_type(),
            DType::F64 => f64::datum_type(),
            DType::I32 => i32::datum_type(),
            DType::I64 => i64::datum_type(),
            DType::I16 => i16::datum_type(),
            DType::I8 => i8::datum_type(),
            DType::U8 => u8::datum_type(),
            DType::Bool => bool::datum_type(),
            DType::Other(_) => return None,
        })
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::Other(_) => 0,
        }
    }

    /// Short name as used in conformance manifests (`f32`, `i32`, `u8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::F64 => "f64",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::Bool => "bool",
            DType::Other(_) => "unsupported",
        }
    }
}

/// Affine quantization parameters: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quant {
    /// One scale per tensor, or one per slice along `axis`.
    pub scale: Vec<f32>,
    /// Zero points, same length as `scale`.
    pub zero_point: Vec<i64>,
    /// The quantized dimension for per-channel parameters.
    pub axis: usize,
}

impl Quant {
    /// True when there is one scale per slice along [`Quant::axis`].
    pub fn per_channel(&self) -> bool {
        self.scale.len() > 1
    }
}

/// One tensor of a subgraph.
#[derive(Debug, Clone)]
pub struct TensorDesc {
    /// Name in the model.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Static shape (a dynamic dimension is stored as 1, as TFLite does).
    pub shape: Vec<usize>,
    /// `shape_signature`, with -1 for dynamic dimensions; equals `shape` when absent.
    pub signature: Vec<i64>,
    /// Quantization parameters, when the tensor is quantized.
    pub quant: Option<Quant>,
    /// Constant data, for weights and other constant tensors.
    pub data: Option<Arc<Tensor>>,
}

impl TensorDesc {
    /// True when some dimension of the signature is dynamic.
    pub fn is_dynamic(&self) -> bool {
        self.signature.iter().any(|d| *d < 0)
    }
}

/// Operator options that translation needs, decoded from the flatbuffer union.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fused activation (`ActivationFunctionType`), 0 when none.
    pub activation: i8,
    /// Axis attribute (CONCATENATION, GATHER, PACK, UNPACK, ONE_HOT, ...).
    pub axis: i32,
    /// A count attribute (SPLIT num_splits, PACK values_count, UNPACK num).
    pub num: i32,
    /// Boolean flags (keep_dims, keep_num_dims, adj_x, exclusive, time_major, ...).
    pub flags: [bool; 4],
    /// Integer attributes: strides, filter sizes, dilations, masks, subgraph indices.
    pub ints: [i32; 8],
    /// Float attributes (softmax beta, leaky alpha, clips).
    pub floats: [f32; 2],
    /// A list attribute (RESHAPE new_shape, SQUEEZE squeeze_dims).
    pub list: Option<Vec<i32>>,
}

/// One operator instance.
#[derive(Debug, Clone)]
pub struct OpDesc {
    /// Builtin operator code (the effective one, with deprecated codes resolved).
    pub code: i32,
    /// Builtin name, or `CUSTOM:<code>`.
    pub name: String,
    /// Input tensor indices, `None` for an omitted optional input (-1).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
    /// Decoded options.
    pub options: Options,
}

/// One subgraph.
#[derive(Debug, Clone)]
pub struct SubgraphDesc {
    /// Name, if any.
    pub name: String,
    /// Tensors.
    pub tensors: Vec<TensorDesc>,
    /// Input tensor indices.
    pub inputs: Vec<usize>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
    /// Operators in execution order.
    pub ops: Vec<OpDesc>,
}

/// A parsed model.
#[derive(Debug, Clone)]
pub struct ModelDesc {
    /// Schema version.
    pub version: u32,
    /// Description string written by the converter.
    pub description: String,
    /// Subgraphs; 0 is the entry point.
    pub subgraphs: Vec<SubgraphDesc>,
}

/// Upper bound on the element count of any one tensor we accept (2^31 elements), so
/// that shape arithmetic cannot overflow and a crafted shape cannot ask for absurd memory.
const MAX_ELEMENTS: usize = 1 << 31;
const MAX_RANK: usize = 8;

/// Parses and validates a TFLite flatbuffer.
pub fn parse(bytes: &[u8]) -> Result<ModelDesc, ModelError> {
    if bytes.len() < 8 {
        return Err(ModelError::malformed(format!(
            "{} bytes is too short for a TFLite model",
            bytes.len()
        )));
    }
    if !tflite::model_buffer_has_identifier(bytes) {
        return Err(ModelError::malformed(
            "missing the TFL3 file identifier (is this a .tflite file?)",
        ));
    }
    let opts = flatbuffers::VerifierOptions {
        max_depth: 64,
        max_tables: 10_000_000,
        max_apparent_size: 1 << 31,
        ignore_missing_null_terminator: false,
    };
    let model = tflite::root_as_model_with_opts(&opts, bytes)
        .map_err(|e| ModelError::malformed(format!("flatbuffer verification failed: {e}")))?;

    let buffers = model.buffers();
    let buffer_count = buffers.map(|b| b.len()).unwrap_or(0);
    let buffer_data = |index: u32| -> Result<Option<&[u8]>, ModelError> {
        let index = index as usize;
        if index == 0 {
            return Ok(None);
        }
        if index >= buffer_count {
            return Err(ModelError::malformed(format!(
                "buffer index {index} out of range ({buffer_count} buffers)"
            )));
        }
        let buffers = buffers.ok_or_else(|| ModelError::malformed("no buffers"))?;
        Ok(buffers
            .get(index)
            .data()
            .map(|d| d.bytes())
            .filter(|d| !d.is_empty()))
    };

    let mut codes = vec![];
    if let Some(op_codes) = model.operator_codes() {
        for oc in op_codes.iter() {
            let code = oc.builtin_code().0.max(oc.deprecated_builtin_code() as i32);
            let name = if code == tflite::BuiltinOperator::CUSTOM.0 {
                format!("CUSTOM:{}", oc.custom_code().unwrap_or(""))
            } else {
                tflite::BuiltinOperator(code)
                    .variant_name()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| format!("BUILTIN_{code}"))
            };
            codes.push((code, name));
        }
    }

    let subgraphs_fb = model
        .subgraphs()
        .ok_or_else(|| ModelError::malformed("model has no subgraphs"))?;
    if subgraphs_fb.is_empty() {
        return Err(ModelError::malformed("model has no subgraphs"));
    }
    let subgraph_count = subgraphs_fb.len();
    let mut subgraphs = vec![];
    for (sg_ix, sg) in subgraphs_fb.iter().enumerate() {
        let mut tensors = vec![];
        if let Some(ts) = sg.tensors() {
            for (t_ix, t) in ts.iter().enumerate() {
                tensors.push(parse_tensor(sg_ix, t_ix, &t, &buffer_data)?);
            }
        }
        let tcount = tensors.len();
        let check_tensor = |i: i32, what: &str| -> Result<usize, ModelError> {
            if i < 0 || i as usize >= tcount {
                Err(ModelError::malformed(format!(
                    "subgraph {sg_ix}: {what} refers to tensor {i}, but there are {tcount} tensors"
                )))
            } else {
                Ok(i as usize)
            }
        };
        let inputs = sg
            .inputs()
            .map(|v| {
                v.iter()
                    .map(|i| check_tensor(i, "an input"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let outputs = sg
            .outputs()
            .map(|v| {
                v.iter()
                    .map(|i| check_tensor(i, "an output"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let mut ops = vec![];
        if let Some(operators) = sg.operators() {
            for (op_ix, op) in operators.iter().enumerate() {
                let opcode = op.opcode_index() as usize;
                let (code, name) = codes.get(opcode).cloned().ok_or_else(|| {
                    ModelError::malformed(format!(
                        "subgraph {sg_ix} operator #{op_ix}: opcode index {opcode} out of range ({} codes)",
                        codes.len()
                    ))
                })?;
                let what = format!("operator #{op_ix} ({name})");
                let op_inputs = op
                    .inputs()
                    .map(|v| {
                        v.iter()
                            .map(|i| {
                                if i < 0 {
                                    Ok(None)
                                } else {
                                    check_tensor(i, &what).map(Some)
                                }
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                let op_outputs = op
                    .outputs()
                    .map(|v| {
                        v.iter()
                            .map(|i| check_tensor(i, &what))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                let options = parse_options(&op);
                if code == tflite::BuiltinOperator::WHILE.0 {
                    for sub in [options.ints[0], options.ints[1]] {
                        if sub < 0 || sub as usize >= subgraph_count {
                            return Err(ModelError::malformed(format!(
                                "subgraph {sg_ix} {what}: subgraph index {sub} out of range"
                            )));
                        }
                    }
                }
                ops.push(OpDesc {
                    code,
                    name,
                    inputs: op_inputs,
                    outputs: op_outputs,
                    options,
                });
            }
        }
        subgraphs.push(SubgraphDesc {
            name: sg.name().unwrap_or("").to_string(),
            tensors,
            inputs,
            outputs,
            ops,
        });
    }
    Ok(ModelDesc {
        version: model.version(),
        description: model.description().unwrap_or("").to_string(),
        subgraphs,
    })
}

fn parse_tensor<'a>(
    sg_ix: usize,
    t_ix: usize,
    t: &tflite::Tensor<'a>,
    buffer_data: &dyn Fn(u32) -> Result<Option<&'a [u8]>, ModelError>,
) -> Result<TensorDesc, ModelError> {
    let name = t.name().unwrap_or("").to_string();
    let err =
        |m: String| ModelError::malformed(format!("subgraph {sg_ix} tensor {t_ix} ({name}): {m}"));
    let dtype = DType::from_tflite(t.type_());
    let raw_shape: Vec<i32> = t.shape().map(|s| s.iter().collect()).unwrap_or_default();
    if raw_shape.len() > MAX_RANK {
        return Err(err(format!(
            "rank {} is larger than {MAX_RANK}",
            raw_shape.len()
        )));
    }
    let mut shape = vec![];
    for d in &raw_shape {
        if *d < 0 {
            // Some converters write -1 in `shape` as well as in the signature.
            shape.push(1usize);
        } else {
            shape.push(*d as usize);
        }
    }
    // empty dimensions count as 1 here: kernels loop over the other dimensions of an
    // empty tensor all the same (a [2^30, 0] input made LOG_SOFTMAX run for minutes)
    let extent = shape.iter().try_fold(1usize, |acc, d| {
        acc.checked_mul((*d).max(1)).filter(|v| *v <= MAX_ELEMENTS)
    });
    let empty_too_wide =
        shape.contains(&0) && extent.is_none_or(|e| e > crate::translate::MAX_EMPTY_EXTENT);
    if extent.is_none() || empty_too_wide {
        return Err(err(format!("shape {raw_shape:?} has too many elements")));
    }
    let volume: usize = shape.iter().product();
    let signature: Vec<i64> = match t.shape_signature() {
        Some(sig) if sig.len() == raw_shape.len() => sig.iter().map(|d| d as i64).collect(),
        Some(sig) if sig.is_empty() => raw_shape.iter().map(|d| *d as i64).collect(),
        Some(sig) => {
            return Err(err(format!(
                "shape_signature has rank {} but shape has rank {}",
                sig.len(),
                raw_shape.len()
            )))
        }
        None => raw_shape.iter().map(|d| *d as i64).collect(),
    };
    let quant = match t.quantization() {
        Some(q) => {
            let scale: Vec<f32> = q.scale().map(|s| s.iter().collect()).unwrap_or_default();
            let zero_point: Vec<i64> = q
                .zero_point()
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            if scale.is_empty() {
                None
            } else {
                let zero_point = if zero_point.is_empty() {
                    vec![0; scale.len()]
                } else {
                    zero_point
                };
                if zero_point.len() != scale.len() {
                    return Err(err(format!(
                        "{} scales but {} zero points",
                        scale.len(),
                        zero_point.len()
                    )));
                }
                // zero points must be values of the quantized type (int32 biases use
                // 0): a crafted zero point overflowed dequantization (found by fuzzing)
                let (zlo, zhi) = match dtype {
                    DType::I8 => (-128, 127),
                    DType::U8 => (0, 255),
                    DType::I16 => (-32768, 32767),
                    DType::I32 | DType::I64 => (0, 0),
                    _ => (i32::MIN as i64, i32::MAX as i64),
                };
                if zero_point.iter().any(|z| !(zlo..=zhi).contains(z)) {
                    return Err(err(format!(
                        "zero points {zero_point:?} out of range for {}",
                        dtype.name()
                    )));
                }
                if scale.iter().any(|s| !s.is_finite() || *s <= 0.0) {
                    return Err(err("quantization scale must be finite and positive".into()));
                }
                let axis = q.quantized_dimension().max(0) as usize;
                if scale.len() > 1 && (axis >= shape.len() || shape[axis] != scale.len()) {
                    return Err(err(format!(
                        "{} per-channel scales do not match dimension {axis} of shape {shape:?}",
                        scale.len()
                    )));
                }
                Some(Quant {
                    scale,
                    zero_point,
                    axis,
                })
            }
        }
        None => None,
    };
    let data = match buffer_data(t.buffer())? {
        None => None,
        Some(bytes) => {
            let dt = dtype
                .datum_type()
                .ok_or_else(|| err(format!("constant of unsupported type {:?}", t.type_())))?;
            let expected = volume * dtype.size();
            if bytes.len() != expected {
                return Err(err(format!(
                    "constant buffer holds {} bytes, shape {shape:?} of {} needs {expected}",
                    bytes.len(),
                    dtype.name()
                )));
            }
            let tensor = tensor_from_le_bytes(dt, &shape, bytes)
                .map_err(|e| err(crate::error::chain(&e)))?;
            Some(Arc::new(tensor))
        }
    };
    Ok(TensorDesc {
        name,
        dtype,
        shape,
        signature,
        quant,
        data,
    })
}

/// Builds a tensor from raw little-endian bytes (the layout of TFLite buffers and of
/// conformance `.bin` files).
pub fn tensor_from_le_bytes(dt: DatumType, shape: &[usize], bytes: &[u8]) -> TractResult<Tensor> {
    let volume: usize = shape.iter().product();
    ensure!(
        bytes.len() == volume * dt.size_of(),
        "expected {} bytes, got {}",
        volume * dt.size_of(),
        bytes.len()
    );
    macro_rules! conv {
        ($t:ty, $n:expr) => {{
            let v: Vec<$t> = bytes
                .chunks_exact($n)
                .map(|c| {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(c);
                    <$t>::from_le_bytes(a)
                })
                .collect();
            Tensor::from_shape(shape, &v)?
        }};
    }
    Ok(match dt {
        DatumType::F32 => conv!(f32, 4),
        DatumType::F64 => conv!(f64, 8),
        DatumType::I32 => conv!(i32, 4),
        DatumType::I64 => conv!(i64, 8),
        DatumType::I16 => conv!(i16, 2),
        DatumType::I8 => conv!(i8, 1),
        DatumType::U8 => conv!(u8, 1),
        DatumType::F16 => {
            let v: Vec<f16> = bytes
                .chunks_exact(2)
                .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                .collect();
            Tensor::from_shape(shape, &v)?
        }
        DatumType::Bool => {
            let v: Vec<bool> = bytes.iter().map(|b| *b != 0).collect();
            Tensor::from_shape(shape, &v)?
        }
        _ => bail!("unsupported datum type {dt:?}"),
    })
}

/// Serializes a tensor to raw little-endian bytes.
pub fn tensor_to_le_bytes(t: &Tensor) -> TractResult<Vec<u8>> {
    let plain = t.try_as_plain_ram()?;
    macro_rules! conv {
        ($t:ty) => {
            plain
                .as_slice::<$t>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect()
        };
    }
    Ok(match t.datum_type() {
        DatumType::F32 => conv!(f32),
        DatumType::F64 => conv!(f64),
        DatumType::I32 => conv!(i32),
        DatumType::I64 => conv!(i64),
        DatumType::I16 => conv!(i16),
        DatumType::I8 => conv!(i8),
        DatumType::U8 => conv!(u8),
        DatumType::F16 => plain
            .as_slice::<f16>()?
            .iter()
            .flat_map(|x| x.to_bits().to_le_bytes())
            .collect(),
        DatumType::Bool => plain.as_slice::<bool>()?.iter().map(|b| *b as u8).collect(),
        dt => bail!("unsupported datum type {dt:?}"),
    })
}

fn parse_options(op: &tflite::Operator<'_>) -> Options {
    use tflite::BuiltinOptions as B;
    let mut o = Options::default();
    match op.builtin_options_type() {
        B::AddOptions => {
            if let Some(x) = op.builtin_options_as_add_options() {
                o.activation = x.fused_activation_function().0;
            }
        }
        B::SubOptions => {
            if let Some(x) = op.builtin_options_as_sub_options() {
                o.activation = x.fused_activation_function().0;
            }
        }
        B::MulOptions => {
            if let Some(x) = op.builtin_options_as_mul_options() {
                o.activation = x.fused_activation_function().0;
            }
        }
        B::DivOptions => {
            if let Some(x) = op.builtin_options_as_div_options() {
                o.activation = x.fused_activation_function().0;
            }
        }
        B::L2NormOptions => {
            if let Some(x) = op.builtin_options_as_l2_norm_options() {
                o.activation = x.fused_activation_function().0;
            }
        }
        B::FullyConnectedOptions => {
            if let Some(x) = op.builtin_options_as_fully_connected_options() {
                o.activation = x.fused_activation_function().0;
                o.flags[0] = x.keep_num_dims();
                o.flags[1] = x.asymmetric_quantize_inputs();
                o.ints[0] = x.weights_format().0 as i32;
            }
        }
        B::Conv2DOptions => {
            if let Some(x) = op.builtin_options_as_conv_2_doptions() {
                o.activation = x.fused_activation_function().0;
                o.ints = [
                    x.padding().0 as i32,
                    x.stride_h(),
                    x.stride_w(),
                    x.dilation_h_factor(),
                    x.dilation_w_factor(),
                    0,
                    0,
                    0,
                ];
            }
        }
        B::DepthwiseConv2DOptions => {
            if let Some(x) = op.builtin_options_as_depthwise_conv_2_doptions() {
                o.activation = x.fused_activation_function().0;
                o.ints = [
                    x.padding().0 as i32,
                    x.stride_h(),
                    x.stride_w(),
                    x.dilation_h_factor(),
                    x.dilation_w_factor(),
                    x.depth_multiplier(),
                    0,
                    0,
                ];
            }
        }
        B::Pool2DOptions => {
            if let Some(x) = op.builtin_options_as_pool_2_doptions() {
                o.activation = x.fused_activation_function().0;
                o.ints = [
                    x.padding().0 as i32,
                    x.stride_h(),
                    x.stride_w(),
                    x.filter_height(),
                    x.filter_width(),
                    0,
                    0,
                    0,
                ];
            }
        }
        B::SoftmaxOptions => {
            if let Some(x) = op.builtin_options_as_softmax_options() {
                o.floats[0] = x.beta();
            }
        }
        B::ConcatenationOptions => {
            if let Some(x) = op.builtin_options_as_concatenation_options() {
                o.activation = x.fused_activation_function().0;
                o.axis = x.axis();
            }
        }
        B::ReshapeOptions => {
            if let Some(x) = op.builtin_options_as_reshape_options() {
                o.list = x.new_shape().map(|v| v.iter().collect());
            }
        }
        B::SqueezeOptions => {
            if let Some(x) = op.builtin_options_as_squeeze_options() {
                o.list = x.squeeze_dims().map(|v| v.iter().collect());
            }
        }
        B::StridedSliceOptions => {
            if let Some(x) = op.builtin_options_as_strided_slice_options() {
                o.ints = [
                    x.begin_mask(),
                    x.end_mask(),
                    x.ellipsis_mask(),
                    x.new_axis_mask(),
                    x.shrink_axis_mask(),
                    0,
                    0,
                    0,
                ];
            }
        }
        B::SplitOptions => {
            if let Some(x) = op.builtin_options_as_split_options() {
                o.num = x.num_splits();
            }
        }
        B::SplitVOptions => {
            if let Some(x) = op.builtin_options_as_split_voptions() {
                o.num = x.num_splits();
            }
        }
        B::PackOptions => {
            if let Some(x) = op.builtin_options_as_pack_options() {
                o.num = x.values_count();
                o.axis = x.axis();
            }
        }
        B::UnpackOptions => {
            if let Some(x) = op.builtin_options_as_unpack_options() {
                o.num = x.num();
                o.axis = x.axis();
            }
        }
        B::GatherOptions => {
            if let Some(x) = op.builtin_options_as_gather_options() {
                o.axis = x.axis();
                o.ints[0] = x.batch_dims();
            }
        }
        B::OneHotOptions => {
            if let Some(x) = op.builtin_options_as_one_hot_options() {
                o.axis = x.axis();
            }
        }
        B::ReducerOptions => {
            if let Some(x) = op.builtin_options_as_reducer_options() {
                o.flags[0] = x.keep_dims();
            }
        }
        B::LeakyReluOptions => {
            if let Some(x) = op.builtin_options_as_leaky_relu_options() {
                o.floats[0] = x.alpha();
            }
        }
        B::GeluOptions => {
            if let Some(x) = op.builtin_options_as_gelu_options() {
                o.flags[0] = x.approximate();
            }
        }
        B::CumsumOptions => {
            if let Some(x) = op.builtin_options_as_cumsum_options() {
                o.flags[0] = x.exclusive();
                o.flags[1] = x.reverse();
            }
        }
        B::ArgMaxOptions => {
            if let Some(x) = op.builtin_options_as_arg_max_options() {
                o.ints[0] = x.output_type().0 as i32;
            }
        }
        B::ArgMinOptions => {
            if let Some(x) = op.builtin_options_as_arg_min_options() {
                o.ints[0] = x.output_type().0 as i32;
            }
        }
        B::ShapeOptions => {
            if let Some(x) = op.builtin_options_as_shape_options() {
                o.ints[0] = x.out_type().0 as i32;
            }
        }
        B::CastOptions => {
            if let Some(x) = op.builtin_options_as_cast_options() {
                o.ints[0] = x.in_data_type().0 as i32;
                o.ints[1] = x.out_data_type().0 as i32;
            }
        }
        B::WhileOptions => {
            if let Some(x) = op.builtin_options_as_while_options() {
                o.ints[0] = x.cond_subgraph_index();
                o.ints[1] = x.body_subgraph_index();
            }
        }
        B::BatchMatMulOptions => {
            if let Some(x) = op.builtin_options_as_batch_mat_mul_options() {
                o.flags[0] = x.adj_x();
                o.flags[1] = x.adj_y();
                o.flags[2] = x.asymmetric_quantize_inputs();
            }
        }
        B::UnidirectionalSequenceLSTMOptions => {
            if let Some(x) = op.builtin_options_as_unidirectional_sequence_lstmoptions() {
                o.activation = x.fused_activation_function().0;
                o.floats = [x.cell_clip(), x.proj_clip()];
                o.flags[0] = x.time_major();
                o.flags[1] = x.asymmetric_quantize_inputs();
                o.flags[2] = x.diagonal_recurrent_tensors();
            }
        }
        _ => {}
    }
    o
}
