//! `attune conform`: runs conformance cases (see `tests/conformance/README.md`) and
//! compares with the reference interpreter's outputs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attune_tflite::{DType, Model, Tensor};
use serde::{Deserialize, Serialize};

/// A case's `manifest.json` (tests/conformance/README.md).
#[derive(Deserialize)]
pub struct Manifest {
    model: String,
    inputs: Vec<Io>,
    outputs: Vec<Io>,
}

#[derive(Deserialize)]
struct Io {
    #[serde(default)]
    name: String,
    dtype: String,
    shape: Vec<usize>,
    file: String,
    #[serde(default)]
    atol: Option<f64>,
}

/// The inputs of a conformance case, read from its manifest.
pub fn case_inputs(case: &Path) -> Result<Vec<Tensor>> {
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(case.join("manifest.json"))?)
        .with_context(|| format!("parsing {}/manifest.json", case.display()))?;
    manifest
        .inputs
        .iter()
        .map(|io| read_tensor(case, io))
        .collect()
}

/// The verdict on one case (`attune conform --json` prints these).
#[derive(Serialize)]
pub struct Outcome {
    /// The case folder, as found under the folders given.
    #[serde(rename = "case")]
    pub path: PathBuf,
    pub passed: bool,
    /// The largest of the outputs' `max_diff` (NaN, `null` in JSON, if any is NaN or
    /// the case could not be judged).
    pub max_diff: f64,
    /// Why it failed, in words (empty when it passed).
    pub detail: String,
    /// The error the runtime reported instead of outputs (`--actual` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ActualError>,
    /// One verdict per output, in the case's order; empty when no outputs were judged.
    pub outputs: Vec<OutputVerdict>,
}

fn dtype(s: &str) -> Result<DType> {
    Ok(match s {
        "f32" => DType::F32,
        "i32" => DType::I32,
        "i64" => DType::I64,
        "i8" => DType::I8,
        "u8" => DType::U8,
        "bool" => DType::Bool,
        "i16" => DType::I16,
        "f16" => DType::F16,
        "f64" => DType::F64,
        other => bail!("unknown dtype {other}"),
    })
}

/// Every folder under `roots` holding a `manifest.json`, sorted.
pub fn find_cases(roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    for root in roots {
        if !root.exists() {
            bail!("{} does not exist", root.display());
        }
        walk(root, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// A case folder has a manifest.json with `model`, `inputs` and `outputs` (bundle
/// manifests, which share the file name, are skipped).
fn is_case(dir: &Path) -> bool {
    let Ok(bytes) = std::fs::read(dir.join("manifest.json")) else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return true;
    };
    ["model", "inputs", "outputs"]
        .iter()
        .all(|k| v.get(k).is_some())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if is_case(dir) {
        out.push(dir.to_path_buf());
    }
    if dir.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out)?;
            }
        }
    }
    Ok(())
}

fn read_tensor(case: &Path, io: &Io) -> Result<Tensor> {
    let bytes =
        std::fs::read(case.join(&io.file)).with_context(|| format!("reading {}", io.file))?;
    Ok(attune_tflite::tensor_from_bytes(
        dtype(&io.dtype)?,
        &io.shape,
        &bytes,
    )?)
}

fn as_f64(t: &Tensor) -> Result<Vec<f64>> {
    let c = t.cast_to::<f64>().map_err(|e| anyhow::anyhow!("{e}"))?;
    let v = c
        .try_as_plain_ram()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .as_slice::<f64>()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_vec();
    Ok(v)
}

/// Loaded models are cached by path: suites keep one model for several cases.
#[derive(Default)]
pub struct Runner {
    models: std::collections::HashMap<PathBuf, std::rc::Rc<Model>>,
}

fn failed(case: &Path, e: &anyhow::Error) -> Outcome {
    Outcome {
        path: case.to_path_buf(),
        passed: false,
        max_diff: f64::NAN,
        detail: format!("{e:#}"),
        error: None,
        outputs: vec![],
    }
}

