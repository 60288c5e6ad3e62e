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
(OpResolverType.BUILTIN_REF), and the `attune` CLI judges those outputs against the
reference just written, with the rule that judges Attune (tests/lib/judge.py); a case
it fails is printed as a warning and never fails the run.  Each suite declares the
builtin ops it is meant to exercise; the generator reads the flatbuffer and fails if
one of them is missing.  INDEX.md lists every suite with its op histogram.

Everything is seeded from the suite name, so a rerun gives the same bytes.  The judge
is $ATTUNE_CLI, else target/ci/attune, else --attune PATH; build it first
(`source scripts/env.sh; attune_cargo_native build`).
"""

import argparse
import collections
import json
import os
import re
import shutil
import sys
import tempfile
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
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
try:
    tf.get_logger().setLevel("ERROR")
except Exception:  # pragma: no cover
    pass

from ai_edge_litert import schema_py_generated as S  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import judge  # noqa: E402

T = tf.TensorSpec
# The command that judges the cross-check (main() may replace it: --attune).
JUDGE_CLI = judge.CLI

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
            mask_tags = []
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
                if cls is S.StridedSliceOptions:
                    o = cls()
                    o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                    for label, mask in (("ellipsis", o.EllipsisMask()), ("new-axis", o.NewAxisMask()),
                                        ("shrink", o.ShrinkAxisMask())):
                        if mask:
                            mask_tags.append(label)
            live_ins = [k for k in ins if k >= 0]
            if name in ("QUANTIZE", "DEQUANTIZE", "CAST") and live_ins and outs:
                tags.append("%s->%s" % (_tensor_type(sg, live_ins[0]), _tensor_type(sg, outs[0])))
            elif live_ins:
                t0 = _tensor_type(sg, live_ins[0])
                if name in ("EMBEDDING_LOOKUP", "SPLIT", "FILL", "SELECT", "SELECT_V2") and len(live_ins) > 1:
                    t0 = _tensor_type(sg, live_ins[1])
                tags.append(t0)
                if t0 == "f32" and any(_tensor_type(sg, k) == "i8" and _is_const(m, sg, k) for k in live_ins[1:]):
                    tags.append("hybrid")
            if act_tag:
                tags.append(act_tag)
            tags.extend(mask_tags)
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

def _rep_gen(rep):
    # Samples are dicts keyed by signature input name: the converter's input order need
    # not be the order of the function's arguments.
    def gen():
        for sample in rep:
            yield {k: np.asarray(v) for k, v in sample.items()}
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
    else:
        f = tf.function(fn, input_signature=specs, autograph=True)
        cf = f.get_concrete_function()
        holder = tf.Module()
        holder.f = f
        if trackable is not None:
            holder.t = trackable
        conv = tf.lite.TFLiteConverter.from_concrete_functions([cf], holder)
    if mode in ("dynamic", "int8", "qat"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        assert rep, "int8 needs a representative dataset"
        conv.representative_dataset = _rep_gen(rep)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if per_tensor:
        conv._experimental_disable_per_channel = True
    if io_type is not None:
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type
    if extra:
        extra(conv)
    with _quiet_stdout():
        return conv.convert()


class _quiet_stdout:
    """Silences the converter's C++ chatter on fds 1 and 2; replays it if conversion fails."""

    def __enter__(self):
        import tempfile
        sys.stdout.flush()
        sys.stderr.flush()
        self.log = tempfile.TemporaryFile()
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.log.fileno(), 1)
        os.dup2(self.log.fileno(), 2)

    def __exit__(self, exc_type, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in self.saved:
            os.close(fd)
        if exc_type is not None:
            self.log.seek(0)
            sys.stderr.write(self.log.read().decode(errors="replace")[-4000:])
        self.log.close()
        return False


def patch_model(tflite, edit):
    """Round-trips the flatbuffer through the object API and lets edit(model) change it."""
    from tensorflow.lite.tools import flatbuffer_utils as fbu
    mo = fbu.read_model_from_bytearray(bytearray(tflite))
    edit(mo)
    return bytes(fbu.convert_object_to_bytearray(mo))


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


def _signature_names(it):
    """Tensor index -> signature input name (e.g. 'x'), when the model has a signature."""
    out = {}
    try:
        for key in it.get_signature_list():
            for name, d in it.get_signature_runner(key).get_input_details().items():
                out[d["index"]] = name
    except Exception:  # pragma: no cover - models without signatures
        pass
    return out


def prepare_inputs(it, case):
    """Matches case arrays to interpreter inputs; quantizes floats for int I/O."""
    keys = list(case.keys())
    interp_details = it.get_input_details()
    sig = _signature_names(it)
    arrays = []
    for i, d in enumerate(interp_details):
        k = sig.get(d["index"]) if sig.get(d["index"]) in keys else _key_for(d["name"], keys)
        if k is None:
            if len(keys) == 1 and len(interp_details) == 1:
                k = keys[0]
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


_FLOATS = ("f32", "f16", "f64")
_STEPS = ("i8", "u8", "i16")


def _diff_or_nan(verdict, i):
    """Output i's max difference as the judge measured it (NaN where it could not)."""
    outs = verdict["outputs"]
    d = outs[i]["max_diff"] if i < len(outs) else None
    return float("nan") if d is None else float(d)


def cross_check(case_dir, ref, alt):
    """Has the attune CLI judge BUILTIN_REF's outputs against the reference written in
    case_dir, by the rule that judges Attune.  Returns (output index or None, what,
    float max diff or None) for each output it fails."""
    v = judge.judge_case(case_dir, "LiteRT BUILTIN_REF", [o for _, o in alt], cli=JUDGE_CLI)
    if not v["outputs"]:
        return [] if v["passed"] else [(None, v["detail"], None)]
    problems = []
    for o in v["outputs"]:
        i, dtype = o["index"], o["dtype"]
        if o["passed"]:
            if o["differing"] and dtype not in _FLOATS + _STEPS:
                print("    note: output %d: %d index(es) differ where scores tie" % (i, o["differing"]))
            continue
        if o["max_diff"] is None:
            problems.append((i, o["detail"], None))
        elif dtype in _FLOATS:
            problems.append((i, "max|diff|=%.3g > bound %.3g" % (o["max_diff"], o["bound"]), o["max_diff"]))
        elif dtype in _STEPS:
            problems.append((i, "%d quantization steps apart" % o["max_diff"], None))
        else:
            problems.append((i, "%d of %d elements differ" % (o["differing"], ref[i][1].size), None))
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


# --------------------------------------------------------------------------
# Suite registry
# --------------------------------------------------------------------------

class Suite:
    def __init__(self, name, kind, builder, expect, doc, atol_why=""):
        self.atol_why = atol_why
        self.name, self.kind, self.builder = name, kind, builder
        self.expect, self.doc = list(expect), doc

    @property
    def seed(self):
        return zlib.crc32(self.name.encode()) & 0x7FFFFFFF


SUITES = []


def suite(name, expect, doc="", kind="ops", atol_why=""):
    def deco(fn):
        SUITES.append(Suite(name, kind, fn, expect, doc or (fn.__doc__ or "").strip(), atol_why))
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
        arrays = prepare_inputs(probe, case)
        del probe
        try:
            in_details, ref = run_interpreter(built.tflite, arrays, OpResolverType.AUTO)
        except RuntimeError as e:
            # The default interpreter could not prepare the model (XNNPACK took a node it then
            # rejected).  Fall back to the builtin kernels without delegates and say so.
            msg = "%s: default interpreter fails (%s); reference from BUILTIN_WITHOUT_DEFAULT_DELEGATES" % (
                s.name, str(e).strip().splitlines()[0][:160])
            if msg not in no_ref:
                print("    note: " + msg)
                no_ref.append(msg)
            in_details, ref = run_interpreter(built.tflite, arrays, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            _, alt = run_interpreter(built.tflite, arrays, OpResolverType.BUILTIN_REF)
        except (ValueError, RuntimeError) as e:
            msg = "%s: BUILTIN_REF cannot run it: %s" % (s.name, str(e).strip().splitlines()[0])
            if msg not in no_ref:
                print("    note: " + msg)
                no_ref.append(msg)
            alt = None
        # The reference first, without atol: the judge reads it from the case folder.
        case_dir = os.path.abspath(os.path.join(sdir, "case_%d" % ci))
        write_case(case_dir, in_details, arrays, ref, {})
        problems = cross_check(case_dir, ref, alt) if alt is not None else []
        atols = {}
        if problems:
            # Which side do LiteRT's optimized builtin kernels (no XNNPACK) take?  The judge
            # measures them against the reference and against BUILTIN_REF's outputs.
            _, plain = run_interpreter(built.tflite, arrays, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            plain = [o for _, o in plain]
            v_plain = judge.judge_case(case_dir, "LiteRT builtin", plain, cli=JUDGE_CLI)
            with tempfile.TemporaryDirectory() as t:
                alt_case = judge.write_reference_case(os.path.join(t, "builtin_ref"), [o for _, o in alt])
                v_plain_ref = judge.judge_case(alt_case, "LiteRT builtin", plain, cli=JUDGE_CLI)
        for oi, what, diff in problems:
            if oi is None:
                msg = "%s case_%d: default vs BUILTIN_REF: %s" % (s.name, ci, what)
                print("    WARNING: " + msg)
                disagreements.append(msg)
                continue
            msg = "%s case_%d output %d (%s): default vs BUILTIN_REF: %s" % (
                s.name, ci, oi, ref[oi][0]["name"], what)
            d_plain, d_plain_ref = _diff_or_nan(v_plain, oi), _diff_or_nan(v_plain_ref, oi)
            msg += " (builtin kernels without XNNPACK: %.3g from default, %.3g from BUILTIN_REF)" % (d_plain, d_plain_ref)
            print("    WARNING: " + msg)
            disagreements.append(msg)
            if diff is not None:
                atol = judge.round_up_atol(max(diff, d_plain))
                atols[oi] = (atol, "Not exact in LiteRT itself: the default interpreter (XNNPACK) and "
                                   "LiteRT's builtin kernels (BUILTIN_REF and the optimized builtins "
                                   "without XNNPACK) differ by up to %.3g on this output%s. atol is about "
                                   "1.5x that difference." % (max(diff, d_plain), s.atol_why))
        if atols:
            write_case(case_dir, in_details, arrays, ref, atols)
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
        lines += ["Reference notes (BUILTIN_REF cannot load the model, or the default interpreter "
                  "cannot run it):", ""]
        lines += ["- " + m for m in nr]
        lines.append("")
    with open(os.path.join(out_root, "INDEX.md"), "w") as fh:
        fh.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output root (tests/conformance)")
    ap.add_argument("--only", help="regex: build only matching suites (no cleanup, no INDEX.md)")
    ap.add_argument("--list", action="store_true", help="list suites and exit")
    ap.add_argument("--attune", help="the attune binary that judges the cross-check "
                    "(default: $ATTUNE_CLI, else target/ci/attune)")
    args = ap.parse_args()
    global JUDGE_CLI
    if args.attune:
        JUDGE_CLI = [os.path.abspath(args.attune)]
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


def op(name, expect, fn, specs, doc="", n_cases=2, gen=None, dims=None, mode="float",
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
    suite(name, expect, doc, kind=kind)(builder)


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


# ---------------------------------------------------------------- matmul family

_W86 = const(101, [8, 6], 0.35)
_b6 = const(102, [6], 0.1)
op("fully_connected", ["FULLY_CONNECTED[f32]"], lambda x: tf.matmul(x, _W86) + _b6, [F(4, 8, name="x")],
   "FULLY_CONNECTED with bias")
op("fully_connected_no_bias", ["FULLY_CONNECTED[f32,no-bias]"], lambda x: tf.matmul(x, _W86), [F(4, 8, name="x")],
   "FULLY_CONNECTED without bias (bias input index -1)")
op("fully_connected_relu", ["FULLY_CONNECTED[f32,RELU]"], lambda x: tf.nn.relu(tf.matmul(x, _W86) + _b6),
   [F(4, 8, name="x")], "FULLY_CONNECTED with fused RELU")
op("fully_connected_relu6", ["FULLY_CONNECTED[f32,RELU6]"], lambda x: tf.nn.relu6(tf.matmul(x, _W86 * 3.0) + _b6),
   [F(4, 8, name="x")], "FULLY_CONNECTED with fused RELU6")
# The converter never fuses TANH into FULLY_CONNECTED, and LiteRT's FULLY_CONNECTED kernel
# rejects a fused TANH at prepare time (fully_connected.cc allows NONE/RELU/RELU_N1_TO_1/RELU6
# only), so a Dense(activation="tanh") is FULLY_CONNECTED followed by TANH.
op("fully_connected_tanh", ["FULLY_CONNECTED[f32]", "TANH[f32]"], lambda x: tf.tanh(tf.matmul(x, _W86) + _b6),
   [F(4, 8, name="x")], "Dense(tanh): FULLY_CONNECTED then a separate TANH (TANH never fuses into FC)")
op("fully_connected_rank3", ["FULLY_CONNECTED[f32]"], lambda x: tf.matmul(x, _W86) + _b6, [F(2, 3, 8, name="x")],
   "FULLY_CONNECTED on a rank-3 input [2,3,8] (keep_num_dims or reshapes)")
op("fully_connected_batch1", ["FULLY_CONNECTED[f32]"], lambda x: tf.matmul(x, _W86) + _b6, [F(1, 8, name="x")],
   "FULLY_CONNECTED with batch 1")
op("fully_connected_dynamic_batch", ["FULLY_CONNECTED[f32]"], lambda x: tf.matmul(x, _W86) + _b6,
   [F(None, 8, name="x")], "FULLY_CONNECTED with batch None (shape_signature -1); cases at 3 and 17",
   dims=[{"x": [3, 8]}, {"x": [17, 8]}])
op("fully_connected_input_weights", ["FULLY_CONNECTED[f32,no-bias]"], lambda u, items: tf.matmul(u, items, transpose_b=True),
   [F(1, 16, name="u"), F(40, 16, name="items")], "FULLY_CONNECTED whose weights are a model input (two-tower scoring)")
op("batch_matmul", ["BATCH_MATMUL[f32]"], lambda a, b: tf.matmul(a, b), [F(2, 3, 4, name="a"), F(2, 4, 5, name="b")],
   "BATCH_MATMUL [2,3,4] x [2,4,5]")
op("batch_matmul_adj_y", ["BATCH_MATMUL[f32]"], lambda a, b: tf.matmul(a, b, transpose_b=True),
   [F(2, 3, 4, name="a"), F(2, 5, 4, name="b")], "BATCH_MATMUL with transpose_b (adj_y)")
op("batch_matmul_adj_x", ["BATCH_MATMUL[f32]"], lambda a, b: tf.matmul(a, b, transpose_a=True),
   [F(2, 4, 3, name="a"), F(2, 4, 5, name="b")], "BATCH_MATMUL with transpose_a (adj_x)")
op("batch_matmul_bcast", ["BATCH_MATMUL[f32]"], lambda a, b: tf.matmul(a, b), [F(2, 1, 3, 4, name="a"), F(3, 4, 5, name="b")],
   "BATCH_MATMUL broadcasting batch dims [2,1,3,4] x [3,4,5]")
_W245 = const(103, [2, 4, 5], 0.5)
op("batch_matmul_const_rhs", ["BATCH_MATMUL[f32]"], lambda a: tf.matmul(a, _W245), [F(2, 3, 4, name="a")],
   "BATCH_MATMUL with a constant rank-3 right-hand side")

# ---------------------------------------------------------------- conv / pool

_K3334 = const(111, [3, 3, 3, 4], 0.3)
_b4 = const(112, [4], 0.1)
op("conv_2d_same_relu", ["CONV_2D[f32,RELU]"],
   lambda x: tf.nn.relu(tf.nn.conv2d(x, _K3334, 1, "SAME") + _b4), [F(1, 8, 8, 3, name="x")],
   "CONV_2D 3x3, stride 1, SAME, bias, fused RELU")
_K3323 = const(113, [3, 3, 2, 3], 0.3)
op("conv_2d_valid_stride2", ["CONV_2D[f32]"], lambda x: tf.nn.conv2d(x, _K3323, 2, "VALID") + const(114, [3], 0.1),
   [F(2, 9, 9, 2, name="x")], "CONV_2D 3x3, stride 2, VALID, batch 2")
op("conv_2d_same_stride2_even", ["CONV_2D[f32]"], lambda x: tf.nn.conv2d(x, _K3323, 2, "SAME") + const(115, [3], 0.1),
   [F(1, 8, 6, 2, name="x")], "CONV_2D 3x3, stride 2, SAME on even sizes (asymmetric padding)")
op("conv_2d_dilated", ["CONV_2D[f32]"], lambda x: tf.nn.conv2d(x, _K3323, 1, "SAME", dilations=2) + const(116, [3], 0.1),
   [F(1, 7, 7, 2, name="x")], "CONV_2D 3x3 dilation 2, SAME")
op("conv_2d_1x3_rect", ["CONV_2D[f32]"], lambda x: tf.nn.conv2d(x, const(117, [1, 3, 4, 5], 0.3), [1, 1], "VALID")
   + const(118, [5], 0.1), [F(1, 1, 10, 4, name="x")], "CONV_2D 1x3 kernel over [1,1,10,4] (what Conv1D becomes)")
op("depthwise_conv_2d", ["DEPTHWISE_CONV_2D[f32,RELU6]"],
   lambda x: tf.nn.relu6(tf.nn.depthwise_conv2d(x, const(121, [3, 3, 4, 1], 0.5), [1, 1, 1, 1], "SAME") + _b4),
   [F(1, 6, 6, 4, name="x")], "DEPTHWISE_CONV_2D 3x3, multiplier 1, SAME, fused RELU6")
op("depthwise_conv_2d_mult2_stride2", ["DEPTHWISE_CONV_2D[f32]"],
   lambda x: tf.nn.depthwise_conv2d(x, const(122, [3, 3, 3, 2], 0.5), [1, 2, 2, 1], "VALID") + const(123, [6], 0.1),
   [F(2, 7, 7, 3, name="x")], "DEPTHWISE_CONV_2D 3x3, depth multiplier 2, stride 2, VALID")
op("max_pool_2d_same", ["MAX_POOL_2D"], lambda x: tf.nn.max_pool2d(x, 2, 2, "SAME"), [F(1, 7, 7, 3, name="x")],
   "MAX_POOL_2D 2x2 stride 2, SAME on odd size")
op("max_pool_2d_valid", ["MAX_POOL_2D"], lambda x: tf.nn.max_pool2d(x, 3, 2, "VALID"), [F(2, 7, 6, 2, name="x")],
   "MAX_POOL_2D 3x3 stride 2, VALID")
op("average_pool_2d_same", ["AVERAGE_POOL_2D"], lambda x: tf.nn.avg_pool2d(x, 3, 1, "SAME"), [F(1, 5, 5, 2, name="x")],
   "AVERAGE_POOL_2D 3x3 stride 1, SAME (edge windows average only valid cells)")
op("average_pool_2d_valid", ["AVERAGE_POOL_2D"], lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID"), [F(2, 6, 6, 3, name="x")],
   "AVERAGE_POOL_2D 2x2 stride 2, VALID")

# ---------------------------------------------------------------- gather family

_E50 = const(131, [50, 8], 0.5)
op("gather", ["GATHER[f32]"], lambda i: tf.gather(_E50, i), [I(4, 5, name="ids")],
   "GATHER from a constant [50,8] table with i32 ids [4,5] (an Embedding)",
   gen={"ids": lambda r: ids(r, [4, 5], 50, 0.2)})
op("gather_i64", ["GATHER[f32]"], lambda i: tf.gather(_E50, i), [I(4, 5, name="ids", dtype=tf.int64)],
   "GATHER with int64 indices", gen={"ids": lambda r: ids(r, [4, 5], 50, 0.2, np.int64)})
op("gather_axis1", ["GATHER[f32]"], lambda p, i: tf.gather(p, i, axis=1), [F(3, 6, 4, name="p"), I(5, name="ids")],
   "GATHER axis=1, params and indices both inputs", gen={"ids": lambda r: r.integers(0, 6, [5]).astype(np.int32)})
op("gather_axis_m1", ["GATHER[f32]"], lambda p, i: tf.gather(p, i, axis=-1), [F(3, 6, name="p"), I(2, 2, name="ids")],
   "GATHER axis=-1 with rank-2 indices", gen={"ids": lambda r: r.integers(0, 6, [2, 2]).astype(np.int32)})
op("gather_batch_dims", ["GATHER[f32]"], lambda p, i: tf.gather(p, i, axis=1, batch_dims=1),
   [F(2, 5, 3, name="p"), I(2, 4, name="ids")], "GATHER axis=1 batch_dims=1",
   gen={"ids": lambda r: r.integers(0, 5, [2, 4]).astype(np.int32)})
op("gather_i32_params", ["GATHER[i32]"], lambda p, i: tf.gather(p, i), [I(10, 3, name="p"), I(4, name="ids")],
   "GATHER of int32 params", gen={"p": lambda r: r.integers(-50, 50, [10, 3]).astype(np.int32),
                                  "ids": lambda r: r.integers(0, 10, [4]).astype(np.int32)})
op("gather_nd", ["GATHER_ND[f32]"], lambda p, i: tf.gather_nd(p, i), [F(3, 4, 5, name="p"), I(6, 2, name="idx")],
   "GATHER_ND picking rows: params [3,4,5], indices [6,2]",
   gen={"idx": lambda r: np.stack([r.integers(0, 3, 6), r.integers(0, 4, 6)], 1).astype(np.int32)})
op("gather_nd_scalars_i64", ["GATHER_ND[f32]"], lambda p, i: tf.gather_nd(p, i),
   [F(3, 4, name="p"), I(2, 3, 2, name="idx", dtype=tf.int64)], "GATHER_ND picking scalars with int64 indices [2,3,2]",
   gen={"idx": lambda r: np.stack([r.integers(0, 3, [2, 3]), r.integers(0, 4, [2, 3])], -1).astype(np.int64)})


@tf.function(experimental_implements="embedding_matmul")
def _embedding_matmul(table, ids_):
    # The converter fuses this composite (one-hot x table) into EMBEDDING_LOOKUP.
    vocab = tf.shape(table)[0]
    onehot = tf.cast(tf.equal(tf.expand_dims(ids_, 1), tf.range(vocab)), tf.float32)
    return tf.matmul(onehot, table)


_E30 = const(132, [30, 6], 0.5)
op("embedding_lookup", ["EMBEDDING_LOOKUP[f32]"], lambda i: _embedding_matmul(_E30, i), [I(7, name="ids")],
   "EMBEDDING_LOOKUP (via the converter's 'embedding_matmul' composite); note operand order (ids, table)",
   gen={"ids": lambda r: ids(r, [7], 30, 0.2)})
op("one_hot", ["ONE_HOT"], lambda i: tf.one_hot(i, 6), [I(7, name="ids")],
   "ONE_HOT depth 6, default on/off; includes out-of-range ids (-1, 6) which give all-off rows",
   gen={"ids": lambda r: np.concatenate([r.integers(0, 6, 5), [-1, 6]]).astype(np.int32)})
op("one_hot_on_off", ["ONE_HOT"], lambda i: tf.one_hot(i, 5, on_value=2.5, off_value=-0.5, axis=-1),
   [I(2, 3, name="ids")], "ONE_HOT with on_value 2.5 / off_value -0.5, axis -1",
   gen={"ids": lambda r: r.integers(0, 5, [2, 3]).astype(np.int32)})
op("one_hot_axis0_i64", ["ONE_HOT"], lambda i: tf.one_hot(i, 4, axis=0), [I(5, name="ids", dtype=tf.int64)],
   "ONE_HOT axis 0 with int64 ids", gen={"ids": lambda r: r.integers(0, 4, [5]).astype(np.int64)})
op("one_hot_int_output", ["ONE_HOT"], lambda i: tf.one_hot(i, 5, on_value=7, off_value=0, dtype=tf.int32),
   [I(6, name="ids")], "ONE_HOT with int32 output (on 7, off 0)",
   gen={"ids": lambda r: r.integers(0, 5, [6]).astype(np.int32)})
op("one_hot_reduce_max", ["ONE_HOT", "REDUCE_MAX"], lambda i: tf.reduce_max(tf.one_hot(i, 9), axis=0),
   [I(12, name="ids")],
   "ONE_HOT then REDUCE_MAX over the ids axis (the 'items seen' mask of sequence models, fused "
   "by the engine); duplicates and out-of-range ids",
   gen={"ids": lambda r: np.concatenate([r.integers(0, 9, 10), [-1, 9]]).astype(np.int32)})
op("one_hot_reduce_max_on_below_off", ["ONE_HOT", "REDUCE_MAX"],
   lambda i: tf.reduce_max(tf.one_hot(i, 5, on_value=-1.0, off_value=2.0, axis=-1), axis=[0, 1]),
   [I(2, 3, name="ids")],
   "ONE_HOT with on < off, REDUCE_MAX over both id axes: a depth slot is 'on' only when every id "
   "equals it; case 1 has all ids equal",
   dims=None, n_cases=1, gen={"ids": lambda r: r.integers(0, 5, [2, 3]).astype(np.int32)})
op("one_hot_reduce_max_all_equal", ["ONE_HOT", "REDUCE_MAX"],
   lambda i: tf.reduce_max(tf.one_hot(i, 4, on_value=-1.0, off_value=2.0), axis=0),
   [I(3, name="ids")],
   "ONE_HOT (on < off) then REDUCE_MAX where every id is the same: that slot keeps 'on'",
   gen={"ids": lambda r: np.full([3], r.integers(0, 4), np.int32)})

# ---------------------------------------------------------------- shape ops

op("concatenation", ["CONCATENATION[f32]"], lambda a, b, c: tf.concat([a, b, c], axis=1),
   [F(2, 3, name="a"), F(2, 1, name="b"), F(2, 4, name="c")], "CONCATENATION of 3 inputs along axis 1")
op("concatenation_axis_m1", ["CONCATENATION[f32]"], lambda a, b: tf.concat([a, b], axis=-1),
   [F(2, 3, 2, name="a"), F(2, 3, 5, name="b")], "CONCATENATION axis=-1 on rank 3")
op("concatenation_axis_m2", ["CONCATENATION[f32]"], lambda a, b: tf.concat([a, b], axis=-2),
   [F(2, 1, 4, name="a"), F(2, 3, 4, name="b")], "CONCATENATION axis=-2 with a size-1 dim")
op("concatenation_i32_axis0", ["CONCATENATION[i32]"], lambda a, b: tf.concat([a, b], axis=0),
   [I(2, 3, name="a"), I(1, 3, name="b")], "CONCATENATION of int32 along axis 0")
op("reshape", ["RESHAPE"], lambda x: tf.reshape(x, [3, -1, 2]), [F(2, 3, 4, name="x")], "RESHAPE [2,3,4] -> [3,4,2]")
op("reshape_dynamic", ["RESHAPE"], lambda x: tf.reshape(x, [-1, 6]), [F(None, 3, 2, name="x")],
   "RESHAPE with a dynamic batch to [-1, 6]", dims=[{"x": [2, 3, 2]}, {"x": [5, 3, 2]}])
op("squeeze", ["SQUEEZE"], lambda x: tf.squeeze(x, 1), [F(None, 1, None, name="x")],
   "SQUEEZE axis 1 (dynamic dims keep the converter from turning it into RESHAPE)",
   dims=[{"x": [2, 1, 3]}, {"x": [4, 1, 1]}])
op("expand_dims", ["EXPAND_DIMS"], lambda x: tf.expand_dims(x, -1), [F(None, 3, name="x")],
   "EXPAND_DIMS axis -1 (dynamic batch)", dims=[{"x": [2, 3]}, {"x": [5, 3]}])
op("transpose", ["TRANSPOSE"], lambda x: tf.transpose(x, [0, 2, 3, 1]), [F(2, 3, 4, 5, name="x")],
   "TRANSPOSE perm [0,2,3,1]")
op("transpose_2d", ["TRANSPOSE"], lambda x: tf.transpose(x), [F(3, 5, name="x")], "TRANSPOSE of a matrix")
op("slice", ["SLICE"], lambda x: tf.slice(x, [1, 0, 1], [2, -1, 2]), [F(3, 5, 4, name="x")],
   "SLICE begin [1,0,1] size [2,-1,2]")
_x456 = [F(4, 5, 6, name="x")]
op("strided_slice", ["STRIDED_SLICE"], lambda x: x[1:3, ::2, 1:5], _x456, "STRIDED_SLICE x[1:3, ::2, 1:5]")
op("strided_slice_masks", ["STRIDED_SLICE"], lambda x: x[:3, 1:, :-1:2], _x456,
   "STRIDED_SLICE begin_mask/end_mask: x[:3, 1:, :-1:2]")
op("strided_slice_negative_stride", ["STRIDED_SLICE"], lambda x: x[3:0:-1, ::-2, 4:1:-1], _x456,
   "STRIDED_SLICE negative strides: x[3:0:-1, ::-2, 4:1:-1]")
op("strided_slice_negative_index", ["STRIDED_SLICE"], lambda x: x[-3:-1, -4:, 1:-2], _x456,
   "STRIDED_SLICE negative begin/end: x[-3:-1, -4:, 1:-2]")
op("strided_slice_shrink", ["STRIDED_SLICE[shrink]"], lambda x: x[:, 2], _x456,
   "STRIDED_SLICE shrink_axis_mask: x[:, 2] (Keras x[:, t])")
op("strided_slice_shrink_neg", ["STRIDED_SLICE[shrink]"], lambda x: x[-1, :, -2], _x456,
   "STRIDED_SLICE shrink on two axes with negative indices: x[-1, :, -2]")
op("strided_slice_new_axis", ["STRIDED_SLICE"], lambda x: x[:, tf.newaxis, 1:4, ::2], _x456,
   "STRIDED_SLICE new_axis_mask: x[:, newaxis, 1:4, ::2]")
op("strided_slice_ellipsis", ["STRIDED_SLICE"], lambda x: x[..., 1:4], [F(2, 3, 4, 6, name="x")],
   "STRIDED_SLICE ellipsis_mask: x[..., 1:4]")
op("strided_slice_ellipsis_shrink", ["STRIDED_SLICE[shrink]"], lambda x: x[1, ..., ::-2], [F(2, 3, 4, 6, name="x")],
   "STRIDED_SLICE ellipsis + shrink + negative stride: x[1, ..., ::-2]")
op("strided_slice_dynamic", ["STRIDED_SLICE[shrink]"], lambda x: x[:, -1], [F(None, 5, 3, name="x")],
   "STRIDED_SLICE x[:, -1] with a dynamic batch", dims=[{"x": [2, 5, 3]}, {"x": [7, 5, 3]}])
op("split", ["SPLIT"], lambda x: tf.split(x, 3, axis=1), [F(2, 6, 2, name="x")], "SPLIT into 3 along axis 1")
op("split_axis_m1", ["SPLIT"], lambda x: tf.split(x, 2, axis=-1), [F(3, 4, name="x")], "SPLIT into 2 along axis -1")
op("split_v", ["SPLIT_V"], lambda x: tf.split(x, [1, 2, 3], axis=1), [F(2, 6, 2, name="x")],
   "SPLIT_V sizes [1,2,3] along axis 1")
op("split_v_infer", ["SPLIT_V"], lambda x: tf.split(x, [2, -1], axis=-1), [F(3, 7, name="x")],
   "SPLIT_V sizes [2,-1] along axis -1")
op("pack", ["PACK"], lambda a, b, c: tf.stack([a, b, c], axis=1), [F(2, 4, name="a"), F(2, 4, name="b"), F(2, 4, name="c")],
   "PACK 3 inputs along axis 1")
op("pack_axis_m1_i32", ["PACK"], lambda a, b: tf.stack([a, b], axis=-1), [I(3, name="a"), I(3, name="b")],
   "PACK int32 along axis -1")
op("unpack", ["UNPACK"], lambda x: tf.unstack(x, axis=1), [F(2, 3, 4, name="x")], "UNPACK along axis 1 (3 outputs)")
op("unpack_axis0", ["UNPACK"], lambda x: tf.unstack(x, axis=0), [F(2, 5, name="x")], "UNPACK along axis 0")
op("tile", ["TILE"], lambda x: tf.tile(x, [2, 1, 3]), [F(2, 3, 2, name="x")], "TILE multiples [2,1,3]")
op("broadcast_to", ["BROADCAST_TO"], lambda x: tf.broadcast_to(x, [2, 3, 4]), [F(3, 1, name="x")],
   "BROADCAST_TO [3,1] -> [2,3,4]")
op("pad", ["PAD"], lambda x: tf.pad(x, [[1, 0], [0, 2], [1, 1]]), [F(2, 3, 2, name="x")], "PAD with zeros")
op("padv2", ["PADV2"], lambda x: tf.pad(x, [[1, 0], [0, 2]], constant_values=1.5), [F(2, 3, name="x")],
   "PADV2 with constant 1.5")
op("shape", ["SHAPE"], lambda x: tf.shape(x), [F(None, 3, None, name="x")], "SHAPE of a dynamic input (i32)",
   dims=[{"x": [2, 3, 4]}, {"x": [5, 3, 1]}])
op("shape_i64", ["SHAPE"], lambda x: tf.shape(x, out_type=tf.int64), [F(None, 3, name="x")],
   "SHAPE with out_type int64", dims=[{"x": [4, 3]}])
op("fill", ["FILL"], lambda x: tf.fill([tf.shape(x)[0], 3], 2.5), [F(None, 2, name="x")],
   "FILL [batch, 3] with 2.5 (batch from SHAPE of a dynamic input)", dims=[{"x": [1, 2]}, {"x": [4, 2]}])
op("fill_inputs", ["FILL"], lambda d, v: tf.fill(d, v), [I(2, name="dims"), F(name="value")],
   "FILL with dims and value as inputs (output shape depends on input values)",
   gen={"dims": lambda r: r.integers(1, 5, [2]).astype(np.int32)})
op("zeros_like", ["ZEROS_LIKE"], lambda x: tf.zeros_like(x), [F(None, 3, name="x")], "ZEROS_LIKE (dynamic batch)",
   dims=[{"x": [2, 3]}, {"x": [3, 3]}])
op("range", ["RANGE"], lambda x: tf.range(tf.shape(x)[1]), [F(2, None, name="x")],
   "RANGE 0..n with n taken from a dynamic input's shape", dims=[{"x": [2, 4]}, {"x": [2, 9]}])
op("range_inputs", ["RANGE"], lambda a, b, c: tf.range(a, b, c), [I(name="start"), I(name="limit"), I(name="delta")],
   "RANGE with scalar start/limit/delta inputs (negative delta in case 1)", n_cases=1,
   gen={"start": lambda r: np.array(2, np.int32), "limit": lambda r: np.array(-7, np.int32),
        "delta": lambda r: np.array(-3, np.int32)})
op("range_f32", ["RANGE"], lambda a, b: tf.range(a, b, 0.5), [F(name="start"), F(name="limit")],
   "RANGE over float32 with delta 0.5", n_cases=1,
   gen={"start": lambda r: np.array(-1.0, np.float32), "limit": lambda r: np.array(2.25, np.float32)})

# ---------------------------------------------------------------- casts

def _cast_suite(name, src, dst, gen, doc):
    op(name, ["CAST[%s->%s]" % (_DT[np.dtype(src.as_numpy_dtype)], _DT[np.dtype(dst.as_numpy_dtype)])],
       lambda x: tf.cast(x, dst), [T([3, 5], src, name="x")], doc, gen={"x": gen})


_cast_suite("cast_f32_i32", tf.float32, tf.int32, lambda r: normal(r, [3, 5], 5.0),
            "CAST f32 -> i32 (truncates toward zero)")
_cast_suite("cast_i32_f32", tf.int32, tf.float32, lambda r: r.integers(-20000000, 20000000, [3, 5]).astype(np.int32),
            "CAST i32 -> f32 (large magnitudes round)")
_cast_suite("cast_f32_bool", tf.float32, tf.bool, lambda r: np.where(r.random([3, 5]) < 0.4, 0.0, normal(r, [3, 5])).astype(np.float32),
            "CAST f32 -> bool (non-zero is true)")
_cast_suite("cast_bool_f32", tf.bool, tf.float32, lambda r: r.random([3, 5]) < 0.5, "CAST bool -> f32")
_cast_suite("cast_bool_i32", tf.bool, tf.int32, lambda r: r.random([3, 5]) < 0.5, "CAST bool -> i32")
_cast_suite("cast_i32_bool", tf.int32, tf.bool, lambda r: r.integers(-2, 3, [3, 5]).astype(np.int32), "CAST i32 -> bool")
_cast_suite("cast_i32_i64", tf.int32, tf.int64, lambda r: r.integers(-2**31, 2**31 - 1, [3, 5]).astype(np.int32),
            "CAST i32 -> i64")
_cast_suite("cast_i64_i32", tf.int64, tf.int32, lambda r: r.integers(-2**31, 2**31 - 1, [3, 5]).astype(np.int64),
            "CAST i64 -> i32 (in-range values)")
_cast_suite("cast_i64_f32", tf.int64, tf.float32, lambda r: r.integers(-2**40, 2**40, [3, 5]).astype(np.int64),
            "CAST i64 -> f32")
_cast_suite("cast_f32_i64", tf.float32, tf.int64, lambda r: normal(r, [3, 5], 1000.0), "CAST f32 -> i64")

# ---------------------------------------------------------------- reductions

_r = [F(3, 4, 5, name="x")]
op("mean", ["MEAN[f32]"], lambda x: tf.reduce_mean(x, axis=1), _r, "MEAN over axis 1, keepdims false")
op("mean_axis_m1", ["MEAN[f32]"], lambda x: tf.reduce_mean(x, axis=-1), _r, "MEAN over axis -1")
op("mean_keepdims_two_axes", ["MEAN[f32]"], lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=True),
   [F(2, 3, 4, 5, name="x")], "MEAN over axes [1,2], keepdims true (global average pool)")
op("mean_small_values", ["MEAN[f32]"], lambda x: tf.reduce_mean(x, axis=-1), [F(4, 6, name="x")],
   "MEAN of values around 0.01 (must not round to integers)", gen={"x": lambda r: uniform(r, [4, 6], 0.0, 0.02)})
op("sum", ["SUM[f32]"], lambda x: tf.reduce_sum(x, axis=1), _r, "SUM over axis 1")
op("sum_axis_m2_keepdims", ["SUM[f32]"], lambda x: tf.reduce_sum(x, axis=-2, keepdims=True), _r,
   "SUM over axis -2, keepdims true")
op("sum_all_axes", ["SUM[f32]"], lambda x: tf.reduce_sum(x), _r, "SUM over every axis (scalar output)")
op("sum_i32", ["SUM[i32]"], lambda x: tf.reduce_sum(x, axis=-1), [I(3, 6, name="x")], "SUM of int32 over axis -1",
   gen={"x": lambda r: r.integers(-100, 100, [3, 6]).astype(np.int32)})
op("reduce_max", ["REDUCE_MAX[f32]"], lambda x: tf.reduce_max(x, axis=-1), _r, "REDUCE_MAX over axis -1")
op("reduce_max_keepdims", ["REDUCE_MAX[f32]"], lambda x: tf.reduce_max(x, axis=[0, 2], keepdims=True), _r,
   "REDUCE_MAX over axes [0,2], keepdims true")
op("reduce_min", ["REDUCE_MIN[f32]"], lambda x: tf.reduce_min(x, axis=-2), _r, "REDUCE_MIN over axis -2")
op("reduce_prod", ["REDUCE_PROD[f32]"], lambda x: tf.reduce_prod(x, axis=1), _r, "REDUCE_PROD over axis 1 (values ~1)",
   gen={"x": lambda r: uniform(r, [3, 4, 5], 0.5, 1.5)})
op("cumsum", ["CUMSUM"], lambda x: tf.math.cumsum(x, axis=1), [F(3, 6, name="x")], "CUMSUM along axis 1")
op("cumsum_exclusive_reverse", ["CUMSUM"], lambda x: tf.math.cumsum(x, axis=-1, exclusive=True, reverse=True),
   [F(2, 3, 5, name="x")], "CUMSUM along axis -1, exclusive and reverse")
op("l2_normalization", ["L2_NORMALIZATION"], lambda x: tf.math.l2_normalize(x, axis=-1), [F(4, 16, name="x")],
   "L2_NORMALIZATION over the last axis")
op("l2_normalization_handwritten", ["L2_NORMALIZATION"],
   lambda x: x * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True), 1e-12)),
   [F(4, 16, name="x")], "a hand-written L2 norm, which the converter rewrites into L2_NORMALIZATION")
