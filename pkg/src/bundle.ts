/**
 * Loading a bundle: download (with progress and abort), cache, verify, hand to the
 * engine. The engine verifies again — every file's sha256 against the manifest, and
 * the ed25519 signature over the manifest when a key is pinned — so this layer's
 * checks are about failing early and never caching a bad download.
 */
import type { WasmBundle } from './attune.js';
import { openCache, type CacheMode } from './cache.js';
import { AttuneError, engine, isAbort, throwIfAborted, toAttuneError } from './errors.js';
import { parseIntegrity, sha256Hex } from './hash.js';
import { DEFAULT_DB } from './idb.js';
import type { BundleData, BundleInfo, Catalog, Manifest, Topic } from './types.js';
import { wasm } from './wasm.js';

/** A bundle's files by manifest path (`manifest.json`, `catalog.json`, models,
 *  optionally `manifest.sig`), for apps that ship the bundle inside the app. */
export type BundleFiles = Map<string, Uint8Array> | Record<string, Uint8Array>;

/** The URL of a bundle's `manifest.json`, or its files. */
export type BundleSource = string | URL | BundleFiles;

export interface LoadProgress {
  /** Bytes available so far (downloaded or read from the cache). */
  loaded: number;
  /** Bytes of all the bundle's files, from the manifest. */
  total: number;
  /** The file the event is about. */
  file: string;
}

