#!/usr/bin/env node
// Attune against LiteRT.js and tfjs-tflite in headless Chromium, side by side, on the
// models and case inputs of tests/bench/bench_native.py, all single-threaded.
//
//   source scripts/env.sh
//   scripts/build-wasm.sh                        # pkg/wasm/ (attune.js + attune_bg.wasm)
//   node tests/bench/browser/run.mjs             # full: 5 fresh-browser runs
//   node tests/bench/browser/run.mjs --quick     # smoke test: outputs agree, no timings
//
// Every repetition launches a fresh Chromium and
//   1. opens one cold-start page per runtime and model (a new browser context each: empty
//      cache; the server also sends no-store), which times import of the runtime's JS ->
//      wasm init -> model fetch -> load -> first result, and counts the bytes it fetched;
//   2. opens the side-by-side page (bench.html), which loads each model into the three
//      runtimes, runs each once and hands the outputs back, then times each runtime:
//      warm-up (at least --warmup runs and --warmup-ms), then --runs timed runs; a timed
//      run sets the inputs, runs, reads the outputs and frees the run's tensors;
//   3. writes each runtime's outputs (cold and side by side) to files and lets the
//      `attune` CLI judge them against each case's reference (LiteRT's native outputs):
//      Attune by the conformance rule, LiteRT.js and tfjs-tflite by the looser rule for
//      peer runtimes (`attune conform --peer`, tests/conformance/README.md). This file
//      compares no outputs itself.
// The runtime order rotates between repetitions. Figures are medians over repetitions of
// each repetition's p50 and p90. Pages are cross-origin isolated, so performance.now()
// has 5 µs resolution; SharedArrayBuffer is hidden from tfjs-tflite.
//
// Options: --repeat N (5), --runs N (200), --warmup N (20), --warmup-ms MS (300),
// --models k1,k2 (keys in models.mjs), --no-cold, --cold-models k1,k2 (default: all),
// --json-out PATH (default tests/bench/results/browser-<date>-<commit>.json; --quick
// writes none unless given), --md-out PATH (the markdown, also printed),
// --attune-dir DIR (another build of attune.js + attune_bg.wasm), --profile (sample CPU
// profiles of the timed loops through the DevTools protocol and print the hottest
// functions per runtime), --chromium PATH (default $CHROMIUM_BIN or /usr/bin/chromium).
//
// --quick (what the test suite runs): one repetition, 20 timed runs, one cold start per
// runtime; exits non-zero unless the judge passes every output a runtime produced,
// Attune ran every model, and every peer failure is one of the known ones listed in
// KNOWN_UNSUPPORTED. It first has the judge fail made-up disagreements written the way
// the runtimes' outputs are (judgeSelfTest). Timings are printed, never asserted.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ConformOutputs } from '../../lib/judge.mjs';
import { REPO, loadCases } from './models.mjs';
import { startServer, versions } from './server.mjs';

const NAMES = { attune: 'Attune', litert: 'LiteRT.js', tfjs: 'tfjs-tflite' };
const PEERS = ['litert', 'tfjs'];

// What the peers cannot run, as measured with the pinned versions; --quick fails on any
// other peer failure, so a change shows up.
const KNOWN_UNSUPPORTED = {
  litert: {
    ranking_dynamic_batch: 'no way to resize a dynamic input: a [1000, 4] tensor does not match [-1, 4]',
    ranking_int8_io: 'no int8 tensors in its JS API (float32, int32, uint8 only)',
    seq_lstm_tfkeras: '"Failed to load model from buffer" (UNIDIRECTIONAL_SEQUENCE_LSTM from tf_keras)',
  },
  tfjs: {
    ranking_dynamic_batch: 'no way to resize a dynamic input: expects [1, 4], batch inference unsupported',
    ranking_dynamic_range: '"Can\'t initialize model" (dynamic-range FULLY_CONNECTED)',
    ranking_int8_io: 'tfjs tensors have no int8 dtype',
  },
};

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeat: { type: 'string' },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    'warmup-ms': { type: 'string' },
    models: { type: 'string' },
    'cold-models': { type: 'string' },
    'no-cold': { type: 'boolean', default: false },
    'json-out': { type: 'string' },
    'md-out': { type: 'string' },
    'attune-dir': { type: 'string' },
    profile: { type: 'boolean', default: false },
    chromium: { type: 'string' },
    'attune-alt': { type: 'string' },
    'attune-alt-label': { type: 'string', default: 'alt. build' },
  },
});
const ALT_DIR = opt['attune-alt'] ? resolve(opt['attune-alt']) : null;
const RUNTIMES = ['attune', 'litert', 'tfjs', ...(ALT_DIR ? ['attune_alt'] : [])];
NAMES.attune_alt = `Attune (${opt['attune-alt-label']})`;
const isAttune = (n) => n === 'attune' || n === 'attune_alt';
const Q = opt.quick;
const REPEAT = Number(opt.repeat ?? (Q ? 1 : 5));
const RUNS = Number(opt.runs ?? (Q ? 20 : 200));
const WARMUP = Number(opt.warmup ?? (Q ? 5 : 20));
const WARMUP_MS = Number(opt['warmup-ms'] ?? (Q ? 0 : 300));
const MODEL_KEYS = opt.models ? opt.models.split(',') : undefined;
const CHROMIUM = opt.chromium ?? process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ATTUNE_DIR = opt['attune-dir'] ? resolve(opt['attune-dir']) : join(REPO, 'pkg/wasm');
// (ALT_DIR and RUNTIMES are set right after the options are parsed, above)

