//! Robustness: malformed models and bad inputs must give typed errors, never panics.
//!
//! Every attempt runs under `catch_unwind`; a panic, an error code outside the
//! documented set, or an "internal error" (a panic caught by `Model::load`'s own guard)
//! fails the test with the case printed. The mutations are deterministic (a fixed
//! xorshift sequence), so a failure reproduces exactly. Reproducers found by the
//! fuzzer (crates/attune-tflite/fuzz) live in `tests/data/` and at the bottom of this
//! file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use attune_tflite::{DatumType, Model, ModelError, Tensor};
use tract_tflite::tflite;

const CODES: &[&str] = &[
    "E_MALFORMED_MODEL",
    "E_UNSUPPORTED_OP",
    "E_INVALID_OPERATOR",
    "E_INVALID_INPUT",
    "E_PREPARE",
    "E_RUNTIME",
];

/// Models run with zero inputs after a mutation are skipped above this many input
/// elements (a flipped dimension can legitimately ask for a very large input).
const MAX_RUN_ELEMENTS: usize = 1 << 22;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Sample {
    name: &'static str,
    bytes: Vec<u8>,
}

/// The models the mutation tests start from. The shared recommendation CNN sits
/// outside the repository and is skipped when absent.
fn samples() -> Vec<Sample> {
    let root = repo_root();
    let mut out = vec![];
    for (name, rel, required) in [
        (
            "ranking_f32",
            "tests/conformance/models/ranking_f32/model.tflite",
            true,
        ),
        (
            "seq_gru",
            "tests/conformance/models/seq_gru/model.tflite",
            true,
        ),
        (
            "ranking_int8_per_channel",
            "tests/conformance/models/ranking_int8_per_channel/model.tflite",
            true,
        ),
        (
            "one_hot",
            "tests/conformance/ops/one_hot/model.tflite",
            true,
        ),
        (
            "recommendation_cnn",
            "../shared/conformance/tflite-examples-recommendation-cnn/model.tflite",
            false,
        ),
    ] {
        let path = root.join(rel);
        match std::fs::read(&path) {
            Ok(bytes) => out.push(Sample { name, bytes }),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("skipping {name}: {} not found", path.display());
            }
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        }
    }
    out
}

fn sample(name: &str) -> Option<Vec<u8>> {
    samples()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.bytes)
}

/// A tiny deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Collects failures so that one run reports all of them.
#[derive(Default)]
struct Report {
    attempts: usize,
    loaded: usize,
    failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, case: &str, what: String) {
        self.failures.push(format!("{case}: {what}"));
    }

    /// Checks an error: documented code, and not a caught panic.
    fn check_error(&mut self, case: &str, e: &ModelError) {
        let msg = e.to_string();
        if !CODES.contains(&e.code()) {
            self.fail(case, format!("undocumented code {} ({msg})", e.code()));
        }
        if msg.contains("internal error") {
            self.fail(case, format!("panic in disguise: {} {msg}", e.code()));
        }
    }

    /// Runs `f` under `catch_unwind`; a panic is recorded and gives `None`.
    fn guarded<T>(&mut self, case: &str, f: impl FnOnce() -> T) -> Option<T> {
        self.attempts += 1;
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => Some(v),
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".into());
                self.fail(case, format!("PANIC: {msg}"));
                None
            }
        }
    }

    /// Loads `bytes`; if the model loads, runs it once on zero inputs. Either step may
    /// fail, but only with a documented, non-panic error.
    fn load_and_run(&mut self, case: &str, bytes: &[u8]) {
        let Some(r) = self.guarded(case, || Model::load(bytes)) else {
            return;
        };
        match r {
            Err(e) => self.check_error(case, &e),
            Ok(model) => {
                self.loaded += 1;
                let Some(inputs) = zero_inputs(&model) else {
                    return;
                };
                if let Some(Err(e)) = self.guarded(case, || model.run(inputs)) {
                    self.check_error(&format!("{case} (run)"), &e);
                }
            }
        }
    }

    fn finish(self, test: &str) {
        eprintln!(
            "{test}: {} attempts, {} models loaded, {} failures",
            self.attempts,
            self.loaded,
            self.failures.len()
        );
        if !self.failures.is_empty() {
            let shown: Vec<&String> = self.failures.iter().take(40).collect();
            panic!(
                "{test}: {} failure(s):\n  {}",
                self.failures.len(),
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
        }
    }
}

