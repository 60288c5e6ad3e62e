#!/usr/bin/env python3
"""Regenerates Attune's TFLite conformance suites.

    python tests/conformance/generate.py --out tests/conformance

Every suite is a tiny TensorFlow graph (a tf.function or a Keras model) that is
converted with tf.lite.TFLiteConverter, then run on fixed, seeded inputs by
LiteRT (`ai_edge_litert.interpreter.Interpreter`, default op resolver, XNNPACK
applied).  The outputs become the reference (`ref_N.bin`).  The case layout is
the one in FORMAT.md (see tests/conformance/README.md):

    <out>/ops/<suite>/model.tflite      + case_0/, case_1/, ...
    <out>/models/<suite>/model.tflite   + case_0/, case_1/, ...

Each suite is also run with LiteRT's reference kernels
(OpResolverType.BUILTIN_REF); a disagreement beyond FORMAT.md's bounds is printed
as a warning and never fails the run.  Each suite declares the builtin ops it is
meant to exercise; the generator reads the flatbuffer and fails if one of them
is missing.  INDEX.md lists every suite with its op histogram.

Everything is seeded from the suite name, so a rerun gives the same bytes.
"""

import argparse
import collections
import json
import os
import re
import shutil
import sys
import time
import zlib

# Determinism first: no oneDNN re-association, one thread everywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
try:
    tf.get_logger().setLevel("ERROR")
except Exception:  # pragma: no cover
    pass

from ai_edge_litert import schema_py_generated as S  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

T = tf.TensorSpec

# --------------------------------------------------------------------------
# Flatbuffer inspection
# --------------------------------------------------------------------------

_OP_NAMES = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
_OPT_NAMES = {v: k for k, v in vars(S.BuiltinOptions).items() if not k.startswith("_")}
_ACT_NAMES = {v: k for k, v in vars(S.ActivationFunctionType).items() if not k.startswith("_")}
_TT = {v: k for k, v in vars(S.TensorType).items() if not k.startswith("_")}
_TT_SHORT = {"FLOAT32": "f32", "INT32": "i32", "INT64": "i64", "INT8": "i8", "UINT8": "u8",
             "BOOL": "bool", "INT16": "i16", "FLOAT16": "f16"}


def _tensor_type(sg, idx):
    t = sg.Tensors(idx)
    return _TT_SHORT.get(_TT[t.Type()], _TT[t.Type()].lower())


def _tensor_scales(sg, idx):
    q = sg.Tensors(idx).Quantization()
    if q is None:
        return 0
    return q.ScaleLength()


def _is_const(model, sg, idx):
    buf = sg.Tensors(idx).Buffer()
    if buf == 0:
        return False
    b = model.Buffers(buf)
    return b is not None and (b.DataLength() > 0 or b.Size() > 0)


def model_ops(tflite):
    """Returns a list of subgraphs; each a list of (op_name, sorted tags)."""
    m = S.Model.GetRootAsModel(tflite, 0)
    out = []
    for g in range(m.SubgraphsLength()):
        sg = m.Subgraphs(g)
        ops = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            oc = m.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            name = _OP_NAMES.get(code, "CUSTOM:%s" % (oc.CustomCode() or b"").decode())
            tags = []
            act_tag = None
            ins = [op.Inputs(k) for k in range(op.InputsLength())]
            outs = [op.Outputs(k) for k in range(op.OutputsLength())]
            # fused activation, if the options table has one
            ot = op.BuiltinOptionsType()
            if ot and op.BuiltinOptions() is not None:
                cls = getattr(S, _OPT_NAMES[ot], None)
                if cls is not None and hasattr(cls, "FusedActivationFunction"):
                    o = cls()
                    o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                    act = _ACT_NAMES[o.FusedActivationFunction()]
                    if act != "NONE":
                        act_tag = act
            live_ins = [k for k in ins if k >= 0]
            if name in ("QUANTIZE", "DEQUANTIZE", "CAST") and live_ins and outs:
                tags.append("%s->%s" % (_tensor_type(sg, live_ins[0]), _tensor_type(sg, outs[0])))
            elif live_ins:
                t0 = _tensor_type(sg, live_ins[0])
                if name in ("EMBEDDING_LOOKUP",) and len(live_ins) > 1:
                    t0 = _tensor_type(sg, live_ins[1])
                tags.append(t0)
                if t0 == "f32" and any(_tensor_type(sg, k) == "i8" and _is_const(m, sg, k) for k in live_ins[1:]):
                    tags.append("hybrid")
            if act_tag:
                tags.append(act_tag)
            if any(_tensor_scales(sg, k) > 1 for k in live_ins):
                tags.append("per-channel")
            if name in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D") and (len(ins) < 3 or ins[2] < 0):
                tags.append("no-bias")
            ops.append((name, tuple(tags)))
        out.append(ops)
    return out