const sh = (cmd, args) => { try { return execFileSync(cmd, args, { cwd: REPO, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const log = (...a) => console.error(...a);

function fmtUs(x) {
  if (x == null) return '–';
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}
const fmtMs = (x) => (x == null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const ratio = (a, b) => (a == null || b == null || !b ? '–' : `${(a / b).toFixed(2)}×`);
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
const kb = (b) => (b >= 1e6 ? mb(b) : `${(b / 1e3).toFixed(1)} kB`);

/** The wasm's size without custom sections (name, producers, target_features). */
function stripCustom(buf) {
  const leb = (i) => { let r = 0; let s = 0; for (;;) { const x = buf[i++]; r |= (x & 0x7f) << s; s += 7; if (x < 0x80) return [r >>> 0, i]; } };
  const parts = [buf.subarray(0, 8)];
  const custom = {};
  let i = 8;
  while (i < buf.length) {
    const id = buf[i];
    const [n, j] = leb(i + 1);
    if (id === 0) {
      const [nl, k] = leb(j);
      custom[buf.subarray(k, k + nl).toString()] = n;
    } else parts.push(buf.subarray(i, j + n));
    i = j + n;
  }
  const stripped = Buffer.concat(parts);
  return { raw: stripped.length, gzip9: gzipSync(stripped, { level: 9 }).length, custom };
}

async function launch(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
}

async function coldStart(browser, server, rt, key) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  server.log.length = 0;
  await page.goto(`${server.url}/cold.html?rt=${rt}&model=${key}`);
  const r = await page.evaluate(() => window.cold);
  const entries = server.log.filter((e) => e.path.startsWith(`/rt/${rt.replace('_', '-')}/`) || e.path.startsWith(`/models/${key}/model`));
  await ctx.close();
  const files = entries.map((e) => ({ path: e.path, status: e.status, raw: e.raw, sent: e.sent }));
  const sum = (pred, k) => files.filter(pred).reduce((a, f) => a + f[k], 0);
  const isRt = (f) => f.path.startsWith('/rt/');
  r.bytes = {
    runtime_sent: sum(isRt, 'sent'),
    runtime_raw: sum(isRt, 'raw'),
    model_sent: sum((f) => !isRt(f), 'sent'),
    model_raw: sum((f) => !isRt(f), 'raw'),
    files,
  };
  if (errors.length) r.page_errors = errors;
  return r;
}

function summarizeProfile(profile) {
  // self samples per function name
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  let total = 0;
  for (const id of profile.samples) {
    const n = byId.get(id);
    const f = n.callFrame;
    const name = f.functionName || `(anonymous ${f.url.split('/').pop()}:${f.lineNumber})`;
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name !== '(idle)') counts.set(name, (counts.get(name) ?? 0) + 1);
      if (name !== '(idle)') total++;
      continue;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    total++;
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([name, c]) => ({ name: name.slice(0, 140), share: c / total }));
}

async function sideBySide(browser, server, order, rep) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const profiles = {};
  let cdp = null;
  if (opt.profile) {
    cdp = await ctx.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    await page.exposeFunction('benchHook', async (what, tag) => {
      if (what === 'start') await cdp.send('Profiler.start');
      else profiles[tag] = summarizeProfile((await cdp.send('Profiler.stop')).profile);
    });
  }
  const qs = new URLSearchParams({ runs: RUNS, warmup: WARMUP, warmupMs: WARMUP_MS, order: order.join(',') });
  if (MODEL_KEYS) qs.set('models', MODEL_KEYS.join(','));
  if (opt.profile) qs.set('profile', '1');
  log(`[run ${rep + 1}/${REPEAT}] side by side, order ${order.join(', ')}`);
  await page.goto(`${server.url}/bench.html?${qs}`);
  const r = await page.evaluate(() => window.bench);
  await ctx.close();
  if (r.fatal) throw new Error(`bench page: ${r.fatal}\n${r.stack}`);
  if (errors.length) r.page_errors = errors;
  if (opt.profile) r.profiles = profiles;
  return r;
}

// the served builds, identified when the server has read them (at its start)
function builds(server) {
  const wasm = join(ATTUNE_DIR, 'attune_bg.wasm');
  const hash = (p) => createHash('sha256').update(server.bytes(p)).digest('hex').slice(0, 12);
  return {
    attune_wasm: {
      path: relative(REPO, wasm).startsWith('..') ? 'attune_bg.wasm (folder given with --attune-dir)' : relative(REPO, wasm),
      built: statSync(wasm).mtime.toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' '),
      sha256: hash('/rt/attune/attune_bg.wasm'),
    },
    attune_alt: ALT_DIR ? {
      // a folder outside the checkout is not named (no machine paths in the results)
      path: relative(REPO, ALT_DIR).startsWith('..') ? 'attune_bg.wasm (folder given with --attune-alt)' : relative(REPO, join(ALT_DIR, 'attune_bg.wasm')),
      sha256: hash('/rt/attune-alt/attune_bg.wasm'),
    } : undefined,
  };
}

function machine(browserVersion) {
  return {
    date: new Date().toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' '),
    cpu: cpus()[0]?.model ?? '?',
    nproc: cpus().length,
    chromium: browserVersion,
    node: process.version,
    commit: sh('git', ['rev-parse', '--short', 'HEAD']),
    dirty_files: sh('git', ['status', '--porcelain', '--', 'crates', 'Cargo.toml', 'Cargo.lock']).split('\n').filter(Boolean).length,
    versions: versions(),
  };
}

