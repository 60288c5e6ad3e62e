/**
 * The worker script behind `attune/worker`: loads the wasm and the bundle inside the
 * worker and answers rank requests. Started by `createWorkerRanker`; not an entry point
 * of its own.
 */
import type { WasmProfile } from './attune.js';
import { loadBundle, type Bundle } from './bundle.js';
import { toAttuneError } from './errors.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';
import { engine, init, instanceGeneration, wasm } from './wasm.js';

interface WorkerScope {
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}
const scope = globalThis as unknown as WorkerScope;

let bundle: Bundle | undefined;
/** The page's profile as last sent, on the engine instance it was made on. */
let profile: { key: string; handle: WasmProfile; generation: number } | undefined;
const abort = new AbortController();

function wire(e: unknown): WireError {
  const err = toAttuneError(e);
  return { code: err.code, message: err.message };
}

scope.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === 'abort') {
    abort.abort();
    return;
  }
  if (msg.type === 'start') {
    void (async () => {
      try {
        await init(msg.wasm === undefined ? {} : { wasm: msg.wasm });
        const b = await loadBundle(typeof msg.bundle === 'string' ? msg.bundle : msg.bundle, {
          ...msg.options,
          signal: abort.signal,
          onProgress: (progress) => scope.postMessage({ type: 'progress', progress }),
        });
        bundle = b;
        const { cacheError: _ignored, ...report } = b.report;
        scope.postMessage({ type: 'ready', info: b.info, data: b.data, report });
      } catch (e) {
        scope.postMessage({ type: 'failed', error: wire(e) });
      }
    })();
    return;
  }
  if (msg.type === 'rank') {
    try {
      if (!bundle) throw new Error('the worker has no bundle yet');
      const b = bundle;
      if (msg.profile !== undefined) {
        const text = msg.profile;
        const handle = engine(() => wasm().WasmProfile.fromJson(text));
        if (profile?.generation === instanceGeneration()) profile.handle.free();
        profile = { key: msg.key, handle, generation: instanceGeneration() };
      }
      // After a panic the engine was replaced and the page resends the profile.
      if (!profile || profile.key !== msg.key || profile.generation !== instanceGeneration()) throw new Error('profile not sent');
      const p = profile.handle;
      const ranking = engine(() => JSON.parse(b.handle.rank(p, JSON.stringify(msg.request))));
      scope.postMessage({ type: 'ranked', id: msg.id, ranking });
    } catch (e) {
      scope.postMessage({ type: 'rank-failed', id: msg.id, error: wire(e) });
    }
  }
};
