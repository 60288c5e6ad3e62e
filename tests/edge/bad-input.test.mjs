// Each class of bad input gets a 4xx with {code, message}; none gets a 5xx.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import { API_KEY, rankRequest, startWorker } from "./harness.mjs";

let w;
const LIMITS = {
  ATTUNE_MAX_BODY_BYTES: "65536",
  ATTUNE_MAX_CANDIDATES: "500",
  ATTUNE_MAX_K: "50",
  ATTUNE_MAX_EVENTS: "100",
  ATTUNE_MAX_EXPLAIN_HISTORY: "2",
  ATTUNE_MAX_RULES: "3",
  ATTUNE_MAX_RULE_ENTRIES: "10",
  ATTUNE_MAX_FILTERS: "2",
  ATTUNE_MAX_FILTER_VALUES: "4",
  ATTUNE_MAX_CONTROLS: "5",
};

before(async () => {
  w = await startWorker({ vars: LIMITS });
});
after(async () => {
  await w?.dispose();
});

const ids = (n) => Array.from({ length: n }, (_, i) => String(i + 1));

// [name, body (object or raw JSON text), expected code, expected status]
const CASES = [
  ["malformed JSON", '{"request": {"k": 3}', "E_JSON_MALFORMED", 400],
  ["not JSON at all", "rank me please", "E_JSON_MALFORMED", 400],
  ["empty body", "", "E_JSON_MALFORMED", 400],
  ["NaN literal", '{"request": {"diversity": NaN}}', "E_JSON_MALFORMED", 400],
  ["Infinity literal", '{"request": {"exploration": Infinity}}', "E_JSON_MALFORMED", 400],
  ["-Infinity literal", '{"request": {"context": {"x": -Infinity}}}', "E_JSON_MALFORMED", 400],
  ["number beyond f64", '{"request": {"diversity": 1e400}}', "E_JSON_MALFORMED", 400],
  ["k beyond usize", '{"request": {"k": 1e30}}', "E_JSON_INVALID", 400],
  ["array instead of object", "[1, 2, 3]", "E_JSON_INVALID", 400],
  ["k as a string", { request: { k: "10" } }, "E_JSON_INVALID", 400],
  ["negative k", { request: { k: -1 } }, "E_JSON_INVALID", 400],
  ["fractional k", { request: { k: 2.5 } }, "E_JSON_INVALID", 400],
  ["candidates as a string", { request: { candidates: "1,2,3" } }, "E_JSON_INVALID", 400],
  ["candidate ids as numbers", { request: { candidates: [1, 2, 3] } }, "E_JSON_INVALID", 400],
  ["event timestamp as a string", { events: [{ item: "1", ts: "yesterday", type: "like" }] }, "E_JSON_INVALID", 400],
  ["unknown event type", { events: [{ item: "1", ts: 1, type: "teleport" }] }, "E_JSON_INVALID", 400],
  ["unknown top-level field", { request: { k: 3 }, user_id: "u1" }, "E_JSON_INVALID", 400],
  ["unknown request field", { request: { k: 3, limit: 3 } }, "E_JSON_INVALID", 400],
  ["unknown profile field", { profile: { format_version: 1, nickname: "x" } }, "E_PROFILE_CORRUPT", 400],
  ["unknown onboarding field", { onboarding: { picked: ["war"] } }, "E_JSON_INVALID", 400],
  ["profile and events together", { profile: { format_version: 1 }, events: [] }, "E_JSON_INVALID", 400],
  ["profile from a newer runtime", { profile: { format_version: 99 } }, "E_PROFILE_VERSION", 400],
  ["empty event item id", { events: [{ item: "", ts: 1, type: "view" }] }, "E_PROFILE_INVALID", 400],
  ["diversity out of range", { request: { diversity: 1.5 } }, "E_RANK_INVALID", 400],
  ["k = 0", { request: { k: 0 } }, "E_RANK_INVALID", 400],
  ["negative rule weight", { request: { rules: [{ kind: "boost", items: ["1"], weight: -1 }] } }, "E_RANK_INVALID", 400],
  ["unknown topic in a filter", { request: { filter: { topics_any: ["polka"] } } }, "E_RANK_INVALID", 400],
  ["unknown model", { request: { model: "gpt" } }, "E_RANK_NO_MODEL", 400],
  ["unknown item ids", { request: { candidates: ["1", "no-such-item", "2"] } }, "E_RANK_UNKNOWN_ITEM", 400],
  ["k above the service limit", { request: { k: 51 } }, "E_LIMIT_K", 400],
  ["k above the crate limit", { request: { k: 100000 } }, "E_LIMIT_K", 400],
  ["too many candidates", { request: { candidates: ids(501) } }, "E_LIMIT_CANDIDATES", 400],
  [
    "too many events",
    { events: ids(101).map((id, i) => ({ item: id, ts: i, type: "view" })) },
    "E_LIMIT_EVENTS",
    400,
  ],
  // Each of these multiplies a request's CPU time (issue 12): one model run per
  // explained history item, per-item work per rule topic, metadata value or control.
  ["explain_history above the limit", { request: { explain_history: 3 } }, "E_LIMIT_EXPLAIN", 400],
  ["explain_history above the crate cap", { request: { explain_history: 300 } }, "E_LIMIT_EXPLAIN", 400],
  ["too many rules", { request: { rules: ids(4).map((id) => ({ kind: "pin", item: id, slot: 0 })) } }, "E_LIMIT_RULES", 400],
  ["too many ids in the rules", { request: { rules: [{ kind: "bury", items: ids(11), weight: 0.1 }] } }, "E_LIMIT_RULES", 400],
  [
    "too many metadata conditions",
    { request: { filter: { metadata: ["a", "b", "c"].map((key) => ({ key, equals: 1 })) } } },
    "E_LIMIT_FILTERS",
    400,
  ],
  ["too many one_of values", { request: { filter: { metadata: [{ key: "a", one_of: [1, 2, 3, 4, 5] }] } } }, "E_LIMIT_FILTERS", 400],
  ["too many control entries", { profile: { format_version: 1, controls: { blocked_items: ids(6) } } }, "E_LIMIT_CONTROLS", 400],
];

