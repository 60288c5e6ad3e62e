//! `attune conform`: runs conformance cases (see `tests/conformance/README.md`) and
//! compares with the reference interpreter's outputs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attune_tflite::{DType, Model, Tensor};
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
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

impl Runner {
    pub fn run_case(&mut self, case: &Path) -> Outcome {
        match self.try_case(case) {
            Ok(o) => o,
            Err(e) => Outcome {
                path: case.to_path_buf(),
                passed: false,
                max_diff: f64::NAN,
                detail: format!("{e:#}"),
            },
        }
    }

    fn try_case(&mut self, case: &Path) -> Result<Outcome> {
        let manifest: Manifest =
            serde_json::from_slice(&std::fs::read(case.join("manifest.json"))?)
                .with_context(|| format!("parsing {}/manifest.json", case.display()))?;
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
        for (i, ((ours, reference), io)) in
            outputs.iter().zip(&refs).zip(&manifest.outputs).enumerate()
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
                                    x.is_nan() == y.is_nan()
                                        && (x.is_nan() || (x - y).abs() <= bound)
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
