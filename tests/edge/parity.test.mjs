// Parity: every golden case (tests/golden/*.json) ranked over HTTP by the Worker gives
// the same list as the native build — the whole `Ranking` from `attune rank --json`
// (ids, scores, reasons, inputs, counts) and the case's recorded expectation.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, rankRequest, seedBundle, startWorker } from "./harness.mjs";

// Same tolerance as the crate's golden check (crates/attune/src/golden.rs): f32
// kernels sum in a different order natively (x86 SIMD) and in wasm simd128.
const TOLERANCE = 1e-4;
const close = (a, b) => Math.abs(a - b) <= TOLERANCE * (1 + Math.max(Math.abs(a), Math.abs(b)));

function assertClose(got, want, path = "") {
  if (typeof want === "number" && typeof got === "number") {
    assert.ok(close(got, want), `${path}: ${got} vs ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), path);
    assert.equal(got.length, want.length, `${path}: length`);
    want.forEach((w, i) => assertClose(got[i], w, `${path}[${i}]`));
  } else if (want && typeof want === "object") {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${path}: keys`);
    for (const k of Object.keys(want)) assertClose(got[k], want[k], `${path}.${k}`);
  } else {
    assert.equal(got, want, path);
  }
}

/** Item lists equal up to swaps of near-tied items (as the golden check allows). */
function assertSameList(got, want, label) {
  assert.equal(got.length, want.length, `${label}: item count`);
  const byId = new Map(want.map((it) => [it.id, it]));
  got.forEach((g, i) => {
    const w = byId.get(g.id);
    assert.ok(w, `${label}: unexpected item ${g.id}`);
    if (want[i].id !== g.id) {
      assert.ok(close(w.score, want[i].score), `${label}: ${g.id} at ${i + 1}, expected ${want[i].id}`);
    }
    const { rank: _r1, ...gRest } = g;
    const { rank: _r2, ...wRest } = w;
    assertClose(gRest, wRest, `${label} ${g.id}`);
  });
}

const CASES = readdirSync(join(ROOT, "tests/golden"))
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(ROOT, "tests/golden", f), "utf8")) }));
// The native CLI the test command builds (scripts/env.sh), or a release build.
const CLI = process.env.ATTUNE_CLI ?? join(ROOT, "target/release/attune");
const workers = {};
let tmp;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "attune-edge-parity-"));
  // The sequence bundle from static assets, the ranking bundle from R2.
  workers["models/movielens-100k/sequence"] = await startWorker({ source: "assets" });
  workers["models/movielens-100k/ranking"] = await startWorker({
    source: "r2",
    prefix: "movielens-100k/ranking/",
    seed: (mf) => seedBundle(mf, "r2", join(ROOT, "models/movielens-100k/ranking"), "movielens-100k/ranking/"),
  });
});
after(async () => {
  for (const w of Object.values(workers)) await w.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the golden cases cover both bundles", () => {
  assert.ok(CASES.length >= 5);
  for (const c of CASES) assert.ok(workers[c.bundle] || c.bundle in workers, c.bundle);
});

for (const c of CASES) {
  test(`${c.file}: HTTP = native = golden`, async () => {
    const w = workers[c.bundle];
    const r = await rankRequest(w.base, { profile: c.profile, request: c.request });
    assert.equal(r.status, 200, r.text);

    const profile = join(tmp, `${c.file}.profile.json`);
    const request = join(tmp, `${c.file}.request.json`);
    writeFileSync(profile, JSON.stringify(c.profile));
    writeFileSync(request, JSON.stringify(c.request));
    const native = JSON.parse(
      execFileSync(CLI, ["rank", join(ROOT, c.bundle), "--profile", profile, "--request", request, "--json"], {
        encoding: "utf8",
      }),
    );
    assert.equal(r.json.model, native.model);
    assert.deepEqual(r.json.counts, native.counts);
    assertClose(r.json.inputs, native.inputs, "inputs");
    assertSameList(r.json.items, native.items, `${c.file} vs native`);

    const expect = c.expect.map(({ id, score, model_score, reasons }) => ({ id, score, model_score, reasons: reasons.length }));
    const got = r.json.items.map(({ id, score, model_score, reasons }) => ({ id, score, model_score, reasons: reasons.length }));
    assertSameList(got, expect, `${c.file} vs golden`);
  });
}