op("l2_norm_unfused", ["SUM[f32]", "RSQRT", "MAXIMUM"],
   lambda x: x / tf.sqrt(tf.maximum(tf.reduce_sum(x * x, axis=-1, keepdims=True), 1e-12)) * 1.0,
   [F(4, 16, name="x")], "an L2 norm written so the converter does not fuse it (MUL SUM MAXIMUM RSQRT MUL)")

# ---------------------------------------------------------------- top-k / arg

def _ties(r, shape, levels=6):
    """Scores drawn from a few levels, so many values repeat."""
    return (r.integers(0, levels, shape) * 0.25).astype(np.float32)


op("topk_v2", ["TOPK_V2"], lambda x: tf.math.top_k(x, k=5), [F(3, 20, name="x")], "TOPK_V2 k=5 over 20 distinct scores")
op("topk_v2_ties", ["TOPK_V2"], lambda x: tf.math.top_k(x, k=6), [F(2, 12, name="x")],
   "TOPK_V2 k=6 with many repeated values (index order at ties is the reference's)", gen={"x": lambda r: _ties(r, [2, 12])})
op("topk_v2_k1_rank1", ["TOPK_V2"], lambda x: tf.math.top_k(x, k=1), [F(30, name="x")], "TOPK_V2 k=1 on a rank-1 input")
op("topk_v2_i32", ["TOPK_V2"], lambda x: tf.math.top_k(x, k=3), [I(2, 8, name="x")], "TOPK_V2 over int32 values with ties",
   gen={"x": lambda r: r.integers(0, 5, [2, 8]).astype(np.int32)})