export interface LoadBundleOptions {
  /** Where to keep the files between visits. `auto` (default): the Cache API when
   *  the page is a secure context, else IndexedDB, else nothing. */
  cache?: CacheMode;
  /** Expected sha256 of manifest.json: `sha256-<64 hex>` or SRI `sha256-<base64>`.
   *  Checked before anything else is used (`E_INTEGRITY`). */
  integrity?: string;
  /** Pinned ed25519 public key (64 hex digits): `manifest.sig` must verify. */
  signatureKey?: string;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** The `fetch` to use (default: `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Cache API cache name (default `attune-bundles`). */
  cacheName?: string;
  /** IndexedDB database for the `indexeddb` cache (default `attune`). */
  dbName?: string;
}

/** How a load went, for diagnostics. */
export interface LoadReport {
  /** The manifest URL, when loaded from a URL. */
  url?: string;
  cache: 'cache-api' | 'indexeddb' | 'none';
  /** Files downloaded and files read from the cache. */
  fetched: string[];
  cached: string[];
  /** True when the network failed and the last verified manifest from the cache was used. */
  offline: boolean;
  /** Set when the files could not be written to the cache (the load still succeeded). */
  cacheError?: AttuneError;
}

/** One catalog item, for display. */
export interface CatalogItem {
  id: string;
  index: number;
  title: string;
  topics: Topic[];
  published?: string | null;
  image_url?: string | null;
  metadata?: Record<string, unknown> | null;
}

const disposeSymbol: symbol | undefined = (Symbol as { dispose?: symbol }).dispose;

/** A verified bundle with its models prepared. Owns wasm memory: call `free()` (or
 *  `using`) when done with it. */
export class Bundle {
  readonly info: BundleInfo;
  readonly data: BundleData & { catalog: Catalog };
  readonly report: LoadReport;
  #handle: WasmBundle | undefined;
  #index: Map<string, number> | undefined;

  /** @internal */
  constructor(handle: WasmBundle, data: BundleData & { catalog: Catalog }, report: LoadReport) {
    this.#handle = handle;
    this.info = engine(() => JSON.parse(handle.infoJson()) as BundleInfo);
    this.data = data;
    this.report = report;
  }

  /** @internal */
  get handle(): WasmBundle {
    if (!this.#handle) throw new AttuneError('E_RANK_INVALID', 'this bundle was freed');
    return this.#handle;
  }

  /** The bundle's topics, in manifest order. */
  get topics(): Topic[] {
    return this.data.manifest.topics;
  }

  /** Looks an item up by the app's id. */
  item(id: string): CatalogItem | undefined {
    const c = this.data.catalog;
    if (!this.#index) this.#index = new Map(c.ids.map((v, i) => [v, i]));
    const i = this.#index.get(id);
    if (i === undefined) return undefined;
    const topics = this.data.manifest.topics;
    return {
      id,
      index: i,
      title: c.titles[i] ?? id,
      topics: (c.topics[i] ?? []).map((t) => topics[t]).filter((t): t is Topic => t !== undefined),
      published: c.published?.[i],
      image_url: c.image_urls?.[i],
      metadata: c.metadata?.[i],
    };
  }

  /** Releases the engine's memory; the bundle cannot rank afterwards. */
  free(): void {
    this.#handle?.free();
    this.#handle = undefined;
  }
}
if (disposeSymbol) {
  (Bundle.prototype as unknown as Record<symbol, unknown>)[disposeSymbol] = Bundle.prototype.free;
}

/**
 * Loads, verifies and prepares a bundle. From a URL it downloads `manifest.json`
 * (always revalidated, so a newly published version is picked up), then the files it
 * lists, from the cache when their sha256 matches. Needs `init()`.
 */
export async function loadBundle(source: BundleSource, options: LoadBundleOptions = {}): Promise<Bundle> {
  wasm(); // E_NOT_INITIALIZED before any download
  try {
    if (typeof source === 'string' || source instanceof URL) return await fromUrl(source, options);
    return await fromFiles(source, options);
  } catch (e) {
    throw toAttuneError(e, 'E_INTERNAL', 'loading the bundle');
  }
}

async function fromFiles(source: BundleFiles, options: LoadBundleOptions): Promise<Bundle> {
  const files = source instanceof Map ? new Map(source) : new Map(Object.entries(source));
  const manifestBytes = files.get('manifest.json');
  if (!manifestBytes) throw new AttuneError('E_BUNDLE_MISSING_FILE', 'bundle file manifest.json: not among the files given');
  await checkIntegrity(manifestBytes, options.integrity);
  const report: LoadReport = { cache: 'none', fetched: [], cached: [], offline: false };
  return finish(files, manifestBytes, options, report);
}

async function fromUrl(source: string | URL, options: LoadBundleOptions): Promise<Bundle> {
  const { signal } = options;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const manifestUrl = new URL(source, typeof location === 'object' ? location.href : undefined);
  const group = manifestUrl.href;
  const cache = openCache(options.cache ?? 'auto', {
    cacheName: options.cacheName ?? 'attune-bundles',
    dbName: options.dbName ?? DEFAULT_DB,
  });
  const report: LoadReport = { url: group, cache: cache.kind, fetched: [], cached: [], offline: false };
  const safe = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((e: unknown) => {
      report.cacheError ??= toAttuneError(e, 'E_STORAGE', 'bundle cache');
      return undefined;
    });
  const manifestKey = withParams(manifestUrl, { 'attune-file': 'manifest.json' });
  const sigUrl = new URL('manifest.sig', manifestUrl);
  const sigKey = withParams(sigUrl, { 'attune-file': 'manifest.sig' });

  // 1. The manifest (and signature), revalidated with the server every time.
  let manifestBytes: Uint8Array;
  let sigBytes: Uint8Array | undefined;
  try {
    manifestBytes = await download(doFetch, manifestUrl, signal, () => {});
    if (options.signatureKey) sigBytes = await download(doFetch, sigUrl, signal, () => {});
  } catch (e) {
    // Offline: use the last manifest that verified, if the cache has it.
    if (!(e instanceof AttuneError && e.code === 'E_FETCH' && e.details.status === undefined)) throw e;
    const m = await safe(cache.get(manifestKey));
    const s = options.signatureKey ? await safe(cache.get(sigKey)) : undefined;
    if (!m || (options.signatureKey && !s)) throw e;
    manifestBytes = m;
    sigBytes = s;
    report.offline = true;
  }
  throwIfAborted(signal);
  await checkIntegrity(manifestBytes, options.integrity);
  const manifest = parseJson<Manifest>(manifestBytes, 'E_BUNDLE_MANIFEST', 'manifest.json');

  // 2. The files it lists, from the cache or the network.
  const listed = new Map<string, { sha256: string; bytes: number }>();
  for (const f of [manifest.catalog, ...(Array.isArray(manifest.models) ? manifest.models : [])]) {
    if (!f || typeof f.file !== 'string' || typeof f.sha256 !== 'string') {
      throw new AttuneError('E_BUNDLE_MANIFEST', 'manifest.json: a file entry without file or sha256');
    }
    checkPath(f.file);
    listed.set(f.file, { sha256: f.sha256.toLowerCase(), bytes: Number(f.bytes) || 0 });
  }
  const total = [...listed.values()].reduce((a, f) => a + f.bytes, 0);
  let loaded = 0;
  const progress = (file: string, n: number) => {
    loaded += n;
    options.onProgress?.({ loaded, total, file });
  };
  // Files are content-addressed: the key is the file's URL plus its sha256 from the
  // manifest (the manifest itself is revalidated on every load, and its version and
  // hash select the files). A new version fetches only the files that changed.
  const keys = new Map<string, string>();
  for (const [path, f] of listed) {
    keys.set(path, withParams(new URL(path, manifestUrl), { 'attune-sha256': f.sha256 }));
  }

  const files = new Map<string, Uint8Array>([['manifest.json', manifestBytes]]);
  if (sigBytes) files.set('manifest.sig', sigBytes);
  const toStore: [string, Uint8Array][] = [];
  await Promise.all(
    [...listed].map(async ([path, f]) => {
      const key = keys.get(path)!;
      const hit = await safe(cache.get(key));
      // A damaged cache entry (hash differs) is fetched again.
      if (hit && [undefined, f.sha256].includes(await sha256Hex(hit))) {
        files.set(path, hit);
        report.cached.push(path);
        progress(path, hit.byteLength);
        return;
      }
      const bytes = await download(doFetch, new URL(path, manifestUrl), signal, (n) => progress(path, n));
      const actual = await sha256Hex(bytes);
      if (actual !== undefined && actual !== f.sha256) {
        throw new AttuneError('E_BUNDLE_INTEGRITY', `bundle file ${path}: sha256 ${actual} does not match the manifest's ${f.sha256}`, {
          details: { expected: f.sha256, actual },
        });
      }
      files.set(path, bytes);
      report.fetched.push(path);
      toStore.push([key, bytes]);
    }),
  );
  throwIfAborted(signal);

  // 3. Verify and prepare in the engine; only then remember the files.
  const bundle = await finish(files, manifestBytes, options, report);
  for (const [key, bytes] of toStore) await safe(cache.put(key, group, bytes));
  if (!report.offline) {
    await safe(cache.put(manifestKey, group, manifestBytes));
    if (sigBytes) await safe(cache.put(sigKey, group, sigBytes));
    await safe(cache.prune(group, new Set([manifestKey, sigKey, ...keys.values()])));
  }
  return bundle;
}

