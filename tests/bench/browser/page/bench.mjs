// The side-by-side latency page: all three runtimes in one page. For each model it loads
// the model into every runtime, runs each once on the case's inputs and hands those
// outputs back to the driver (run.mjs), which lets the `attune` CLI judge them against the
// case's reference; then it times each runtime in turn. Nothing here compares outputs.
// Query: ?runs=200&warmup=20&warmupMs=300&order=attune,litert,tfjs&models=k1,k2
// The result is the promise `window.bench` (the driver awaits it).
import { RUNTIMES, orderInputs, outputRecords } from './runtimes.mjs';

const q = new URLSearchParams(location.search);
const RUNS = Number(q.get('runs') ?? 200);
const WARMUP = Number(q.get('warmup') ?? 20);
const WARMUP_MS = Number(q.get('warmupMs') ?? 300);
const ORDER = (q.get('order') ?? 'attune,litert,tfjs').split(',');
const ONLY = q.get('models') ? q.get('models').split(',') : null;
// with ?profile=1 the driver samples a CPU profile around each timed loop
const PROFILE = q.get('profile') === '1' && typeof window.benchHook === 'function';

const TYPED = { f32: Float32Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array, bool: Uint8Array, i64: BigInt64Array };
const status = (s) => { document.getElementById('status').textContent = s; };
const errText = (e) => (e && (e.code ? `${e.code}: ` : '') + (e.message ?? String(e))).split('\n')[0].slice(0, 300);

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

function stats(samples) {
  const v = [...samples].sort((a, b) => a - b);
  const at = (p) => v[Math.round((v.length - 1) * p)]; // the same index rule as bench_native.py
  return { p50_us: at(0.5) * 1000, p90_us: at(0.9) * 1000, min_us: v[0] * 1000, n: v.length };
}

async function timeRunner(run, tag) {
  const call = async () => { const r = run(); if (r && typeof r.then === 'function') await r; };
  const w0 = performance.now();
  let w = 0;
  while (w < WARMUP || performance.now() - w0 < WARMUP_MS) { await call(); w++; }
  const samples = new Array(RUNS);
  if (PROFILE) await window.benchHook('start', tag);
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) {
    const a = performance.now();
    const r = run();
    if (r && typeof r.then === 'function') await r;
    samples[i] = performance.now() - a;
  }
  const total = performance.now() - t0;
  if (PROFILE) await window.benchHook('stop', tag);
  return { ...stats(samples), mean_us: (total / RUNS) * 1000, warmup_runs: w };
}

async function main() {
  const cases = (await (await fetch('/cases.json')).json()).filter((c) => !ONLY || ONLY.includes(c.key));
  const out = {
    crossOriginIsolated: self.crossOriginIsolated,
    timerResolutionUs: null,
    userAgent: navigator.userAgent,
    runtimes: {},
    models: [],
  };
  // observed timer step
  {
    let step = Infinity;
    for (let i = 0; i < 200; i++) {
      const a = performance.now();
      let b = a;
      while (b === a) b = performance.now();
      step = Math.min(step, b - a);
    }
    out.timerResolutionUs = Math.round(step * 1000 * 100) / 100;
  }

  const rts = {};
  for (const name of ORDER) {
    status(`init ${name}`);
    const R = RUNTIMES[name];
    const t0 = performance.now();
    try {
      const mod = await R.import();
      const t1 = performance.now();
      rts[name] = await R.init(mod);
      out.runtimes[name] = { import_ms: t1 - t0, init_ms: performance.now() - t1, version: R.version(rts[name]) };
    } catch (e) {
      out.runtimes[name] = { error: errText(e) };
    }
  }

  for (const c of cases) {
    status(`${c.key}: load`);
    const bytes = await fetchBytes(c.modelUrl);
    const inputs = await Promise.all(c.inputs.map(async (io) => new TYPED[io.dtype](await fetchBytes(io.url))));
    const m = { key: c.key, label: c.label, case: c.caseDir, rt: {} };
    const models = {};
    const runners = {};
    for (const name of ORDER) {
      const r = (m.rt[name] = {});
      if (!rts[name]) { r.error = `runtime did not initialize: ${out.runtimes[name].error}`; continue; }
      const R = RUNTIMES[name];
      let stage = 'load';
      try {
        const t0 = performance.now();
        models[name] = await R.load(rts[name], bytes.slice(0));
        const t1 = performance.now();
        r.load_ms = t1 - t0;
        stage = 'set inputs';
        const ins = orderInputs(c.inputs, inputs, models[name].inputs);
        runners[name] = models[name].runner(ins);
        stage = 'run';
        const t2 = performance.now();
        const arrays = await runners[name]();
        r.first_run_ms = performance.now() - t2;
        stage = 'read outputs';
        r.outputs = outputRecords(c.outputs, models[name].outputs, arrays);
      } catch (e) {
        r.error = `${stage}: ${errText(e)}`;
        delete runners[name];
      }
    }
    for (const name of ORDER) {
      if (!runners[name]) continue;
      status(`${c.key}: time ${name}`);
      try {
        Object.assign(m.rt[name], await timeRunner(runners[name], `${c.key}/${name}`));
      } catch (e) {
        m.rt[name].error = `timed run: ${errText(e)}`;
      }
    }
    for (const name of Object.keys(models)) {
      try { models[name].free(); } catch { /* already gone */ }
    }
    out.models.push(m);
  }
  status('done');
  return out;
}

window.bench = main().catch((e) => ({ fatal: errText(e), stack: String(e?.stack ?? '') }));
