// Runs the conformance cases and the golden ranking cases on the module that ships in
// the npm package (pkg/wasm: wasm32-unknown-unknown + simd128, wasm-bindgen, wasm-opt),
// under node. The rules are those of the native checks:
//   - conformance (../shared/conformance/FORMAT.md): floats within 1e-5 × max(1, max|ref|)
//     or the case's `atol`; int8/u8/i16 within 1; bool and other integers identical,
//     except index outputs where the reference scores tie;
//   - golden cases (crates/attune/src/golden.rs): same ids in order (a swap of two items
//     whose expected scores are within the tolerance is allowed), scores within 1e-4
//     relative, identical reason texts.
//
//   node tests/wasm/module-check.mjs conform DIR...   (suites or cases, searched recursively)
//   node tests/wasm/module-check.mjs golden DIR       (tests/golden; bundle paths relative to the repo)
//
// Exit status 0 only when every case passes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasmDir = path.join(root, 'pkg/wasm');
const attune = await import(path.join(wasmDir, 'attune.js'));
await attune.default({ module_or_path: fs.readFileSync(path.join(wasmDir, 'attune_bg.wasm')) });

const ARRAYS = {
  f32: Float32Array, f64: Float64Array, i32: Int32Array, i64: BigInt64Array,
  i16: Int16Array, i8: Int8Array, u8: Uint8Array, bool: Uint8Array,
};

function readTensor(dir, io) {
  const b = fs.readFileSync(path.join(dir, io.file));
  const T = ARRAYS[io.dtype];
  if (!T) throw new Error(`dtype ${io.dtype} not supported by this harness`);
  return new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

const toNumbers = (a) => Array.from(a, Number);

function findCases(dir, out) {
  if (fs.existsSync(path.join(dir, 'manifest.json')) && fs.existsSync(path.join(dir, 'in_0.bin'))) {
    out.push(dir);
    return;
  }
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) findCases(path.join(dir, e.name), out);
  }
}

// Index outputs may differ where the reference scores tie (same rule as the native check).
function tiesExplain(outIx, ours, ref, refs, shape) {
  const scores = refs.find((r, j) => j !== outIx && r.float && r.shape.join() === shape.join());
  if (!scores) return false;
  const row = shape.length ? shape[shape.length - 1] : 1;
  if (row === 0) return true;
  for (let s = 0; s < ours.length; s += row) {
    const o = ours.slice(s, s + row), e = ref.slice(s, s + row), sc = scores.values.slice(s, s + row);
    const last = sc[row - 1];
    for (let j = 0; j < row; j++) {
      if (o[j] === e[j]) continue;
      const tied = e.some((x, k) => x === o[j] && sc[k] === sc[j]);
      if (!tied && sc[j] !== last) return false;
    }
  }
  return true;
}

function conform(dirs) {
  const cases = [];
  for (const d of dirs) findCases(path.resolve(d), cases);
  const models = new Map();
  let passed = 0;
  const failures = [];
  for (const c of cases) {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(c, 'manifest.json'), 'utf8'));
      const modelPath = path.resolve(c, m.model);
      let model = models.get(modelPath);
      if (!model) {
        model = attune.WasmModel.load(fs.readFileSync(modelPath));
        models.set(modelPath, model);
      }
      const out = model.run(m.inputs.map((io) => readTensor(c, io)), m.inputs.map((io) => io.shape));
      if (out.length !== m.outputs.length) throw new Error(`${out.length} outputs, expected ${m.outputs.length}`);
      const refs = m.outputs.map((io) => ({
        values: toNumbers(readTensor(c, io)), shape: io.shape, float: io.dtype === 'f32' || io.dtype === 'f16',
      }));
      const bad = [];
      m.outputs.forEach((io, i) => {
        const a = toNumbers(out[i]);
        const b = refs[i].values;
        if (a.length !== b.length) {
          bad.push(`output ${i}: ${a.length} values, expected ${b.length}`);
          return;
        }
        let diff = 0;
        let nanMismatch = false;
        for (let k = 0; k < a.length; k++) {
          if (Number.isNaN(a[k]) !== Number.isNaN(b[k])) nanMismatch = true;
          else if (!Number.isNaN(a[k])) diff = Math.max(diff, Math.abs(a[k] - b[k]));
        }
        let ok;
        if (io.dtype === 'f32' || io.dtype === 'f16') {
          const bound = io.atol ?? 1e-5 * b.reduce((mx, v) => (Number.isNaN(v) ? mx : Math.max(mx, Math.abs(v))), 1);
          ok = !nanMismatch && diff <= bound;
        } else if (io.dtype === 'i8' || io.dtype === 'u8' || io.dtype === 'i16') {
          ok = diff <= 1;
        } else if (io.dtype === 'bool') {
          ok = diff === 0;
        } else {
          ok = diff === 0 || tiesExplain(i, a, b, refs, io.shape);
        }
        if (!ok) bad.push(`output ${i} (${io.name}): max abs diff ${diff}${nanMismatch ? ', NaN mismatch' : ''}`);
      });
      if (bad.length) failures.push(`${path.relative(root, c)}: ${bad.join('; ')}`);
      else passed++;
    } catch (e) {
      failures.push(`${path.relative(root, c)}: [${e.code ?? e.name}] ${e.message}`);
    }
  }
  for (const m of models.values()) m.free();
  return { passed, failures };
}