// ------------------------------------------------------------------------ aggregation

function aggregate(reps, cases) {
  const models = cases.map((c) => {
    const per = reps.map((r) => r.bench.models.find((m) => m.key === c.key));
    const rt = {};
    for (const name of RUNTIMES) {
      const xs = per.map((m) => m?.rt[name]).filter(Boolean);
      const ok = xs.filter((x) => x.p50_us != null);
      const errs = [...new Set(xs.map((x) => x.error).filter(Boolean))];
      rt[name] = {
        p50_us: median(ok.map((x) => x.p50_us)),
        p90_us: median(ok.map((x) => x.p90_us)),
        mean_us: median(ok.map((x) => x.mean_us)),
        p50_each: ok.map((x) => x.p50_us),
        load_ms: median(ok.map((x) => x.load_ms)),
        first_run_ms: median(ok.map((x) => x.first_run_ms)),
        vs_reference: xs.map((x) => x.vs_reference).filter(Boolean),
        error: errs.length ? errs.join(' | ') : undefined,
      };
      const cold = reps.map((r) => r.cold?.[name]?.[c.key]).filter(Boolean);
      if (cold.length) {
        const good = cold.filter((x) => x.total_ms != null);
        rt[name].cold = {
          total_ms: median(good.map((x) => x.total_ms)),
          import_ms: median(good.map((x) => x.import_ms)),
          init_ms: median(good.map((x) => x.init_ms)),
          fetch_model_ms: median(good.map((x) => x.fetch_model_ms)),
          load_ms: median(good.map((x) => x.load_ms)),
          first_run_ms: median(good.map((x) => x.first_run_ms)),
          each_ms: good.map((x) => x.total_ms),
          error: [...new Set(cold.map((x) => x.error).filter(Boolean))].join(' | ') || undefined,
          vs_reference: cold.map((x) => x.vs_reference).filter(Boolean),
          bytes: good[0]?.bytes,
        };
      }
    }
    return { key: c.key, label: c.label, case: c.caseDir, rt };
  });
  return models;
}

// ------------------------------------------------------------------------ checks (--quick)