op("arg_max", ["ARG_MAX"], lambda x: tf.argmax(x, axis=-1, output_type=tf.int32), [F(4, 9, name="x")],
   "ARG_MAX axis -1, i32 output")
op("arg_max_ties_i64", ["ARG_MAX"], lambda x: tf.argmax(x, axis=1), [F(5, 7, name="x")],
   "ARG_MAX with ties (first index wins), default i64 output", gen={"x": lambda r: _ties(r, [5, 7], 3)})
op("arg_max_axis0", ["ARG_MAX"], lambda x: tf.argmax(x, axis=0, output_type=tf.int32), [F(6, 3, name="x")],
   "ARG_MAX over axis 0")
op("arg_min", ["ARG_MIN"], lambda x: tf.argmin(x, axis=-1, output_type=tf.int32), [F(4, 9, name="x")],
   "ARG_MIN axis -1, i32 output")
op("arg_min_ties_i64", ["ARG_MIN"], lambda x: tf.argmin(x, axis=-1), [F(5, 7, name="x")],
   "ARG_MIN with ties, i64 output", gen={"x": lambda r: _ties(r, [5, 7], 3)})

# ---------------------------------------------------------------- select / where / compare / logic

op("select", ["SELECT"], lambda c, a, b: tf.where(c, a, b), [B(3, 4, name="c"), F(3, 4, name="a"), F(3, 4, name="b")],
   "SELECT with equal shapes")
