// The cold-start page: one runtime, one model, in a fresh page with an empty cache.
// Before the clock starts the page has fetched the case's inputs (app data, not runtime
// cost). The clock then covers: import the runtime's JS, download + compile + instantiate
// its wasm, fetch the model from the server, load/compile it, run once and read the
// outputs. Query: ?rt=attune&model=ranking_f32. The result is the promise `window.cold`,
// with the outputs for the driver (run.mjs) to have judged by the `attune` CLI.
import { RUNTIMES, orderInputs, outputRecords } from './runtimes.mjs';

const q = new URLSearchParams(location.search);
const TYPED = { f32: Float32Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array, bool: Uint8Array, i64: BigInt64Array };
const errText = (e) => (e && (e.code ? `${e.code}: ` : '') + (e.message ?? String(e))).split('\n')[0].slice(0, 300);

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

async function main() {
  const name = q.get('rt');
  const R = RUNTIMES[name];
  const c = (await (await fetch('/cases.json')).json()).find((x) => x.key === q.get('model'));
  const inputs = await Promise.all(c.inputs.map(async (io) => new TYPED[io.dtype](await fetchBytes(io.url))));
  const marks = { start: performance.now() };
  let stage = 'import';
  try {
    const mod = await R.import();
    marks.imported = performance.now();
    stage = 'init';
    const rt = await R.init(mod);
    marks.initialized = performance.now();
    stage = 'fetch model';
    const bytes = await fetchBytes(c.modelUrl);
    marks.fetched = performance.now();
    stage = 'load';
    const model = await R.load(rt, bytes);
    marks.loaded = performance.now();
    stage = 'run';
    const arrays = await model.runner(orderInputs(c.inputs, inputs, model.inputs))();
    marks.done = performance.now();
    stage = 'read outputs';
    const outputs = outputRecords(c.outputs, model.outputs, arrays);
    return {
      total_ms: marks.done - marks.start,
      import_ms: marks.imported - marks.start,
      init_ms: marks.initialized - marks.imported,
      fetch_model_ms: marks.fetched - marks.initialized,
      load_ms: marks.loaded - marks.fetched,
      first_run_ms: marks.done - marks.loaded,
      outputs,
    };
  } catch (e) {
    return { error: `${stage}: ${errText(e)}` };
  }
}

window.cold = main().catch((e) => ({ error: errText(e) }));
