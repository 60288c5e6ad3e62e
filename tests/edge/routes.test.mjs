// Every route, auth, CORS, Server-Timing, logs and panic recovery, on real workerd
// with the bundle served from static assets (the default wrangler.toml source).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { API_KEY, OTHER_KEY, ROOT, auth, rankRequest, startWorker } from "./harness.mjs";

const ORIGIN = "https://app.example.com";
let w;

before(async () => {
  w = await startWorker({ vars: { ATTUNE_CORS_ORIGINS: ORIGIN, ATTUNE_FAULT_INJECTION: "1" } });
});
after(async () => {
  await w?.dispose();
});

describe("routes", () => {
  test("GET /healthz needs no key", async () => {
    const res = await fetch(`${w.base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
    const post = await fetch(`${w.base}/healthz`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal((await post.json()).code, "E_METHOD_NOT_ALLOWED");
  });

  test("GET /v1/bundle names the bundle and its manifest hash", async () => {
    const res = await fetch(`${w.base}/v1/bundle`, { headers: auth() });
    assert.equal(res.status, 200);
    const info = await res.json();
    const manifest = readFileSync(join(ROOT, "models/movielens-100k/sequence/manifest.json"));
    assert.equal(info.name, "movielens-100k-sequence");
    assert.equal(info.version, JSON.parse(manifest).version);
    assert.equal(info.hash, `sha256:${createHash("sha256").update(manifest).digest("hex")}`);
    assert.equal(info.signature_verified, true);
    assert.equal(info.source, "assets");
    assert.equal(info.num_items, 1682);
    assert.equal(res.headers.get("attune-bundle"), `movielens-100k-sequence@${info.version}`);
  });

  test("POST /v1/rank ranks with reasons, from events and picks or a profile", async () => {
    const picks = await rankRequest(w.base, { onboarding: { picked_topics: ["sci-fi", "war"] }, request: { k: 5 } });
    assert.equal(picks.status, 200, picks.text);
    assert.equal(picks.json.items.length, 5);
    assert.deepEqual(
      picks.json.items.map((i) => i.rank),
      [1, 2, 3, 4, 5],
    );
    assert.ok(picks.json.items.every((i) => i.reasons.length > 0 && Number.isFinite(i.score)));
    assert.ok(picks.json.items[0].reasons.some((r) => r.kind === "picked_topic"));
    const events = [
      { item: "50", ts: 1000, type: "rating", value: 5 },
      { item: "181", ts: 2000, type: "like" },
      { item: "172", ts: 3000, type: "view" },
    ];
    const byEvents = await rankRequest(w.base, { events, request: { k: 10, candidates: ["1", "2", "50", "181", "174", "195", "96"] } });
    assert.equal(byEvents.status, 200, byEvents.text);
    assert.equal(byEvents.json.counts.candidates, 7);
    // Seen items are left out by default.
    assert.ok(byEvents.json.items.every((i) => i.id !== "50" && i.id !== "181"));
    const byProfile = await rankRequest(w.base, {
      profile: { format_version: 1, events },
      request: { k: 10, candidates: ["1", "2", "50", "181", "174", "195", "96"] },
    });
    assert.deepEqual(byProfile.json, byEvents.json);
  });

  test("unknown routes and methods", async () => {
    const res = await fetch(`${w.base}/v2/rank`, { headers: auth() });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, "E_NOT_FOUND");
    const get = await fetch(`${w.base}/v1/rank`, { headers: auth() });
    assert.equal(get.status, 405);
    assert.equal((await get.json()).code, "E_METHOD_NOT_ALLOWED");
  });

  test("Server-Timing reports bundle, parse, rank (with the model) and total", async () => {
    const r = await rankRequest(w.base, { request: { k: 3 } });
    const st = r.res.headers.get("server-timing");
    assert.match(st, /bundle;dur=[\d.]+;desc="(reused|loaded)"/);
    assert.match(st, /parse;dur=[\d.]+/);
    assert.match(st, /rank;dur=[\d.]+;desc="model sequence"/);
    assert.match(st, /total;dur=[\d.]+/);
  });
});

describe("auth", () => {
  for (const path of ["/v1/rank", "/v1/bundle"]) {
    test(`${path}: missing, wrong or malformed key → 401 with the same body`, async () => {
      const method = path === "/v1/rank" ? "POST" : "GET";
      const body = method === "POST" ? "{}" : undefined;
      const bodies = new Set();
      for (const headers of [
        {},
        { authorization: "Bearer not-a-key" },
        { authorization: `Bearer ${API_KEY}x` },
        { authorization: `Bearer ${API_KEY.slice(0, -1)}` },
        { authorization: `Basic ${API_KEY}` },
        { authorization: API_KEY },
        { authorization: "Bearer " },
      ]) {
        const res = await fetch(`${w.base}${path}`, { method, headers, body });
        assert.equal(res.status, 401, JSON.stringify(headers));
        bodies.add(await res.text());
      }
      assert.equal(bodies.size, 1);
      const only = JSON.parse([...bodies][0]);
      assert.equal(only.code, "E_UNAUTHORIZED");
      assert.ok(!/key/i.test(only.message.replace("API key", "")), "no detail about keys");
    });
  }

  test("every configured key works (rotation)", async () => {
    for (const key of [API_KEY, OTHER_KEY]) {
      const res = await fetch(`${w.base}/v1/bundle`, { headers: auth(key) });
      assert.equal(res.status, 200);
    }
  });

  test("no keys configured → 401, never open", async () => {
    const open = await startWorker({ vars: { ATTUNE_API_KEYS: "" } });
    try {
      const res = await fetch(`${open.base}/v1/bundle`, { headers: auth() });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).code, "E_UNAUTHORIZED");
    } finally {
      await open.dispose();
    }
  });
});

describe("CORS", () => {
  test("preflight from an allowed origin", async () => {
    const res = await fetch(`${w.base}/v1/rank`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(res.headers.get("access-control-allow-headers"), /Authorization/);
    assert.match(res.headers.get("access-control-allow-methods"), /POST/);
  });

  test("responses carry CORS headers for allowed origins only", async () => {
    const ok = await rankRequest(w.base, { request: { k: 1 } }, { headers: { origin: ORIGIN } });
    assert.equal(ok.res.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(ok.res.headers.get("access-control-expose-headers"), /Server-Timing/);
    const other = await rankRequest(w.base, { request: { k: 1 } }, { headers: { origin: "https://evil.example" } });
    assert.equal(other.status, 200);
    assert.equal(other.res.headers.get("access-control-allow-origin"), null);
    const pre = await fetch(`${w.base}/v1/rank`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    assert.equal(pre.headers.get("access-control-allow-origin"), null);
  });
});

describe("logs and failures", () => {
  test("logs are JSON lines without user data", async () => {
    const marker = "user-secret-item-93f1";
    const r = await rankRequest(w.base, {
      events: [{ item: marker, ts: 1, type: "like" }],
      onboarding: { picked_topics: ["drama"] },
      request: { k: 2 },
    });
    assert.equal(r.status, 200);
    const bad = await rankRequest(w.base, { request: { k: 2, candidates: [marker] } });
    assert.equal(bad.json.code, "E_RANK_UNKNOWN_ITEM");
    // Give workerd's stdout a moment to reach us.
    await new Promise((res) => setTimeout(res, 200));
    const lines = w.logs.filter((l) => l.startsWith("{"));
    assert.ok(lines.length > 0);
    for (const l of lines) {
      const entry = JSON.parse(l);
      assert.equal(typeof entry.ts, "number");
      assert.equal(typeof entry.msg, "string");
    }
    assert.ok(!w.logs.some((l) => l.includes(marker) || l.includes("drama")), "user data in logs");
    assert.ok(lines.some((l) => JSON.parse(l).code === "E_RANK_UNKNOWN_ITEM"));
  });

  test("a panic is a 500 with a code, and the next request is served", async () => {
    const res = await fetch(`${w.base}/v1/_fault?panic`, { method: "POST", headers: auth() });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).code, "E_PANIC");
    const next = await rankRequest(w.base, { request: { k: 3 } });
    assert.equal(next.status, 200, next.text);
    assert.equal(next.json.items.length, 3);
  });

  test("a panic fails the requests in flight with 500, none hangs", async () => {
    const all = await Promise.all([
      rankRequest(w.base, { request: { k: 3 } }).then((r) => r.status),
      fetch(`${w.base}/v1/_fault?panic`, { method: "POST", headers: auth() }).then((r) => r.status),
      rankRequest(w.base, { request: { k: 3 } }).then((r) => r.status),
    ]);
    assert.equal(all[1], 500);
    for (const s of all) assert.ok(s === 200 || s === 500, String(s));
    const next = await rankRequest(w.base, { request: { k: 3 } });
    assert.equal(next.status, 200);
  });

  test("fault injection is off unless configured", async () => {
    const plain = await startWorker();
    try {
      const res = await fetch(`${plain.base}/v1/_fault?panic`, { method: "POST", headers: auth() });
      assert.equal(res.status, 404);
    } finally {
      await plain.dispose();
    }
  });
});