for (const [name, body, code, status] of CASES) {
  test(`${name} → ${status} ${code}`, async () => {
    const r = await rankRequest(w.base, body);
    assert.equal(r.status, status, r.text);
    assert.equal(r.json?.code, code, r.text);
    assert.equal(typeof r.json.message, "string");
    assert.ok(r.json.message.length > 0 && r.json.message.length < 600);
  });
}

test("wrong content type → 415", async () => {
  const r = await rankRequest(w.base, "{}", { headers: { "content-type": "text/plain" } });
  assert.equal(r.status, 415);
  assert.equal(r.json.code, "E_UNSUPPORTED_MEDIA_TYPE");
});

// Oversized bodies go over their own connection: the server answers 413 without
// reading the rest and drops the connection, as HTTP servers do, so a pooled
// keep-alive socket must not be reused after it.
function rawPost(chunks, headers) {
  const { port, hostname } = new URL(w.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path: "/v1/rank",
        method: "POST",
        agent: false,
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

test("a declared Content-Length over the limit → 413 before reading", async () => {
  const body = JSON.stringify({ request: { candidates: ids(200) }, pad: "x".repeat(70_000) });
  const r = await rawPost([body], { "content-length": Buffer.byteLength(body) });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, "E_BODY_TOO_LARGE");
});

test("a body over the limit without Content-Length (chunked) → 413", async () => {
  const chunks = ['{"request": {"k": 3}, "pad": "', ...Array(10).fill("y".repeat(10_000)), '"}'];
  const r = await rawPost(chunks, { "transfer-encoding": "chunked" });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, "E_BODY_TOO_LARGE");
});

test("the worker still ranks after the whole bad-input suite", async () => {
  const r = await rankRequest(w.base, { request: { k: 3 } });
  assert.equal(r.status, 200);
});
