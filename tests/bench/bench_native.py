#!/usr/bin/env python3
"""Median latency of attune against LiteRT, natively and in wasm, one thread.

For each model (a conformance suite and one of its cases) this measures, in one run and
one after the other:

- LiteRT (`ai-edge-litert`) with its default XNNPACK delegate, `num_threads=1`;
- LiteRT's builtin kernels without any delegate
  (`OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES`; note that `BUILTIN` is the same
  resolver as `AUTO` in ai-edge-litert 2.3.0 and still applies XNNPACK);
- attune native, through `target/release/attune bench --json`;
- attune compiled for wasm32-wasip1, run under node (`tests/wasm/run-wasi.mjs`).

All four use the inputs of the case (its `in_*.bin`); dynamic-batch models are resized to
the case's shapes. LiteRT's first-run outputs are written out and judged by the `attune`
CLI against the case's reference with the rule for peer runtimes (`attune conform
--peer`, tests/conformance/README.md), which catches a wrong input order; a case it
fails is listed under "Problems". attune's own outputs are judged by `attune conform` in
the test command. A timed run is: set the inputs, invoke, read the outputs. For LiteRT
it is timed in Python with `time.perf_counter_ns`, so the Python binding's call overhead
is included; it is measured separately on a one-op model and reported. attune times
inside the process (`std::time::Instant` around `Model::run`).

Run from anywhere; paths are resolved against the repository root. Build first:

    cargo build --release -p attune-cli
    cargo build --release --target wasm32-wasip1 -p attune-cli
    .venv/bin/python tests/bench/bench_native.py --runs 200 --warmup 20 --repeat 2 \
        --out BENCHMARKS-section.md --json-out bench-results.json

Optional extra columns: `--wasm-no-liftoff` (the wasm build again under
`node --no-liftoff`, i.e. without V8's tier-up from its baseline compiler) and
`--alt-native PATH --alt-label TEXT` (a second native build, e.g. one made with
`RUSTFLAGS="-C target-cpu=x86-64-v3"`). `--case [LABEL=]DIR` (repeatable) replaces the
default model list, e.g. with tests/conformance/ops/* cases. `--judge PATH` picks the
attune binary that judges LiteRT's outputs (default: $ATTUNE_CLI, else target/ci/attune).
BENCHMARKS.md has the results and how to read them.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "tests" / "lib"))
from judge import CLI as JUDGE_CLI, ConformOutputs  # noqa: E402

DTYPES = {
    "f32": np.float32,
    "i32": np.int32,
    "i64": np.int64,
    "i8": np.int8,
    "u8": np.uint8,
    "bool": np.bool_,
}

# (label, case folder relative to the repository root). The order is the table's order.
DEFAULT_MODELS = [
    ("ranking f32, 1000 cand., dynamic batch", "tests/conformance/models/ranking_dynamic_batch/case_1"),
    ("ranking f32, 1000 cand.", "tests/conformance/models/ranking_f32/case_0"),
    ("ranking dynamic-range, 1000 cand.", "tests/conformance/models/ranking_dynamic_range/case_0"),
    ("ranking int8 per-tensor, 1000 cand.", "tests/conformance/models/ranking_int8_per_tensor/case_0"),
    ("ranking int8 per-channel, 1000 cand.", "tests/conformance/models/ranking_int8_per_channel/case_0"),
    ("ranking int8 I/O, 1000 cand.", "tests/conformance/models/ranking_int8_io/case_0"),
    ("two-tower, 1000 cand. scores", "tests/conformance/models/two_tower/case_0"),
    ("two-tower + top-10", "tests/conformance/models/two_tower_topk/case_0"),
    ("bag-of-words + top-10 of 2000", "tests/conformance/models/seq_bag_of_words/case_0"),
    ("CNN seq. + top-10 of 500", "tests/conformance/models/seq_cnn/case_0"),
    ("GRU (Keras 3, WHILE) + top-10", "tests/conformance/models/seq_gru/case_0"),
    ("GRU (unrolled) + top-10", "tests/conformance/models/seq_gru_unrolled/case_0"),
    ("LSTM (Keras 3, WHILE) + top-10", "tests/conformance/models/seq_lstm/case_0"),
    ("LSTM (tf_keras, UNIDIR._SEQ._LSTM) + top-10", "tests/conformance/models/seq_lstm_tfkeras/case_0"),
    ("official TFLite rec. CNN, top-100", "../shared/conformance/tflite-examples-recommendation-cnn/case_0"),
]

# A one-op model (ABS on f32[3,7]) used to measure fixed per-run overheads.
TRIVIAL_CASE = "tests/conformance/ops/abs/case_0"

ENGINES = ["xnnpack", "builtin", "native", "wasm"]
# Optional: another native build (--alt-native) and the wasm run with V8's baseline
# compiler off (--wasm-no-liftoff), which removes JIT tier-up from the timed runs.
EXTRA_ENGINES = ["native_alt", "wasm_tf"]
ENGINE_NAMES = {
    "xnnpack": "LiteRT XNNPACK",
    "builtin": "LiteRT builtin",
    "native": "attune native",
    "wasm": "attune wasm",
    "native_alt": "attune native (alt. build)",
    "wasm_tf": "attune wasm, node --no-liftoff",
}


def percentiles(ns: list[int]) -> tuple[float, float]:
    """p50 and p90 in µs, with the same index rule as `attune bench`."""
    v = sorted(ns)
    at = lambda p: v[int(round((len(v) - 1) * p))] / 1000.0  # noqa: E731
    return at(0.5), at(0.9)


# --------------------------------------------------------------------------- cases


class Case:
    def __init__(self, label: str, case_dir: str):
        self.label = label
        self.rel = case_dir  # relative to REPO, as given to the wasm runner
        self.dir = (REPO / case_dir).resolve()
        self.manifest = json.loads((self.dir / "manifest.json").read_text())
        self.model = (self.dir / self.manifest["model"]).resolve()
        self.model_rel = os.path.normpath(os.path.join(case_dir, self.manifest["model"]))
        self.inputs = [self._read(io) for io in self.manifest["inputs"]]
        self.refs = [self._read(io) for io in self.manifest["outputs"]]

    def _read(self, io: dict) -> np.ndarray | None:
        path = self.dir / io["file"]
        if not path.exists():
            return None
        return np.fromfile(path, dtype=DTYPES[io["dtype"]]).reshape(io["shape"])


# --------------------------------------------------------------------------- LiteRT


def litert_interpreter(case: Case, engine: str):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {
        "xnnpack": OpResolverType.AUTO,
        "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    }[engine]
    content = case.model.read_bytes()  # outside the timer, as in `attune bench`
    t0 = time.perf_counter_ns()
    it = Interpreter(model_content=content, num_threads=1, experimental_op_resolver_type=resolver)
    details = it.get_input_details()
    for d, x in zip(details, case.inputs):
        if list(d["shape"]) != list(x.shape):
            it.resize_tensor_input(d["index"], list(x.shape), strict=False)
    it.allocate_tensors()
    load_ns = time.perf_counter_ns() - t0
    return it, load_ns


def bench_litert(case: Case, engine: str, runs: int, warmup: int) -> dict:
    it, load_ns = litert_interpreter(case, engine)
    in_idx = [d["index"] for d in it.get_input_details()]
    out_idx = [d["index"] for d in it.get_output_details()]
    pairs = list(zip(in_idx, case.inputs))
    ops = [o["op_name"] for o in it._get_ops_details()]

    def once() -> list[np.ndarray]:
        for i, x in pairs:
            it.set_tensor(i, x)
        it.invoke()
        return [it.get_tensor(o) for o in out_idx]

    t0 = time.perf_counter_ns()
    first = [np.array(o, copy=True) for o in once()]
    first_ns = time.perf_counter_ns() - t0
    for _ in range(warmup):
        once()
    times = []
    gc.disable()
    try:
        for _ in range(max(runs, 1)):
            t0 = time.perf_counter_ns()
            for i, x in pairs:
                it.set_tensor(i, x)
            it.invoke()
            outs = [it.get_tensor(o) for o in out_idx]
            times.append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    p50, p90 = percentiles(times)
    del it
    return {
        "p50_us": p50,
        "p90_us": p90,
        "load_us": load_ns / 1000.0,
        "first_run_us": first_ns / 1000.0,
        "ops": ops,
        "outputs": first,  # judged after the sweep (judge_litert), then dropped
    }


def litert_overhead(runs: int, warmup: int) -> dict:
    """Per-call costs of the Python binding, on a one-op model (ABS on f32[3,7])."""
    case = Case("trivial", TRIVIAL_CASE)
    res = {}
    for engine in ("xnnpack", "builtin"):
        it, _ = litert_interpreter(case, engine)
        i_in = it.get_input_details()[0]["index"]
        i_out = it.get_output_details()[0]["index"]
        x = case.inputs[0]
        n = max(runs, 1) * 10

        def timeit(fn) -> float:
            for _ in range(warmup * 10):
                fn()
            ts = []
            gc.disable()
            try:
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    fn()
                    ts.append(time.perf_counter_ns() - t0)
            finally:
                gc.enable()
            return percentiles(ts)[0]

        def cycle():
            it.set_tensor(i_in, x)
            it.invoke()
            it.get_tensor(i_out)

        res[engine] = {
            "cycle_us": timeit(cycle),
            "set_tensor_us": timeit(lambda: it.set_tensor(i_in, x)),
            "invoke_us": timeit(it.invoke),
            "get_tensor_us": timeit(lambda: it.get_tensor(i_out)),
            "empty_us": timeit(lambda: None),
        }
        del it
    return res


# --------------------------------------------------------------------------- attune


def bench_attune(case: Case, engine: str, runs: int, warmup: int, binaries: dict) -> dict:
    """`attune bench --json` natively or under node; `binaries[engine]` is the binary."""
    args = ["bench", case.model_rel, "--case", case.rel, "--runs", str(runs), "--warmup", str(warmup), "--json"]
    if engine.startswith("native"):
        cmd = [str(binaries[engine]), *args]
    else:
        flags = ["--no-liftoff"] if engine == "wasm_tf" else []
        cmd = ["node", *flags, "--no-warnings", "tests/wasm/run-wasi.mjs",
               os.path.relpath(binaries[engine], REPO), *args]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr.strip() or p.stdout.strip()).splitlines()[-1:] or ["failed"]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {
        "p50_us": r["p50_us"],
        "p90_us": r["p90_us"],
        "load_us": r["load_us"] + r["prepare_us"],
        "parse_us": r["load_us"],
        "prepare_us": r["prepare_us"],
    }


def judge_litert(cases: list[Case], sweep: dict, engine: str, cli: list[str]) -> None:
    """Writes LiteRT's first-run outputs of one sweep and lets the attune CLI judge them
    against each case's reference (`--peer`); stores each verdict, and its detail as the
    run's `check` when it failed."""
    with ConformOutputs(f"{ENGINE_NAMES[engine]} (ai-edge-litert)", cli=cli) as out:
        for c in cases:
            r = sweep[c.rel][engine]
            if "outputs" in r:
                out.add(c.rel, r["outputs"])
            else:
                out.error(c.rel, "; ".join(r.get("error", ["no outputs"])))
        verdicts = {v["case"]: v for v in out.report([c.rel for c in cases], peer=True)["cases"]}
    for c in cases:
        r = sweep[c.rel][engine]
        if r.pop("outputs", None) is not None:
            v = verdicts[c.rel]
            r["vs_reference"] = v
            r["check"] = "" if v["passed"] else f"the judge: {v['detail']}"


