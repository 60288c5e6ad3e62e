//! `attune bench MODEL.tflite`: load, prepare and inference latency of one model.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use attune_tflite::{Model, Tensor};
use serde_json::json;

use crate::conform::case_inputs;

/// Median and 90th percentile of a set of timings in microseconds.
pub fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.9))
}

/// Inputs for a benchmark: those of a conformance case when given, else zeros of the
/// model's default shapes (a dynamic batch bound to `batch`).
fn inputs(model: &Model, case: Option<&Path>, batch: usize) -> Result<Vec<Tensor>> {
    if let Some(case) = case {
        return case_inputs(case);
    }
    model
        .inputs()
        .iter()
        .map(|t| {
            let shape: Vec<usize> = t
                .signature
                .iter()
                .map(|d| if *d < 0 { batch } else { *d as usize })
                .collect();
            let dt = t.dtype.datum_type().context("input type")?;
            Tensor::zero_dt(dt, &shape)
        })
        .collect()
}

pub fn run(
    path: &Path,
    case: Option<&Path>,
    runs: usize,
    warmup: usize,
    batch: usize,
    as_json: bool,
    ops: bool,
) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let t0 = Instant::now();
    let model = Model::load(&bytes).map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let load_us = t0.elapsed().as_secs_f64() * 1e6;
    let inputs = inputs(&model, case, batch)?;
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let t1 = Instant::now();
    model
        .prepare(&shapes)
        .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let prepare_us = t1.elapsed().as_secs_f64() * 1e6;
    for _ in 0..warmup {
        model
            .run(inputs.clone())
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let input = inputs.clone();
        let t = Instant::now();
        let out = model
            .run(input)
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(out);
    }
    let (p50, p90) = percentiles(times);
    let ops = if ops {
        model
            .profile(inputs.clone(), runs.max(1))
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?
    } else {
        vec![]
    };
    if as_json {
        let v = json!({
            "model": path.display().to_string(),
            "load_us": load_us, "prepare_us": prepare_us,
            "runs": runs, "p50_us": p50, "p90_us": p90,
            "input_shapes": shapes,
            "ops": ops.iter().map(|o| json!({"node": o.node, "op": o.op, "us": o.micros})).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        println!("{}", path.display());
        println!("  load (parse + validate)  {load_us:>10.1} µs");
        println!("  prepare (optimize plan)  {prepare_us:>10.1} µs");
        println!("  run p50                  {p50:>10.1} µs");
        println!("  run p90                  {p90:>10.1} µs   ({runs} runs, inputs {shapes:?})");
        if !ops.is_empty() {
            let sum: f64 = ops.iter().map(|o| o.micros).sum();
            println!("  operators, mean µs per run (slowest first; the sum is {sum:.1} µs):");
            for o in ops.iter().take(15) {
                println!(
                    "    {:>9.1}  {:>5.1}%  {:<24} {}",
                    o.micros,
                    100.0 * o.micros / sum.max(f64::MIN_POSITIVE),
                    o.op,
                    o.node
                );
            }
        }
    }
    Ok(())
}