op("select_v2", ["SELECT_V2"], lambda c, a, b: tf.where(c, a, b), [B(3, 4, name="c"), F(3, 1, name="a"), F(4, name="b")],
   "SELECT_V2 broadcasting cond [3,4], a [3,1], b [4]")
op("select_v2_cond_bcast_i32", ["SELECT_V2"], lambda c, a, b: tf.where(c, a, b),
   [B(4, name="c"), I(2, 4, name="a"), I(2, 4, name="b")], "SELECT_V2 over int32 with a broadcast cond [4]")
op("where", ["WHERE"], lambda c: tf.where(c), [B(3, 4, name="c")], "WHERE (coordinates of true cells, i64 [n,2])")
op("where_f32", ["WHERE"], lambda x: tf.where(x), [F(2, 5, name="x")], "WHERE over float input (non-zero cells)",
   gen={"x": lambda r: np.where(r.random([2, 5]) < 0.5, 0.0, 1.5).astype(np.float32)})
_cmp = [F(3, 4, name="x"), F(3, 4, name="y")]
_cmp_gen = {"x": lambda r: _ties(r, [3, 4], 3), "y": lambda r: _ties(r, [3, 4], 3)}
op("equal", ["EQUAL"], lambda x, y: tf.equal(x, y), _cmp, "EQUAL f32 (values repeat, so some are equal)", gen=_cmp_gen)
op("not_equal", ["NOT_EQUAL"], lambda x, y: tf.not_equal(x, y), _cmp, "NOT_EQUAL f32", gen=_cmp_gen)
op("less", ["LESS"], lambda x, y: x < y, _cmp, "LESS f32", gen=_cmp_gen)
op("less_equal", ["LESS_EQUAL"], lambda x, y: x <= y, _cmp, "LESS_EQUAL f32", gen=_cmp_gen)
op("greater", ["GREATER"], lambda x, y: x > y, _cmp, "GREATER f32", gen=_cmp_gen)
op("greater_equal", ["GREATER_EQUAL"], lambda x, y: x >= y, _cmp, "GREATER_EQUAL f32", gen=_cmp_gen)
op("equal_i32_bcast", ["EQUAL[i32]"], lambda x, y: tf.equal(x, y), [I(3, 4, name="x"), I(4, name="y")],
   "EQUAL int32 broadcasting [3,4] vs [4]", gen={"x": lambda r: r.integers(0, 3, [3, 4]).astype(np.int32),
                                                  "y": lambda r: r.integers(0, 3, [4]).astype(np.int32)})