fn read_manifest(case: &Path) -> Result<Manifest> {
    serde_json::from_slice(&std::fs::read(case.join("manifest.json"))?)
        .with_context(|| format!("parsing {}/manifest.json", case.display()))
}

impl Runner {
    /// Runs a case on this engine and judges the outputs.
    pub fn run_case(&mut self, case: &Path, rule: Rule) -> Outcome {
        self.try_case(case, rule)
            .unwrap_or_else(|e| failed(case, &e))
    }

    fn try_case(&mut self, case: &Path, rule: Rule) -> Result<Outcome> {
        let manifest = read_manifest(case)?;
        let model_path = case.join(&manifest.model);
        let key = model_path.canonicalize().unwrap_or(model_path.clone());
        let model = match self.models.get(&key) {
            Some(m) => m.clone(),
            None => {
                let bytes = std::fs::read(&model_path)
                    .with_context(|| format!("reading {}", model_path.display()))?;
                let m = std::rc::Rc::new(
                    Model::load(&bytes).map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?,
                );
                self.models.insert(key, m.clone());
                m
            }
        };
        let inputs = manifest
            .inputs
            .iter()
            .map(|io| read_tensor(case, io))
            .collect::<Result<Vec<_>>>()?;
        let outputs = model
            .run(inputs)
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
        judge(case, &manifest, &outputs, rule)
    }
}

/// Outputs another runtime produced for conformance cases, for [`judge_actual`]:
/// `DIR/index.json` lists, per case, the files it wrote (raw little-endian values,
/// row-major, like the cases' own `.bin` files) or the error it raised. The JavaScript
/// and Python harnesses write this and let this command decide (tests/conformance/README.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActualIndex {
    /// What produced the outputs (printed with the summary).
    runtime: String,
    cases: Vec<ActualCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActualCase {
    /// The case folder, as `attune conform --list` printed it.
    case: PathBuf,
    #[serde(default)]
    outputs: Vec<ActualOutput>,
    #[serde(default)]
    error: Option<ActualError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActualOutput {
    /// Path relative to the index.
    file: PathBuf,
    dtype: String,
    shape: Vec<usize>,
}

/// An error another runtime raised for a case instead of producing outputs.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ActualError {
    pub code: String,
    pub message: String,
}

/// Judges the outputs another runtime wrote into `dir` (see [`ActualIndex`]) against
/// the reference outputs of every case under `roots`. A case the runtime did not report
/// fails, so a harness that skips cases cannot pass. Returns the runtime's name and one
/// outcome per case.
pub fn judge_actual(dir: &Path, roots: &[PathBuf], rule: Rule) -> Result<(String, Vec<Outcome>)> {
    let index_path = dir.join("index.json");
    let index: ActualIndex = serde_json::from_slice(
        &std::fs::read(&index_path).with_context(|| format!("reading {}", index_path.display()))?,
    )
    .with_context(|| format!("parsing {}", index_path.display()))?;
    let mut reported: std::collections::HashMap<PathBuf, &ActualCase> = Default::default();
    for c in &index.cases {
        if reported.insert(c.case.clone(), c).is_some() {
            bail!(
                "{}: case {} is listed twice",
                index_path.display(),
                c.case.display()
            );
        }
    }
    let mut out = vec![];
    for case in find_cases(roots)? {
        let Some(actual) = reported.remove(&case) else {
            out.push(failed(
                &case,
                &anyhow::anyhow!("not run by {}", index.runtime),
            ));
            continue;
        };
        if let Some(e) = &actual.error {
            let mut o = failed(&case, &anyhow::anyhow!("[{}] {}", e.code, e.message));
            o.error = Some(e.clone());
            out.push(o);
            continue;
        }
        let outcome = (|| -> Result<Outcome> {
            let manifest = read_manifest(&case)?;
            let tensors = actual
                .outputs
                .iter()
                .map(|o| {
                    let bytes = std::fs::read(dir.join(&o.file))
                        .with_context(|| format!("reading {}", o.file.display()))?;
                    Ok(attune_tflite::tensor_from_bytes(
                        dtype(&o.dtype)?,
                        &o.shape,
                        &bytes,
                    )?)
                })
                .collect::<Result<Vec<_>>>()?;
            judge(&case, &manifest, &tensors, rule)
        })();
        out.push(outcome.unwrap_or_else(|e| failed(&case, &e)));
    }
    if let Some(extra) = reported.keys().next() {
        bail!(
            "{}: case {} is not under the folders given",
            index_path.display(),
            extra.display()
        );
    }
    Ok((index.runtime, out))
}

