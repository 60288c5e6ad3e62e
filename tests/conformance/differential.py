"""Differential conformance against the live reference interpreter.

The committed cases pin LiteRT's outputs for fixed inputs. This script checks the engine
on inputs nobody has seen before: for every suite it draws fresh inputs shaped like the
committed case's (floats from the same range, integer ids and indices resampled from the
values the case uses, so they stay valid), runs LiteRT (`ai-edge-litert`, default
resolver, one thread) on them, writes the result as a new case in a scratch folder and
lets `attune conform` judge it with the same tolerances.

    python tests/conformance/differential.py --attune target/release/attune \
        tests/conformance ../shared/conformance models --seed 1

Exit status 1 if any case fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import judge  # noqa: E402

DTYPES = {
    "f32": np.float32,
    "i32": np.int32,
    "i64": np.int64,
    "i8": np.int8,
    "u8": np.uint8,
    "bool": np.bool_,
    "i16": np.int16,
}


def fresh_input(rng: np.random.Generator, original: np.ndarray) -> np.ndarray:
    """An input like `original` but with new values in the same domain."""
    if original.size == 0:
        return original.copy()
    if original.dtype == np.bool_:
        return rng.random(original.shape) < 0.5
    if np.issubdtype(original.dtype, np.floating):
        lo, hi = float(original.min()), float(original.max())
        if lo == hi:
            return original.copy()
        return rng.uniform(lo, hi, original.shape).astype(original.dtype)
    # Integers are ids, indices, counts or quantized values: resample from the values
    # the case already uses so they stay in whatever range the model accepts. Index
    # tuples (GATHER_ND) keep each component within its own column's values.
    if original.ndim >= 2 and original.shape[-1] <= 8:
        cols = original.reshape(-1, original.shape[-1])
        out = np.stack([rng.choice(cols[:, j], size=cols.shape[0]) for j in range(cols.shape[1])], axis=1)
        return out.reshape(original.shape).astype(original.dtype)
    values = original.reshape(-1)
    return rng.choice(values, size=original.shape).astype(original.dtype)


def run_builtin_ref(model: Path, inputs) -> list[np.ndarray]:
    interp = Interpreter(model_path=str(model), num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    for d, (_, x) in zip(interp.get_input_details(), inputs):
        if list(d["shape"]) != list(x.shape):
            interp.resize_tensor_input(d["index"], list(x.shape))
    interp.allocate_tensors()
    for d, (_, x) in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--attune", required=True, help="path to the attune binary")
    ap.add_argument("--runner", nargs="*", default=[], help="command prefix to run attune (e.g. node run-wasi.mjs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the cases here instead of a temporary folder")
    args = ap.parse_args()

    # The cases as the CLI finds them (one rule for every harness). The CLI runs at the
    # repository root, so the folders are given relative to it; each case's seed comes
    # from that relative path.
    attune = os.path.abspath(args.attune) if os.path.exists(args.attune) else args.attune
    cli = [*args.runner, attune]
    cases = judge.list_cases([os.path.relpath(r, judge.ROOT) for r in args.roots], cli=cli)
    # One case per suite (the first): suites share a model across their cases.
    seen, chosen = set(), []
    for rel in cases:
        case = judge.ROOT / rel
        data = json.loads((case / "manifest.json").read_text())
        model = (case / data["model"]).resolve()
        if model not in seen:
            seen.add(model)
            chosen.append((rel, case, model, data))

    scratch = args.keep or Path(tempfile.mkdtemp(prefix="attune-diff-"))
    scratch.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        for rel, case, model, data in chosen:
            rng = np.random.default_rng(args.seed * 1_000_003 + zlib.crc32(rel.encode()))
            interp = Interpreter(model_path=str(model), num_threads=1)
            details = interp.get_input_details()
            if len(details) != len(data["inputs"]):
                print(f"skip {rel}: {len(details)} inputs vs {len(data['inputs'])}", file=sys.stderr)
                continue
            inputs = []
            for d, io in zip(details, data["inputs"]):
                original = np.fromfile(case / io["file"], dtype=DTYPES[io["dtype"]]).reshape(io["shape"])
                x = fresh_input(rng, original)
                if list(d["shape"]) != list(x.shape):
                    interp.resize_tensor_input(d["index"], list(x.shape))
                inputs.append((d["index"], x))
            interp.allocate_tensors()
            for index, x in inputs:
                interp.set_tensor(index, x)
            interp.invoke()
            builtin = None
            if any("atol" in io for io in data["outputs"]):
                builtin = run_builtin_ref(model, inputs)
            out_dir = scratch / f"case_{written:04d}"
            out_dir.mkdir()
            manifest = {"model": os.path.relpath(model, out_dir), "source": rel, "inputs": [], "outputs": []}
            for k, ((_, x), io) in enumerate(zip(inputs, data["inputs"])):
                x.tofile(out_dir / f"in_{k}.bin")
                manifest["inputs"].append({**io, "shape": list(x.shape), "file": f"in_{k}.bin"})
            for k, (d, io) in enumerate(zip(interp.get_output_details(), data["outputs"])):
                y = interp.get_tensor(d["index"])
                y.astype(DTYPES[io["dtype"]]).tofile(out_dir / f"ref_{k}.bin")
                entry = {"name": io.get("name", ""), "dtype": io["dtype"], "shape": list(y.shape), "file": f"ref_{k}.bin"}
                manifest["outputs"].append(entry)
            (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
            if builtin is not None:
                # Outputs where LiteRT's own kernels disagree (XNNPACK vs builtin, see the
                # committed case's note) get the bound the generator uses: about 1.5x the
                # disagreement the judge measures on these very inputs, and never less
                # than the default bound.
                verdict = judge.judge_case(out_dir, "LiteRT BUILTIN_REF", builtin, cli=cli)
                for k, io in enumerate(data["outputs"]):
                    if "atol" not in io:
                        continue
                    o = verdict["outputs"][k]
                    if o["max_diff"] is None:
                        raise SystemExit(f"{rel}: output {k}: the judge could not measure BUILTIN_REF: {o['detail']}")
                    entry = manifest["outputs"][k]
                    entry["atol"] = max(judge.round_up_atol(o["max_diff"]), o["bound"])
                    entry["note"] = "LiteRT default vs BUILTIN_REF differ by %.3g on these inputs" % o["max_diff"]
                (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
            written += 1
        print(f"wrote {written} fresh cases from {len(chosen)} suites into {scratch}", flush=True)
        cmd = [*cli, "conform", "-q", str(scratch)]
        result = subprocess.run(cmd)
        return result.returncode
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