def op_histogram(subgraphs):
    c = collections.Counter()
    for ops in subgraphs:
        for name, _ in ops:
            c[name] += 1
    return c


def op_variants(subgraphs):
    c = collections.Counter()
    for ops in subgraphs:
        for name, tags in ops:
            c["%s[%s]" % (name, ",".join(tags)) if tags else name] += 1
    return c


def _has(subgraphs, want):
    """want: 'NAME' or 'NAME[tag,tag]' -- every tag must be on one op of that name."""
    mt = re.fullmatch(r"([A-Z0-9_]+)(?:\[(.*)\])?", want)
    name, tags = mt.group(1), (mt.group(2).split(",") if mt.group(2) else [])
    for ops in subgraphs:
        for n, t in ops:
            if n == name and all(x in t for x in tags):
                return True
    return False


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------

def _rep_gen(rep, keys):
    def gen():
        for sample in rep:
            yield [np.asarray(sample[k]) for k in keys]
    return gen


def convert(fn, specs, *, mode="float", rep=None, per_tensor=False, io_type=None,
            trackable=None, from_keras=None, extra=None):
    """Converts fn(*specs) to a .tflite flatbuffer.

    mode: 'float'    -- plain float conversion
          'dynamic'  -- dynamic-range (hybrid): Optimize.DEFAULT, no dataset
          'int8'     -- full integer with a representative dataset (rep)
          'qat'      -- Optimize.DEFAULT on a graph with fake-quant nodes
    io_type: None (float I/O), tf.int8 or tf.uint8 (inference_input/output_type).
    """
    if from_keras is not None:
        conv = tf.lite.TFLiteConverter.from_keras_model(from_keras)
        keys = None
    else:
        f = tf.function(fn, input_signature=specs, autograph=True)
        cf = f.get_concrete_function()
        holder = tf.Module()
        holder.f = f
        if trackable is not None:
            holder.t = trackable
        conv = tf.lite.TFLiteConverter.from_concrete_functions([cf], holder)
        keys = [s.name for s in specs]
    if mode in ("dynamic", "int8", "qat"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        assert rep, "int8 needs a representative dataset"
        conv.representative_dataset = _rep_gen(rep, keys)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if per_tensor:
        conv._experimental_disable_per_channel = True
    if io_type is not None:
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type
    if extra:
        extra(conv)
    return conv.convert()


def keras_seed(seed):
    import keras
    keras.utils.set_random_seed(seed)
    tf.random.set_seed(seed)


def set_weights_deterministic(model, rng, emb_std=0.5):
    """Overwrites every weight with seeded normals (biases small but non-zero)."""
    new = []
    for w in model.weights:
        shape = tuple(w.shape)
        name = w.path if hasattr(w, "path") else w.name
        if "embedding" in name or "embeddings" in name:
            v = rng.normal(0.0, emb_std, shape)
        elif len(shape) == 1:
            v = rng.normal(0.0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            v = rng.normal(0.0, 1.0 / np.sqrt(max(fan_in, 1)), shape)
        new.append(v.astype(np.float32))
    model.set_weights(new)


# --------------------------------------------------------------------------
# Running and writing cases
# --------------------------------------------------------------------------

_DT = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32", np.dtype(np.int64): "i64",
       np.dtype(np.int8): "i8", np.dtype(np.uint8): "u8", np.dtype(np.bool_): "bool"}


def _key_for(name, keys):
    base = name.split(":")[0]
    if base.startswith("serving_default_"):
        base = base[len("serving_default_"):]
    if base in keys:
        return base
    for k in keys:
        if base.endswith("_" + k) or base == k:
            return k
    return None


def _quantize(x, detail):
    scale, zp = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    q = np.round(np.asarray(x, np.float64) / scale) + zp
    return np.clip(q, info.min, info.max).astype(detail["dtype"])


def prepare_inputs(interp_details, case):
    """Matches case arrays to interpreter inputs; quantizes floats for int I/O."""
    keys = list(case.keys())
    arrays = []
    for i, d in enumerate(interp_details):
        k = _key_for(d["name"], keys)
        if k is None:
            if len(keys) == len(interp_details):
                k = keys[i]
            else:
                raise KeyError("cannot match input %r to %r" % (d["name"], keys))
        a = np.asarray(case[k])
        if np.dtype(d["dtype"]) in (np.dtype(np.int8), np.dtype(np.uint8)) and a.dtype.kind == "f":
            a = _quantize(a, d)
        a = a.astype(d["dtype"], copy=False)
        arrays.append(a)
    return arrays


def run_interpreter(tflite, arrays, resolver):
    it = Interpreter(model_content=tflite, experimental_op_resolver_type=resolver, num_threads=1)
    details = it.get_input_details()
    for d, a in zip(details, arrays):
        if tuple(d["shape"]) != a.shape:
            it.resize_tensor_input(d["index"], list(a.shape), strict=False)
    it.allocate_tensors()
    details = it.get_input_details()
    for d, a in zip(details, arrays):
        it.set_tensor(d["index"], np.array(a, order="C"))
    it.invoke()
    outs = []
    for d in it.get_output_details():
        outs.append((d, np.array(it.get_tensor(d["index"]), copy=True)))
    return details, outs


def compare(ref_outs, other_outs, tie_ok=()):
    """Returns a list of (output index, description) where other disagrees with ref."""
    problems = []
    for i, ((d, r), (_, o)) in enumerate(zip(ref_outs, other_outs)):
        if r.shape != o.shape:
            problems.append((i, "shape %s vs %s" % (r.shape, o.shape), None))
            continue
        if r.dtype.kind == "f":
            diff = float(np.max(np.abs(r.astype(np.float64) - o))) if r.size else 0.0
            bound = 1e-5 * max(1.0, float(np.max(np.abs(r))) if r.size else 0.0)
            if not diff <= bound:
                problems.append((i, "max|diff|=%.3g > bound %.3g" % (diff, bound), diff))
        elif r.dtype in (np.int8, np.uint8) and d["quantization"][0] != 0.0:
            diff = int(np.max(np.abs(r.astype(np.int64) - o))) if r.size else 0
            if diff > 1:
                problems.append((i, "%d quantization steps apart" % diff, None))
        else:
            bad = int(np.sum(r != o))
            if bad and i not in tie_ok:
                problems.append((i, "%d of %d elements differ" % (bad, r.size), None))
            elif bad:
                print("    note: output %d: %d index(es) differ where scores tie" % (i, bad))
    return problems


def write_case(case_dir, in_details, arrays, outs, atols):
    os.makedirs(case_dir, exist_ok=True)
    man = {"model": "../model.tflite", "inputs": [], "outputs": []}
    for i, (d, a) in enumerate(zip(in_details, arrays)):
        fn = "in_%d.bin" % i
        a = np.array(a, order="C")
        with open(os.path.join(case_dir, fn), "wb") as fh:
            fh.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
        man["inputs"].append({"name": d["name"], "dtype": _DT[a.dtype], "shape": list(a.shape), "file": fn})
    for i, (d, o) in enumerate(outs):
        fn = "ref_%d.bin" % i
        o = np.array(o, order="C")
        with open(os.path.join(case_dir, fn), "wb") as fh:
            fh.write(o.astype(o.dtype.newbyteorder("<"), copy=False).tobytes())
        entry = {"name": d["name"], "dtype": _DT[o.dtype], "shape": list(o.shape), "file": fn}
        if i in atols:
            entry["atol"], entry["note"] = atols[i]
        man["outputs"].append(entry)
    with open(os.path.join(case_dir, "manifest.json"), "w") as fh:
        json.dump(man, fh, indent=1)
        fh.write("\n")


def _round_up_atol(x):
    """A tidy bound a little above x (two significant digits, rounded up)."""
    if x <= 0:
        return 0.0
    e = np.floor(np.log10(x)) - 1
    return float(np.ceil(x * 1.5 / 10 ** e) * 10 ** e)


# --------------------------------------------------------------------------
# Suite registry
# --------------------------------------------------------------------------

class Suite:
    def __init__(self, name, kind, builder, expect, doc, tie_ok=()):
        self.name, self.kind, self.builder = name, kind, builder
        self.expect, self.doc, self.tie_ok = list(expect), doc, tuple(tie_ok)

    @property
    def seed(self):
        return zlib.crc32(self.name.encode()) & 0x7FFFFFFF


SUITES = []


def suite(name, expect, doc="", kind="ops", tie_ok=()):
    def deco(fn):
        SUITES.append(Suite(name, kind, fn, expect, doc or (fn.__doc__ or "").strip(), tie_ok))
        return fn
    return deco


class Built:
    """What a builder returns: the flatbuffer and 1-3 cases (dicts of arrays)."""

    def __init__(self, tflite, cases):
        assert 1 <= len(cases) <= 3
        self.tflite, self.cases = tflite, cases


def build_suite(s, out_root, summary):
    t0 = time.time()
    rng = np.random.default_rng(s.seed)
    built = s.builder(rng)
    subgraphs = model_ops(built.tflite)
    hist = op_histogram(subgraphs)
    variants = op_variants(subgraphs)
    missing = [w for w in s.expect if not _has(subgraphs, w)]
    print("[%s/%s] %d bytes, %d subgraph(s): %s" % (
        s.kind, s.name, len(built.tflite), len(subgraphs),
        " | ".join(" ".join("%s%s" % (n, "[" + ",".join(t) + "]" if t else "") for n, t in ops)
                   for ops in subgraphs)))
    if missing:
        raise RuntimeError("suite %s: expected op(s) %s not in the converted model" % (s.name, missing))
    sdir = os.path.join(out_root, s.kind, s.name)
    os.makedirs(sdir, exist_ok=True)
    with open(os.path.join(sdir, "model.tflite"), "wb") as fh:
        fh.write(built.tflite)
    disagreements = []
    no_ref = []
    for ci, case in enumerate(built.cases):
        probe = Interpreter(model_content=built.tflite)
        arrays = prepare_inputs(probe.get_input_details(), case)
        del probe
        in_details, ref = run_interpreter(built.tflite, arrays, OpResolverType.AUTO)
        try:
            _, alt = run_interpreter(built.tflite, arrays, OpResolverType.BUILTIN_REF)
        except (ValueError, RuntimeError) as e:
            msg = "%s: BUILTIN_REF cannot run it: %s" % (s.name, str(e).strip().splitlines()[0])
            if msg not in no_ref:
                print("    note: " + msg)
                no_ref.append(msg)
            alt = None
        problems = compare(ref, alt, s.tie_ok) if alt is not None else []
        atols = {}
        for oi, what, diff in problems:
            msg = "%s case_%d output %d (%s): default vs BUILTIN_REF: %s" % (
                s.name, ci, oi, ref[oi][0]["name"], what)
            print("    WARNING: " + msg)
            disagreements.append(msg)
            if diff is not None:
                atol = _round_up_atol(diff)
                atols[oi] = (atol, "LiteRT's default kernels (XNNPACK) and its reference kernels "
                                   "(BUILTIN_REF) differ by up to %.3g here, so the reference is "
                                   "itself inexact at this level; bound is 1.5x that." % diff)
        write_case(os.path.join(sdir, "case_%d" % ci), in_details, arrays, ref, atols)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(sdir) for f in fs)
    summary.append({
        "suite": "%s/%s" % (s.kind, s.name), "doc": s.doc, "ops": hist, "variants": variants,
        "subgraphs": len(subgraphs), "model_bytes": len(built.tflite), "bytes": size,
        "cases": len(built.cases), "disagree": disagreements, "no_ref": no_ref, "secs": time.time() - t0,
    })


