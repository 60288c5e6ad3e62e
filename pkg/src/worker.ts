/**
 * Ranking in a Web Worker, off the main thread. The worker loads the wasm and the
 * bundle itself (reusing the page's compiled module when `init()` already ran, so the
 * module is compiled once); the profile stays on the page and is sent to the worker
 * only when it changed.
 *
 * ```ts
 * import { init, openProfile } from 'attune';
 * import { createWorkerRanker } from 'attune/worker';
 * await init();
 * const ranker = await createWorkerRanker('/bundles/movielens/manifest.json', { signatureKey });
 * const profile = await openProfile();
 * const ranking = await ranker.rank(profile, { k: 10 });
 * ranker.terminate();
 * ```
 */
import type { LoadBundleOptions, LoadReport } from './bundle.js';
import { AttuneError, type AttuneErrorCode } from './errors.js';
import type { Profile } from './profile.js';
import type { FromWorker, StartMessage, ToWorker, WireError } from './protocol.js';
import type { BundleInfo, Catalog, Manifest, ProfileData, RankRequest, Ranking } from './types.js';
import { compiledModule } from './wasm.js';

export interface WorkerRankerOptions extends Omit<LoadBundleOptions, 'fetch'> {
  /** The `.wasm` for the worker when the page did not call `init()`: a URL or bytes
   *  (default: `attune_bg.wasm` beside the worker script). */
  wasm?: string | URL | ArrayBuffer;
  /** Starts the worker (default: the package's worker script as a module worker).
   *  Override to pass a URL your bundler produced, or for a CSP with a
   *  `worker-src` that needs another origin. */
  createWorker?: () => Worker;
}

export interface WorkerRanker {
  readonly info: BundleInfo;
  readonly data: { manifest: Manifest; catalog: Catalog };
  readonly report: Omit<LoadReport, 'cacheError'>;
  /** Ranks in the worker. `profile` is a `Profile` (sent again only when it changed)
   *  or its data. */
  rank(profile: Profile | ProfileData, request?: RankRequest): Promise<Ranking>;
  /** Stops the worker; pending ranks reject with `E_WORKER`. */
  terminate(): void;
}

let nextProfileId = 0;
const profileIds = new WeakMap<object, number>();

function fromWire(e: WireError): AttuneError {
  return new AttuneError(e.code as AttuneErrorCode, e.message);
}

/** Starts a worker, loads the bundle in it and resolves once it can rank. */
export function createWorkerRanker(bundle: string | URL, options: WorkerRankerOptions = {}): Promise<WorkerRanker> {
  const { signal, onProgress, createWorker, wasm, ...load } = options;
  let worker: Worker;
  try {
    worker = createWorker ? createWorker() : new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module' });
  } catch (e) {
    return Promise.reject(new AttuneError('E_WORKER', `starting the worker: ${(e as Error).message}`, { cause: e }));
  }
  const post = (m: ToWorker) => worker.postMessage(m);
  const pending = new Map<number, { resolve: (r: Ranking) => void; reject: (e: AttuneError) => void }>();
  let nextId = 0;
  let lastKey: string | undefined;
  let dead: AttuneError | undefined;

  const fail = (err: AttuneError) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };

  return new Promise<WorkerRanker>((resolve, reject) => {
    const onAbort = () => {
      post({ type: 'abort' });
      worker.terminate();
      const err = new AttuneError('E_ABORTED', 'loading the bundle in the worker: aborted');
      fail(err);
      reject(err);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.onerror = (ev) => {
      ev.preventDefault?.();
      const err = new AttuneError('E_WORKER', `the worker failed: ${ev.message || 'could not load the worker script'}`);
      worker.terminate();
      fail(err);
      reject(err);
    };
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      switch (msg.type) {
        case 'progress':
          onProgress?.(msg.progress);
          break;
        case 'failed': {
          signal?.removeEventListener('abort', onAbort);
          worker.terminate();
          const err = fromWire(msg.error);
          fail(err);
          reject(err);
          break;
        }
        case 'ready':
          signal?.removeEventListener('abort', onAbort);
          resolve({
            info: msg.info,
            data: msg.data,
            report: msg.report,
            rank(profile, request = {}) {
              if (dead) return Promise.reject(dead);
              let key: string;
              let text: string | undefined;
              if (isProfile(profile)) {
                let pid = profileIds.get(profile);
                if (pid === undefined) profileIds.set(profile, (pid = nextProfileId++));
                key = `${pid}:${profile.revision}`;
                if (key !== lastKey) text = profile.handle.toJson();
              } else {
                key = `data:${nextId}`;
                text = JSON.stringify(profile);
              }
              lastKey = key;
              const id = nextId++;
              return new Promise<Ranking>((res, rej) => {
                pending.set(id, { resolve: res, reject: rej });
                post({ type: 'rank', id, key, ...(text === undefined ? {} : { profile: text }), request });
              });
            },
            terminate() {
              worker.terminate();
              fail(new AttuneError('E_WORKER', 'the worker ranker was terminated'));
            },
          });
          break;
        case 'ranked':
          pending.get(msg.id)?.resolve(msg.ranking);
          pending.delete(msg.id);
          break;
        case 'rank-failed':
          // The worker's engine was restarted and forgot the profile: send it again.
          if (msg.error.code === 'E_PANIC') lastKey = undefined;
          pending.get(msg.id)?.reject(fromWire(msg.error));
          pending.delete(msg.id);
          break;
      }
    };
    const start: StartMessage = {
      type: 'start',
      bundle: new URL(bundle, typeof location === 'object' ? location.href : undefined).href,
      options: load,
    };
    const module = compiledModule();
    if (module) start.wasm = module;
    else if (wasm !== undefined) start.wasm = wasm instanceof ArrayBuffer ? wasm : new URL(wasm, location.href).href;
    post(start);
  });
}

function isProfile(p: Profile | ProfileData): p is Profile {
  return typeof (p as Profile).revision === 'number' && typeof (p as Profile).export === 'function';
}
