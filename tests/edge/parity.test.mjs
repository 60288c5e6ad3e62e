// Parity: every golden case (tests/golden/*.json) ranked over HTTP by the Worker. The
// Worker's rankings are written to files and judged by the native CLI
// (`attune golden-check --actual`, tests/lib/judge.mjs): items against the recorded
// expectation, and model, counts and inputs against the native build's own ranking.
// This file compares nothing itself.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GoldenOutputs } from "../lib/judge.mjs";
import { ROOT, rankRequest, seedBundle, startWorker } from "./harness.mjs";

const CASES = readdirSync(join(ROOT, "tests/golden"))
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(ROOT, "tests/golden", f), "utf8")) }));
const workers = {};
const outputs = new GoldenOutputs();

before(async () => {
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
  outputs.dispose();
});

test("the golden cases cover both bundles", () => {
  assert.ok(CASES.length >= 5);
  for (const c of CASES) assert.ok(workers[c.bundle] || c.bundle in workers, c.bundle);
});

for (const c of CASES) {
  test(`${c.file}: ranked over HTTP`, async () => {
    const w = workers[c.bundle];
    const r = await rankRequest(w.base, { profile: c.profile, request: c.request });
    assert.equal(r.status, 200, r.text);
    outputs.add(c.file, r.text);
  });
}

test("the Worker's rankings = golden expectations and native rankings (attune golden-check --actual)", () => {
  const verdict = outputs.judge("tests/golden");
  assert.ok(verdict.ok, verdict.stdout);
});
