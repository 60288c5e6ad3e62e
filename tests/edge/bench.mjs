// Edge benchmark (a measurement, not a test): Worker size, cold start to the first
// ranked response, per-request ranking time for 500 candidates, and the time of the
// worst request the default limits allow, on workerd through Miniflare on 127.0.0.1.
// Prints Markdown tables for BENCHMARKS.md.
//
//   bash edge/build.sh && node tests/edge/bench.mjs [--runs 300] [--colds 5]
//
// Workers' clock advances only at millisecond granularity locally (and not at all
// inside one CPU-bound step on Cloudflare), so the Worker's own Server-Timing `rank`
// figure is averaged over many requests; client-side latency at concurrency 1 adds
// loopback and workerd's HTTP handling, shown separately by /healthz.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { EDGE, ROOT, rankRequest, startWorker } from "./harness.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "300" }, colds: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
const COLDS = Number(values.colds);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const timing = (res, name) => Number(new RegExp(`${name};dur=([\\d.]+)`).exec(res.headers.get("server-timing") ?? "")?.[1]);

// --- size
const pkg = join(EDGE, "build/pkg");
const wasm = readFileSync(join(pkg, "attune_edge_bg.wasm"));
const js = [join(EDGE, "js/entry.mjs"), join(pkg, "attune_edge.js")]
  .concat(readdirSync(join(pkg, "snippets"), { recursive: true }).filter((f) => f.endsWith(".js")).map((f) => join(pkg, "snippets", f)))
  .map((f) => readFileSync(f));
const gz = (b) => gzipSync(b, { level: 9 }).length;
const size = {
  wasm_bytes: wasm.length,
  wasm_gzip: gz(wasm),
  js_gzip: js.reduce((n, b) => n + gz(b), 0),
};

// --- per-request ranking of 500 candidates
const catalog = JSON.parse(readFileSync(join(ROOT, "models/movielens-100k/ranking/catalog.json"), "utf8")).ids;
const profile = JSON.parse(readFileSync(join(ROOT, "examples/profiles/power-user.json"), "utf8"));
const candidates = catalog.slice(0, 500);
const configs = [
  { label: "ranking (`ranking_f32`), 500 candidates", prefix: "movielens-100k/ranking/", request: { k: 10, candidates } },
  { label: "ranking (`ranking_int8`), 500 candidates", prefix: "movielens-100k/ranking/", request: { k: 10, candidates, model: "ranking_int8" } },
  { label: "sequence (catalog-wide model), 500 candidates", prefix: "movielens-100k/sequence/", request: { k: 10, candidates } },
];
const rows = [];
for (const c of configs) {
  const w = await startWorker({ prefix: c.prefix });
  try {
    const body = { profile, request: c.request };
    for (let i = 0; i < 20; i++) await rankRequest(w.base, body);
    const server = [];
    const client = [];
    const health = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const r = await rankRequest(w.base, body);
      client.push(performance.now() - t);
      if (r.status !== 200) throw new Error(r.text);
      server.push(timing(r.res, "rank"));
      const h = performance.now();
      await (await fetch(`${w.base}/healthz`)).arrayBuffer();
      health.push(performance.now() - h);
    }
    rows.push({ label: c.label, rank_mean: mean(server), client_p50: median(client), client_p90: pct(client, 0.9), health_p50: median(health) });
  } finally {
    await w.dispose();
  }
}