/// Zero inputs at the model's default shapes (dynamic dimensions are stored as 1), or
/// `None` when an input has an unsupported type or is very large.
fn zero_inputs(model: &Model) -> Option<Vec<Tensor>> {
    let mut total = 0usize;
    let mut out = vec![];
    for t in model.inputs() {
        let dt = t.dtype.datum_type()?;
        let n = t.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d))?;
        total = total.checked_add(n)?;
        if total > MAX_RUN_ELEMENTS {
            return None;
        }
        out.push(Tensor::zero_dt(dt, &t.shape).ok()?);
    }
    Some(out)
}

fn load(bytes: &[u8]) -> Model {
    match Model::load(bytes) {
        Ok(m) => m,
        Err(e) => panic!("a conformance model fails to load: {} {e}", e.code()),
    }
}

/// Byte ranges of constant buffer payloads: most of a real model's size is weights,
/// so mutations are aimed at the structure around them half of the time.
fn payload_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let Ok(model) = tflite::root_as_model(bytes) else {
        return vec![];
    };
    let base = bytes.as_ptr() as usize;
    let mut out = vec![];
    if let Some(buffers) = model.buffers() {
        for b in buffers.iter() {
            if let Some(d) = b.data() {
                let s = d.bytes();
                let start = s.as_ptr() as usize - base;
                out.push((start, start + s.len()));
            }
        }
    }
    out.sort_unstable();
    out
}

fn structural_position(rng: &mut Rng, len: usize, payloads: &[(usize, usize)]) -> usize {
    for _ in 0..64 {
        let p = rng.below(len);
        if !payloads.iter().any(|(s, e)| (*s..*e).contains(&p)) {
            return p;
        }
    }
    rng.below(len)
}

#[test]
fn truncated_models_are_rejected_cleanly() {
    let mut report = Report::default();
    for s in samples() {
        let len = s.bytes.len();
        let mut lengths: Vec<usize> = (0..len).step_by((len / 60).max(1)).collect();
        lengths.extend(0..len.min(48));
        lengths.extend(len.saturating_sub(48)..len);
        let mut rng = Rng::new(seed_of(s.name));
        lengths.extend((0..16).map(|_| rng.below(len)));
        lengths.sort_unstable();
        lengths.dedup();
        for l in lengths {
            report.load_and_run(&format!("{} truncated to {l} bytes", s.name), &s.bytes[..l]);
        }
    }
    report.finish("truncations");
}

#[test]
fn bit_flipped_models_load_and_run_or_error() {
    let mut report = Report::default();
    for s in samples() {
        let len = s.bytes.len();
        let payloads = payload_ranges(&s.bytes);
        let mut rng = Rng::new(seed_of(s.name) ^ 0xb17f);
        let (single, multi) = if len > 200_000 { (40, 20) } else { (80, 40) };
        for i in 0..single {
            let pos = if i % 2 == 0 {
                structural_position(&mut rng, len, &payloads)
            } else {
                rng.below(len)
            };
            let bit = rng.below(8);
            let mut b = s.bytes.clone();
            b[pos] ^= 1 << bit;
            report.load_and_run(&format!("{} bit {bit} of byte {pos} flipped", s.name), &b);
        }
        for _ in 0..multi {
            let mut b = s.bytes.clone();
            let n = 2 + rng.below(7);
            let mut flips = vec![];
            for _ in 0..n {
                let pos = structural_position(&mut rng, len, &payloads);
                let bit = rng.below(8);
                b[pos] ^= 1 << bit;
                flips.push((pos, bit));
            }
            report.load_and_run(
                &format!("{} bits flipped (byte, bit): {flips:?}", s.name),
                &b,
            );
        }
    }
    report.finish("bit flips");
}

