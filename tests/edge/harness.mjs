// Starts the built Worker (edge/build) on real workerd through Miniflare, listening on
// 127.0.0.1, with the bindings and vars of one bundle source. Used by every edge test.
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";

export const ROOT = resolve(import.meta.dirname, "../..");
export const EDGE = join(ROOT, "edge");
export const API_KEY = "test-key-7d1f0c3a9b2e4d5f";
export const OTHER_KEY = "rotated-key-5e6f7a8b9c0d1e2f";
export const PUBLIC_KEY = readFileSync(join(ROOT, "models/movielens-100k/sequence/manifest.pub"), "utf8").trim();

/** The files a runtime reads from a reference bundle folder, as key → bytes. */
export function bundleFiles(dir) {
  const files = {};
  for (const f of readdirSync(dir)) {
    if (f === "manifest.json" || f === "manifest.sig" || f === "catalog.json" || f.endsWith(".tflite")) {
      files[f] = readFileSync(join(dir, f));
    }
  }
  return files;
}

/**
 * Starts a Worker. `source` is "assets", "r2" or "kv"; `vars` override the defaults;
 * `seed(mf)` runs before the first request (to put a bundle into R2 or KV).
 */
export async function startWorker({ source = "assets", prefix = "movielens-100k/sequence/", vars = {}, seed } = {}) {
  const pkg = join(EDGE, "build/pkg");
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    compatibilityDate: "2026-07-01",
    modulesRoot: EDGE,
    modules: [
      { type: "ESModule", path: join(EDGE, "js/entry.mjs") },
      { type: "ESModule", path: join(pkg, "attune_edge.js") },
      ...readdirSync(join(pkg, "snippets"), { recursive: true })
        .filter((f) => f.endsWith(".js"))
        .map((f) => ({ type: "ESModule", path: join(pkg, "snippets", f) })),
      { type: "CompiledWasm", path: join(pkg, "attune_edge_bg.wasm") },
    ],
    bindings: {
      ATTUNE_API_KEYS: `${API_KEY}, ${OTHER_KEY}`,
      ATTUNE_BUNDLE_SOURCE: source,
      ATTUNE_BUNDLE_PREFIX: prefix,
      ATTUNE_BUNDLE_PUBLIC_KEY: PUBLIC_KEY,
      // The reference bundles are signed with RFC 8032's published TEST 1 key, which
      // the Worker refuses outside development.
      ATTUNE_ALLOW_TEST_KEY: "1",
      ATTUNE_BUNDLE_CHECK_SECONDS: "30",
      ...vars,
    },
    ...(source === "assets"
      ? {
          assets: {
            directory: join(EDGE, "build/assets"),
            binding: "ASSETS",
            routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
          },
        }
      : {}),
    ...(source === "r2" ? { r2Buckets: ["BUNDLE_R2"] } : {}),
    ...(source === "kv" ? { kvNamespaces: ["BUNDLE_KV"] } : {}),
    r2Persist: false,
    kvPersist: false,
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
      stderr.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
    },
  });
  const logs = [];
  const url = await mf.ready;
  if (seed) await seed(mf);
  const base = url.href.replace(/\/$/, "");
  return { mf, base, logs, dispose: () => mf.dispose() };
}

/** Puts a bundle folder's files under `prefix` into the worker's R2 bucket or KV. */
export async function seedBundle(mf, source, dir, prefix = "movielens-100k/sequence/") {
  const files = bundleFiles(dir);
  if (source === "r2") {
    const bucket = await mf.getR2Bucket("BUNDLE_R2");
    // Model and catalog first, manifest last, as the README tells operators to do.
    for (const [k, v] of Object.entries(files).sort(([a], [b]) => (a === "manifest.json") - (b === "manifest.json"))) {
      await bucket.put(prefix + k, v);
    }
  } else if (source === "kv") {
    const kv = await mf.getKVNamespace("BUNDLE_KV");
    for (const [k, v] of Object.entries(files).sort(([a], [b]) => (a === "manifest.json") - (b === "manifest.json"))) {
      await kv.put(prefix + k, v);
    }
  } else {
    throw new Error(`cannot seed ${source}`);
  }
}

export function auth(key = API_KEY) {
  return { authorization: `Bearer ${key}` };
}

/** POST /v1/rank with a JSON body (object or raw string). */
export async function rankRequest(base, body, { key = API_KEY, headers = {} } = {}) {
  const res = await fetch(`${base}/v1/rank`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? auth(key) : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { res, status: res.status, json, text };
}

/** The secret key of RFC 8032 §7.1 TEST 1: published, so anyone with write access to a
 *  bucket can sign a bundle that verifies under that key. */
const TEST1_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/** Signs bytes with the published TEST 1 secret key (RFC 8410 PKCS#8 wrapping). */
export function signWithTestKey(bytes) {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(TEST1_SECRET, "hex")]);
  return sign(null, bytes, createPrivateKey({ key: der, format: "der", type: "pkcs8" }));
}