op("not_equal_i32_scalar", ["NOT_EQUAL[i32]"], lambda x: tf.not_equal(x, 0), [I(2, 6, name="x")],
   "NOT_EQUAL int32 against 0 (padding mask)", gen={"x": lambda r: ids(r, [2, 6], 20, 0.3)})
op("less_i32_scalar", ["LESS[i32]"], lambda x: x < 0, [I(2, 6, name="x")], "LESS int32 against 0",
   gen={"x": lambda r: r.integers(-5, 5, [2, 6]).astype(np.int32)})
op("greater_i64", ["GREATER[i64]"], lambda x, y: x > y, [I(5, name="x", dtype=tf.int64), I(5, name="y", dtype=tf.int64)],
   "GREATER int64", gen={"x": lambda r: r.integers(-3, 3, [5]), "y": lambda r: r.integers(-3, 3, [5])})
_bb = [B(3, 4, name="a"), B(3, 4, name="b")]
op("logical_and", ["LOGICAL_AND"], lambda a, b: tf.logical_and(a, b), _bb, "LOGICAL_AND")
op("logical_or", ["LOGICAL_OR"], lambda a, b: tf.logical_or(a, b), _bb, "LOGICAL_OR")
op("logical_not", ["LOGICAL_NOT"], lambda a: tf.logical_not(a), [B(3, 4, name="a")], "LOGICAL_NOT")
op("logical_and_bcast", ["LOGICAL_AND"], lambda a, b: tf.logical_and(a, b), [B(3, 4, name="a"), B(4, name="b")],
   "LOGICAL_AND broadcasting [3,4] vs [4]")

# ---------------------------------------------------------------- control flow / recurrent


def _while(x):
    def cond(i, v):
        return i < 4

    def body(i, v):
        return i + 1, tf.tanh(v * 0.9 + 0.5)
    return tf.while_loop(cond, body, (tf.constant(0), x))[1]


op("while", ["WHILE"], _while, [F(2, 3, name="x")], "WHILE: 4 iterations of v = tanh(0.9 v + 0.5), cond/body subgraphs")


def _while_dyn(x, n):
    def cond(i, v):
        return i < n

    def body(i, v):
        return i + 1, v * 0.5 + tf.cast(i, tf.float32)
    return tf.while_loop(cond, body, (tf.constant(0), x))


op("while_input_count", ["WHILE"], _while_dyn, [F(3, name="x"), I(name="n")],
   "WHILE whose trip count is a model input (3 and 0 iterations)", n_cases=2,
   dims=None, gen={"n": lambda r: np.array(r.choice([3, 0]), np.int32)})