#[test]
fn random_and_empty_bytes_are_rejected() {
    let mut report = Report::default();
    report.load_and_run("empty input", &[]);
    let mut rng = Rng::new(7);
    for i in 0..300 {
        let len = match i % 3 {
            0 => rng.below(16),
            1 => 8 + rng.below(256),
            _ => 8 + rng.below(8192),
        };
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 1 && b.len() >= 8 {
            // a plausible header: root offset inside the buffer and the identifier
            let root = (rng.below(b.len() - 4) as u32 & !3).to_le_bytes();
            b[..4].copy_from_slice(&root);
            b[4..8].copy_from_slice(b"TFL3");
        }
        report.load_and_run(&format!("random bytes #{i} ({len} bytes)"), &b);
    }
    // A real model's header in front of garbage, and a real model with a zeroed tail.
    if let Some(m) = sample("one_hot") {
        let mut b = m[..16].to_vec();
        b.extend((0..512).map(|_| rng.next() as u8));
        report.load_and_run("one_hot header + garbage", &b);
        let mut b = m.clone();
        let half = b.len() / 2;
        b[half..].iter_mut().for_each(|x| *x = 0);
        report.load_and_run("one_hot with a zeroed second half", &b);
    }
    report.finish("random bytes");
}

fn expect_code(
    report: &mut Report,
    case: &str,
    r: Option<Result<Vec<Tensor>, ModelError>>,
    code: &str,
) {
    match r {
        None => {}
        Some(Ok(_)) => report.fail(case, format!("ran, but {code} was expected")),
        Some(Err(e)) => {
            report.check_error(case, &e);
            if e.code() != code {
                report.fail(case, format!("expected {code}, got {} ({e})", e.code()));
            }
        }
    }
}

fn ids(shape: &[usize], v: i32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_shape(shape, &vec![v; n]).expect("tensor")
}

fn floats(shape: &[usize], v: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_shape(shape, &vec![v; n]).expect("tensor")
}

#[test]
fn wrong_inputs_give_invalid_input() {
    let mut report = Report::default();
    for s in samples() {
        let model = load(&s.bytes);
        let decl: Vec<(DatumType, Vec<usize>)> = model
            .inputs()
            .iter()
            .map(|t| (t.dtype.datum_type().expect("dtype"), t.shape.clone()))
            .collect();
        let good: Vec<Tensor> = decl
            .iter()
            .map(|(dt, shape)| Tensor::zero_dt(*dt, shape).expect("zero"))
            .collect();
        let name = s.name;
        // the valid run first: it must work
        if let Some(Err(e)) = report.guarded(name, || model.run(good.clone())) {
            report.fail(name, format!("zero inputs fail: {} {e}", e.code()));
        }
        // count
        let r = report.guarded(name, || model.run(vec![]));
        expect_code(
            &mut report,
            &format!("{name}: no inputs"),
            r,
            "E_INVALID_INPUT",
        );
        let mut more = good.clone();
        more.push(good[0].clone());
        let r = report.guarded(name, || model.run(more));
        expect_code(
            &mut report,
            &format!("{name}: one input too many"),
            r,
            "E_INVALID_INPUT",
        );
        if good.len() > 1 {
            let fewer = good[..good.len() - 1].to_vec();
            let r = report.guarded(name, || model.run(fewer));
            expect_code(
                &mut report,
                &format!("{name}: one input too few"),
                r,
                "E_INVALID_INPUT",
            );
        }
        for (i, (dt, shape)) in decl.iter().enumerate() {
            // dtype
            for wrong in [
                DatumType::F32,
                DatumType::I32,
                DatumType::I64,
                DatumType::U8,
            ] {
                if wrong == *dt {
                    continue;
                }
                let mut inputs = good.clone();
                inputs[i] = Tensor::zero_dt(wrong, shape).expect("zero");
                let r = report.guarded(name, || model.run(inputs));
                expect_code(
                    &mut report,
                    &format!("{name}: input {i} as {wrong:?}"),
                    r,
                    "E_INVALID_INPUT",
                );
            }
            // shape: extra axis, missing axis, scalar, a fixed dimension changed
            let mut shapes: Vec<Vec<usize>> = vec![];
            let mut extra = shape.clone();
            extra.push(2);
            shapes.push(extra);
            if !shape.is_empty() {
                shapes.push(shape[..shape.len() - 1].to_vec());
                shapes.push(vec![]);
            }
            let sig = &model.inputs()[i].signature;
            for (ax, d) in sig.iter().enumerate() {
                if *d >= 0 {
                    let mut s2 = shape.clone();
                    s2[ax] += 1;
                    shapes.push(s2);
                }
            }
            for bad in shapes {
                let mut inputs = good.clone();
                inputs[i] = Tensor::zero_dt(*dt, &bad).expect("zero");
                let r = report.guarded(name, || model.run(inputs));
                expect_code(
                    &mut report,
                    &format!("{name}: input {i} of shape {bad:?}"),
                    r,
                    "E_INVALID_INPUT",
                );
            }
        }
        // NaN and infinities in every float input: runs or errors, never panics
        for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let inputs: Vec<Tensor> = decl
                .iter()
                .map(|(dt, shape)| {
                    if *dt == DatumType::F32 {
                        floats(shape, v)
                    } else {
                        Tensor::zero_dt(*dt, shape).expect("zero")
                    }
                })
                .collect();
            if let Some(Err(e)) = report.guarded(name, || model.run(inputs)) {
                report.check_error(&format!("{name}: float inputs {v}"), &e);
            }
        }
    }
    report.finish("wrong inputs");
}