# --------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------

def normal(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def uniform(rng, shape, lo, hi):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def ids(rng, shape, vocab, pad_frac=0.0, dtype=np.int32):
    """Ids in [1, vocab); a fraction set to 0 (padding)."""
    a = rng.integers(1, vocab, size=shape)
    if pad_frac:
        a[rng.random(shape) < pad_frac] = 0
    return a.astype(dtype)


def history(rng, batch, length, vocab, dtype=np.int32):
    """Left-aligned histories of random length, right-padded with zeros."""
    a = np.zeros((batch, length), dtype=dtype)
    for b in range(batch):
        n = int(rng.integers(1, length + 1))
        a[b, :n] = rng.integers(1, vocab, size=n)
    return a


# --------------------------------------------------------------------------
# INDEX.md
# --------------------------------------------------------------------------

def write_index(out_root, summary, versions):
    lines = ["# Conformance suite index", "",
             "Generated by `generate.py`; do not edit by hand.", "",
             "Tool versions: " + ", ".join("%s %s" % kv for kv in versions.items()) + ".", "",
             "Op tags: `[f32]`/`[i8]`/... is the dtype of the op's first input, `[RELU]`... a fused "
             "activation, `[hybrid]` float activations with int8 constant weights, `[per-channel]` an "
             "input with per-channel scales, `[no-bias]` a missing (-1) bias, `[f32->i8]` a conversion.", ""]
    all_ops = collections.Counter()
    for kind in ("ops", "models"):
        rows = [r for r in summary if r["suite"].startswith(kind + "/")]
        if not rows:
            continue
        lines += ["## %s/" % kind, "",
                  "| suite | cases | model bytes | ops (histogram over all subgraphs) | what it checks |",
                  "|---|---|---|---|---|"]
        for r in rows:
            all_ops.update(r["ops"])
            ops = ", ".join("%s×%d" % (k, v) if v > 1 else k for k, v in sorted(r["variants"].items()))
            sub = " (%d subgraphs)" % r["subgraphs"] if r["subgraphs"] > 1 else ""
            lines.append("| `%s` | %d | %d | %s%s | %s |" % (
                r["suite"].split("/", 1)[1], r["cases"], r["model_bytes"], ops, sub,
                r["doc"].replace("|", "\\|").replace("\n", " ")))
        lines.append("")
    lines += ["## Op coverage", "", "Number of suites whose model contains each builtin op:", ""]
    per_op = collections.Counter()
    for r in summary:
        for k in r["ops"]:
            per_op[k] += 1
    lines.append(", ".join("%s (%d)" % (k, per_op[k]) for k in sorted(per_op)))
    lines.append("")
    dis = [m for r in summary for m in r["disagree"]]
    lines += ["## Default (XNNPACK) vs BUILTIN_REF", ""]
    if dis:
        lines += ["- " + m for m in dis]
    else:
        lines.append("No suite disagrees beyond FORMAT.md's bounds.")
    lines.append("")
    nr = [m for r in summary for m in r["no_ref"]]
    if nr:
        lines += ["Suites that LiteRT's BUILTIN_REF resolver cannot load (no cross-check):", ""]
        lines += ["- " + m for m in nr]
        lines.append("")
    with open(os.path.join(out_root, "INDEX.md"), "w") as fh:
        fh.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output root (tests/conformance)")
    ap.add_argument("--only", help="regex: build only matching suites (no cleanup, no INDEX.md)")
    ap.add_argument("--list", action="store_true", help="list suites and exit")
    args = ap.parse_args()
    if args.list:
        for s in SUITES:
            print("%s/%s: %s" % (s.kind, s.name, " ".join(s.expect)))
        return
    names = [s.name for s in SUITES]
    dup = [n for n, c in collections.Counter(names).items() if c > 1]
    assert not dup, dup
    t0 = time.time()
    todo = SUITES
    if args.only:
        todo = [s for s in SUITES if re.search(args.only, "%s/%s" % (s.kind, s.name))]
    else:
        for kind in ("ops", "models"):
            shutil.rmtree(os.path.join(args.out, kind), ignore_errors=True)
    summary = []
    for s in todo:
        build_suite(s, args.out, summary)
    if not args.only:
        import ai_edge_litert
        import keras
        import tf_keras
        versions = collections.OrderedDict([
            ("tensorflow", tf.__version__), ("keras", keras.__version__),
            ("tf-keras", tf_keras.__version__),
            ("ai-edge-litert", getattr(ai_edge_litert, "__version__", "2.3.0")),
            ("numpy", np.__version__)])
        write_index(args.out, summary, versions)
    dis = [m for r in summary for m in r["disagree"]]
    total = sum(r["bytes"] for r in summary)
    print("\n%d suites, %d cases, %.2f MB, %.0f s" % (
        len(summary), sum(r["cases"] for r in summary), total / 1e6, time.time() - t0))
    if dis:
        print("default vs BUILTIN_REF disagreements (warnings):")
        for m in dis:
            print("  " + m)


# ==========================================================================
# SUITES
# ==========================================================================

def auto_case(rng, specs, dims=None, gen=None):
    """Seeded inputs for specs: f32 normal, ints in [0, 10), bools; None dims from dims."""
    case = {}
    for s in specs:
        if gen and s.name in gen:
            case[s.name] = gen[s.name](rng)
            continue
        shape = [d if d is not None else dims[s.name][i] for i, d in enumerate(s.shape.as_list())]
        if s.dtype == tf.float32:
            case[s.name] = normal(rng, shape)
        elif s.dtype in (tf.int32, tf.int64):
            case[s.name] = rng.integers(0, 10, size=shape).astype(s.dtype.as_numpy_dtype)
        elif s.dtype == tf.bool:
            case[s.name] = rng.random(shape) < 0.5
        else:
            raise TypeError(s.dtype)
    return case


def op(name, expect, fn, specs, doc="", n_cases=2, gen=None, dims=None, mode="float", tie_ok=(),
       kind="ops", rep=None, **kw):
    """Registers a suite built from a tf.function over specs.

    gen: {input name: rng -> array}; dims: list (one per case) of {input name: shape}
    for inputs with None dims; rep: rng -> representative dataset (int8 mode).
    """
    def builder(rng):
        r = rep(np.random.default_rng(rng.integers(1 << 31))) if rep else None
        tfl = convert(fn, specs, mode=mode, rep=r, **kw)
        if dims:
            cases = [auto_case(rng, specs, d, gen) for d in dims]
        else:
            cases = [auto_case(rng, specs, None, gen) for _ in range(n_cases)]
        return Built(tfl, cases)
    suite(name, expect, doc, kind=kind, tie_ok=tie_ok)(builder)


def F(*shape, name):
    return T(list(shape), tf.float32, name=name)


def I(*shape, name, dtype=tf.int32):
    return T(list(shape), dtype, name=name)


def B(*shape, name):
    return T(list(shape), tf.bool, name=name)


def const(rng_seed, shape, scale=1.0):
    """A seeded constant weight (independent of the case rng)."""
    return tf.constant(normal(np.random.default_rng(rng_seed), shape, scale))


# ---------------------------------------------------------------- binary ops

_xy = [F(2, 3, 4, name="x"), F(2, 3, 4, name="y")]
op("add", ["ADD[f32]"], lambda x, y: x + y, _xy, "f32 ADD, equal shapes")
op("sub", ["SUB[f32]"], lambda x, y: x - y, _xy, "f32 SUB, equal shapes")
op("mul", ["MUL[f32]"], lambda x, y: x * y, _xy, "f32 MUL, equal shapes")
op("div", ["DIV[f32]"], lambda x, y: x / y, _xy, "f32 DIV; divisor magnitude in [0.5, 2]",
   gen={"y": lambda r: (uniform(r, [2, 3, 4], 0.5, 2.0) * np.where(r.random([2, 3, 4]) < 0.5, -1, 1)).astype(np.float32)})
op("squared_difference", ["SQUARED_DIFFERENCE"], lambda x, y: tf.math.squared_difference(x, y), _xy,
   "f32 SQUARED_DIFFERENCE")
op("maximum", ["MAXIMUM"], lambda x, y: tf.maximum(x, y), _xy, "f32 MAXIMUM")
op("minimum", ["MINIMUM"], lambda x, y: tf.minimum(x, y), _xy, "f32 MINIMUM")
op("pow", ["POW"], lambda x, y: tf.pow(x, y), _xy, "f32 POW, base in [0.1, 3], exponent in [-2, 2]",
   gen={"x": lambda r: uniform(r, [2, 3, 4], 0.1, 3.0), "y": lambda r: uniform(r, [2, 3, 4], -2.0, 2.0)})
_ij = [I(3, 5, name="x"), I(3, 5, name="y")]
_int_gen = {"x": lambda r: r.integers(-1000, 1000, [3, 5]).astype(np.int32),
            "y": lambda r: r.integers(-1000, 1000, [3, 5]).astype(np.int32)}
op("add_i32", ["ADD[i32]"], lambda x, y: x + y, _ij, "i32 ADD (Keras Embedding's negative-id fix-up adds on ids)", gen=_int_gen)
op("sub_i32", ["SUB[i32]"], lambda x, y: x - y, _ij, "i32 SUB", gen=_int_gen)
op("mul_i32", ["MUL[i32]"], lambda x, y: x * y, _ij, "i32 MUL", gen=_int_gen)
op("maximum_i32", ["MAXIMUM[i32]"], lambda x, y: tf.maximum(x, y), _ij, "i32 MAXIMUM", gen=_int_gen)
op("add_i64", ["ADD[i64]"], lambda x, y: x + y, [I(3, 5, name="x", dtype=tf.int64), I(3, 5, name="y", dtype=tf.int64)],
   "i64 ADD", gen={"x": lambda r: r.integers(-2**40, 2**40, [3, 5]), "y": lambda r: r.integers(-2**40, 2**40, [3, 5])})

# broadcasting: rank-4 against rank-1, general two-sided, scalar
_b41 = [F(2, 3, 4, 5, name="x"), F(5, name="y")]
op("add_bcast_r4_r1", ["ADD[f32]"], lambda x, y: x + y, _b41, "ADD broadcasting [2,3,4,5] + [5]")
op("mul_bcast_r4_r1", ["MUL[f32]"], lambda x, y: x * y, _b41, "MUL broadcasting [2,3,4,5] * [5]")
op("sub_bcast_r1_r4", ["SUB[f32]"], lambda x, y: y - x, _b41, "SUB broadcasting [5] - [2,3,4,5] (rank-1 on the left)")
op("div_bcast_r4_r1", ["DIV[f32]"], lambda x, y: x / y, _b41, "DIV broadcasting [2,3,4,5] / [5]",
   gen={"y": lambda r: uniform(r, [5], 0.5, 2.0)})
op("add_bcast_two_sided", ["ADD[f32]"], lambda x, y: x + y, [F(2, 1, 4, 1, name="x"), F(3, 1, 5, name="y")],
   "ADD broadcasting [2,1,4,1] + [3,1,5] -> [2,3,4,5]")
op("mul_bcast_scalar", ["MUL[f32]"], lambda x, y: x * y, [F(4, 6, name="x"), F(name="y")], "MUL by a rank-0 input")
op("maximum_bcast", ["MAXIMUM"], lambda x, y: tf.maximum(x, y), [F(2, 3, 1, name="x"), F(4, name="y")],
   "MAXIMUM broadcasting [2,3,1] vs [4]")
op("squared_difference_bcast", ["SQUARED_DIFFERENCE"], lambda x, y: tf.math.squared_difference(x, y),
   [F(1, 3, 4, name="x"), F(2, 1, 4, name="y")], "SQUARED_DIFFERENCE broadcasting [1,3,4] vs [2,1,4]")
op("size1_dims", ["ADD[f32]", "MUL[f32]"], lambda x, y: (x + y) * y, [F(1, 1, 5, 1, name="x"), F(1, 1, 1, 1, name="y")],
   "ADD/MUL on tensors with size-1 dims")

# fused activations
op("add_relu", ["ADD[f32,RELU]"], lambda x, y: tf.nn.relu(x + y), _xy, "ADD with fused RELU")
op("add_relu6", ["ADD[f32,RELU6]"], lambda x, y: tf.nn.relu6(3.0 * x + y), _xy, "ADD with fused RELU6")
op("mul_relu", ["MUL[f32,RELU]"], lambda x, y: tf.nn.relu(x * y), _xy, "MUL with fused RELU")
op("sub_relu_n1", ["SUB[f32,RELU_N1_TO_1]"], lambda x, y: tf.clip_by_value(x - y, -1.0, 1.0), _xy,
   "SUB with fused RELU_N1_TO_1 (clip to [-1, 1])")

# ---------------------------------------------------------------- unary ops

_u = [F(3, 7, name="x")]
_pos = {"x": lambda r: uniform(r, [3, 7], 0.01, 10.0)}
op("neg", ["NEG"], lambda x: -x, _u, "NEG")
op("abs", ["ABS"], lambda x: tf.abs(x), _u, "ABS")
op("abs_i32", ["ABS[i32]"], lambda x: tf.abs(x), [I(3, 7, name="x")], "i32 ABS",
   gen={"x": lambda r: r.integers(-100, 100, [3, 7]).astype(np.int32)})
op("sqrt", ["SQRT"], lambda x: tf.sqrt(x), _u, "SQRT on [0.01, 10]", gen=_pos)
op("rsqrt", ["RSQRT"], lambda x: tf.math.rsqrt(x), _u, "RSQRT on [0.01, 10]", gen=_pos)
op("square", ["SQUARE"], lambda x: tf.square(x), _u, "SQUARE")
op("exp", ["EXP"], lambda x: tf.exp(x), _u, "EXP on N(0, 2)", gen={"x": lambda r: normal(r, [3, 7], 2.0)})
op("log", ["LOG"], lambda x: tf.math.log(x), _u, "LOG on [0.01, 10]", gen=_pos)
op("tanh", ["TANH[f32]"], lambda x: tf.tanh(x), _u, "TANH on N(0, 3)", gen={"x": lambda r: normal(r, [3, 7], 3.0)})
op("logistic", ["LOGISTIC[f32]"], lambda x: tf.sigmoid(x), _u, "LOGISTIC on N(0, 4)",
   gen={"x": lambda r: normal(r, [3, 7], 4.0)})
op("relu", ["RELU"], lambda x: tf.nn.relu(x), _u, "RELU")
op("relu6", ["RELU6"], lambda x: tf.nn.relu6(x), _u, "RELU6 on N(0, 5)", gen={"x": lambda r: normal(r, [3, 7], 5.0)})
op("leaky_relu", ["LEAKY_RELU"], lambda x: tf.nn.leaky_relu(x, 0.2), _u, "LEAKY_RELU alpha=0.2")
op("gelu", ["GELU"], lambda x: tf.nn.gelu(x, approximate=False), _u, "GELU, exact (erf)")
op("gelu_tanh", ["GELU"], lambda x: tf.nn.gelu(x, approximate=True), _u, "GELU, tanh approximation")
op("hard_swish", ["HARD_SWISH"], lambda x: x * tf.nn.relu6(x + 3.0) / 6.0, _u, "HARD_SWISH on N(0, 4)",
   gen={"x": lambda r: normal(r, [3, 7], 4.0)})
op("softmax", ["SOFTMAX[f32]"], lambda x: tf.nn.softmax(x), [F(4, 10, name="x")], "SOFTMAX over the last axis",
   gen={"x": lambda r: normal(r, [4, 10], 3.0)})
op("softmax_axis_m1_r3", ["SOFTMAX[f32]"], lambda x: tf.nn.softmax(x, axis=-1), [F(2, 3, 6, name="x")],
   "SOFTMAX axis=-1 on a rank-3 input")
op("softmax_axis_m2", ["SOFTMAX[f32]"], lambda x: tf.nn.softmax(x, axis=-2), [F(2, 5, 3, name="x")],
   "SOFTMAX axis=-2 (converter transposes around it)")
op("softmax_beta", ["SOFTMAX[f32]"], lambda x: tf.nn.softmax(x * 0.5), [F(4, 10, name="x")],
   "SOFTMAX of x*0.5 (beta folded into the op if the converter fuses it)")
op("log_softmax", ["LOG_SOFTMAX"], lambda x: tf.nn.log_softmax(x), [F(4, 10, name="x")], "LOG_SOFTMAX")


# ==========================================================================

if __name__ == "__main__":
    main()
