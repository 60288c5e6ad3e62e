// `wrangler dev` from edge/, as the README tells a developer to run it, serves
// rankings on 127.0.0.1: proves wrangler.toml (build command, assets, vars) works.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { API_KEY, EDGE, PUBLIC_KEY, rankRequest } from "./harness.mjs";

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test("npx wrangler dev serves rankings on localhost", { timeout: 240_000 }, async () => {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "attune-wrangler-"));
  const child = spawn(
    "npx",
    ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--var", `ATTUNE_API_KEYS:${API_KEY}`,
     // wrangler.toml ships no bundle key: pin the reference bundles' published test key,
     // which needs the development flag.
     "--var", `ATTUNE_BUNDLE_PUBLIC_KEY:${PUBLIC_KEY}`, "--var", "ATTUNE_ALLOW_TEST_KEY:1"],
    // Own process group, so the whole tree (npx → wrangler → workerd) is stopped.
    { cwd: EDGE, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" } },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 200_000;
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      try {
        ready = (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert.ok(ready, `wrangler dev did not come up:\n${output.slice(-3000)}`);
    const r = await rankRequest(base, { onboarding: { picked_topics: ["sci-fi"] }, request: { k: 5 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.items.length, 5);
    assert.match(r.res.headers.get("server-timing") ?? "", /rank;dur=/);
    const denied = await rankRequest(base, { request: { k: 5 } }, { key: "wrong" });
    assert.equal(denied.status, 401);
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    rmSync(state, { recursive: true, force: true });
  }
});
