//! `attune conform`: runs conformance cases (see `tests/conformance/README.md`) and
//! compares with the reference interpreter's outputs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attune_tflite::{DType, Model, Tensor};
use serde::Deserialize;

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

/// Result of one case.
pub struct Outcome {
    pub path: PathBuf,
    pub passed: bool,
    pub max_diff: f64,
    pub detail: String,
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
    }
}

fn read_manifest(case: &Path) -> Result<Manifest> {
    serde_json::from_slice(&std::fs::read(case.join("manifest.json"))?)
        .with_context(|| format!("parsing {}/manifest.json", case.display()))
}

impl Runner {
    /// Runs a case on this engine and judges the outputs.
    pub fn run_case(&mut self, case: &Path) -> Outcome {
        self.try_case(case).unwrap_or_else(|e| failed(case, &e))
    }

    fn try_case(&mut self, case: &Path) -> Result<Outcome> {
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
        judge(case, &manifest, &outputs)
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActualError {
    code: String,
    message: String,
}

/// Judges the outputs another runtime wrote into `dir` (see [`ActualIndex`]) against
/// the reference outputs of every case under `roots`. A case the runtime did not report
/// fails, so a harness that skips cases cannot pass. Returns the runtime's name and one
/// outcome per case.
pub fn judge_actual(dir: &Path, roots: &[PathBuf]) -> Result<(String, Vec<Outcome>)> {
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
        let outcome = (|| -> Result<Outcome> {
            if let Some(e) = &actual.error {
                bail!("[{}] {}", e.code, e.message);
            }
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
            judge(&case, &manifest, &tensors)
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

/// The one conformance rule (tests/conformance/README.md, "How outputs are compared"):
/// shapes equal; floats within `atol`, or 1e-5 × max(1, max |reference|), with NaN
/// where the reference has NaN; int8/u8/i16 within 1 (rounding of requantization);
/// bool and other integers identical, except index outputs whose differences the
/// reference's tied scores explain.
pub fn judge(case: &Path, manifest: &Manifest, outputs: &[Tensor]) -> Result<Outcome> {
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
    let mut passed = true;
    let mut max_diff = 0f64;
    let mut detail = vec![];
    for (i, ((ours, reference), io)) in outputs.iter().zip(&refs).zip(&manifest.outputs).enumerate()
    {
        if ours.shape() != reference.shape() {
            passed = false;
            detail.push(format!(
                "output {i} ({}): shape {:?}, expected {:?}",
                io.name,
                ours.shape(),
                reference.shape()
            ));
            continue;
        }
        let a = as_f64(ours)?;
        let b = as_f64(reference)?;
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f64, |m, d| {
                if d.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(d)
                }
            });
        let nan_mismatch = a.iter().zip(&b).any(|(x, y)| x.is_nan() != y.is_nan());
        let diff = if a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.is_nan() && y.is_nan() || x == y)
        {
            0.0
        } else {
            diff
        };
        max_diff = if diff.is_nan() {
            f64::NAN
        } else {
            max_diff.max(diff)
        };
        let ok = match io.dtype.as_str() {
            "f32" | "f16" => {
                let bound = io
                    .atol
                    .unwrap_or_else(|| 1e-5 * b.iter().fold(1f64, |m, v| m.max(v.abs())));
                !nan_mismatch
                    && (diff <= bound
                        || (diff.is_nan()
                            && a.iter().zip(&b).all(|(x, y)| {
                                x.is_nan() == y.is_nan() && (x.is_nan() || (x - y).abs() <= bound)
                            })))
            }
            "i8" | "u8" | "i16" => diff <= 1.0,
            "bool" => diff == 0.0,
            _ => diff == 0.0 || ties_explain(i, &a, &b, &refs, reference.shape()),
        };
        if !ok {
            passed = false;
            detail.push(format!("output {i} ({}): max abs diff {diff:e}", io.name));
        }
    }
    Ok(Outcome {
        path: case.to_path_buf(),
        passed,
        max_diff,
        detail: detail.join("; "),
    })
}

/// Index outputs may differ where the reference scores tie: position j may hold any of
/// the indices whose paired score equals the reference score at j. The paired scores are
/// a floating output of the same shape (top-k returns values and indices together).
fn ties_explain(
    out_ix: usize,
    ours: &[f64],
    reference: &[f64],
    refs: &[Tensor],
    shape: &[usize],
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
            let tied = (0..row).any(|k| e[k] == o[j] && sc[k] == sc[j]);
            if !tied && sc[j] != last {
                return false;
            }
        }
    }
    true
}
