// Each bundle source (R2 and KV here; static assets in routes.test.mjs), bundles
// updated without a restart, and bundles that must be refused.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { PUBLIC_KEY, ROOT, auth, bundleFiles, rankRequest, seedBundle, signWithTestKey, startWorker } from "./harness.mjs";

const SEQUENCE = join(ROOT, "models/movielens-100k/sequence");
const RANKING = join(ROOT, "models/movielens-100k/ranking");

async function bundleInfo(base) {
  const res = await fetch(`${base}/v1/bundle`, { headers: auth() });
  return { status: res.status, json: await res.json() };
}

async function put(mf, source, key, bytes) {
  if (source === "r2") await (await mf.getR2Bucket("BUNDLE_R2")).put(key, bytes);
  else await (await mf.getKVNamespace("BUNDLE_KV")).put(key, bytes);
}

for (const source of ["r2", "kv"]) {
  describe(`bundle from ${source}`, () => {
    test("serves rankings from the seeded bundle", async () => {
      const w = await startWorker({ source, seed: (mf) => seedBundle(mf, source, SEQUENCE) });
      try {
        const info = await bundleInfo(w.base);
        assert.equal(info.status, 200);
        assert.equal(info.json.source, source);
        assert.equal(info.json.name, "movielens-100k-sequence");
        assert.equal(info.json.signature_verified, true);
        const r = await rankRequest(w.base, { onboarding: { picked_topics: ["comedy"] }, request: { k: 4 } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.items.length, 4);
      } finally {
        await w.dispose();
      }
    });

    test("a new bundle is picked up without a restart; a bad one is refused and the old one kept", async () => {
      const w = await startWorker({
        source,
        prefix: "live/",
        vars: { ATTUNE_BUNDLE_CHECK_SECONDS: "0" },
        seed: (mf) => seedBundle(mf, source, SEQUENCE, "live/"),
      });
      try {
        const before = await bundleInfo(w.base);
        assert.equal(before.json.name, "movielens-100k-sequence");
        const r1 = await rankRequest(w.base, { request: { k: 3 } });
        assert.equal(r1.json.model, "sequence");

        await seedBundle(w.mf, source, RANKING, "live/");
        const afterUpdate = await bundleInfo(w.base);
        assert.equal(afterUpdate.status, 200);
        assert.equal(afterUpdate.json.name, "movielens-100k-ranking");
        assert.notEqual(afterUpdate.json.hash, before.json.hash);
        const r2 = await rankRequest(w.base, { request: { k: 3 } });
        assert.equal(r2.status, 200, r2.text);
        assert.equal(r2.json.model, afterUpdate.json.default_model);

        // A manifest that no longer matches its signature: refused, old bundle kept.
        const manifest = bundleFiles(SEQUENCE)["manifest.json"];
        await put(w.mf, source, "live/manifest.json", Buffer.concat([manifest, Buffer.from("\n")]));
        const afterBad = await bundleInfo(w.base);
        assert.equal(afterBad.status, 200);
        assert.equal(afterBad.json.hash, afterUpdate.json.hash);
        const r3 = await rankRequest(w.base, { request: { k: 3 } });
        assert.equal(r3.status, 200);
        await new Promise((res) => setTimeout(res, 200));
        const failures = w.logs.filter((l) => l.includes('"bundle_update_failed"')).map((l) => JSON.parse(l));
        assert.ok(failures.some((f) => f.code === "E_BUNDLE_SIGNATURE"), w.logs.join("\n"));
      } finally {
        await w.dispose();
      }
    });
  });
}

describe("bundles that cannot be served", () => {
  test("an empty source → 503 E_BUNDLE_MISSING_FILE, for every request", async () => {
    const w = await startWorker({ source: "r2" });
    try {
      for (let i = 0; i < 2; i++) {
        const info = await bundleInfo(w.base);
        assert.equal(info.status, 503);
        assert.equal(info.json.code, "E_BUNDLE_MISSING_FILE");
        const r = await rankRequest(w.base, { request: { k: 3 } });
        assert.equal(r.status, 503);
        assert.equal(r.json.code, "E_BUNDLE_MISSING_FILE");
      }
      // Bad input is still the caller's 4xx, whatever the bundle's state.
      const bad = await rankRequest(w.base, "{not json");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, "E_JSON_MALFORMED");
    } finally {
      await w.dispose();
    }
  });

  test("a catalog that differs from its sha256 → 503 E_BUNDLE_INTEGRITY", async () => {
    const w = await startWorker({
      source: "kv",
      seed: async (mf) => {
        await seedBundle(mf, "kv", SEQUENCE);
        const catalog = bundleFiles(SEQUENCE)["catalog.json"];
        const tampered = Buffer.from(catalog);
        tampered[tampered.indexOf("Toy Story")] = "B".charCodeAt(0);
        await put(mf, "kv", "movielens-100k/sequence/catalog.json", tampered);
      },
    });
    try {
      const info = await bundleInfo(w.base);
      assert.equal(info.status, 503);
      assert.equal(info.json.code, "E_BUNDLE_INTEGRITY");
    } finally {
      await w.dispose();
    }
  });

  test("a missing signature with a pinned key → 503 E_BUNDLE_SIGNATURE; without a key it loads", async () => {
    const seed = async (mf) => {
      const files = bundleFiles(SEQUENCE);
      delete files["manifest.sig"];
      for (const [k, v] of Object.entries(files)) await put(mf, "r2", `movielens-100k/sequence/${k}`, v);
    };
    const pinned = await startWorker({ source: "r2", seed });
    try {
      const info = await bundleInfo(pinned.base);
      assert.equal(info.status, 503);
      assert.equal(info.json.code, "E_BUNDLE_SIGNATURE");
    } finally {
      await pinned.dispose();
    }
    const unpinned = await startWorker({ source: "r2", vars: { ATTUNE_BUNDLE_PUBLIC_KEY: "", ATTUNE_ALLOW_UNSIGNED: "1" }, seed });
    try {
      const info = await bundleInfo(unpinned.base);
      assert.equal(info.status, 200);
      assert.equal(info.json.signature_verified, false);
      // Allowed, and said loudly on the load.
      await new Promise((res) => setTimeout(res, 200));
      const warnings = unpinned.logs.filter((l) => l.includes('"bundle_unsigned"')).map((l) => JSON.parse(l));
      assert.equal(warnings.length, 1, unpinned.logs.join("\n"));
      assert.equal(warnings[0].level, "warn");
    } finally {
      await unpinned.dispose();
    }
  });

  // Issue 12, finding 4: the configuration shipped no key (and pinned a public test
  // key), so a bucket writer could sign what they liked.
  test("no key, or a published test key, without a development flag → 500 E_CONFIG", async () => {
    for (const vars of [
      { ATTUNE_BUNDLE_PUBLIC_KEY: "" },
      { ATTUNE_BUNDLE_PUBLIC_KEY: PUBLIC_KEY, ATTUNE_ALLOW_TEST_KEY: "" },
    ]) {
      const w = await startWorker({ source: "r2", vars, seed: (mf) => seedBundle(mf, "r2", SEQUENCE) });
      try {
        const info = await bundleInfo(w.base);
        assert.equal(info.status, 500, JSON.stringify(vars));
        assert.equal(info.json.code, "E_CONFIG");
        const r = await rankRequest(w.base, { request: { k: 3 } });
        assert.equal(r.status, 500);
        assert.equal(r.json.code, "E_CONFIG");
      } finally {
        await w.dispose();
      }
    }
  });

  // Finding 6: an older signed manifest cannot replace the bundle in service, and the
  // bundle name is bound.
  test("an older signed bundle is refused and the newer one kept; another name is refused", async () => {
    const w = await startWorker({
      source: "kv",
      vars: { ATTUNE_BUNDLE_CHECK_SECONDS: "0" },
      seed: (mf) => seedBundle(mf, "kv", SEQUENCE),
    });
    try {
      const files = bundleFiles(SEQUENCE);
      const m = JSON.parse(files["manifest.json"]);
      m.version = "1.0.1";
      const v101 = Buffer.from(JSON.stringify(m));
      await put(w.mf, "kv", "movielens-100k/sequence/manifest.sig", signWithTestKey(v101));
      await put(w.mf, "kv", "movielens-100k/sequence/manifest.json", v101);
      assert.equal((await bundleInfo(w.base)).json.version, "1.0.1");
      // Replay 1.0.0, genuinely signed.
      await put(w.mf, "kv", "movielens-100k/sequence/manifest.sig", files["manifest.sig"]);
      await put(w.mf, "kv", "movielens-100k/sequence/manifest.json", files["manifest.json"]);
      const after = await bundleInfo(w.base);
      assert.equal(after.status, 200);
      assert.equal(after.json.version, "1.0.1");
      await new Promise((res) => setTimeout(res, 200));
      const failures = w.logs.filter((l) => l.includes('"bundle_update_failed"')).map((l) => JSON.parse(l));
      assert.ok(failures.some((f) => f.code === "E_BUNDLE_ROLLBACK"), w.logs.join("\n"));
    } finally {
      await w.dispose();
    }
    const named = await startWorker({
      source: "r2",
      prefix: "movielens-100k/ranking/",
      vars: { ATTUNE_BUNDLE_NAME: "movielens-100k-sequence" },
      seed: (mf) => seedBundle(mf, "r2", RANKING, "movielens-100k/ranking/"),
    });
    try {
      const info = await bundleInfo(named.base);
      assert.equal(info.status, 503);
      assert.equal(info.json.code, "E_BUNDLE_NAME");
    } finally {
      await named.dispose();
    }
  });

  test("concurrent cold requests share one bundle load", async () => {
    const w = await startWorker({ source: "r2", seed: (mf) => seedBundle(mf, "r2", SEQUENCE) });
    try {
      const all = await Promise.all(Array.from({ length: 8 }, () => rankRequest(w.base, { request: { k: 2 } })));
      for (const r of all) assert.equal(r.status, 200, r.text);
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(w.logs.filter((l) => l.includes('"bundle_loaded"')).length, 1);
    } finally {
      await w.dispose();
    }
  });
});
