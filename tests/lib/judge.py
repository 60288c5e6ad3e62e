"""The one judge, from Python: harnesses that run another runtime (LiteRT's kernels in the
benchmark, the conformance generator and the differential run) write what it produced
to files and let the `attune` CLI decide, with the same Rust code that judges native
runs. Nothing here compares numbers. The JavaScript twin is judge.mjs; the index format
and the JSON report are in tests/conformance/README.md.

    from judge import ConformOutputs, list_cases

    cases = list_cases(["tests/conformance/ops/abs"])       # found by the CLI's rule
    with ConformOutputs("LiteRT builtin") as out:
        out.add(cases[0], [scores, ids])                     # numpy arrays, case order
        out.error(cases[1], exc)
        report = out.report(["tests/conformance/ops/abs"], peer=True)
    report["cases"][0]["outputs"][0]["max_diff"]

The CLI is $ATTUNE_CLI (the test command sets it, scripts/env.sh), else the ci build;
`cli=` takes another command (a list, e.g. a wasm build behind node).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CLI = [os.environ.get("ATTUNE_CLI") or str(ROOT / "target/ci/attune")]

# numpy dtype -> the dtype names of the case manifests
_DTYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.float16): "f16",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.int16): "i16",
    np.dtype(np.int8): "i8",
    np.dtype(np.uint8): "u8",
    np.dtype(np.bool_): "bool",
}


class JudgeError(RuntimeError):
    """The CLI could not judge at all (exit 2: a usage, index or I/O error)."""


def _run(cli: Sequence[str] | None, args: list[str]) -> subprocess.CompletedProcess:
    cmd = [*(cli or CLI), *args]
    # The command runs at the repository root, so a relative program path is found there.
    if not shutil.which(cmd[0]) and not (ROOT / cmd[0]).exists():
        raise JudgeError(f"{cmd[0]} is missing: build it with scripts/test.sh (or set ATTUNE_CLI)")
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def list_cases(dirs: Sequence[str | Path], cli: Sequence[str] | None = None) -> list[str]:
    """The conformance case folders under `dirs` (relative to the repository root), as
    the CLI finds them."""
    r = _run(cli, ["conform", "--list", *map(str, dirs)])
    if r.returncode != 0:
        raise JudgeError(f"attune conform --list failed:\n{r.stdout}{r.stderr}")
    return [line for line in r.stdout.splitlines() if line]


def _write(path: Path, a: np.ndarray) -> str:
    a = np.asarray(a)
    dtype = _DTYPES.get(a.dtype)
    if dtype is None:
        raise TypeError(f"no case dtype for numpy {a.dtype}")
    path.write_bytes(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return dtype


class ConformOutputs:
    """Outputs of conformance cases, written as `attune conform --actual` reads them."""

    def __init__(self, runtime: str, directory: Path | None = None, cli: Sequence[str] | None = None):
        self.runtime = runtime
        self.dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="attune-actual-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cli = cli
        self.cases: list[dict] = []

    def add(self, case: str | Path, arrays: Sequence[np.ndarray]) -> None:
        """One array per output, in the case's order; dtype and shape are the arrays'."""
        n = len(self.cases)
        (self.dir / str(n)).mkdir(exist_ok=True)
        outputs = []
        for i, a in enumerate(arrays):
            file = f"{n}/out_{i}.bin"
            dtype = _write(self.dir / file, a)
            outputs.append({"file": file, "dtype": dtype, "shape": list(np.shape(a))})
        self.cases.append({"case": str(case), "outputs": outputs})

    def error(self, case: str | Path, e: BaseException | str) -> None:
        code = getattr(e, "code", None) or type(e).__name__
        self.cases.append({"case": str(case), "error": {"code": str(code), "message": str(e)}})

    def _index(self) -> None:
        (self.dir / "index.json").write_text(json.dumps({"runtime": self.runtime, "cases": self.cases}))

    def judge(self, dirs: Sequence[str | Path], quiet: bool = True) -> subprocess.CompletedProcess:
        """Lets the CLI judge every case under `dirs` (a case not reported fails); the
        process's exit status is the verdict."""
        self._index()
        return _run(self.cli, ["conform", *(["-q"] if quiet else []), "--actual", str(self.dir), *map(str, dirs)])

    def report(self, dirs: Sequence[str | Path], peer: bool = False) -> dict:
        """Like `judge`, but returns the CLI's `--json` document: {runtime, rule, passed,
        failed, cases: [{case, passed, max_diff, detail, error?, outputs: [{index, name,
        dtype, passed, max_diff, bound, differing, detail?}]}]}. `peer`: the benchmarks'
        looser rule for runtimes not held to conformance (`--peer`)."""
        self._index()
        args = ["conform", "--json", *(["--peer"] if peer else []), "--actual", str(self.dir), *map(str, dirs)]
        r = _run(self.cli, args)
        if r.returncode not in (0, 1):
            raise JudgeError(f"attune conform --actual failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        return json.loads(r.stdout)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ConformOutputs":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def judge_case(case: str | Path, runtime: str, arrays: Sequence[np.ndarray], *, peer: bool = False,
               cli: Sequence[str] | None = None) -> dict:
    """The CLI's verdict on one case's outputs (one entry of the report's `cases`)."""
    with ConformOutputs(runtime, cli=cli) as out:
        out.add(case, arrays)
        [verdict] = out.report([case], peer=peer)["cases"]
        return verdict


def write_reference_case(directory: str | Path, arrays: Sequence[np.ndarray], names: Sequence[str] = ()) -> Path:
    """A case folder whose reference outputs are `arrays` (no model, no inputs): for
    asking the judge how far another runtime's outputs are from these."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    outputs = []
    for i, a in enumerate(arrays):
        dtype = _write(d / f"ref_{i}.bin", a)
        name = names[i] if i < len(names) else ""
        outputs.append({"name": name, "dtype": dtype, "shape": list(np.shape(a)), "file": f"ref_{i}.bin"})
    (d / "manifest.json").write_text(json.dumps({"model": "", "inputs": [], "outputs": outputs}, indent=1) + "\n")
    return d


def round_up_atol(x: float) -> float:
    """The `atol` a case gets where LiteRT's own kernels differ by x (the generator and
    the differential run): about 1.5x x, two significant digits, rounded up."""
    if x <= 0:
        return 0.0
    e = np.floor(np.log10(x)) - 1
    return float("%.3g" % (np.ceil(x * 1.5 / 10 ** e) * 10 ** e))