# --------------------------------------------------------------------------- sizes, machine


def wasm_sizes(path: Path) -> dict:
    """Raw and gzip -9 sizes, with and without the custom sections (names, producers)."""
    b = path.read_bytes()

    def leb(i: int) -> tuple[int, int]:
        r = s = 0
        while True:
            x = b[i]
            i += 1
            r |= (x & 0x7F) << s
            s += 7
            if x < 0x80:
                return r, i

    stripped = bytearray(b[:8])
    i = 8
    while i < len(b):
        sid = b[i]
        n, j = leb(i + 1)
        if sid != 0:
            stripped += b[i : j + n]
        i = j + n
    gz = lambda d: len(gzip.compress(bytes(d), compresslevel=9, mtime=0))  # noqa: E731
    return {"raw": len(b), "gzip9": gz(b), "stripped_raw": len(stripped), "stripped_gzip9": gz(stripped)}


def sh(cmd: list[str], cwd: Path = REPO) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def binary_info(path: Path) -> str:
    import hashlib

    st = path.stat()
    when = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"`{path}` (built {when}, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:12]})"


def machine() -> dict:
    model = "?"
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    try:
        from importlib.metadata import version

        litert = version("ai-edge-litert")
    except Exception:  # noqa: BLE001
        litert = "?"
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "ai_edge_litert": litert,
        "numpy": np.__version__,
        "node": sh(["node", "--version"]),
        "rustc": sh(["rustc", "--version"]),
        "commit": sh(["git", "rev-parse", "--short", "HEAD"]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"
    return f"{x:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def get(r: dict, key: str) -> float | None:
    return None if r is None or "error" in r else r.get(key)


def report(results: list[dict], meta: dict, args) -> str:
    engines = meta["engines"]
    rep0 = [m["runs"][0] for m in results]
    p50 = lambda r, e: get(r.get(e), "p50_us")  # noqa: E731
    out = []
    w = out.append
    w(f"Measured {meta['date']} on {meta['cpu']}, nproc {meta['nproc']}, one thread; "
      f"`--runs {args.runs} --warmup {args.warmup}`, {args.repeat} sweep(s); "
      f"load average {meta['load_before']} before, {meta['load_after']} after; "
      f"wall time {meta['wall_s']:.0f} s.")
    w("")
    w("Binaries: " + "; ".join(f"{ENGINE_NAMES[e]}: {v}" for e, v in meta["binaries"].items()) + ".")
    w("")
    if args.built_from:
        w(f"Built from: {args.built_from}.")
        w("")
    w(f"Versions: checkout at {meta['commit']}, {meta['rustc']}, node {meta['node']}, "
      f"ai-edge-litert {meta['ai_edge_litert']}, Python {meta['python']}, numpy {meta['numpy']}.")
    w("")

    w("#### Inference, median µs (sweep 1)")
    w("")
    w("| model | LiteRT XNNPACK µs | LiteRT builtin µs | attune native µs | attune/XNNPACK | attune/builtin | attune wasm µs | wasm/native |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|")
    for m, r in zip(results, rep0):
        x, b, n, wa = (p50(r, e) for e in ENGINES)
        w(f"| {m['label']} | {fmt(x)} | {fmt(b)} | {fmt(n)} | {ratio(n, x)} | {ratio(n, b)} | {fmt(wa)} | {ratio(wa, n)} |")
    w("")

    w("#### Inference, p90 µs (sweep 1)")
    w("")
    w("| model | " + " | ".join(ENGINE_NAMES[e] for e in engines) + " |")
    w("|---|" + "--:|" * len(engines))
    for m, r in zip(results, rep0):
        w(f"| {m['label']} | " + " | ".join(fmt(get(r.get(e), "p90_us")) for e in engines) + " |")
    w("")

    if "native_alt" in engines:
        w(f"#### Alternative native build: {args.alt_label} (median µs, sweep 1)")
        w("")
        w("| model | attune native | alternative | alternative/native | alternative/XNNPACK | alternative/builtin |")
        w("|---|--:|--:|--:|--:|--:|")
        for m, r in zip(results, rep0):
            x, b, n, a = p50(r, "xnnpack"), p50(r, "builtin"), p50(r, "native"), p50(r, "native_alt")
            w(f"| {m['label']} | {fmt(n)} | {fmt(a)} | {ratio(a, n)} | {ratio(a, x)} | {ratio(a, b)} |")
        w("")

    if "wasm" in engines:
        w("#### wasm under node (sweep 1)")
        w("")
        tf = "wasm_tf" in engines
        head = "| model | attune native p50 µs | wasm p50 µs | wasm p90 µs | wasm/native |"
        sep = "|---|--:|--:|--:|--:|"
        if tf:
            head += " `--no-liftoff` p50 µs | `--no-liftoff` p90 µs | `--no-liftoff`/native |"
            sep += "--:|--:|--:|"
        w(head)
        w(sep)
        for m, r in zip(results, rep0):
            n, wa = p50(r, "native"), p50(r, "wasm")
            line = f"| {m['label']} | {fmt(n)} | {fmt(wa)} | {fmt(get(r.get('wasm'), 'p90_us'))} | {ratio(wa, n)} |"
            if tf:
                t = p50(r, "wasm_tf")
                line += f" {fmt(t)} | {fmt(get(r.get('wasm_tf'), 'p90_us'))} | {ratio(t, n)} |"
            w(line)
        w("")
        if meta.get("wasm_size"):
            sz = meta["wasm_size"]
            mb = lambda v: f"{v / 1e6:.2f} MB ({v:,} B)"  # noqa: E731
            w("| `attune.wasm` (the whole CLI for wasm32-wasip1, opt-level 3 + simd128) | raw | gzip -9 |")
            w("|---|--:|--:|")
            w(f"| as built | {mb(sz['raw'])} | {mb(sz['gzip9'])} |")
            w(f"| custom sections (names, producers) stripped | {mb(sz['stripped_raw'])} | {mb(sz['stripped_gzip9'])} |")
            w("")

    if args.repeat > 1:
        w("#### Run-to-run noise: median µs in each sweep")
        w("")
        w("| model | " + " | ".join(ENGINE_NAMES[e] for e in engines) + " |")
        w("|---|" + "--:|" * len(engines))
        for m in results:
            cells = [" / ".join(fmt(p50(rr, e)) for rr in m["runs"]) for e in engines]
            w(f"| {m['label']} | " + " | ".join(cells) + " |")
        w("")

    w("#### Load + prepare, ms (sweep 1)")
    w("")
    w("LiteRT: `Interpreter(model_content=…)` + resize + `allocate_tensors()` (XNNPACK is "
      "applied there), and apart from it the first run. attune: `load_us` (parse + "
      "validate) + `prepare_us` (translate + optimize the plan for the case's shapes). "
      "Reading the file is outside the timer for both.")
    w("")
    att = [e for e in engines if e in ("native", "native_alt", "wasm", "wasm_tf")]
    w("| model | LiteRT XNNPACK | its 1st run | LiteRT builtin | its 1st run | "
      + " | ".join(f"{ENGINE_NAMES[e]} load + prepare" for e in att) + " |")
    w("|---|--:|--:|--:|--:|" + "--:|" * len(att))
    ms = lambda v: "–" if v is None else f"{v / 1000:.2f}"  # noqa: E731
    for m, r in zip(results, rep0):
        x, b = r.get("xnnpack"), r.get("builtin")
        cells = []
        for e in att:
            a = r.get(e)
            cells.append("–" if get(a, "load_us") is None else f"{ms(a['parse_us'])} + {ms(a['prepare_us'])}")
        w(f"| {m['label']} | {ms(get(x, 'load_us'))} | {ms(get(x, 'first_run_us'))} | "
          f"{ms(get(b, 'load_us'))} | {ms(get(b, 'first_run_us'))} | " + " | ".join(cells) + " |")
    w("")

    ov = meta.get("overhead")
    if ov:
        w("#### Fixed per-run cost (one-op model: ABS on f32[3,7]), median µs")
        w("")
        w("| | full run (set + invoke + get) | set_tensor | invoke | get_tensor | empty timed call |")
        w("|---|--:|--:|--:|--:|--:|")
        for e in ("xnnpack", "builtin"):
            o = ov[e]
            w(f"| {ENGINE_NAMES[e]}, from Python | {o['cycle_us']:.2f} | {o['set_tensor_us']:.2f} | "
              f"{o['invoke_us']:.2f} | {o['get_tensor_us']:.2f} | {o['empty_us']:.2f} |")
        for e in att:
            v = get(ov.get(e), "p50_us")
            w(f"| {ENGINE_NAMES[e]} (`Model::run`, in process) | {fmt(v, 2) if v is not None else '–'} | | | | |")
        w("")

    w("#### Ops per model")
    w("")
    w("LiteRT's node list with builtin kernels; the last column counts the partitions the "
      "XNNPACK delegate took (nodes it did not take run on builtin kernels).")
    w("")
    w("| model | ops | XNNPACK partitions |")
    w("|---|---|--:|")

    def hist(ops):
        if not ops:
            return "–"
        c = {}
        for o in ops:
            c[o] = c.get(o, 0) + 1
        return ", ".join(f"{k}×{v}" if v > 1 else k for k, v in sorted(c.items()))

    for m, r in zip(results, rep0):
        x_ops = get(r.get("xnnpack"), "ops")
        parts = "–" if x_ops is None else str(x_ops.count("DELEGATE"))
        w(f"| {m['label']} | {hist(get(r.get('builtin'), 'ops'))} | {parts} |")
    w("")

    problems = []
    for m in results:
        for i, r in enumerate(m["runs"]):
            for e in engines:
                rr = r.get(e)
                if rr is None:
                    continue
                if "error" in rr:
                    problems.append(f"- {m['label']}, {ENGINE_NAMES[e]}, sweep {i + 1}: error {rr['error']}")
                elif rr.get("check"):
                    problems.append(f"- {m['label']}, {ENGINE_NAMES[e]}, sweep {i + 1}: {rr['check']}")
    if problems:
        w("Problems:")
        w("")
        out.extend(problems)
        w("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="timed runs per engine and model")
    ap.add_argument("--warmup", type=int, default=20, help="untimed warm-up runs")
    ap.add_argument("--repeat", type=int, default=1, help="full sweeps (tables use sweep 1; "
                    "a noise table shows all)")
    ap.add_argument("--no-wasm", action="store_true", help="skip the wasm build under node")
    ap.add_argument("--wasm-no-liftoff", action="store_true",
                    help="also run the wasm build with `node --no-liftoff` (no JIT tier-up)")
    ap.add_argument("--case", action="append", metavar="[LABEL=]CASE_DIR",
                    help="benchmark these case folders (relative to the repo root) instead "
                         "of the default models; repeatable")
    ap.add_argument("--native", default="target/release/attune", help="attune binary")
    ap.add_argument("--wasm", default="target/wasm32-wasip1/release/attune.wasm", help="attune wasm module")
    ap.add_argument("--alt-native", help="a second native attune binary to compare (e.g. "
                    "built with another -C target-cpu)")
    ap.add_argument("--alt-label", default="alternative build", help="how to name --alt-native")
    ap.add_argument("--built-from", help="say where the binaries were built from (e.g. a commit), "
                    "when that is not this checkout")
    ap.add_argument("--judge", help="the attune binary that judges LiteRT's outputs "
                    "(default: $ATTUNE_CLI, else target/ci/attune)")
    ap.add_argument("--out", help="write the markdown here instead of printing it")
    ap.add_argument("--json-out", help="also write the raw results as JSON")
    args = ap.parse_args()

    binaries = {"native": (REPO / args.native).resolve()}
    if not binaries["native"].exists():
        sys.exit(f"{binaries['native']} missing: cargo build --release -p attune-cli")
    if not args.no_wasm:
        binaries["wasm"] = (REPO / args.wasm).resolve()
        if not binaries["wasm"].exists():
            sys.exit(f"{binaries['wasm']} missing: cargo build --release --target wasm32-wasip1 -p attune-cli")
        if args.wasm_no_liftoff:
            binaries["wasm_tf"] = binaries["wasm"]
    if args.alt_native:
        binaries["native_alt"] = (REPO / args.alt_native).resolve()
        if not binaries["native_alt"].exists():
            sys.exit(f"{binaries['native_alt']} missing")
    engines = ["xnnpack", "builtin"] + [e for e in ENGINES + EXTRA_ENGINES if e in binaries]

    if args.case:
        specs = []
        for c in args.case:
            label, _, d = c.rpartition("=")
            specs.append((label or d, d))
    else:
        specs = DEFAULT_MODELS
    cases = [Case(label, d) for label, d in specs]

    meta = machine()
    meta["engines"] = engines
    meta["binaries"] = {e: binary_info(p) for e, p in binaries.items() if e != "wasm_tf"}
    if "native_alt" in binaries:
        meta["binaries"]["native_alt"] += f" ({args.alt_label})"
    meta["load_before"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    t_start = time.time()
    results = [{"label": c.label, "case": c.rel, "runs": []} for c in cases]
    judge_cli = [str((REPO / args.judge).resolve())] if args.judge else JUDGE_CLI
    for rep in range(args.repeat):
        sweep = {}
        for c, res in zip(cases, results):
            r = sweep[c.rel] = {}
            for e in engines:
                print(f"[sweep {rep + 1}/{args.repeat}] {c.label}: {ENGINE_NAMES[e]} …", file=sys.stderr, flush=True)
                if e in ("xnnpack", "builtin"):
                    try:
                        r[e] = bench_litert(c, e, args.runs, args.warmup)
                    except Exception as ex:  # noqa: BLE001
                        r[e] = {"error": [str(ex).splitlines()[0] if str(ex) else type(ex).__name__]}
                else:
                    r[e] = bench_attune(c, e, args.runs, args.warmup, binaries)
                if "error" in r[e]:
                    print(f"    error: {r[e]['error']}", file=sys.stderr)
                else:
                    print(f"    p50 {r[e]['p50_us']:.1f} µs, p90 {r[e]['p90_us']:.1f} µs", file=sys.stderr)
            res["runs"].append(r)
        for e in ("xnnpack", "builtin"):
            judge_litert(cases, sweep, e, judge_cli)

    print("fixed per-run overheads …", file=sys.stderr, flush=True)
    ov = litert_overhead(args.runs, args.warmup)
    trivial = Case("trivial", TRIVIAL_CASE)
    for e in engines:
        if e not in ("xnnpack", "builtin"):
            ov[e] = bench_attune(trivial, e, args.runs, args.warmup, binaries)
    meta["overhead"] = ov
    if "wasm" in binaries:
        meta["wasm_size"] = wasm_sizes(binaries["wasm"])
    meta["wall_s"] = time.time() - t_start
    meta["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    md = report(results, meta, args)
    if args.out:
        Path(args.out).write_text(md + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(md)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
