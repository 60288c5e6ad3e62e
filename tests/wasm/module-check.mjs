// Runs the conformance cases and the golden ranking cases on the module that ships in
// the npm package (pkg/wasm: wasm32-unknown-unknown + simd128, wasm-bindgen, wasm-opt),
// under node, writes what it produced and lets the `attune` CLI judge it with the rules
// that judge native runs (tests/lib/judge.mjs). This file compares nothing itself.
//
//   node tests/wasm/module-check.mjs conform DIR...   (suites or cases, found by `attune conform --list`)
//   node tests/wasm/module-check.mjs golden DIR       (tests/golden; bundle paths relative to the repo)
//
// Exit status: the judge's (0 only when every case passes).
import fs from 'node:fs';
import path from 'node:path';
import { ConformOutputs, GoldenOutputs, listCases, ROOT } from '../lib/judge.mjs';

const wasmDir = path.join(ROOT, 'pkg/wasm');
const attune = await import(path.join(wasmDir, 'attune.js'));
await attune.default({ module_or_path: fs.readFileSync(path.join(wasmDir, 'attune_bg.wasm')) });
const runtime = `attune ${attune.version()} (pkg/wasm module, node)`;

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

function conform(dirs) {
  const out = new ConformOutputs(runtime);
  const models = new Map();
  for (const c of listCases(dirs)) {
    try {
      const dir = path.resolve(ROOT, c);
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      const modelPath = path.resolve(dir, m.model);
      let model = models.get(modelPath);
      if (!model) {
        model = attune.WasmModel.load(fs.readFileSync(modelPath));
        models.set(modelPath, model);
      }
      const arrays = model.run(m.inputs.map((io) => readTensor(dir, io)), m.inputs.map((io) => io.shape));
      // The module returns flat typed arrays: each output's dtype is the model's
      // declared one; its shape is taken to be the case's (the judge still checks the
      // element count against it).
      const declared = JSON.parse(model.outputsJson());
      out.add(c, arrays, m.outputs.map((io) => io.shape), declared.map((d) => d.dtype));
    } catch (e) {
      out.error(c, e);
    }
  }
  for (const m of models.values()) m.free();
  return out.judge(dirs);
}

function bundleFiles(dir) {
  const files = new Map();
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) files.set(name, new Uint8Array(fs.readFileSync(p)));
  }
  return files;
}

function golden(dir) {
  const out = new GoldenOutputs();
  const bundles = new Map();
  for (const f of fs.readdirSync(path.resolve(ROOT, dir)).filter((f) => f.endsWith('.json')).sort()) {
    const kase = JSON.parse(fs.readFileSync(path.resolve(ROOT, dir, f), 'utf8'));
    try {
      let bundle = bundles.get(kase.bundle);
      if (!bundle) {
        bundle = attune.WasmBundle.load(bundleFiles(path.join(ROOT, kase.bundle)));
        bundles.set(kase.bundle, bundle);
      }
      const profile = attune.WasmProfile.fromJson(JSON.stringify(kase.profile));
      try {
        out.add(f, bundle.rank(profile, JSON.stringify(kase.request)));
      } finally {
        profile.free();
      }
    } catch (e) {
      out.error(f, e);
    }
  }
  for (const b of bundles.values()) b.free();
  return out.judge(dir);
}

const [cmd, ...args] = process.argv.slice(2);
let verdict;
if (cmd === 'conform' && args.length) verdict = conform(args);
else if (cmd === 'golden' && args.length === 1) verdict = golden(args[0]);
else {
  console.error('usage: module-check.mjs conform DIR... | golden DIR');
  process.exit(2);
}
process.stdout.write(verdict.stdout);
process.exit(verdict.ok ? 0 : 1);