function checks(models) {
  const problems = [];
  const warnings = [];
  for (const m of models) {
    for (const name of RUNTIMES) {
      const r = m.rt[name];
      if (r.error) {
        if (isAttune(name)) problems.push(`${m.key}: ${NAMES[name]} failed: ${r.error}`);
        else if (!KNOWN_UNSUPPORTED[name]?.[m.key]) problems.push(`${m.key}: ${NAMES[name]} failed, not a known limitation: ${r.error}`);
      } else if (KNOWN_UNSUPPORTED[name]?.[m.key]) {
        warnings.push(`${m.key}: ${NAMES[name]} now runs it (listed as unsupported)`);
      }
      for (const v of r.vs_reference) {
        if (!v.passed) problems.push(`${m.key}: ${NAMES[name]} differs from the reference: ${v.detail}`);
      }
      for (const v of r.cold?.vs_reference ?? []) {
        if (!v.passed) problems.push(`${m.key}: ${NAMES[name]}'s cold run differs from the reference: ${v.detail}`);
      }
      if (r.cold?.error && !KNOWN_UNSUPPORTED[name]?.[m.key]) {
        problems.push(`${m.key}: ${NAMES[name]} cold start failed: ${r.cold.error}`);
      }
    }
    if (!m.rt.attune.error && PEERS.every((p) => m.rt[p].error)) {
      warnings.push(`${m.key}: no peer ran it, only the reference checks Attune`);
    }
  }
  return { problems, warnings };
}

// ------------------------------------------------------------------------ the judge

/**
 * Writes what runtime `name` produced for each model (`{ caseDir, outputs?, error? }`,
 * outputs as the pages send them: `{ dtype, shape, base64 }`) and lets the `attune` CLI
 * judge every case at once: Attune by the conformance rule, the peers by `--peer`.
 * Returns the CLI's verdict per case folder.
 */
function judgeOutputs(name, results) {
  const out = new ConformOutputs(NAMES[name]);
  try {
    for (const r of results) {
      if (r.outputs) {
        out.add(r.caseDir, r.outputs.map((o) => Buffer.from(o.base64, 'base64')), r.outputs.map((o) => o.shape),
          r.outputs.map((o) => o.dtype));
      } else {
        out.error(r.caseDir, { code: 'E_BENCH_NO_OUTPUT', message: r.error ?? 'no outputs' });
      }
    }
    const report = out.report(results.map((r) => r.caseDir), { peer: !isAttune(name) });
    return new Map(report.cases.map((c) => [c.case, c]));
  } finally {
    out.dispose();
  }
}

/** Judges one repetition's outputs, cold and side by side, and drops the raw bytes. */
function judgeRep(r, cases) {
  const caseDir = new Map(cases.map((c) => [c.key, c.caseDir]));
  for (const name of RUNTIMES) {
    const side = r.bench.models.map((m) => ({ m: m.rt[name], caseDir: m.case })).filter((x) => x.m);
    const cold = Object.entries(r.cold[name] ?? {}).map(([key, x]) => ({ m: x, caseDir: caseDir.get(key) }));
    for (const group of [side, cold]) {
      if (!group.length) continue;
      const verdicts = judgeOutputs(name, group.map(({ m, caseDir: d }) => ({ caseDir: d, outputs: m.outputs, error: m.error })));
      for (const { m, caseDir: d } of group) {
        if (m.outputs) m.vs_reference = verdicts.get(d);
        delete m.outputs;
      }
    }
  }
}

