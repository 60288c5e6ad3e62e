//! Shared code of the fuzz targets: loading and running a candidate model with the
//! same checks as `tests/robustness.rs`, and a structure-aware mutator that rewrites
//! the scalar fields of a real model in place.

use std::path::PathBuf;
use std::sync::OnceLock;

use attune_tflite::{Model, ModelError, Tensor};
use tract_tflite::tflite;

const CODES: &[&str] = &[
    "E_MALFORMED_MODEL",
    "E_UNSUPPORTED_OP",
    "E_INVALID_OPERATOR",
    "E_INVALID_INPUT",
    "E_PREPARE",
    "E_RUNTIME",
];

/// Inputs larger than this (in elements, all inputs together) are not run: a mutated
/// dimension can legitimately declare a huge input, and allocating it is the
/// harness's cost, not the engine's.
const MAX_RUN_ELEMENTS: usize = 1 << 20;

fn check(e: &ModelError) {
    let msg = e.to_string();
    assert!(
        CODES.contains(&e.code()),
        "undocumented code {}: {msg}",
        e.code()
    );
    // Model::load and run catch panics and report them as internal errors: a panic in
    // disguise is a bug all the same.
    assert!(!msg.contains("internal error"), "{}: {msg}", e.code());
}

/// Zero inputs of the declared shapes (dynamic dimensions are stored as 1).
pub fn zero_inputs(model: &Model) -> Option<Vec<Tensor>> {
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

/// Loads `data`; when it loads, runs it once on zero inputs. Panics (so that the
/// fuzzer records a crash) on an undocumented error code or a caught panic.
pub fn load_and_run(data: &[u8]) {
    match Model::load(data) {
        Err(e) => check(&e),
        Ok(model) => {
            if let Some(inputs) = zero_inputs(&model) {
                if let Err(e) = model.run(inputs) {
                    check(&e);
                }
            }
        }
    }
}

/// A mutable scalar of a model: where it is and how wide.
#[derive(Clone, Copy, Debug)]
struct Slot {
    at: usize,
    width: usize,
}

struct Seed {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

fn offset_in(buf: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - buf.as_ptr() as usize
}

/// Every field a mutation may rewrite: operator codes, tensor shapes, types, buffer
/// and quantization parameters, operator indices and options, subgraph inputs and
/// outputs, vector lengths, and the contents of small constant buffers (axes, shapes,
/// sizes...).
fn slots_of(bytes: &[u8]) -> Vec<Slot> {
    let Ok(model) = tflite::root_as_model(bytes) else {
        return vec![];
    };
    let mut slots = vec![];
    fn field(tab: flatbuffers::Table<'_>, vt_off: u16, width: usize, slots: &mut Vec<Slot>) {
        let off = tab.vtable().get(vt_off) as usize;
        if off != 0 {
            slots.push(Slot {
                at: tab.loc() + off,
                width,
            });
        }
    }
    let vec_i32 = |v: flatbuffers::Vector<'_, i32>, slots: &mut Vec<Slot>| {
        let start = offset_in(bytes, v.bytes());
        // the length prefix, then each element
        slots.push(Slot {
            at: start - 4,
            width: 4,
        });
        for i in 0..v.len() {
            slots.push(Slot {
                at: start + 4 * i,
                width: 4,
            });
        }
    };
    if let Some(codes) = model.operator_codes() {
        for oc in codes.iter() {
            field(
                oc._tab,
                tflite::OperatorCode::VT_BUILTIN_CODE,
                4,
                &mut slots,
            );
            field(
                oc._tab,
                tflite::OperatorCode::VT_DEPRECATED_BUILTIN_CODE,
                1,
                &mut slots,
            );
        }
    }
    if let Some(sgs) = model.subgraphs() {
        for sg in sgs.iter() {
            if let Some(v) = sg.inputs() {
                vec_i32(v, &mut slots);
            }
            if let Some(v) = sg.outputs() {
                vec_i32(v, &mut slots);
            }
            for t in sg.tensors().iter().flat_map(|v| v.iter()) {
                if let Some(v) = t.shape() {
                    vec_i32(v, &mut slots);
                }
                if let Some(v) = t.shape_signature() {
                    vec_i32(v, &mut slots);
                }
                field(t._tab, tflite::Tensor::VT_TYPE_, 1, &mut slots);
                field(t._tab, tflite::Tensor::VT_BUFFER, 4, &mut slots);
                if let Some(q) = t.quantization() {
                    field(
                        q._tab,
                        tflite::QuantizationParameters::VT_QUANTIZED_DIMENSION,
                        4,
                        &mut slots,
                    );
                    if let Some(s) = q.scale() {
                        let start = offset_in(bytes, s.bytes());
                        slots.push(Slot {
                            at: start - 4,
                            width: 4,
                        });
                        for i in 0..s.len().min(4) {
                            slots.push(Slot {
                                at: start + 4 * i,
                                width: 4,
                            });
                        }
                    }
                    if let Some(z) = q.zero_point() {
                        let start = offset_in(bytes, z.bytes());
                        slots.push(Slot {
                            at: start - 4,
                            width: 4,
                        });
                        for i in 0..z.len().min(4) {
                            slots.push(Slot {
                                at: start + 8 * i,
                                width: 8,
                            });
                        }
                    }
                }
            }
            for op in sg.operators().iter().flat_map(|v| v.iter()) {
                field(op._tab, tflite::Operator::VT_OPCODE_INDEX, 4, &mut slots);
                field(
                    op._tab,
                    tflite::Operator::VT_BUILTIN_OPTIONS_TYPE,
                    1,
                    &mut slots,
                );
                if let Some(v) = op.inputs() {
                    vec_i32(v, &mut slots);
                }
                if let Some(v) = op.outputs() {
                    vec_i32(v, &mut slots);
                }
                if let Some(opts) = op.builtin_options() {
                    // every field present in the options table; a field's width is
                    // the gap to the next one (at most 4)
                    let vt = opts.vtable();
                    let mut offs: Vec<usize> = (0..vt.num_fields())
                        .map(|i| vt.get_field(i) as usize)
                        .filter(|o| *o != 0)
                        .collect();
                    offs.sort_unstable();
                    let inline = vt.object_inline_num_bytes();
                    for (i, o) in offs.iter().enumerate() {
                        let next = offs.get(i + 1).copied().unwrap_or(inline);
                        let width = next.saturating_sub(*o).clamp(1, 4);
                        slots.push(Slot {
                            at: opts.loc() + o,
                            width,
                        });
                    }
                }
            }
        }
    }
    if let Some(buffers) = model.buffers() {
        for b in buffers.iter() {
            if let Some(d) = b.data() {
                let s = d.bytes();
                if s.len() <= 64 {
                    let start = offset_in(bytes, s);
                    for i in (0..s.len()).step_by(4) {
                        slots.push(Slot {
                            at: start + i,
                            width: (s.len() - i).min(4),
                        });
                    }
                }
            }
        }
    }
    slots.retain(|s| s.at + s.width <= bytes.len());
    slots
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/conformance")
}

/// Every conformance model (ops and whole models), sorted by path.
pub fn conformance_models() -> Vec<PathBuf> {
    let mut out = vec![];
    for kind in ["ops", "models"] {
        if let Ok(rd) = std::fs::read_dir(conformance_dir().join(kind)) {
            for e in rd.flatten() {
                let p = e.path().join("model.tflite");
                if p.is_file() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Largest conformance model the structure-aware mutator starts from.
const MAX_SEED_BYTES: usize = 80_000;

fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let seeds: Vec<Seed> = conformance_models()
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            // the large sequence models take 50-200 ms a run: they are fuzzed through
            // load_model's corpus, and kept out of here for throughput
            .filter(|b| b.len() <= MAX_SEED_BYTES)
            .map(|bytes| Seed {
                slots: slots_of(&bytes),
                bytes,
            })
            .filter(|s| !s.slots.is_empty())
            .collect();
        assert!(
            !seeds.is_empty(),
            "no conformance models under {:?}",
            conformance_dir()
        );
        seeds
    })
}

const INTERESTING: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    -2,
    4,
    7,
    8,
    16,
    127,
    128,
    255,
    256,
    -128,
    1000,
    4096,
    65535,
    65536,
    1 << 20,
    1 << 24,
    1 << 28,
    1 << 30,
    i32::MAX as i64,
    i32::MIN as i64,
    i32::MAX as i64 - 1,
    i64::MAX,
    i64::MIN,
];

/// Applies the mutations encoded in `data` to one of the conformance models:
/// `data[0]` picks the model, then each group of 4 bytes `[slot lo, slot hi, op, arg]`
/// rewrites one field.
pub fn mutate(data: &[u8]) -> Option<Vec<u8>> {
    let (first, rest) = data.split_first()?;
    let all = seeds();
    let seed = &all[*first as usize % all.len()];
    let mut bytes = seed.bytes.clone();
    for g in rest.chunks_exact(4).take(16) {
        let slot = seed.slots[u16::from_le_bytes([g[0], g[1]]) as usize % seed.slots.len()];
        let (op, arg) = (g[2], g[3]);
        let at = slot.at;
        let old = read(&bytes, slot);
        let v: i64 = match op % 8 {
            0 | 1 | 2 => INTERESTING[arg as usize % INTERESTING.len()],
            3 => old.wrapping_add(arg as i8 as i64),
            4 => old.wrapping_neg(),
            5 => old ^ (1i64 << (arg % (8 * slot.width as u8))),
            6 => {
                // the value of another slot (an index from elsewhere in the model)
                let other = seed.slots[(arg as usize * 131 + at) % seed.slots.len()];
                read(&bytes, other)
            }
            _ => old.wrapping_mul(arg as i64 + 2),
        };
        let le = v.to_le_bytes();
        bytes[at..at + slot.width].copy_from_slice(&le[..slot.width]);
    }
    Some(bytes)
}

fn read(bytes: &[u8], slot: Slot) -> i64 {
    let mut b = [0u8; 8];
    b[..slot.width].copy_from_slice(&bytes[slot.at..slot.at + slot.width]);
    let v = i64::from_le_bytes(b);
    // sign-extend from the slot width
    let shift = 64 - 8 * slot.width as u32;
    (v << shift) >> shift
}