# STRIDED_SLICE with ellipsis_mask / new_axis_mask.  The converter always expands `...`
# and `tf.newaxis` into plain begin/end (plus a RESHAPE), so these two suites patch the
# masks into a converted STRIDED_SLICE and check LiteRT's result against numpy.
def _patched_strided_slice(in_shape, begin, end, strides, masks, np_slice):
    def builder(rng):
        n = len(begin)
        base = convert(lambda x: x[tuple(slice(None, None, 2) for _ in range(n))],
                       [F(*([2] * n), name="x")])
        expected_shape = np.zeros(in_shape, np.float32)[np_slice].shape

        def edit(mo):
            sg = mo.subgraphs[0]
            [ss] = [o for o in sg.operators if mo.operatorCodes[o.opcodeIndex].builtinCode == S.BuiltinOperator.STRIDED_SLICE]
            from tensorflow.lite.python import schema_py_generated as schema_fb
            # Fresh tensors and buffers: the converter shares equal constants (begin == end here).
            for k, (label, vals) in enumerate(zip(("begin", "end", "strides"), (begin, end, strides))):
                buf = schema_fb.BufferT()
                buf.data = np.array(vals, "<i4").view(np.uint8)
                mo.buffers.append(buf)
                t = schema_fb.TensorT()
                t.shape = np.array([len(vals)], np.int32)
                t.type = S.TensorType.INT32
                t.buffer = len(mo.buffers) - 1
                t.name = label.encode()
                sg.tensors.append(t)
                ss.inputs[1 + k] = len(sg.tensors) - 1
            for k in ("beginMask", "endMask", "ellipsisMask", "newAxisMask", "shrinkAxisMask"):
                setattr(ss.builtinOptions, k, masks.get(k, 0))
            x = sg.tensors[sg.inputs[0]]
            x.shape = np.array(in_shape, np.int32)
            x.shapeSignature = None
            sg.outputs = np.array(ss.outputs, np.int32)
            y = sg.tensors[ss.outputs[0]]
            y.shape = np.array(expected_shape, np.int32)
            y.shapeSignature = None
            sg.operators = [ss]
        tfl = patch_model(base, edit)
        cases = [{"x": normal(rng, in_shape)} for _ in range(2)]
        for c in cases:
            _, outs = run_interpreter(tfl, [c["x"]], OpResolverType.AUTO)
            np.testing.assert_array_equal(outs[0][1], c["x"][np_slice])
        return Built(tfl, cases)
    return builder


suite("strided_slice_ellipsis_mask", ["STRIDED_SLICE[ellipsis]"],
      "STRIDED_SLICE with ellipsis_mask=1: x[..., 1:4] on [2,3,4,6] (flatbuffer patched; the converter "
      "never emits ellipsis_mask)")(
    _patched_strided_slice([2, 3, 4, 6], [0, 1], [0, 4], [1, 1], {"ellipsisMask": 1}, np.s_[..., 1:4]))
suite("strided_slice_new_axis_mask", ["STRIDED_SLICE[new-axis]"],
      "STRIDED_SLICE with new_axis_mask=2, begin/end_mask=1: x[:, newaxis, 1:4] on [4,5,6] (flatbuffer "
      "patched; the converter turns new axes into RESHAPE)")(
    _patched_strided_slice([4, 5, 6], [0, 0, 1], [0, 0, 4], [1, 1, 1],
                           {"newAxisMask": 2, "beginMask": 1, "endMask": 1}, np.s_[:, None, 1:4]))
suite("strided_slice_ellipsis_new_axis_shrink", ["STRIDED_SLICE[ellipsis,new-axis,shrink]"],
      "STRIDED_SLICE ellipsis_mask=1, new_axis_mask=2, shrink_axis_mask=4: x[..., newaxis, 2] on [2,3,4] "
      "(flatbuffer patched)")(
    _patched_strided_slice([2, 3, 4], [0, 0, 2], [0, 0, 3], [1, 1, 1],
                           {"ellipsisMask": 1, "newAxisMask": 2, "shrinkAxisMask": 4}, np.s_[..., None, 2]))

# tf_keras LSTM: the converter fuses it into one UNIDIRECTIONAL_SEQUENCE_LSTM op.
def _tfkeras_lstm_op(rng):
    import tf_keras
    tf_keras.utils.set_random_seed(7)
    m = tf_keras.Sequential([tf_keras.layers.Input((6, 3), batch_size=2, name="x"),
                             tf_keras.layers.LSTM(5, return_sequences=True)])
    set_weights_deterministic(m, np.random.default_rng(11))
    tfl = convert(None, None, from_keras=m)
    return Built(tfl, [{"x": normal(rng, [2, 6, 3])} for _ in range(2)])


suite("unidirectional_sequence_lstm", ["UNIDIRECTIONAL_SEQUENCE_LSTM[f32]"],
      "tf_keras LSTM(5, return_sequences=True) over [2,6,3] -> one UNIDIRECTIONAL_SEQUENCE_LSTM")(_tfkeras_lstm_op)


# ==========================================================================
# Quantized op suites
# ==========================================================================

def rep_from(specs, n=48, gen=None):
    """A representative dataset: n seeded samples shaped like specs (gen overrides per input)."""
    def make(rng):
        return [auto_case(rng, specs, None, gen) for _ in range(n)]
    return make


def qop(name, expect, fn, specs, doc, gen=None, io_type=tf.int8, per_tensor=False, n_cases=2, rep_gen=None, **kw):
    """A full-integer (int8) suite calibrated on data like the cases."""
    op(name, expect, fn, specs, doc, gen=gen, mode="int8", rep=rep_from(specs, gen=rep_gen or gen),
       io_type=io_type, per_tensor=per_tensor, n_cases=n_cases, **kw)


_Wq = const(201, [16, 8], 0.3)
_bq = const(202, [8], 0.2)
_xq = [F(6, 16, name="x")]
qop("fully_connected_int8_per_tensor", ["FULLY_CONNECTED[i8]"], lambda x: tf.matmul(x, _Wq) + _bq, _xq,
    "int8 FULLY_CONNECTED, per-tensor weights, int8 I/O", per_tensor=True)
qop("fully_connected_int8_per_channel", ["FULLY_CONNECTED[i8,per-channel]"], lambda x: tf.matmul(x, _Wq) + _bq, _xq,
    "int8 FULLY_CONNECTED, per-channel weights, int8 I/O")
qop("fully_connected_int8_relu_no_bias", ["FULLY_CONNECTED[i8]"], lambda x: tf.nn.relu(tf.matmul(x, _Wq)), _xq,
    "int8 FULLY_CONNECTED without a float bias + RELU, per-tensor", per_tensor=True)
_Kq = const(203, [3, 3, 3, 4], 0.3)
_xc = [F(1, 6, 6, 3, name="x")]
qop("conv_2d_int8_per_tensor", ["CONV_2D[i8]"], lambda x: tf.nn.relu(tf.nn.conv2d(x, _Kq, 1, "SAME") + _b4), _xc,
    "int8 CONV_2D 3x3 SAME + RELU, per-tensor weights", per_tensor=True)
qop("conv_2d_int8_per_channel", ["CONV_2D[i8,per-channel]"], lambda x: tf.nn.conv2d(x, _Kq, 2, "VALID") + _b4, _xc,
    "int8 CONV_2D 3x3 stride 2 VALID, per-channel weights")
_Dq = const(204, [3, 3, 4, 2], 0.5)
_xd = [F(1, 5, 5, 4, name="x")]
qop("depthwise_conv_2d_int8_per_tensor", ["DEPTHWISE_CONV_2D[i8]"],
    lambda x: tf.nn.depthwise_conv2d(x, _Dq, [1, 1, 1, 1], "SAME") + const(205, [8], 0.1), _xd,
    "int8 DEPTHWISE_CONV_2D multiplier 2, per-tensor weights", per_tensor=True)
qop("depthwise_conv_2d_int8_per_channel", ["DEPTHWISE_CONV_2D[i8,per-channel]"],
    lambda x: tf.nn.relu6(tf.nn.depthwise_conv2d(x, _Dq, [1, 2, 2, 1], "VALID") + const(205, [8], 0.1)), _xd,
    "int8 DEPTHWISE_CONV_2D multiplier 2, stride 2, RELU6, per-channel weights")

_two = [F(3, 8, name="x"), F(3, 8, name="y")]
_two_scales = {"x": lambda r: normal(r, [3, 8], 1.0), "y": lambda r: normal(r, [3, 8], 12.0)}
qop("add_int8_different_scales", ["ADD[i8]"], lambda x, y: x + y, _two,
    "int8 ADD of inputs with scales ~12x apart", gen=_two_scales)
qop("mul_int8_different_scales", ["MUL[i8]"], lambda x, y: x * y, _two,
    "int8 MUL of inputs with scales ~12x apart", gen=_two_scales)
qop("add_int8_bcast_relu", ["ADD[i8]"], lambda x, y: tf.nn.relu(x + y), [F(2, 3, 4, name="x"), F(4, name="y")],
    "int8 ADD broadcasting [2,3,4] + [4] with fused RELU")
_cat_specs = [F(3, 2, name="a"), F(3, 4, name="b"), F(3, 3, name="c")]
_cat_gen = {"a": lambda r: normal(r, [3, 2], 0.5), "b": lambda r: uniform(r, [3, 4], 0.0, 20.0),
            "c": lambda r: uniform(r, [3, 3], -3.0, 1.0)}
qop("concatenation_int8", ["CONCATENATION[i8]"], lambda a, b, c: tf.concat([a, b, c], axis=-1), _cat_specs,
    "int8 CONCATENATION (the converter gives every operand the output's scale)", gen=_cat_gen)


# Mixed operand scales for int8 CONCATENATION do not occur: the MLIR quantizer gives every
# operand the output's scale (inserting int8->int8 QUANTIZE where needed, see
# quantize_requantize_int8), and LiteRT's int8 kernel rejects differing scales at prepare
# time (kernels/concatenation.cc: "t->params.scale != output->params.scale").
qop("logistic_int8", ["LOGISTIC[i8]"], lambda x: tf.sigmoid(x), [F(4, 10, name="x")],
    "int8 LOGISTIC (output scale 1/256, zero point -128)", gen={"x": lambda r: normal(r, [4, 10], 4.0)})
qop("tanh_int8", ["TANH[i8]"], lambda x: tf.tanh(x), [F(4, 10, name="x")],
    "int8 TANH (output scale 1/128, zero point 0)", gen={"x": lambda r: normal(r, [4, 10], 2.0)})
