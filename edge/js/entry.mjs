// The Worker's entry module. `wasm-bindgen --target module` produces the glue
// (build/pkg/attune_edge.js) whose `fetch` export is the Rust `#[event(fetch)]`
// handler; this module only adds what Rust cannot do for itself once it has panicked.
//
// Stable Rust builds wasm32 with panic = "abort" (unwinding needs nightly and
// -Zbuild-std), so a panic traps the instance and the promise of every request in
// flight would never settle. The Rust panic hook calls `globalThis.__attunePanic`;
// we answer those requests with 500 E_PANIC at once, and the next request starts on a
// fresh instance (`__wbg_reset_state`, emitted by --experimental-reset-state-function),
// which reloads the bundle. A deadline guards against a bundle source that never
// answers, so no request hangs.
import * as glue from "../build/pkg/attune_edge.js";

const DEFAULT_DEADLINE_MS = 25_000;

let poisoned = false;
const inFlight = new Set();

function log(fields) {
  console.log(JSON.stringify({ ts: Date.now(), ...fields }));
}

function errorResponse(status, code, message) {
  return new Response(JSON.stringify({ code, message }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

globalThis.__attunePanic = (message) => {
  poisoned = true;
  // The message is the panic's own text (code location and cause), not request data.
  log({ level: "error", msg: "panic", detail: String(message).slice(0, 300) });
  for (const fail of inFlight) fail();
  inFlight.clear();
};

export default {
  async fetch(request, env, ctx) {
    if (poisoned) {
      poisoned = false;
      glue.__wbg_reset_state();
      log({ level: "warn", msg: "wasm_instance_reset" });
    }
    let fail;
    const panicked = new Promise((resolve) => {
      fail = resolve;
      inFlight.add(resolve);
    }).then(() => errorResponse(500, "E_PANIC", "internal error; the request was not completed"));
    const deadlineMs = Number(env.ATTUNE_DEADLINE_MS) || DEFAULT_DEADLINE_MS;
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(
        () => resolve(errorResponse(503, "E_TIMEOUT", "the request took too long; retry")),
        deadlineMs,
      );
    });
    try {
      return await Promise.race([glue.fetch(request, env, ctx), panicked, late]);
    } catch (e) {
      // An exception out of the glue itself: a trap before the hook ran, or a bug.
      if (e instanceof WebAssembly.RuntimeError) poisoned = true;
      log({ level: "error", msg: "internal_error", error: e?.name ?? "unknown" });
      return errorResponse(500, "E_INTERNAL", "internal error");
    } finally {
      inFlight.delete(fail);
      clearTimeout(timer);
    }
  },
};