/// How loosely a run is judged. The default is the conformance rule; `rtol` loosens it
/// for other runtimes in the benchmarks (`attune conform --rtol R` or `--peer`), whose
/// kernels are not held to conformance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rule {
    /// Floats pass within max(the case's bound, rtol × max(1, max |reference|)), and
    /// index outputs may swap ids whose reference scores are within rtol × max(1,
    /// max |scores|) of each other. 0 is the conformance rule: the case's own bound and
    /// exact ties. Integer steps are never loosened.
    pub rtol: f64,
}

/// `--peer`: the rule for LiteRT, LiteRT.js and tfjs-tflite in the benchmarks. Their
/// int8 kernels may requantize one step away from the reference's: an int8 ranking
/// model's [0, 1] score is then 1/256 (3.9e-3) off, where conformance allows 1e-5.
/// 1e-2 × max(1, max |reference|) admits that step, and nothing the size of a misread
/// or misordered input.
pub const PEER_RTOL: f64 = 1e-2;

impl Rule {
    /// The conformance rule (tests/conformance/README.md).
    pub const CONFORMANCE: Rule = Rule { rtol: 0.0 };

    /// A rule with a looser float factor; `rtol` must be finite and not negative.
    pub fn with_rtol(rtol: f64) -> Result<Rule> {
        if !(rtol.is_finite() && rtol >= 0.0) {
            bail!("--rtol must be a finite number >= 0, got {rtol}");
        }
        Ok(Rule { rtol })
    }
}

/// The verdict on one output of a case (`attune conform --json` prints these).
#[derive(Serialize)]
pub struct OutputVerdict {
    pub index: usize,
    pub name: String,
    /// The case's dtype for this output, which picks the rule.
    pub dtype: String,
    pub passed: bool,
    /// Largest |actual − reference| over elements where neither is NaN (in steps for
    /// int8/u8/i16); NaN (`null` in JSON) when a NaN stands against a number or the
    /// shapes differ.
    pub max_diff: f64,
    /// The largest difference the rule allows: the float bound, 1 step, or 0.
    pub bound: f64,
    /// Elements that differ at all. For an index output that passed, these are the
    /// swaps that tied reference scores explain.
    pub differing: usize,
    /// Why it failed, in words (empty when it passed).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Max difference, NaN placement and count of differing elements of two equally long
/// value lists. Equal values (infinities included) differ by 0; an infinity against
/// anything else differs by infinity.
struct Diff {
    max: f64,
    nan_mismatch: bool,
    differing: usize,
}

fn diff(ours: &[f64], reference: &[f64]) -> Diff {
    let mut d = Diff {
        max: 0.0,
        nan_mismatch: false,
        differing: 0,
    };
    for (x, y) in ours.iter().zip(reference) {
        if x == y || (x.is_nan() && y.is_nan()) {
            continue;
        }
        d.differing += 1;
        if x.is_nan() || y.is_nan() {
            d.nan_mismatch = true;
        } else {
            d.max = d.max.max((x - y).abs());
        }
    }
    d
}

/// max(1, max |v|) over the finite values: an infinite reference value must be matched
/// exactly, not turn the bound infinite.
fn scale(v: &[f64]) -> f64 {
    v.iter()
        .filter(|x| x.is_finite())
        .fold(1f64, |m, x| m.max(x.abs()))
}

/// The one rule that decides whether outputs match (tests/conformance/README.md, "How
/// outputs are compared"): shapes equal; floats within `atol`, or 1e-5 × max(1,
/// max |reference|), with NaN exactly where the reference has NaN; int8/u8/i16 within
/// 1 (rounding of requantization); bool and other integers identical, except index
/// outputs whose differences the reference's tied scores explain. `rule` may loosen
/// the floats and the ties (see [`Rule`]).
pub fn judge(case: &Path, manifest: &Manifest, outputs: &[Tensor], rule: Rule) -> Result<Outcome> {
    if outputs.len() != manifest.outputs.len() {
        bail!(
            "model produced {} outputs, the case expects {}",
            outputs.len(),
            manifest.outputs.len()
        );
    }
    let refs = manifest
        .outputs
        .iter()
        .map(|io| read_tensor(case, io))
        .collect::<Result<Vec<_>>>()?;
    let verdicts = outputs
        .iter()
        .zip(&manifest.outputs)
        .enumerate()
        .map(|(i, (ours, io))| judge_output(i, ours, io, &refs, rule))
        .collect::<Result<Vec<_>>>()?;
    let max_diff = verdicts.iter().fold(0f64, |m, v| {
        if m.is_nan() || v.max_diff.is_nan() {
            f64::NAN
        } else {
            m.max(v.max_diff)
        }
    });
    let detail = verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Outcome {
        path: case.to_path_buf(),
        passed: verdicts.iter().all(|v| v.passed),
        max_diff,
        detail,
        error: None,
        outputs: verdicts,
    })
}