// --- the worst request the limits allow: the default limits (edge/src/config.rs,
// Limits::default; the same construction as the native test `the_worst_requests_the_
// limits_allow_stay_within_the_budget` in edge/src/api.rs), and a tighter set for the
// Free plan. Each request sits at every limit: the whole catalog, k at its limit,
// events at theirs, "less like this" items of distinct topic sets up to the control
// limit, explained history at its limit, rules listing the most ids, diversity and
// exploration on.
const LIMIT_SETS = [
  { label: "default limits", events: 2000, k: 200, explain: 3, controls: 500, rules: 100, entries: 5000 },
  { label: "Free-plan limits", events: 500, k: 50, explain: 0, controls: 100, rules: 100, entries: 5000 },
];
function worstRequest(bundleDir, L) {
  const manifest = JSON.parse(readFileSync(join(bundleDir, "manifest.json"), "utf8"));
  const cat = JSON.parse(readFileSync(join(bundleDir, "catalog.json"), "utf8"));
  const topics = manifest.topics.map((t) => t.id);
  const events = Array.from({ length: L.events }, (_, i) => ({ item: cat.ids[i % cat.ids.length], ts: i, type: "like" }));
  const seen = new Set();
  const llt = [];
  cat.ids.forEach((id, i) => {
    const key = [...new Set(cat.topics[i])].sort((a, b) => a - b).join(",");
    if (llt.length < L.controls && !seen.has(key)) {
      seen.add(key);
      llt.push(id);
    }
  });
  const topicRules = Math.min(L.rules - 1, Math.floor(L.entries / topics.length));
  const rules = Array.from({ length: topicRules }, () => ({ kind: "bury", topics, weight: 0.001 }));
  const left = L.entries - topicRules * topics.length;
  rules.push({ kind: "boost", items: Array.from({ length: left }, (_, i) => cat.ids[i % cat.ids.length]), weight: 0.01 });
  return {
    profile: { format_version: 1, events, controls: { less_like_this: llt } },
    request: {
      k: L.k, include_seen: true, diversity: 1, exploration: 0.5, explain_history: L.explain, rules,
      freshness: { weight: 0.1, half_life_days: 30 }, now_ms: 0,
    },
  };
}
const worstRows = [];
for (const L of LIMIT_SETS) {
  const vars = {
    ATTUNE_MAX_EVENTS: String(L.events),
    ATTUNE_MAX_K: String(L.k),
    ATTUNE_MAX_EXPLAIN_HISTORY: String(L.explain),
    ATTUNE_MAX_CONTROLS: String(L.controls),
    ATTUNE_MAX_RULES: String(L.rules),
    ATTUNE_MAX_RULE_ENTRIES: String(L.entries),
  };
  for (const [label, prefix] of [
    ["sequence (catalog-wide model, 1,682 items)", "movielens-100k/sequence/"],
    ["ranking (`ranking_f32`, the catalog as candidates)", "movielens-100k/ranking/"],
  ]) {
    const w = await startWorker({ prefix, vars });
    try {
      const body = worstRequest(join(ROOT, "models", prefix), L);
      const bytes = JSON.stringify(body).length;
      for (let i = 0; i < 5; i++) await rankRequest(w.base, body);
      const server = [];
      const client = [];
      for (let i = 0; i < Math.max(30, Math.floor(RUNS / 5)); i++) {
        const t = performance.now();
        const r = await rankRequest(w.base, body);
        client.push(performance.now() - t);
        if (r.status !== 200) throw new Error(r.text);
        server.push(timing(r.res, "rank") + timing(r.res, "parse"));
      }
      await new Promise((res) => setTimeout(res, 100));
      const work = w.logs
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        })
        .filter((l) => l.msg === "request" && l.model_runs)
        .at(-1);
      worstRows.push({ limits: L.label, label, bytes, server_mean: mean(server), client_p50: median(client), model_runs: work?.model_runs, item_ops: work?.item_ops });
    } finally {
      await w.dispose();
    }
  }
}

// --- cold start: runtime start (workerd + wasm compile) → first ranked response
const colds = [];
for (let i = 0; i < COLDS; i++) {
  const t0 = performance.now();
  const w = await startWorker({ prefix: "movielens-100k/ranking/" });
  const ready = performance.now();
  const r = await rankRequest(w.base, { profile, request: { k: 10, candidates } });
  const first = performance.now();
  if (r.status !== 200) throw new Error(r.text);
  colds.push({ total: first - t0, runtime: ready - t0, first: first - ready, bundle: timing(r.res, "bundle"), rank: timing(r.res, "rank") });
  await w.dispose();
}

const f = (x, d = 1) => x.toFixed(d);
const out = [];
out.push(`Worker module: ${(size.wasm_bytes / 1e6).toFixed(2)} MB wasm, **${(size.wasm_gzip / 1e6).toFixed(2)} MB gzip -9**; JS glue + entry ${(size.js_gzip / 1e3).toFixed(1)} KB gzip.`);
out.push("");
out.push("| request (profile `power-user.json`, k = 10) | Worker `rank` time, mean | client latency p50 / p90 | `/healthz` p50 (HTTP floor) |");
out.push("|---|---|---|---|");
for (const r of rows) out.push(`| ${r.label} | **${f(r.rank_mean, 2)} ms** | ${f(r.client_p50)} / ${f(r.client_p90)} ms | ${f(r.health_p50)} ms |`);
out.push("");
out.push("| worst request the limits allow | bundle | body | Worker `parse` + `rank`, mean | client latency p50 | counted work |");
out.push("|---|---|---|---|---|---|");
for (const r of worstRows) {
  out.push(`| ${r.limits} | ${r.label} | ${(r.bytes / 1024).toFixed(0)} KiB | **${f(r.server_mean, 2)} ms** | ${f(r.client_p50)} ms | ${r.model_runs} model run${r.model_runs === 1 ? "" : "s"}, ${r.item_ops} item steps |`);
}
out.push("");
out.push(
  `Cold start to the first ranked response (ranking bundle, 500 candidates), median of ${COLDS}: **${f(median(colds.map((c) => c.total)), 0)} ms** ` +
    `= runtime start ${f(median(colds.map((c) => c.runtime)), 0)} ms (workerd + wasm compile) + first request ${f(median(colds.map((c) => c.first)), 0)} ms ` +
    `(bundle fetch + verify + prepare ${f(median(colds.map((c) => c.bundle)), 0)} ms, rank ${f(median(colds.map((c) => c.rank)), 0)} ms).`,
);
console.log(out.join("\n"));
console.log(`\nraw: ${JSON.stringify({ size, rows, worstRows, colds })}`);