// --quick first makes sure the judge, fed the way the runtimes' outputs are, fails on
// made-up disagreements and passes the reference itself; a harness whose judge cannot
// fail would pass anything.
function judgeSelfTest() {
  const byKey = new Map(loadCases(['abs_one_op', 'two_tower_topk']).map((c) => [c.key, c]));
  const abs = byKey.get('abs_one_op');
  const topk = byKey.get('two_tower_topk');
  const read = (c) => c.outputs.map((o, i) => {
    const m = JSON.parse(readFileSync(join(c.dir, 'manifest.json'), 'utf8')).outputs[i];
    const b = new Uint8Array(readFileSync(join(c.dir, m.file))).buffer; // a copy, aligned
    return { dtype: o.dtype, shape: o.shape, array: o.dtype === 'f32' ? new Float32Array(b) : new Int32Array(b) };
  });
  const send = (outs) => outs.map((o) => ({ dtype: o.dtype, shape: o.shape, base64: Buffer.from(o.array.slice().buffer).toString('base64') }));
  const edit = (c, f) => { const outs = read(c).map((o) => ({ ...o, array: o.array.slice() })); f(outs); return send(outs); };
  const tk = read(topk);
  const ids = tk.findIndex((o) => o.dtype === 'i32');
  const last = tk[ids].array.length - 1;
  // The ABS case's values are below 2 (its largest is 1.72): 5e-3 is about one int8 step
  // of them, 5e-2 is more than any rule allows. The top and the last score of the top-k
  // case are 0.15 apart: swapping those ids is wrong under any rule.
  const step = 5e-3;
  const far = 5e-2;

  // [what, runtime, case, outputs, should pass]
  const trials = [
    ['the reference itself', 'tfjs', abs, send(read(abs)), true],
    ['the reference itself', 'attune', topk, send(tk), true],
    ['one int8 step off, judged as a peer', 'litert', abs, edit(abs, (o) => { o[0].array[4] += step; }), true],
    ['one int8 step off, judged as Attune', 'attune', abs, edit(abs, (o) => { o[0].array[4] += step; }), false],
    ['5e-2 off, judged as a peer', 'litert', abs, edit(abs, (o) => { o[0].array[4] += far; }), false],
    ['a NaN, judged as a peer', 'tfjs', abs, edit(abs, (o) => { o[0].array[0] = Number.NaN; }), false],
    ['two ids of distinct scores swapped, judged as a peer', 'tfjs', topk, edit(topk, (o) => {
      const a = o[ids].array; [a[0], a[last]] = [a[last], a[0]];
    }), false],
    ['one value too few', 'litert', abs, edit(abs, (o) => { o[0].array = o[0].array.subarray(1); }), false],
  ];
  const wrong = [];
  for (const [what, name, c, outputs, want] of trials) {
    const v = judgeOutputs(name, [{ caseDir: c.caseDir, outputs }]).get(c.caseDir);
    if (v?.passed !== want) wrong.push(`${what} (${c.key}): the judge says ${v?.passed ? 'pass' : 'fail'}${v?.detail ? ` (${v.detail})` : ''}`);
  }
  if (wrong.length) throw new Error(`the judge misjudges made-up outputs:\n  ${wrong.join('\n  ')}`);
  log(`judge self-test: ${trials.length} made-up outputs judged as expected`);
}

// ------------------------------------------------------------------------ report