fn judge_output(
    i: usize,
    ours: &Tensor,
    io: &Io,
    refs: &[Tensor],
    rule: Rule,
) -> Result<OutputVerdict> {
    let reference = &refs[i];
    let mut v = OutputVerdict {
        index: i,
        name: io.name.clone(),
        dtype: io.dtype.clone(),
        passed: false,
        max_diff: f64::NAN,
        bound: 0.0,
        differing: 0,
        detail: String::new(),
    };
    if ours.shape() != reference.shape() {
        v.detail = format!(
            "output {i} ({}): shape {:?}, expected {:?}",
            io.name,
            ours.shape(),
            reference.shape()
        );
        return Ok(v);
    }
    let a = as_f64(ours)?;
    let b = as_f64(reference)?;
    let d = diff(&a, &b);
    v.differing = d.differing;
    v.max_diff = if d.nan_mismatch { f64::NAN } else { d.max };
    v.passed = match io.dtype.as_str() {
        "f32" | "f16" | "f64" => {
            let s = scale(&b);
            let case_bound = io.atol.unwrap_or(1e-5 * s);
            v.bound = case_bound.max(rule.rtol * s);
            !d.nan_mismatch && d.max <= v.bound
        }
        "i8" | "u8" | "i16" => {
            v.bound = 1.0;
            d.max <= v.bound
        }
        "bool" => d.differing == 0,
        _ => d.differing == 0 || ties_explain(i, &a, &b, refs, reference.shape(), rule),
    };
    if !v.passed {
        v.detail = if d.nan_mismatch {
            format!(
                "output {i} ({}): NaN where the reference has a number, or the reverse",
                io.name
            )
        } else {
            format!("output {i} ({}): max abs diff {:e}", io.name, d.max)
        };
    }
    Ok(v)
}