qop("softmax_int8", ["SOFTMAX[i8]"], lambda x: tf.nn.softmax(x), [F(4, 10, name="x")],
    "int8 SOFTMAX (output scale 1/256, zero point -128)", gen={"x": lambda r: normal(r, [4, 10], 3.0)})
qop("mean_int8", ["MEAN[i8]"], lambda x: tf.reduce_mean(x, axis=-1), [F(3, 4, 8, name="x")],
    "int8 MEAN over axis -1")
qop("mean_int8_keepdims", ["MEAN[i8]"], lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=True), [F(2, 4, 4, 3, name="x")],
    "int8 MEAN over axes [1,2], keepdims (global average pool)")
qop("quantize_dequantize_float_io", ["QUANTIZE[f32->i8]", "FULLY_CONNECTED[i8]", "DEQUANTIZE[i8->f32]"],
    lambda x: tf.matmul(x, _Wq) + _bq, _xq, "full-integer FULLY_CONNECTED with float I/O: QUANTIZE in, DEQUANTIZE out",
    io_type=None, per_tensor=True)
qop("uint8_io", ["QUANTIZE[u8->i8]", "QUANTIZE[i8->u8]"], lambda x: tf.nn.relu(tf.matmul(x, _Wq) + _bq), _xq,
    "full-integer FULLY_CONNECTED with uint8 I/O (the converter requantizes u8<->i8 at the edges)",
    io_type=tf.uint8, per_tensor=True)

# fake-quant (QAT-style) graphs give exact, chosen quantization parameters
def _fq(x, lo, hi):
    return tf.quantization.fake_quant_with_min_max_args(x, min=lo, max=hi, num_bits=8, narrow_range=False)


qop("quantize_requantize_int8", ["QUANTIZE[i8->i8]", "LOGISTIC[i8]", "CONCATENATION[i8]"],
    lambda x: tf.concat([tf.sigmoid(x), x], axis=-1), [F(3, 8, name="x")],
    "int8 -> int8 QUANTIZE: LOGISTIC's fixed output scale (1/256) forces a requantize of x before CONCATENATION",
    gen={"x": lambda r: normal(r, [3, 8], 2.0)})
op("quantize_dequantize_fake_quant", ["QUANTIZE[f32->i8]", "DEQUANTIZE[i8->f32]"], lambda x: _fq(x, -2.0, 2.0) * 1.0,
   [F(3, 8, name="x")], "float -> int8 -> float through one fake-quant range [-2,2] (values outside clamp)",
   mode="qat", gen={"x": lambda r: normal(r, [3, 8], 1.5)})

# extreme quantization parameters (calibrated on extreme data)
qop("add_int8_tiny_scale", ["ADD[i8]"], lambda x, y: x + y, _two, "int8 ADD with scales ~1e-6 (inputs ~N(0, 1e-4))",
    gen={"x": lambda r: normal(r, [3, 8], 1e-4), "y": lambda r: normal(r, [3, 8], 2e-4)})
qop("fully_connected_int8_huge_scale", ["FULLY_CONNECTED[i8]"], lambda x: tf.matmul(x, _Wq) + _bq * 1e4, _xq,
    "int8 FULLY_CONNECTED with input/output scales ~1e2..1e3 (inputs ~N(0, 1e4))",
    gen={"x": lambda r: normal(r, [6, 16], 1e4)}, per_tensor=True)
qop("fully_connected_int8_zero_point_min", ["FULLY_CONNECTED[i8]"], lambda x: tf.nn.relu(tf.matmul(x, _Wq) + _bq), _xq,
    "int8 FULLY_CONNECTED with non-negative input and RELU output: zero points at -128",
    gen={"x": lambda r: uniform(r, [6, 16], 0.0, 6.0)}, per_tensor=True)
qop("add_int8_zero_point_max", ["ADD[i8]"], lambda x, y: x + y, _two,
    "int8 ADD of non-positive inputs: zero points at 127",
    gen={"x": lambda r: -uniform(r, [3, 8], 0.0, 3.0), "y": lambda r: -uniform(r, [3, 8], 0.0, 1.0)})
op("mul_int8_fake_quant_extremes", ["MUL[i8]"],
   lambda x, y: _fq(_fq(x, 0.0, 1e-3) * _fq(y, -2000.0, 0.0), -2.0, 0.0),
   [F(3, 8, name="x"), F(3, 8, name="y")],
   "int8 MUL with exact extreme qparams from fake-quant: x in [0,1e-3] (zp -128, scale ~4e-6), "
   "y in [-2000,0] (zp 127, scale ~7.8), out in [-2,0]", mode="qat", io_type=tf.int8,
   gen={"x": lambda r: uniform(r, [3, 8], 0.0, 1e-3), "y": lambda r: -uniform(r, [3, 8], 0.0, 2000.0)})

# dynamic-range (hybrid): int8 weights, float activations quantized at run time
_Wh = const(211, [64, 32], 0.2)
_bh = const(212, [32], 0.1)
op("fully_connected_dynamic_range", ["FULLY_CONNECTED[f32,hybrid]"], lambda x: tf.matmul(x, _Wh) + _bh,
   [F(5, 64, name="x")], "dynamic-range FULLY_CONNECTED: int8 per-channel weights [32,64], float input/output",
   mode="dynamic")
op("fully_connected_dynamic_range_relu", ["FULLY_CONNECTED[f32,hybrid]"],
   lambda x: tf.nn.relu(tf.matmul(x, _Wh) + _bh), [F(5, 64, name="x")],
   "dynamic-range FULLY_CONNECTED with RELU, per-tensor weights", mode="dynamic", per_tensor=True)
_Wbh = const(213, [2, 32, 24], 0.2)
op("batch_matmul_dynamic_range", ["BATCH_MATMUL[f32,hybrid]"], lambda a: tf.matmul(a, _Wbh), [F(2, 3, 32, name="a")],
   "dynamic-range BATCH_MATMUL: constant int8 rhs [2,32,24], float lhs", mode="dynamic")


# ==========================================================================
# Whole models: typical Keras personalization exports (tests/conformance/models/)
# ==========================================================================

N_USERS, N_ITEMS, EMB, N_FEAT = 300, 500, 16, 4


def _keras():
    import keras
    return keras


def ranking_model(batch):
    """user id + item id embeddings + dense features -> concat -> MLP -> sigmoid."""
    keras = _keras()
    L = keras.layers
    user = keras.Input((), batch_size=batch, dtype="int32", name="user_id")
    item = keras.Input((), batch_size=batch, dtype="int32", name="item_id")
    feats = keras.Input((N_FEAT,), batch_size=batch, dtype="float32", name="features")
    u = L.Embedding(N_USERS, EMB, name="user_embedding")(user)
    i = L.Embedding(N_ITEMS, EMB, name="item_embedding")(item)
    x = L.Concatenate(name="concat")([u, i, feats])
    x = L.Dense(64, activation="relu", name="dense_1")(x)
    x = L.Dense(32, activation="relu", name="dense_2")(x)
    score = L.Dense(1, activation="sigmoid", name="score")(x)
    return keras.Model([user, item, feats], score, name="ranking")


def ranking_case(rng, batch, one_user):
    """One user (or many) scoring `batch` candidates; ~3% padding item ids (0)."""
    if one_user:
        users = np.full([batch], rng.integers(1, N_USERS), np.int32)
    else:
        users = ids(rng, [batch], N_USERS)
    return {"user_id": users, "item_id": ids(rng, [batch], N_ITEMS, 0.03),
            "features": normal(rng, [batch, N_FEAT])}


_HYBRID_WHY = (" (dynamic-range layers quantize activations at run time, and XNNPACK's dynamically "
               "quantized fully-connected kernel rounds differently from LiteRT's hybrid kernel; the "
               "difference compounds over layers)")


def keras_suite(name, expect, doc, make_model, cases, mode="float", rep=None, **kw):
    """A models/ suite from a Keras model (converted with from_keras_model)."""
    def builder(rng):
        keras_seed(1234)
        m = make_model()
        set_weights_deterministic(m, np.random.default_rng(zlib.crc32(m.name.encode())))
        r = rep(np.random.default_rng(99)) if rep else None
        tfl = convert(None, None, from_keras=m, mode=mode, rep=r, **kw)
        return Built(tfl, cases(rng))
    suite(name, expect, doc, kind="models",
          atol_why=_HYBRID_WHY if mode == "dynamic" else "")(builder)


_RANK_OPS = ["GATHER", "CONCATENATION", "FULLY_CONNECTED", "LOGISTIC"]
_rank_cases = lambda rng: [ranking_case(rng, 1000, True), ranking_case(rng, 1000, False)]  # noqa: E731
_rank_rep = lambda rng: [ranking_case(rng, 1000, k % 2 == 0) for k in range(16)]  # noqa: E731

keras_suite("ranking_f32", _RANK_OPS + ["FULLY_CONNECTED[f32,RELU]"],
            "ranking, f32, batch 1000: user/item Embedding + 4 dense features -> concat -> 64 -> 32 -> 1 "
            "sigmoid; case_0 one user x 1000 candidates, case_1 mixed users",
            lambda: ranking_model(1000), _rank_cases)
keras_suite("ranking_dynamic_range", _RANK_OPS + ["FULLY_CONNECTED[f32,hybrid]"],
            "ranking, dynamic-range quantized (Optimize.DEFAULT, no dataset): int8 weights, float activations",
            lambda: ranking_model(1000), _rank_cases, mode="dynamic")
keras_suite("ranking_int8_per_tensor", _RANK_OPS + ["FULLY_CONNECTED[i8]", "QUANTIZE", "DEQUANTIZE"],
            "ranking, full int8, per-tensor weights (_experimental_disable_per_channel), float I/O",
            lambda: ranking_model(1000), _rank_cases, mode="int8", rep=_rank_rep, per_tensor=True)
keras_suite("ranking_int8_per_channel", _RANK_OPS + ["FULLY_CONNECTED[i8,per-channel]", "QUANTIZE", "DEQUANTIZE"],
            "ranking, full int8, per-channel weights, float I/O",
            lambda: ranking_model(1000), _rank_cases, mode="int8", rep=_rank_rep)