function report(models, meta, reps, sizes) {
  const out = [];
  const w = (s = '') => out.push(s);
  const notes = [];
  const note = (text) => {
    let i = notes.indexOf(text);
    if (i < 0) { notes.push(text); i = notes.length - 1; }
    return `[${String.fromCharCode(97 + i)}]`;
  };
  const cell = (m, name, key, f) => {
    const r = m.rt[name];
    if (r.error) return `✗ ${note(`${NAMES[name]}: ${KNOWN_UNSUPPORTED[name]?.[m.key] ? `${KNOWN_UNSUPPORTED[name][m.key]}. ` : ''}Error: ${r.error}`)}`;
    return f(r[key]);
  };

  w(`Measured ${meta.date} on ${meta.cpu}, nproc ${meta.nproc}; headless Chromium ${meta.chromium}; `
    + `${REPEAT} fresh-browser run(s), each: \`--runs ${RUNS}\` timed runs after at least ${WARMUP} warm-up runs and ${WARMUP_MS} ms; `
    + `load average ${meta.load_before} before, ${meta.load_after} after; wall time ${Math.round(meta.wall_s)} s. `
    + `Timer resolution in the page: ${meta.timer_us} µs (cross-origin isolated: ${meta.isolated}).`);
  w();
  const v = meta.versions;
  w(`Runtimes: Attune \`${meta.attune_wasm.path}\` (checkout ${meta.commit}, built ${meta.attune_wasm.built}, sha256 ${meta.attune_wasm.sha256}); `
    + `LiteRT.js \`@litertjs/core\` ${v.litert} (\`${meta.litert_build}\`); `
    + `tfjs-tflite ${v.tfjs_tflite} with tfjs-core ${v.tfjs_core} + tfjs-backend-cpu ${v.tfjs_backend_cpu} (\`${meta.tfjs_build}\`); `
    + `esbuild ${v.esbuild}, playwright-core ${v.playwright_core}, node ${meta.node}.`
    + (meta.attune_alt ? ` ${NAMES.attune_alt}: \`${meta.attune_alt.path}\` (sha256 ${meta.attune_alt.sha256}).` : ''));
  w();

  w(`#### Inference, µs (median over ${REPEAT} browser run(s) of each run's p50 and p90)`);
  w();
  w('Ratios are Attune\'s p50 over the peer\'s: above 1× Attune is slower.');
  w();
  w('| model | Attune p50 | LiteRT.js p50 | tfjs-tflite p50 | Attune / LiteRT.js | Attune / tfjs-tflite | Attune p90 | LiteRT.js p90 | tfjs-tflite p90 |');
  w('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const m of models) {
    const a = m.rt.attune.p50_us;
    w(`| ${m.label} | ${cell(m, 'attune', 'p50_us', fmtUs)} | ${cell(m, 'litert', 'p50_us', fmtUs)} | ${cell(m, 'tfjs', 'p50_us', fmtUs)} | `
      + `${m.rt.litert.error ? '–' : ratio(a, m.rt.litert.p50_us)} | ${m.rt.tfjs.error ? '–' : ratio(a, m.rt.tfjs.p50_us)} | `
      + `${cell(m, 'attune', 'p90_us', fmtUs)} | ${cell(m, 'litert', 'p90_us', fmtUs)} | ${cell(m, 'tfjs', 'p90_us', fmtUs)} |`);
  }
  w();
  if (notes.length) {
    for (let i = 0; i < notes.length; i++) w(`- [${String.fromCharCode(97 + i)}] ${notes[i]}`);
    w();
  }

  if (REPEAT > 1) {
    w('#### Run-to-run spread: lowest – highest p50 over the browser runs, µs');
    w();
    w('| model | Attune | LiteRT.js | tfjs-tflite |');
    w('|---|--:|--:|--:|');
    for (const m of models) {
      const sp = (n) => { const e = m.rt[n].p50_each; return e.length ? `${fmtUs(Math.min(...e))} – ${fmtUs(Math.max(...e))}` : '–'; };
      w(`| ${m.label} | ${sp('attune')} | ${sp('litert')} | ${sp('tfjs')} |`);
    }
    w();
  }

  if (RUNTIMES.includes('attune_alt')) {
    const A = NAMES.attune_alt;
    w(`#### ${A}: the same page and runs, µs`);
    w();
    w(`| model | Attune p50 | ${A} p50 | ${A} / Attune | ${A} / LiteRT.js | ${A} / tfjs-tflite | ${A} p90 |`);
    w('|---|--:|--:|--:|--:|--:|--:|');
    for (const m of models) {
      const a = m.rt.attune_alt.p50_us;
      w(`| ${m.label} | ${cell(m, 'attune', 'p50_us', fmtUs)} | ${cell(m, 'attune_alt', 'p50_us', fmtUs)} | ${ratio(a, m.rt.attune.p50_us)} | `
        + `${m.rt.litert.error ? '–' : ratio(a, m.rt.litert.p50_us)} | ${m.rt.tfjs.error ? '–' : ratio(a, m.rt.tfjs.p50_us)} | ${cell(m, 'attune_alt', 'p90_us', fmtUs)} |`);
    }
    w();
  }

  const judged = RUNTIMES;
  w('#### Do the outputs agree? Each runtime against the reference (worst over the runs)');
  w();
  w('The `attune` CLI judges each runtime\'s first-run outputs against the conformance case\'s reference '
    + '(LiteRT natively): Attune by the conformance rule (floats within 1e-5 × max(1, max |ref|), or the case\'s `atol`), '
    + 'LiteRT.js and tfjs-tflite by the rule for peer runtimes (`attune conform --peer`: 1e-2 × max(1, max |ref|)); '
    + 'int8 outputs within one step; top-k ids equal except where the reference scores tie. '
    + 'A cell is the largest float difference, then int8 steps and tied id swaps where there are any.');
  w();
  w(`| model | ${judged.map((n) => NAMES[n]).join(' | ')} |`);
  w(`|---|${judged.map(() => '--:|').join('')}`);
  // the judge's verdicts, summed up per runtime: the worst output of each kind over the runs
  const fd = (verdicts) => {
    if (!verdicts.length) return '–';
    const outs = verdicts.flatMap((v) => v.outputs);
    const worst = (kinds, key) => outs.filter((o) => kinds.includes(o.dtype))
      .reduce((m, o) => (o[key] === null || m === null ? null : Math.max(m, o[key])), 0);
    const f = worst(['f32', 'f16', 'f64'], 'max_diff');
    const steps = worst(['i8', 'u8', 'i16'], 'max_diff');
    const swaps = worst(['i32', 'i64'], 'differing');
    let t = f === null ? 'NaN' : f === 0 ? '0' : f.toExponential(1);
    if (steps) t += `, ${steps} int8 step(s)`;
    if (swaps) t += `, ${swaps} tied id swap(s)`;
    return verdicts.every((v) => v.passed) ? t : `**${t} (disagree)**`;
  };
  for (const m of models) {
    w(`| ${m.label} | ${judged.map((n) => fd(m.rt[n].vs_reference)).join(' | ')} |`);
  }
  w();

  const withCold = models.filter((m) => RUNTIMES.some((n) => m.rt[n].cold));
  if (withCold.length) {
    w(`#### Cold start, ms (median over ${REPEAT} run(s)): fresh page, empty cache, runtime JS import → wasm init → model fetch → load → first result`);
    w();
    const altCol = RUNTIMES.includes('attune_alt');
    w(`| model | Attune | LiteRT.js | tfjs-tflite | Attune / LiteRT.js | Attune / tfjs-tflite |${altCol ? ` ${NAMES.attune_alt} |` : ''}`);
    w(`|---|--:|--:|--:|--:|--:|${altCol ? '--:|' : ''}`);
    for (const m of withCold) {
      const c = (n) => m.rt[n].cold;
      const v2 = (n) => (c(n) == null ? '–' : c(n).total_ms == null ? '✗' : fmtMs(c(n).total_ms));
      w(`| ${m.label} | ${v2('attune')} | ${v2('litert')} | ${v2('tfjs')} | ${ratio(c('attune')?.total_ms, c('litert')?.total_ms)} | ${ratio(c('attune')?.total_ms, c('tfjs')?.total_ms)} |${altCol ? ` ${v2('attune_alt')} |` : ''}`);
    }
    w();
    w('Where the time goes (median ms over all cold starts of each runtime, every model pooled):');
    w();
    w('| runtime | import JS | wasm init | fetch model | load model | first run | total |');
    w('|---|--:|--:|--:|--:|--:|--:|');
    for (const n of RUNTIMES) {
      const all = reps.flatMap((r) => Object.values(r.cold?.[n] ?? {})).filter((x) => x.total_ms != null);
      if (!all.length) continue;
      const md = (k) => fmtMs(median(all.map((x) => x[k])));
      w(`| ${NAMES[n]} | ${md('import_ms')} | ${md('init_ms')} | ${md('fetch_model_ms')} | ${md('load_ms')} | ${md('first_run_ms')} | ${md('total_ms')} |`);
    }
    w();
  }

  if (sizes) {
    w('#### Bytes: each runtime\'s JS + wasm as a cold page fetched them (gzip -9 on the wire)');
    w();
    w('| runtime | files | raw | gzip (transferred) |');
    w('|---|---|--:|--:|');
    for (const n of RUNTIMES) {
      const s = sizes[n];
      if (!s) continue;
      w(`| ${NAMES[n]} | ${s.files.map((f) => `\`${f.path.split('/').pop()}\` ${kb(f.sent)}`).join(', ')} | ${mb(s.raw)} | **${mb(s.sent)}** |`);
    }
    w();
    if (sizes.attune?.stripped) {
      const st = sizes.attune.stripped;
      w(`\`attune_bg.wasm\` as served carries ${Object.entries(st.custom).map(([k, b]) => `a \`${k}\` section of ${kb(b)}`).join(', ')}; `
        + `without the custom sections it is ${mb(st.raw)} raw, ${mb(st.gzip9)} gzip -9.`);
      w();
    }
    const modelBytes = models.filter((m) => m.rt.attune.cold?.bytes)
      .map((m) => `${m.label} ${kb(m.rt.attune.cold.bytes.model_sent)} (${kb(m.rt.attune.cold.bytes.model_raw)} raw)`);
    w(`Not counted above: the \`.tflite\` file, the same bytes for every runtime (gzip on the wire): ${modelBytes.join('; ')}.`);
    w();
  }

  if (reps.some((r) => r.bench.profiles)) {
    w('#### Profile: hottest functions (self time) during the timed runs, first browser run');
    w();
    for (const m of models) {
      const p = reps[0].bench.profiles;
      for (const n of RUNTIMES) {
        const top = p?.[`${m.key}/${n}`];
        if (!top) continue;
        w(`- ${m.label}, ${NAMES[n]}: ${top.slice(0, 6).map((t) => `\`${t.name}\` ${(t.share * 100).toFixed(0)} %`).join(', ')}`);
      }
    }
    w();
  }
  return out.join('\n');
}

// ------------------------------------------------------------------------ main

async function main() {
  const { chromium } = await import('playwright-core');
  if (Q) judgeSelfTest();
  const t0 = Date.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(', ');
  const server = await startServer({ attuneDir: ATTUNE_DIR, attuneAltDir: ALT_DIR, models: MODEL_KEYS });
  const served = builds(server);
  const cases = server.cases;
  const coldKeys = opt['no-cold'] ? [] : opt['cold-models'] ? opt['cold-models'].split(',')
    : Q ? [cases.find((c) => c.key === 'rec_cnn')?.key ?? cases[0].key] : cases.map((c) => c.key);
  const reps = [];
  let browserVersion = '?';
  try {
    for (let rep = 0; rep < REPEAT; rep++) {
      const order = RUNTIMES.map((_, i) => RUNTIMES[(i + rep) % RUNTIMES.length]);
      const browser = await launch(chromium);
      browserVersion = browser.version();
      const r = { order, cold: {} };
      try {
        for (const key of coldKeys) {
          for (const rt of order) {
            const x = await coldStart(browser, server, rt, key);
            (r.cold[rt] ??= {})[key] = x;
            log(`[run ${rep + 1}/${REPEAT}] cold ${rt} ${key}: ${x.error ?? `${x.total_ms.toFixed(0)} ms, ${(x.bytes.runtime_sent / 1e6).toFixed(2)} MB runtime`}`);
          }
        }
        r.bench = await sideBySide(browser, server, order, rep);
      } finally {
        await browser.close();
      }
      judgeRep(r, cases);
      for (const m of r.bench.models) {
        log(`  ${m.key}: ${RUNTIMES.map((n) => `${n} ${m.rt[n]?.error ? 'ERR' : fmtUs(m.rt[n]?.p50_us)}`).join(', ')}`);
      }
      reps.push(r);
    }
  } finally {
    await server.close();
  }
  const models = aggregate(reps, cases);

  // bytes per runtime, from the first cold start of each (they are the same every time)
  let sizes = null;
  const firstCold = (n) => reps[0].cold[n] && Object.values(reps[0].cold[n]).find((x) => x.bytes);
  if (RUNTIMES.every((n) => firstCold(n))) {
    sizes = {};
    for (const n of RUNTIMES) {
      const files = firstCold(n).bytes.files.filter((f) => f.path.startsWith('/rt/'));
      sizes[n] = { files, raw: files.reduce((a, f) => a + f.raw, 0), sent: files.reduce((a, f) => a + f.sent, 0) };
    }
    sizes.attune.stripped = stripCustom(server.bytes('/rt/attune/attune_bg.wasm'));
  }

  const b0 = reps[0].bench;
  const meta = {
    ...machine(browserVersion),
    ...served,
    load_before: loadBefore,
    load_after: loadavg().map((x) => x.toFixed(2)).join(', '),
    wall_s: (Date.now() - t0) / 1000,
    timer_us: b0.timerResolutionUs,
    isolated: b0.crossOriginIsolated,
    user_agent: b0.userAgent,
    options: { quick: Q, repeat: REPEAT, runs: RUNS, warmup: WARMUP, warmup_ms: WARMUP_MS, models: MODEL_KEYS ?? 'all', cold_models: coldKeys },
  };
  const loaded = (n) => sizes?.[n]?.files.filter((f) => f.path.endsWith('.js') || f.path.endsWith('.mjs')).map((f) => f.path.split('/').pop()) ?? [];
  meta.litert_build = loaded('litert').filter((f) => f.startsWith('litert_wasm')).join(', ') || 'wasm/ single-threaded';
  meta.tfjs_build = loaded('tfjs').filter((f) => f.startsWith('tflite_web_api')).join(', ') || 'wasm/ single-threaded';

  const md = report(models, meta, reps, sizes);
  console.log(md);
  if (opt['md-out']) writeFileSync(opt['md-out'], `${md}\n`);
  const jsonOut = opt['json-out'] ?? (Q ? null : join(REPO, 'tests/bench/results', `browser-${meta.date.slice(0, 10)}-${meta.commit}.json`));
  if (jsonOut) {
    mkdirSync(dirname(jsonOut), { recursive: true });
    // 4 significant digits: enough for µs timings and for the max abs diffs (1e-7 stays 1e-7)
    const round = (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v);
    writeFileSync(jsonOut, `${JSON.stringify({ meta, models, sizes, reps }, round, 1)}\n`);
    log(`wrote ${relative(process.cwd(), jsonOut)}`);
  }

  const { problems, warnings } = checks(models);
  for (const x of warnings) log(`warning: ${x}`);
  if (problems.length) {
    log(`\nFAILED: ${problems.length} problem(s):`);
    for (const p of problems) log(`  - ${p}`);
    return 1;
  }
  log(`\nOK: the judge passes every output each runtime produced (${models.length} models).`);
  return 0;
}

process.exitCode = await main();
