// Full-catalog ranking latency of a bundle on the shipped wasm module (pkg/wasm) under
// node: the same request as `attune bench BUNDLE` natively (k 10, a boost and a bury
// rule, diversity 0.3, exploration 0.1, leave-one-out reasons), so the two columns of
// BENCHMARKS.md compare like with like.
//
//   node tests/bench/rank-wasm.mjs BUNDLE_DIR [--profile profile.json] [--runs 200] [--warmup 20] [--json]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    profile: { type: 'string' },
    runs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  console.error('usage: rank-wasm.mjs BUNDLE_DIR [--profile FILE] [--runs N] [--warmup N] [--json]');
  process.exit(2);
}
const dir = path.resolve(positionals[0]);
const runs = Number(values.runs);
const warmup = Number(values.warmup);

const wasmDir = path.join(root, 'pkg/wasm');
const attune = await import(path.join(wasmDir, 'attune.js'));
await attune.default({ module_or_path: fs.readFileSync(path.join(wasmDir, 'attune_bg.wasm')) });

const files = new Map();
for (const name of fs.readdirSync(dir)) {
  const p = path.join(dir, name);
  if (fs.statSync(p).isFile()) files.set(name, new Uint8Array(fs.readFileSync(p)));
}
const key = files.has('manifest.pub') ? new TextDecoder().decode(files.get('manifest.pub')).trim() : undefined;

let t = performance.now();
// The reference bundles are signed with a published test key: allowed here, as in
// development.
const bundle = attune.WasmBundle.load(files, key, JSON.stringify({ allow_test_keys: true }));
const loadMs = performance.now() - t;

const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
const catalog = JSON.parse(new TextDecoder().decode(files.get(manifest.catalog.file)));
const profileJson = values.profile ? fs.readFileSync(values.profile, 'utf8') : JSON.stringify({ format_version: 1 });
const profile = attune.WasmProfile.fromJson(profileJson);

const requests = [
  ['rank full catalog, k 10, rules + diversity + exploration + reasons', {
    k: 10, diversity: 0.3, exploration: 0.1, seed: 7,
    rules: [
      { kind: 'boost', items: [catalog.ids[0]], topics: [], weight: 0.2 },
      { kind: 'bury', items: [], topics: manifest.topics.slice(0, 1).map((x) => x.id), weight: 0.1 },
    ],
  }],
  ['rank full catalog, k 10, pure model order, no reasons', { k: 10, explain_history: 0 }],
];

const pct = (v, p) => v[Math.round((v.length - 1) * p)];
const out = [];
for (const [name, req] of requests) {
  const text = JSON.stringify(req);
  for (let i = 0; i < warmup; i++) bundle.rank(profile, text);
  const ts = [];
  for (let i = 0; i < Math.max(1, runs); i++) {
    t = performance.now();
    bundle.rank(profile, text);
    ts.push((performance.now() - t) * 1000);
  }
  ts.sort((a, b) => a - b);
  out.push({ name, p50_us: pct(ts, 0.5), p90_us: pct(ts, 0.9) });
}
profile.free();
bundle.free();

if (values.json) {
  console.log(JSON.stringify({ bundle: path.relative(root, dir), load_prepare_ms: loadMs, runs, results: out }));
} else {
  console.log(`${path.relative(root, dir)}  (wasm module, node ${process.version}; load + prepare ${loadMs.toFixed(1)} ms)`);
  for (const r of out) {
    console.log(`  ${r.name}\n      p50 ${r.p50_us.toFixed(1).padStart(8)} µs   p90 ${r.p90_us.toFixed(1).padStart(8)} µs   (${runs} runs)`);
  }
}