async function finish(
  files: Map<string, Uint8Array>,
  manifestBytes: Uint8Array,
  options: LoadBundleOptions,
  report: LoadReport,
): Promise<Bundle> {
  const w = wasm();
  const handle = engine(() => w.WasmBundle.load(files, options.signatureKey));
  try {
    const info = JSON.parse(handle.infoJson()) as BundleInfo;
    // Without WebCrypto the manifest hash is checked here, from the engine's own hash.
    const want = options.integrity ? parseIntegrity(options.integrity) : undefined;
    if (want && info.hash !== want) throw integrityError(want, info.hash);
    const manifest = parseJson<Manifest>(manifestBytes, 'E_BUNDLE_MANIFEST', 'manifest.json');
    const catalogBytes = files.get(manifest.catalog.file)!;
    const catalog = parseJson<Catalog>(catalogBytes, 'E_BUNDLE_CATALOG', manifest.catalog.file);
    return new Bundle(handle, { manifest, catalog }, report);
  } catch (e) {
    handle.free();
    throw e;
  }
}

async function checkIntegrity(manifestBytes: Uint8Array, integrity: string | undefined): Promise<void> {
  if (integrity === undefined) return;
  const want = parseIntegrity(integrity);
  if (!want) {
    throw new AttuneError('E_INTEGRITY', `integrity ${JSON.stringify(integrity)}: expected sha256-<64 hex> or sha256-<base64>`);
  }
  const actual = await sha256Hex(manifestBytes);
  if (actual !== undefined && actual !== want) throw integrityError(want, actual);
}

function integrityError(expected: string, actual: string): AttuneError {
  return new AttuneError('E_INTEGRITY', `manifest.json: sha256 ${actual} does not match the expected ${expected}`, {
    details: { expected, actual },
  });
}

/** File paths are relative, `/`-separated, without `..` (docs/bundle.md). */
function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.includes('\\') || /(^|\/)\.\.?(\/|$)/.test(path) || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
    throw new AttuneError('E_BUNDLE_MANIFEST', `manifest.json: file path ${JSON.stringify(path)} is not a plain relative path`);
  }
}

function withParams(url: URL, params: Record<string, string>): string {
  const u = new URL(url.href);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

function parseJson<T>(bytes: Uint8Array, code: 'E_BUNDLE_MANIFEST' | 'E_BUNDLE_CATALOG', what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new AttuneError(code, `${what}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** GET with streaming progress; HTTP errors carry the status, network errors do not. */
async function download(
  doFetch: typeof fetch,
  url: URL,
  signal: AbortSignal | undefined,
  onChunk: (n: number) => void,
): Promise<Uint8Array> {
  throwIfAborted(signal);
  let response: Response;
  try {
    response = await doFetch(url.href, { signal, cache: 'no-cache', credentials: 'same-origin' });
  } catch (e) {
    if (isAbort(e) || signal?.aborted) throw new AttuneError('E_ABORTED', `fetching ${url.href}: aborted`, { cause: e });
    throw new AttuneError('E_FETCH', `fetching ${url.href}: ${(e as Error).message}`, { cause: e, details: { url: url.href } });
  }
  if (!response.ok) {
    throw new AttuneError('E_FETCH', `fetching ${url.href}: HTTP ${response.status}`, {
      details: { url: url.href, status: response.status },
    });
  }
  try {
    if (!response.body) {
      const b = new Uint8Array(await response.arrayBuffer());
      onChunk(b.byteLength);
      return b;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      onChunk(value.byteLength);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  } catch (e) {
    if (isAbort(e) || signal?.aborted) throw new AttuneError('E_ABORTED', `fetching ${url.href}: aborted`, { cause: e });
    throw new AttuneError('E_FETCH', `reading ${url.href}: ${(e as Error).message}`, { cause: e, details: { url: url.href } });
  }
}