keras_suite("ranking_int8_io", _RANK_OPS + ["FULLY_CONNECTED[i8]"],
            "ranking, full int8 with int8 I/O (features in and score out are int8; ids stay int32)",
            lambda: ranking_model(1000), _rank_cases, mode="int8", rep=_rank_rep, io_type=tf.int8)
keras_suite("ranking_dynamic_batch", _RANK_OPS,
            "ranking, f32, batch None (shape_signature -1): case_0 7 candidates, case_1 1000",
            lambda: ranking_model(None),
            lambda rng: [ranking_case(rng, 7, True), ranking_case(rng, 1000, False)])

HIST = 20


def two_tower_model(n_candidates, catalog_topk, unit_norm=False):
    """User tower: history -> Embedding -> mean -> Dense -> L2 norm.  Item tower: Embedding ->
    Dense -> L2 norm.  Scores: user . item (bias-less matmul).

    catalog_topk: the item tower runs over the whole catalog inside the graph (the converter
    folds it to a constant) and the model returns tf.math.top_k(scores, 10).
    unit_norm: Keras 3 UnitNormalization (SQUARE SUM RSQRT MINIMUM MUL) instead of
    tf.math.l2_normalize (L2_NORMALIZATION)."""
    keras = _keras()
    L = keras.layers
    ops = keras.ops

    def l2norm(name):
        if unit_norm:
            return L.UnitNormalization(axis=-1, name=name)
        return L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1), name=name)
    hist = keras.Input((HIST,), batch_size=1, dtype="int32", name="history")
    item_emb = L.Embedding(N_ITEMS, EMB, name="item_embedding")
    u = item_emb(hist)                                   # [1, 20, 16]
    u = ops.mean(u, axis=1)                              # MEAN
    u = L.Dense(EMB, name="user_dense")(u)
    u = l2norm("user_norm")(u)
    item_dense = L.Dense(EMB, name="item_dense")
    item_norm = l2norm("item_norm")
    if catalog_topk:
        catalog = ops.arange(N_ITEMS, dtype="int32")
        items = item_norm(item_dense(item_emb(catalog)))  # [500, 16], constant-folded
        scores = ops.matmul(u, ops.transpose(items))     # [1, 500]
        top_scores, top_ids = ops.top_k(scores, k=10)
        return keras.Model(hist, [top_scores, top_ids], name="two_tower_topk")
    cand = keras.Input((), batch_size=n_candidates, dtype="int32", name="candidates")
    items = item_norm(item_dense(item_emb(cand)))        # [N, 16]
    scores = ops.matmul(u, ops.transpose(items))         # [1, N]
    return keras.Model([hist, cand], scores, name="two_tower")


def two_tower_cases(rng, n_candidates):
    out = []
    for _ in range(2):
        c = {"history": history(rng, 1, HIST, N_ITEMS)}
        if n_candidates:
            c["candidates"] = ids(rng, [n_candidates], N_ITEMS)
        out.append(c)
    return out


keras_suite("two_tower", ["GATHER", "MEAN", "L2_NORMALIZATION", "FULLY_CONNECTED[f32,no-bias]"],
            "two-tower retrieval: user tower over a 20-id history (0-padded), item tower over 1000 candidate "
            "ids, scores [1,1000] = user . items (bias-less matmul on two activations)",
            lambda: two_tower_model(1000, False), lambda rng: two_tower_cases(rng, 1000))
keras_suite("two_tower_unit_norm", ["GATHER", "MEAN", "RSQRT", "FULLY_CONNECTED[f32,no-bias]"],
            "two-tower over 200 candidates with Keras 3 UnitNormalization, which exports as "
            "SQUARE SUM RSQRT MINIMUM MUL rather than L2_NORMALIZATION",
            lambda: two_tower_model(200, False, unit_norm=True), lambda rng: two_tower_cases(rng, 200))
keras_suite("two_tower_topk", ["GATHER", "MEAN", "L2_NORMALIZATION", "FULLY_CONNECTED[f32,no-bias]", "TOPK_V2"],
            "two-tower with the item tower over the 500-item catalog folded into a constant, and "
            "top-10 (TOPK_V2) of the scores",
            lambda: two_tower_model(None, True), lambda rng: two_tower_cases(rng, 0))


# ---------------------------------------------------------------- sequence models

SEQ = 10
N_BOW = 2000


def _topk_outputs(keras, logits, k=10):
    top_scores, top_ids = keras.ops.top_k(logits, k=k)
    return [logits, top_scores, top_ids]


def bow_model():
    """history -> Embedding -> masked mean (padding 0 ignored) -> Dense -> 2000 logits -> top-10."""
    keras = _keras()
    L, ops = keras.layers, keras.ops
    hist = keras.Input((HIST,), batch_size=1, dtype="int32", name="history")
    e = L.Embedding(N_BOW, EMB, name="item_embedding")(hist)            # [1,20,16]
    mask = ops.cast(ops.not_equal(hist, 0), "float32")[..., None]       # [1,20,1]
    pooled = ops.sum(e * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
    h = L.Dense(32, activation="relu", name="hidden")(pooled)
    logits = L.Dense(N_BOW, name="logits")(h)
    return keras.Model(hist, _topk_outputs(keras, logits), name="bag_of_words")


def cnn_model():
    """history -> Embedding -> Conv1D(32, 3) -> global max pool -> Dense -> logits -> top-10."""
    keras = _keras()
    L = keras.layers
    hist = keras.Input((HIST,), batch_size=1, dtype="int32", name="history")
    e = L.Embedding(N_ITEMS, EMB, name="item_embedding")(hist)
    c = L.Conv1D(32, 3, activation="relu", name="conv")(e)
    p = L.GlobalMaxPooling1D(name="pool")(c)
    logits = L.Dense(N_ITEMS, name="logits")(p)
    return keras.Model(hist, _topk_outputs(keras, logits), name="cnn")


def rnn_model(cell, unroll=False):
    """history (10 ids) -> Embedding -> Keras 3 GRU/LSTM(32) -> Dense -> logits -> top-10."""
    keras = _keras()
    L = keras.layers
    hist = keras.Input((SEQ,), batch_size=1, dtype="int32", name="history")
    e = L.Embedding(N_ITEMS, EMB, name="item_embedding")(hist)
    rnn = {"gru": L.GRU, "lstm": L.LSTM}[cell](32, unroll=unroll, name=cell)
    h = rnn(e)
    logits = L.Dense(N_ITEMS, name="logits")(h)
    return keras.Model(hist, _topk_outputs(keras, logits), name="%s%s" % (cell, "_unrolled" if unroll else ""))


def seq_cases(rng, length, vocab=N_ITEMS):
    """Two histories: a full one and a short one, left-aligned and 0-padded."""
    full = rng.integers(1, vocab, [1, length]).astype(np.int32)
    short = history(rng, 1, length, vocab)
    short[0, max(1, length // 3):] = 0
    return [{"history": full}, {"history": short}]


keras_suite("seq_bag_of_words", ["GATHER", "NOT_EQUAL", "CAST", "SUM", "DIV", "FULLY_CONNECTED", "TOPK_V2"],
            "bag-of-words: 20-id history -> Embedding(2000,16) -> masked mean -> Dense(32, relu) -> 2000 logits "
            "-> top-10 (outputs: logits, top scores, top ids)",
            bow_model, lambda rng: seq_cases(rng, HIST, N_BOW))
keras_suite("seq_cnn", ["GATHER", "CONV_2D", "FULLY_CONNECTED", "TOPK_V2"],
            "CNN: 20-id history -> Embedding -> Conv1D(32, 3, relu) -> GlobalMaxPooling1D -> 500 logits -> top-10",
            cnn_model, lambda rng: seq_cases(rng, HIST))
keras_suite("seq_gru", ["WHILE", "SPLIT", "TOPK_V2"],
            "Keras 3 GRU(32) over a 10-id history: WHILE with cond/body subgraphs -> 500 logits -> top-10",
            lambda: rnn_model("gru"), lambda rng: seq_cases(rng, SEQ))
keras_suite("seq_lstm", ["WHILE", "SPLIT", "TOPK_V2"],
            "Keras 3 LSTM(32) over a 10-id history: WHILE with cond/body subgraphs -> 500 logits -> top-10",
            lambda: rnn_model("lstm"), lambda rng: seq_cases(rng, SEQ))
keras_suite("seq_gru_unrolled", ["SPLIT", "UNPACK", "STRIDED_SLICE", "TOPK_V2"],
            "Keras 3 GRU(32, unroll=True): straight-line graph, UNPACK over time, SPLIT and STRIDED_SLICE per "
            "step (no WHILE) -> top-10",
            lambda: rnn_model("gru", unroll=True), lambda rng: seq_cases(rng, SEQ))


def tfkeras_lstm_model():
    """tf_keras: history -> Embedding -> LSTM(32) -> Dense -> logits -> top-10."""
    import tf_keras
    L = tf_keras.layers
    hist = tf_keras.Input((SEQ,), batch_size=1, dtype="int32", name="history")
    e = L.Embedding(N_ITEMS, EMB, name="item_embedding")(hist)
    h = L.LSTM(32, name="lstm")(e)
    logits = L.Dense(N_ITEMS, name="logits")(h)
    top = tf.math.top_k(logits, k=10)
    return tf_keras.Model(hist, [logits, top.values, top.indices], name="tfkeras_lstm")


def _tfkeras_seed_model():
    import tf_keras
    tf_keras.utils.set_random_seed(1234)
    return tfkeras_lstm_model()


keras_suite("seq_lstm_tfkeras", ["GATHER", "UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED", "TOPK_V2"],
            "tf_keras LSTM(32) over a 10-id history: one fused UNIDIRECTIONAL_SEQUENCE_LSTM -> top-10",
            _tfkeras_seed_model, lambda rng: seq_cases(rng, SEQ))

# ==========================================================================

if __name__ == "__main__":
    main()
