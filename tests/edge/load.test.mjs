// Bounded load test: 10,000 requests, 50 at a time, against one workerd instance
// (the ranking bundle, 500 candidates per ranking). Passes only with zero 5xx and
// zero failed or timed-out requests; reports p50/p99 latency as test diagnostics.
// ATTUNE_EDGE_LOAD_REQUESTS / ATTUNE_EDGE_LOAD_CONCURRENCY override the sizes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { API_KEY, ROOT, startWorker } from "./harness.mjs";

const TOTAL = Number(process.env.ATTUNE_EDGE_LOAD_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.ATTUNE_EDGE_LOAD_CONCURRENCY ?? 50);
const PER_REQUEST_TIMEOUT_MS = 15_000;

const catalogIds = JSON.parse(readFileSync(join(ROOT, "models/movielens-100k/ranking/catalog.json"), "utf8")).ids;
const topics = JSON.parse(readFileSync(join(ROOT, "models/movielens-100k/ranking/manifest.json"), "utf8")).topics.map((t) => t.id);

/** Deterministic request bodies: different users, candidate windows and k. */
function bodies(n) {
  let seed = 42;
  const rand = (m) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % m;
  };
  return Array.from({ length: n }, (_, u) => {
    const events = Array.from({ length: rand(30) }, (_, i) => ({
      item: catalogIds[rand(catalogIds.length)],
      ts: 1_000 * (i + 1),
      type: ["view", "like", "click"][rand(3)],
    }));
    const start = rand(catalogIds.length - 500);
    return JSON.stringify({
      events,
      onboarding: { picked_topics: [topics[rand(topics.length)], topics[rand(topics.length)]] },
      request: { k: 10 + rand(41), candidates: catalogIds.slice(start, start + 500), seed: u },
    });
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

test(`load: ${TOTAL} requests, ${CONCURRENCY} concurrent, zero 5xx`, { timeout: 600_000 }, async (t) => {
  const w = await startWorker({ prefix: "movielens-100k/ranking/" });
  try {
    const pool = bodies(64);
    const headers = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
    // Warm the isolate (bundle load) so the figures are steady-state ones.
    const warm = await fetch(`${w.base}/v1/rank`, { method: "POST", headers, body: pool[0] });
    assert.equal(warm.status, 200, await warm.text());

    const statuses = new Map();
    const errors = [];
    const latencies = { rank: [], bundle: [], healthz: [] };
    let next = 0;
    const t0 = performance.now();
    async function client() {
      for (let i = next++; i < TOTAL; i = next++) {
        // 90 % rankings, 5 % bundle info, 5 % health checks.
        const kind = i % 20 === 0 ? "bundle" : i % 20 === 10 ? "healthz" : "rank";
        const init =
          kind === "rank"
            ? { method: "POST", headers, body: pool[i % pool.length] }
            : { headers: kind === "bundle" ? headers : {} };
        const url = `${w.base}${kind === "rank" ? "/v1/rank" : kind === "bundle" ? "/v1/bundle" : "/healthz"}`;
        const start = performance.now();
        try {
          const res = await fetch(url, { ...init, signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS) });
          await res.arrayBuffer();
          latencies[kind].push(performance.now() - start);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        } catch (e) {
          errors.push(`${kind}: ${e.name} ${e.cause?.code ?? e.message}`);
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
    const seconds = (performance.now() - t0) / 1000;

    const rank = latencies.rank.sort((a, b) => a - b);
    const all = [...latencies.rank, ...latencies.bundle, ...latencies.healthz].sort((a, b) => a - b);
    const fivexx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    const summary = {
      requests: TOTAL,
      concurrency: CONCURRENCY,
      seconds: +seconds.toFixed(1),
      rps: Math.round(TOTAL / seconds),
      statuses: Object.fromEntries(statuses),
      errors: errors.length,
      fivexx,
      rank_p50_ms: +pct(rank, 0.5).toFixed(1),
      rank_p99_ms: +pct(rank, 0.99).toFixed(1),
      all_p50_ms: +pct(all, 0.5).toFixed(1),
      all_p99_ms: +pct(all, 0.99).toFixed(1),
    };
    t.diagnostic(`edge load ${JSON.stringify(summary)}`);
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} failed requests`);
    assert.equal(fivexx, 0, JSON.stringify(summary.statuses));
    assert.equal(statuses.get(200), TOTAL, JSON.stringify(summary.statuses));
  } finally {
    await w.dispose();
  }
});