/// Index outputs may differ where the reference scores tie: position j may hold any of
/// the indices whose paired score equals the reference score at j. The paired scores are
/// a floating output of the same shape (top-k returns values and indices together).
/// Scores within `rule.rtol` × max(1, max |scores|) count as equal.
fn ties_explain(
    out_ix: usize,
    ours: &[f64],
    reference: &[f64],
    refs: &[Tensor],
    shape: &[usize],
    rule: Rule,
) -> bool {
    let Some(scores) = refs
        .iter()
        .enumerate()
        .find(|(j, t)| *j != out_ix && t.shape() == shape && t.datum_type().is_float())
    else {
        return false;
    };
    let Ok(s) = as_f64(scores.1) else {
        return false;
    };
    let tol = rule.rtol * scale(&s);
    let tie = |x: f64, y: f64| x == y || (x - y).abs() <= tol;
    let row = *shape.last().unwrap_or(&1);
    if row == 0 {
        return true;
    }
    for ((o, e), sc) in ours
        .chunks(row)
        .zip(reference.chunks(row))
        .zip(s.chunks(row))
    {
        let last = sc[row - 1];
        for j in 0..row {
            if o[j] == e[j] {
                continue;
            }
            // Our index must be one the reference scores the same as position j, or
            // position j sits in the tie group at the k-th boundary, where the
            // reference may have kept a different member of the group.
            let tied = (0..row).any(|k| e[k] == o[j] && tie(sc[k], sc[j]));
            if !tied && !tie(sc[j], last) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        attune_tflite::tensor_from_bytes(DType::F32, shape, &bytes).unwrap()
    }

    fn i32s(shape: &[usize], v: &[i32]) -> Tensor {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        attune_tflite::tensor_from_bytes(DType::I32, shape, &bytes).unwrap()
    }

    fn io(dtype: &str, atol: Option<f64>) -> Io {
        Io {
            name: "out".into(),
            dtype: dtype.into(),
            shape: vec![],
            file: String::new(),
            atol,
        }
    }

    fn float_verdict(
        ours: &[f32],
        reference: &[f32],
        atol: Option<f64>,
        rule: Rule,
    ) -> OutputVerdict {
        let n = reference.len();
        let refs = [f32s(&[n], reference)];
        judge_output(0, &f32s(&[ours.len()], ours), &io("f32", atol), &refs, rule).unwrap()
    }

    #[test]
    fn float_bound_is_1e5_of_the_largest_reference_value_or_the_case_atol() {
        let r = Rule::CONFORMANCE;
        assert!(float_verdict(&[1.0, 200.0], &[1.0, 200.001], None, r).passed);
        assert!(!float_verdict(&[1.0, 200.0], &[1.0, 200.01], None, r).passed);
        assert!(float_verdict(&[1.0, 200.0], &[1.0, 200.01], Some(0.02), r).passed);
        let v = float_verdict(&[0.5, 0.25], &[0.5, 0.2501], None, r);
        assert!(!v.passed);
        assert!((v.max_diff - 1e-4).abs() < 1e-7, "{}", v.max_diff);
        assert_eq!(v.bound, 1e-5);
        assert_eq!(v.differing, 1);
        assert!(v.detail.contains("max abs diff"), "{}", v.detail);
    }

    #[test]
    fn rtol_loosens_floats_but_never_tightens_a_case_atol() {
        let peer = Rule::with_rtol(PEER_RTOL).unwrap();
        // one int8 step of a [0, 1] score: beyond conformance, within the peer rule
        assert!(!float_verdict(&[0.5], &[0.5 + 1.0 / 256.0], None, Rule::CONFORMANCE).passed);
        let v = float_verdict(&[0.5], &[0.5 + 1.0 / 256.0], None, peer);
        assert!(v.passed);
        assert_eq!(v.bound, 1e-2);
        // the factor scales with the largest reference value
        assert!(float_verdict(&[300.0], &[302.0], None, peer).passed);
        assert!(!float_verdict(&[300.0], &[304.0], None, peer).passed);
        assert!(!float_verdict(&[0.5], &[0.52], None, peer).passed);
        // an atol looser than rtol × scale still holds
        assert!(float_verdict(&[0.5], &[0.52], Some(0.03), peer).passed);
        assert!(Rule::with_rtol(-1.0).is_err());
        assert!(Rule::with_rtol(f64::NAN).is_err());
        assert!(Rule::with_rtol(f64::INFINITY).is_err());
    }

    #[test]
    fn nan_must_stand_where_the_reference_has_nan() {
        for rule in [Rule::CONFORMANCE, Rule::with_rtol(PEER_RTOL).unwrap()] {
            assert!(float_verdict(&[f32::NAN, 1.0], &[f32::NAN, 1.0], None, rule).passed);
            let v = float_verdict(&[f32::NAN, 1.0], &[1.0, 1.0], None, rule);
            assert!(!v.passed);
            assert!(v.max_diff.is_nan());
            assert!(!float_verdict(&[1.0, 1.0], &[f32::NAN, 1.0], None, rule).passed);
        }
    }

    #[test]
    fn an_infinite_reference_value_must_be_matched_and_does_not_widen_the_bound() {
        let r = Rule::CONFORMANCE;
        // matching infinities differ by 0, whatever else differs within the bound
        let v = float_verdict(
            &[f32::NEG_INFINITY, 1.000_001],
            &[f32::NEG_INFINITY, 1.0],
            None,
            r,
        );
        assert!(v.passed, "{}", v.detail);
        assert_eq!(v.bound, 1e-5);
        // an infinity in the reference must not make every other difference acceptable
        assert!(!float_verdict(&[f32::INFINITY, 1.0], &[f32::INFINITY, 5.0], None, r).passed);
        assert!(!float_verdict(&[f32::INFINITY, 1.0], &[f32::MAX, 1.0], None, r).passed);
    }

    #[test]
    fn int8_may_be_one_step_off_bool_and_other_ints_must_be_equal() {
        let t = |d: DType, v: &[u8]| attune_tflite::tensor_from_bytes(d, &[v.len()], v).unwrap();
        let check = |d: DType, name: &str, ours: &[u8], reference: &[u8], rule: Rule| {
            let refs = [t(d, reference)];
            judge_output(0, &t(d, ours), &io(name, None), &refs, rule)
                .unwrap()
                .passed
        };
        let peer = Rule::with_rtol(PEER_RTOL).unwrap();
        for rule in [Rule::CONFORMANCE, peer] {
            assert!(check(DType::I8, "i8", &[3, 0xff], &[4, 0xff], rule));
            assert!(!check(DType::I8, "i8", &[3, 0xff], &[5, 0xff], rule));
            assert!(!check(DType::Bool, "bool", &[1, 0], &[1, 1], rule));
        }
    }

    fn topk(ours: &[i32], ref_ids: &[i32], scores: &[f32], rule: Rule) -> OutputVerdict {
        let n = ref_ids.len();
        let refs = [f32s(&[1, n], scores), i32s(&[1, n], ref_ids)];
        judge_output(1, &i32s(&[1, n], ours), &io("i32", None), &refs, rule).unwrap()
    }

    #[test]
    fn index_swaps_pass_only_where_the_reference_scores_tie() {
        let r = Rule::CONFORMANCE;
        // 6 and 7 tie at 0.5: either order is right
        let v = topk(&[5, 7, 6, 8], &[5, 6, 7, 8], &[0.9, 0.5, 0.5, 0.1], r);
        assert!(v.passed);
        assert_eq!(v.differing, 2);
        // distinct scores: a swap is wrong
        assert!(!topk(&[5, 7, 6, 8], &[5, 6, 7, 8], &[0.9, 0.5, 0.4, 0.1], r).passed);
        // 7, 8 (and 9, outside the reference's top 4) tie at the k-th boundary: the
        // reference kept 7 and 8, another runtime may keep 8 and 9
        assert!(topk(&[5, 6, 8, 9], &[5, 6, 7, 8], &[0.9, 0.5, 0.1, 0.1], r).passed);
        // a different id elsewhere is wrong
        assert!(!topk(&[5, 9, 7, 8], &[5, 6, 7, 8], &[0.9, 0.5, 0.4, 0.1], r).passed);
    }

    #[test]
    fn rtol_counts_reference_scores_that_close_as_tied_and_no_closer() {
        let peer = Rule::with_rtol(PEER_RTOL).unwrap();
        // 0.500 and 0.495 are within 1e-2 × max(1, 0.9): a peer may order them either way
        let scores = [0.9, 0.5, 0.495, 0.1];
        assert!(!topk(&[5, 7, 6, 8], &[5, 6, 7, 8], &scores, Rule::CONFORMANCE).passed);
        assert!(topk(&[5, 7, 6, 8], &[5, 6, 7, 8], &scores, peer).passed);
        // 0.5 and 0.4 are not
        assert!(!topk(&[5, 7, 6, 8], &[5, 6, 7, 8], &[0.9, 0.5, 0.4, 0.1], peer).passed);
    }
}