/// Ids outside the embedding table are an E_RUNTIME error naming GATHER.
#[test]
fn out_of_range_ids_fail_in_gather() {
    let mut report = Report::default();
    // (model, index of the id input)
    let cases: &[(&str, usize)] = &[
        ("ranking_f32", 1),
        ("ranking_f32", 2),
        ("ranking_int8_per_channel", 1),
        ("seq_gru", 0),
        ("recommendation_cnn", 0),
    ];
    let mut checked = 0;
    for &(name, input) in cases {
        let Some(bytes) = sample(name) else { continue };
        let model = load(&bytes);
        let decl: Vec<(DatumType, Vec<usize>)> = model
            .inputs()
            .iter()
            .map(|t| (t.dtype.datum_type().expect("dtype"), t.shape.clone()))
            .collect();
        assert_eq!(
            decl[input].0,
            DatumType::I32,
            "{name} input {input} holds ids"
        );
        for bad in [1_000_000, i32::MAX, -1_000_000, i32::MIN] {
            let mut inputs: Vec<Tensor> = decl
                .iter()
                .map(|(dt, shape)| Tensor::zero_dt(*dt, shape).expect("zero"))
                .collect();
            inputs[input] = ids(&decl[input].1, bad);
            let case = format!("{name}: id {bad} in input {input}");
            let r = report.guarded(&case, || model.run(inputs));
            match r {
                None => {}
                Some(Ok(_)) => report.fail(&case, "ran, but E_RUNTIME was expected".into()),
                Some(Err(e)) => {
                    report.check_error(&case, &e);
                    if e.code() != "E_RUNTIME" || !e.to_string().contains("GATHER") {
                        report.fail(
                            &case,
                            format!("expected E_RUNTIME naming GATHER, got {} {e}", e.code()),
                        );
                    }
                }
            }
            checked += 1;
        }
        // the model still works afterwards
        let good: Vec<Tensor> = decl
            .iter()
            .map(|(dt, shape)| Tensor::zero_dt(*dt, shape).expect("zero"))
            .collect();
        if let Some(Err(e)) = report.guarded(name, || model.run(good)) {
            report.fail(name, format!("fails after a bad run: {e}"));
        }
    }
    assert!(checked >= 16, "only {checked} out-of-range cases ran");
    report.finish("out-of-range ids");
}

/// ONE_HOT maps out-of-range indices to a row of `off` values (TFLite semantics).
#[test]
fn one_hot_out_of_range_ids_are_off_rows() {
    let model = load(&sample("one_hot").expect("one_hot"));
    let shape = model.inputs()[0].shape.clone();
    for bad in [-1, 6, 1_000_000, i32::MIN, i32::MAX] {
        let out = model.run(vec![ids(&shape, bad)]).expect("ONE_HOT runs");
        let plain = out[0].cast_to::<f32>().expect("f32");
        let v = plain
            .try_as_plain_ram()
            .expect("ram")
            .as_slice::<f32>()
            .expect("slice")
            .to_vec();
        assert!(v.iter().all(|x| *x == 0.0), "id {bad}: {v:?}");
    }
}

/// A tensor of a synthetic model.
struct T {
    shape: Vec<i32>,
    dtype: tflite::TensorType,
    /// constant data, little-endian
    data: Option<Vec<u8>>,
}

fn t(shape: &[i32], dtype: tflite::TensorType) -> T {
    T {
        shape: shape.to_vec(),
        dtype,
        data: None,
    }
}

fn konst_i32(shape: &[i32], values: &[i32]) -> T {
    T {
        shape: shape.to_vec(),
        dtype: tflite::TensorType::INT32,
        data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    }
}