const TOLERANCE = 1e-4;
const close = (a, b) => Math.abs(a - b) <= TOLERANCE * (1 + Math.max(Math.abs(a), Math.abs(b)));

function bundleFiles(dir) {
  const files = new Map();
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) files.set(name, new Uint8Array(fs.readFileSync(p)));
  }
  return files;
}

function golden(dir) {
  const bundles = new Map();
  let passed = 0;
  const failures = [];
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  for (const f of files) {
    const kase = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    try {
      let bundle = bundles.get(kase.bundle);
      if (!bundle) {
        bundle = attune.WasmBundle.load(bundleFiles(path.join(root, kase.bundle)));
        bundles.set(kase.bundle, bundle);
      }
      const profile = attune.WasmProfile.fromJson(JSON.stringify(kase.profile));
      const got = JSON.parse(bundle.rank(profile, JSON.stringify(kase.request))).items;
      profile.free();
      const diffs = [];
      if (got.length !== kase.expect.length) diffs.push(`${got.length} items, expected ${kase.expect.length}`);
      kase.expect.forEach((e, pos) => {
        const g = got[pos];
        if (!g) return;
        if (e.id !== g.id) {
          const other = kase.expect.find((x) => x.id === g.id);
          if (!(other && close(other.score, e.score))) diffs.push(`rank ${pos + 1}: ${g.id} (${g.title}), expected ${e.id} (${e.title})`);
          return;
        }
        if (!close(e.score, g.score) || !close(e.model_score, g.model_score)) {
          diffs.push(`rank ${pos + 1} ${e.id}: score ${g.score} / model ${g.model_score}, expected ${e.score} / ${e.model_score}`);
        }
        if (JSON.stringify(e.reasons) !== JSON.stringify(g.why)) {
          diffs.push(`rank ${pos + 1} ${e.id}: reasons ${JSON.stringify(g.why)}, expected ${JSON.stringify(e.reasons)}`);
        }
      });
      if (diffs.length) failures.push(`${f}: ${diffs.join('; ')}`);
      else passed++;
    } catch (e) {
      failures.push(`${f}: [${e.code ?? e.name}] ${e.message}`);
    }
  }
  for (const b of bundles.values()) b.free();
  return { passed, failures };
}

const [cmd, ...args] = process.argv.slice(2);
let result;
if (cmd === 'conform' && args.length) result = conform(args);
else if (cmd === 'golden' && args.length === 1) result = golden(args[0]);
else {
  console.error('usage: module-check.mjs conform DIR... | golden DIR');
  process.exit(2);
}
for (const f of result.failures) console.log(`FAIL ${f}`);
console.log(`${cmd} (pkg/wasm module, attune ${attune.version()}): ${result.passed} passed, ${result.failures.length} failed`);
process.exit(result.failures.length || result.passed === 0 ? 1 : 0);
