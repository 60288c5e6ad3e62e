//! `attune inspect MODEL.tflite`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use attune_tflite::{op_histogram, parse, unsupported_ops, TensorDesc};
use serde_json::json;

fn describe(t: &TensorDesc) -> serde_json::Value {
    json!({
        "name": t.name,
        "dtype": t.dtype.name(),
        "shape": t.signature,
        "quantization": t.quant.as_ref().map(|q| json!({
            "scale": q.scale, "zero_point": q.zero_point, "axis": q.axis,
        })),
    })
}

fn shape_str(t: &TensorDesc) -> String {
    let dims: Vec<String> = t
        .signature
        .iter()
        .map(|d| if *d < 0 { "?".into() } else { d.to_string() })
        .collect();
    format!("[{}]", dims.join(", "))
}

fn quant_str(t: &TensorDesc) -> String {
    match &t.quant {
        None => String::new(),
        Some(q) if q.per_channel() => {
            format!("  per-channel axis {} ({} scales)", q.axis, q.scale.len())
        }
        Some(q) => format!("  scale {} zero point {}", q.scale[0], q.zero_point[0]),
    }
}

pub fn run(path: &Path, as_json: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let desc = parse(&bytes).map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let sg = &desc.subgraphs[0];
    let inputs: Vec<&TensorDesc> = sg.inputs.iter().map(|i| &sg.tensors[*i]).collect();
    let outputs: Vec<&TensorDesc> = sg.outputs.iter().map(|i| &sg.tensors[*i]).collect();
    let hist = op_histogram(&desc);
    let unsupported = unsupported_ops(&desc);
    if as_json {
        let v = json!({
            "file": path.display().to_string(),
            "bytes": bytes.len(),
            "schema_version": desc.version,
            "description": desc.description,
            "subgraphs": desc.subgraphs.len(),
            "inputs": inputs.iter().map(|t| describe(t)).collect::<Vec<_>>(),
            "outputs": outputs.iter().map(|t| describe(t)).collect::<Vec<_>>(),
            "ops": hist,
            "unsupported": unsupported.iter().map(|u| json!({"subgraph": u.subgraph, "index": u.index, "op": u.op})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}  ({} bytes, schema v{}, {} subgraph(s))",
            path.display(),
            bytes.len(),
            desc.version,
            desc.subgraphs.len()
        );
        if !desc.description.is_empty() {
            println!("description: {}", desc.description);
        }
        println!("\ninputs:");
        for (i, t) in inputs.iter().enumerate() {
            println!(
                "  {i}  {:<40} {:<5} {}{}",
                t.name,
                t.dtype.name(),
                shape_str(t),
                quant_str(t)
            );
        }
        println!("\noutputs:");
        for (i, t) in outputs.iter().enumerate() {
            println!(
                "  {i}  {:<40} {:<5} {}{}",
                t.name,
                t.dtype.name(),
                shape_str(t),
                quant_str(t)
            );
        }
        println!("\noperators ({} in all):", hist.values().sum::<usize>());
        for (op, n) in &hist {
            println!("  {n:>5}  {op}");
        }
        if unsupported.is_empty() {
            println!("\nall operators are supported");
        } else {
            println!("\nunsupported operators ({}):", unsupported.len());
            for u in &unsupported {
                println!("  {u}");
            }
        }
    }
    Ok(if unsupported.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