/// An operator of a synthetic model; `subgraphs` are WHILE's (cond, body).
struct O {
    code: tflite::BuiltinOperator,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    subgraphs: Option<(i32, i32)>,
}

fn o(code: tflite::BuiltinOperator, inputs: &[i32], outputs: &[i32]) -> O {
    O {
        code,
        inputs: inputs.to_vec(),
        outputs: outputs.to_vec(),
        subgraphs: None,
    }
}

struct G {
    tensors: Vec<T>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    ops: Vec<O>,
}

/// Serializes a synthetic model with the flatbuffers builder and the TFLite schema.
fn build(graphs: &[G]) -> Vec<u8> {
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let mut codes: Vec<tflite::BuiltinOperator> = vec![];
    for g in graphs {
        for op in &g.ops {
            if !codes.contains(&op.code) {
                codes.push(op.code);
            }
        }
    }
    let code_tables: Vec<_> = codes
        .iter()
        .map(|b| {
            tflite::OperatorCode::create(
                &mut fbb,
                &tflite::OperatorCodeArgs {
                    deprecated_builtin_code: b.0.min(127) as i8,
                    builtin_code: *b,
                    version: 1,
                    custom_code: None,
                },
            )
        })
        .collect();
    // buffer 0 is the empty sentinel
    let empty = tflite::Buffer::create(&mut fbb, &tflite::BufferArgs::default());
    let mut buffers = vec![empty];
    let mut subgraphs = vec![];
    for g in graphs {
        let mut tensors = vec![];
        for (i, t) in g.tensors.iter().enumerate() {
            let buffer = match &t.data {
                Some(d) => {
                    let data = fbb.create_vector(d);
                    buffers.push(tflite::Buffer::create(
                        &mut fbb,
                        &tflite::BufferArgs { data: Some(data) },
                    ));
                    buffers.len() as u32 - 1
                }
                None => 0,
            };
            let shape = fbb.create_vector(&t.shape);
            let name = fbb.create_string(&format!("t{i}"));
            tensors.push(tflite::Tensor::create(
                &mut fbb,
                &tflite::TensorArgs {
                    shape: Some(shape),
                    type_: t.dtype,
                    buffer,
                    name: Some(name),
                    ..Default::default()
                },
            ));
        }
        let mut operators = vec![];
        for op in &g.ops {
            let inputs = fbb.create_vector(&op.inputs);
            let outputs = fbb.create_vector(&op.outputs);
            let (options_type, options) = match op.subgraphs {
                Some((cond, body)) => {
                    let w = tflite::WhileOptions::create(
                        &mut fbb,
                        &tflite::WhileOptionsArgs {
                            cond_subgraph_index: cond,
                            body_subgraph_index: body,
                        },
                    );
                    (
                        tflite::BuiltinOptions::WhileOptions,
                        Some(w.as_union_value()),
                    )
                }
                None => (tflite::BuiltinOptions::NONE, None),
            };
            operators.push(tflite::Operator::create(
                &mut fbb,
                &tflite::OperatorArgs {
                    opcode_index: codes.iter().position(|c| *c == op.code).unwrap_or(0) as u32,
                    inputs: Some(inputs),
                    outputs: Some(outputs),
                    builtin_options_type: options_type,
                    builtin_options: options,
                    ..Default::default()
                },
            ));
        }
        let tensors = fbb.create_vector(&tensors);
        let operators = fbb.create_vector(&operators);
        let inputs = fbb.create_vector(&g.inputs);
        let outputs = fbb.create_vector(&g.outputs);
        subgraphs.push(tflite::SubGraph::create(
            &mut fbb,
            &tflite::SubGraphArgs {
                tensors: Some(tensors),
                inputs: Some(inputs),
                outputs: Some(outputs),
                operators: Some(operators),
                name: None,
            },
        ));
    }
    let subgraphs = fbb.create_vector(&subgraphs);
    let codes = fbb.create_vector(&code_tables);
    let buffers = fbb.create_vector(&buffers);
    let model = tflite::Model::create(
        &mut fbb,
        &tflite::ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    tflite::finish_model_buffer(&mut fbb, model);
    fbb.finished_data().to_vec()
}

/// A chain `t0 -op0-> t1 -op1-> t2 ...` of unary operators on [1, 4] floats.
fn model_with_ops(ops: &[tflite::BuiltinOperator]) -> Vec<u8> {
    let f32_ = tflite::TensorType::FLOAT32;
    build(&[G {
        tensors: (0..=ops.len()).map(|_| t(&[1, 4], f32_)).collect(),
        inputs: vec![0],
        outputs: vec![ops.len() as i32],
        ops: ops
            .iter()
            .enumerate()
            .map(|(i, b)| o(*b, &[i as i32], &[i as i32 + 1]))
            .collect(),
    }])
}

#[test]
fn all_unsupported_operators_are_listed_at_once() {
    use tflite::BuiltinOperator as B;
    // sanity: the same chain with a supported op loads
    let ok = model_with_ops(&[B::RELU, B::TANH]);
    Model::load(&ok).expect("a RELU -> TANH chain loads");

    let bytes = model_with_ops(&[B::SVDF, B::RELU, B::LSH_PROJECTION, B::HASHTABLE_LOOKUP]);
    let err = Model::load(&bytes).expect_err("unsupported ops");
    assert_eq!(err.code(), "E_UNSUPPORTED_OP", "{err}");
    match &err {
        ModelError::UnsupportedOps(locs) => {
            let names: Vec<(usize, &str)> = locs.iter().map(|l| (l.index, l.op.as_str())).collect();
            assert_eq!(
                names,
                vec![(0, "SVDF"), (2, "LSH_PROJECTION"), (3, "HASHTABLE_LOOKUP")],
                "{err}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    for op in ["SVDF", "LSH_PROJECTION", "HASHTABLE_LOOKUP"] {
        assert!(msg.contains(op), "{msg}");
    }

    // the same on a real model: every operator code rewritten to an unsupported one
    let real = sample("ranking_f32").expect("ranking_f32");
    let patched = rewrite_opcodes(&real, B::SVDF);
    let err = Model::load(&patched).expect_err("unsupported ops");
    assert_eq!(err.code(), "E_UNSUPPORTED_OP", "{err}");
    let desc = attune_tflite::parse(&patched).expect("parses");
    let svdf: usize = desc.subgraphs[0]
        .ops
        .iter()
        .filter(|o| o.name == "SVDF")
        .count();
    assert!(svdf > 1, "only {svdf} operators were rewritten");
    match &err {
        ModelError::UnsupportedOps(locs) => {
            assert_eq!(locs.len(), svdf, "{err}");
            assert!(locs.iter().all(|l| l.op == "SVDF"), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Rewrites the builtin code of every operator code in place. Flatbuffers omit
/// fields equal to their default, so the codes of ADD (0) cannot be rewritten in place
/// and stay as they are.
fn rewrite_opcodes(bytes: &[u8], to: tflite::BuiltinOperator) -> Vec<u8> {
    let model = tflite::root_as_model(bytes).expect("model");
    let mut out = bytes.to_vec();
    for oc in model.operator_codes().expect("codes").iter() {
        let tab = oc._tab;
        let vt = tab.vtable();
        let f = vt.get(tflite::OperatorCode::VT_BUILTIN_CODE) as usize;
        if f != 0 {
            let at = tab.loc() + f;
            out[at..at + 4].copy_from_slice(&to.0.to_le_bytes());
        }
        let f = vt.get(tflite::OperatorCode::VT_DEPRECATED_BUILTIN_CODE) as usize;
        if f != 0 {
            out[tab.loc() + f] = to.0.min(127) as u8;
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Regressions: crafted models for crashes found by this test and by the fuzzer.
// ---------------------------------------------------------------------------------

/// Loads and runs `bytes` on the given inputs under `catch_unwind`; returns the
/// error code (or "ok"), failing on a panic or an internal error.
fn outcome(case: &str, bytes: &[u8], inputs: Option<Vec<Tensor>>) -> String {
    let mut report = Report::default();
    let code = report
        .guarded(case, || -> Result<(), ModelError> {
            let model = Model::load(bytes)?;
            let inputs = match inputs {
                Some(i) => i,
                None => zero_inputs(&model).unwrap_or_default(),
            };
            model.run(inputs).map(|_| ())
        })
        .map(|r| match r {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                report.check_error(case, &e);
                eprintln!("{case}: {} {e}", e.code());
                e.code().to_string()
            }
        });
    report.finish(case);
    code.unwrap_or_default()
}

fn i32_tensor(shape: &[usize], v: &[i32]) -> Tensor {
    Tensor::from_shape(shape, v).expect("tensor")
}

/// tract's integer ADD panicked on overflow with overflow checks (found by
/// `out_of_range_ids_fail_in_gather`: the converter's negative-id wrap adds the vocab
/// size to the id, and i32::MAX + vocab overflowed). Integer arithmetic now wraps.
#[test]
fn regression_integer_add_overflow_wraps() {
    use tflite::BuiltinOperator as B;
    let i32_ = tflite::TensorType::INT32;
    for code in [B::ADD, B::SUB, B::MUL] {
        let bytes = build(&[G {
            tensors: vec![
                t(&[2], i32_),
                konst_i32(&[2], &[i32::MAX, i32::MIN]),
                t(&[2], i32_),
            ],
            inputs: vec![0],
            outputs: vec![2],
            ops: vec![o(code, &[0, 1], &[2])],
        }]);
        let model = Model::load(&bytes).expect("loads");
        let out = model
            .run(vec![i32_tensor(&[2], &[i32::MAX, i32::MIN])])
            .expect("integer arithmetic wraps");
        let v = out[0]
            .try_as_plain_ram()
            .expect("ram")
            .as_slice::<i32>()
            .expect("i32")
            .to_vec();
        let want: Vec<i32> = match code {
            B::ADD => vec![
                i32::MAX.wrapping_add(i32::MAX),
                i32::MIN.wrapping_add(i32::MIN),
            ],
            B::SUB => vec![0, 0],
            _ => vec![
                i32::MAX.wrapping_mul(i32::MAX),
                i32::MIN.wrapping_mul(i32::MIN),
            ],
        };
        assert_eq!(v, want, "{code:?}");
    }
    // NEG and ABS of i32::MIN
    for code in [B::NEG, B::ABS] {
        let bytes = build(&[G {
            tensors: vec![t(&[2], i32_), t(&[2], i32_)],
            inputs: vec![0],
            outputs: vec![1],
            ops: vec![o(code, &[0], &[1])],
        }]);
        let out = Model::load(&bytes)
            .expect("loads")
            .run(vec![i32_tensor(&[2], &[i32::MIN, -3])])
            .expect("runs");
        let v = out[0]
            .try_as_plain_ram()
            .expect("ram")
            .as_slice::<i32>()
            .expect("i32")
            .to_vec();
        assert_eq!(v, vec![i32::MIN, 3], "{code:?}");
    }
}

/// tract's integer DIV panics on a zero divisor in every build.
#[test]
fn regression_integer_division_by_zero_is_a_runtime_error() {
    use tflite::BuiltinOperator as B;
    let i32_ = tflite::TensorType::INT32;
    let bytes = build(&[G {
        tensors: vec![t(&[3], i32_), t(&[3], i32_), t(&[3], i32_)],
        inputs: vec![0, 1],
        outputs: vec![2],
        ops: vec![o(B::DIV, &[0, 1], &[2])],
    }]);
    let ok = outcome(
        "DIV",
        &bytes,
        Some(vec![
            i32_tensor(&[3], &[7, -7, i32::MIN]),
            i32_tensor(&[3], &[2, 2, -1]),
        ]),
    );
    assert_eq!(ok, "ok");
    let code = outcome(
        "DIV by zero",
        &bytes,
        Some(vec![
            i32_tensor(&[3], &[1, 2, 3]),
            i32_tensor(&[3], &[1, 0, 1]),
        ]),
    );
    assert_eq!(code, "E_RUNTIME");
    // a constant zero divisor, folded while preparing the plan
    let bytes = build(&[G {
        tensors: vec![
            konst_i32(&[1], &[5]),
            konst_i32(&[1], &[0]),
            t(&[1], i32_),
            t(&[1], i32_),
            t(&[1], i32_),
        ],
        inputs: vec![2],
        outputs: vec![4],
        ops: vec![o(B::DIV, &[0, 1], &[3]), o(B::ADD, &[2, 3], &[4])],
    }]);
    let code = outcome("constant DIV by zero", &bytes, None);
    assert!(code.starts_with("E_"), "{code}");
    // POW with a negative integer exponent
    let bytes = build(&[G {
        tensors: vec![t(&[1], i32_), konst_i32(&[1], &[-1]), t(&[1], i32_)],
        inputs: vec![0],
        outputs: vec![2],
        ops: vec![o(B::POW, &[0, 1], &[2])],
    }]);
    assert_eq!(outcome("POW -1", &bytes, None), "E_RUNTIME");
}

/// A WHILE whose body contains the same WHILE: rejected as malformed instead of
/// translating 2^16 nested subgraphs.
#[test]
fn regression_recursive_while_is_malformed() {
    use tflite::BuiltinOperator as B;
    let (i32_, bool_) = (tflite::TensorType::INT32, tflite::TensorType::BOOL);
    let looping = |cond, body| O {
        code: B::WHILE,
        inputs: vec![0],
        outputs: vec![1],
        subgraphs: Some((cond, body)),
    };
    let bytes = build(&[
        G {
            tensors: vec![t(&[1], i32_), t(&[1], i32_)],
            inputs: vec![0],
            outputs: vec![1],
            ops: vec![looping(1, 2)],
        },
        // cond: x < 3
        G {
            tensors: vec![t(&[1], i32_), konst_i32(&[1], &[3]), t(&[1], bool_)],
            inputs: vec![0],
            outputs: vec![2],
            ops: vec![o(B::LESS, &[0, 1], &[2])],
        },
        // body: the same WHILE again
        G {
            tensors: vec![t(&[1], i32_), t(&[1], i32_)],
            inputs: vec![0],
            outputs: vec![1],
            ops: vec![looping(1, 2)],
        },
    ]);
    assert_eq!(
        outcome("recursive WHILE", &bytes, None),
        "E_MALFORMED_MODEL"
    );
}

/// Crafted sizes must not make translation or preparation allocate gigabytes.
#[test]
fn regression_huge_computed_tensors_are_rejected() {
    use tflite::BuiltinOperator as B;
    let f32_ = tflite::TensorType::FLOAT32;
    // TILE by 2^30 x 2^30
    let bytes = build(&[G {
        tensors: vec![
            t(&[2, 2], f32_),
            konst_i32(&[2], &[1 << 30, 1 << 30]),
            t(&[2, 2], f32_),
        ],
        inputs: vec![0],
        outputs: vec![2],
        ops: vec![o(B::TILE, &[0, 1], &[2])],
    }]);
    assert_eq!(
        outcome("TILE 2^30 x 2^30", &bytes, None),
        "E_INVALID_OPERATOR"
    );
    // PAD by i32::MAX
    let bytes = build(&[G {
        tensors: vec![
            t(&[2], f32_),
            konst_i32(&[1, 2], &[i32::MAX, i32::MAX]),
            t(&[2], f32_),
        ],
        inputs: vec![0],
        outputs: vec![2],
        ops: vec![o(B::PAD, &[0, 1], &[2])],
    }]);
    assert_eq!(outcome("PAD i32::MAX", &bytes, None), "E_INVALID_OPERATOR");
    // ZEROS_LIKE of a declared 2^30-element input (never allocated by the caller)
    let bytes = build(&[G {
        tensors: vec![t(&[1 << 15, 1 << 15], f32_), t(&[1 << 15, 1 << 15], f32_)],
        inputs: vec![0],
        outputs: vec![1],
        ops: vec![o(B::ZEROS_LIKE, &[0], &[1])],
    }]);
    assert_eq!(
        outcome("ZEROS_LIKE 2^30", &bytes, Some(vec![])),
        "E_INVALID_OPERATOR"
    );
    // RESHAPE to a shape whose product overflows i64
    let bytes = build(&[G {
        tensors: vec![
            t(&[4], f32_),
            konst_i32(&[4], &[i32::MAX, i32::MAX, i32::MAX, 4]),
            t(&[4], f32_),
        ],
        inputs: vec![0],
        outputs: vec![2],
        ops: vec![o(B::RESHAPE, &[0, 1], &[2])],
    }]);
    assert_eq!(
        outcome("RESHAPE overflow", &bytes, None),
        "E_INVALID_OPERATOR"
    );
}

/// Models written by the fuzzer's reproducers (see fuzz/README.md): each one crashed
/// the importer once. Loading and running them must give typed errors.
#[test]
fn regression_fuzz_reproducers() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no reproducers in {}", dir.display());
    let mut report = Report::default();
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let name = f.file_name().map(|n| n.to_string_lossy().to_string());
        report.load_and_run(&name.unwrap_or_default(), &bytes);
    }
    report.finish("fuzz reproducers");
}
