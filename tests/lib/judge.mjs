// The one judge, from JavaScript: harnesses that run another runtime (the shipped wasm
// module under node, the Worker on workerd, the package in a browser) write what it
// produced to files and let the `attune` CLI decide, with the same Rust code that judges
// native runs. Nothing here compares numbers.
//
//   const cases = listCases(['tests/conformance']);            // found by the CLI's rule
//   const out = new ConformOutputs('attune wasm (pkg/wasm)');
//   out.add(cases[0], [float32Array, int32Array], [[1, 10], [1, 10]]);
//   out.error(cases[1], err);
//   const verdict = out.judge(['tests/conformance']);         // { ok, status, stdout }
//   const report = out.report(dirs, { peer: true });           // the CLI's --json document
//
//   const g = new GoldenOutputs();
//   g.add('seq-cold-3-picks.json', rankingObject);  g.error(file, err);
//   g.judge('tests/golden');
//
// The CLI is $ATTUNE_CLI (the test command sets it, scripts/env.sh), else the ci build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = process.env.ATTUNE_CLI ?? path.join(ROOT, 'target/ci/attune');

function cli(args) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build it with scripts/test.sh (or set ATTUNE_CLI)`);
  const r = spawnSync(CLI, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { ok: r.status === 0, status: r.status, stdout: r.stdout + r.stderr, out: r.stdout, err: r.stderr };
}

/** The conformance case folders under `dirs` (relative to the repository root), as the
 *  CLI finds them. */
export function listCases(dirs) {
  const r = cli(['conform', '--list', ...dirs]);
  if (!r.ok) throw new Error(`attune conform --list failed:\n${r.stdout}`);
  return r.stdout.split('\n').filter(Boolean);
}

const DTYPES = new Map([
  [Float32Array, 'f32'], [Float64Array, 'f64'], [Int32Array, 'i32'], [BigInt64Array, 'i64'],
  [Int16Array, 'i16'], [Int8Array, 'i8'], [Uint8Array, 'u8'],
]);

function errorRecord(e) {
  return { code: String(e?.code ?? e?.name ?? 'Error'), message: String(e?.message ?? e) };
}

/** Outputs of conformance cases, written as `attune conform --actual` reads them. */
export class ConformOutputs {
  constructor(runtime, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attune-actual-'))) {
    this.runtime = runtime;
    this.dir = dir;
    this.cases = [];
  }

  /** `arrays`: one typed array per output; `shapes`: each output's shape; `dtypes`
   *  (optional) overrides the dtype read off the array (`bool` for a Uint8Array). */
  add(casePath, arrays, shapes, dtypes = []) {
    const n = this.cases.length;
    fs.mkdirSync(path.join(this.dir, String(n)), { recursive: true });
    const outputs = arrays.map((a, i) => {
      const dtype = dtypes[i] ?? DTYPES.get(a.constructor);
      if (!dtype) throw new Error(`output ${i}: no dtype for ${a.constructor.name}`);
      const file = `${n}/out_${i}.bin`;
      fs.writeFileSync(path.join(this.dir, file), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return { file, dtype, shape: shapes[i] };
    });
    this.cases.push({ case: casePath, outputs });
  }

  error(casePath, e) {
    this.cases.push({ case: casePath, error: errorRecord(e) });
  }

  /** Lets the CLI judge every case under `dirs`; a case not reported fails. */
  judge(dirs, { quiet = true } = {}) {
    this.#writeIndex();
    return cli(['conform', ...(quiet ? ['-q'] : []), '--actual', this.dir, ...dirs]);
  }

  /** Like `judge`, but returns the CLI's `--json` document (tests/conformance/README.md):
   *  `{ runtime, rule, passed, failed, cases: [{ case, passed, max_diff, detail, error?,
   *  outputs: [{ index, dtype, passed, max_diff, bound, differing }] }] }`. `peer`: the
   *  benchmarks' looser rule for runtimes not held to conformance (`--peer`). Throws
   *  when the CLI cannot judge at all (exit 2). */
  report(dirs, { peer = false } = {}) {
    this.#writeIndex();
    const r = cli(['conform', '--json', ...(peer ? ['--peer'] : []), '--actual', this.dir, ...dirs]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`attune conform --actual failed (exit ${r.status}):\n${r.stdout}`);
    return JSON.parse(r.out);
  }

  #writeIndex() {
    fs.writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify({ runtime: this.runtime, cases: this.cases }));
  }

  dispose() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Results of golden ranking cases, written as `attune golden-check --actual` reads them. */
export class GoldenOutputs {
  constructor(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attune-golden-'))) {
    this.dir = dir;
  }

  /** `ranking`: the target's Ranking, as parsed JSON or as JSON text. */
  add(caseFile, ranking) {
    const text = typeof ranking === 'string' ? ranking : JSON.stringify(ranking);
    fs.writeFileSync(path.join(this.dir, path.basename(caseFile)), text);
  }

  error(caseFile, e) {
    fs.writeFileSync(path.join(this.dir, path.basename(caseFile)), JSON.stringify({ error: errorRecord(e) }));
  }

  judge(casesDir = 'tests/golden') {
    return cli(['golden-check', casesDir, '--actual', this.dir]);
  }

  dispose() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
