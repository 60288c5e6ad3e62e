/**
 * Loading a bundle: download (with progress and abort), cache, verify, hand to the
 * engine. Every decision about trust is the engine's: before anything else is fetched
 * it checks the manifest (`verifyManifest`: size, pinned key, signature, structure,
 * path rules, name, rollback floor, age) and returns the files to download with their
 * sizes; after the downloads it verifies the whole bundle again and hands back the
 * manifest and catalog it validated, which is all `bundle.data` exposes. This layer
 * only bounds every download, fails early, and never caches a bad file.
 */
import type { WasmBundle } from './attune.js';
import { openCache, type CacheMode } from './cache.js';
import { readCapped } from './download.js';
import { AttuneError, isAbort, throwIfAborted, toAttuneError } from './errors.js';
import { MAX_MANIFEST_BYTES, SIGNATURE_BYTES } from './generated/bundle-rules.js';
import { parseIntegrity, sha256Hex } from './hash.js';
import { DEFAULT_DB } from './idb.js';
import type { BundleData, BundleInfo, Catalog, Manifest, Topic } from './types.js';
import { engine, instanceGeneration, wasm } from './wasm.js';

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
  /** Development only: accept a published RFC 8032 test key as `signatureKey` (the
   *  reference bundles are signed with one). Otherwise such a key is refused with
   *  `E_BUNDLE_TEST_KEY`: anyone can sign with it. */
  allowTestKey?: boolean;
  /** The bundle name the app expects (the manifest's `name`); another bundle, even
   *  one signed with the same key, is refused with `E_BUNDLE_NAME`. */
  name?: string;
  /** Refuse a manifest `created` more than this many milliseconds ago
   *  (`E_BUNDLE_EXPIRED`), also when offline: a network failure then cannot keep an
   *  app on an old bundle forever. */
  maxAgeMs?: number;
  /** The clock for `maxAgeMs` (default `Date.now`). */
  now?: () => number;
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
  /** Set when the server's manifest was refused and the last verified bundle from the
   *  cache was kept instead: an older version than already verified for this URL
   *  (`E_BUNDLE_ROLLBACK`, an old signed manifest replayed). */
  refused?: { code: string; message: string };
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

/** What the engine's `verifyManifest` returns. */
interface Plan {
  name: string;
  version: string;
  created: string;
  hash: string;
  signature_verified: boolean;
  files: { file: string; sha256: string; bytes: number }[];
}

const disposeSymbol: symbol | undefined = (Symbol as { dispose?: symbol }).dispose;

/** A verified bundle with its models prepared. Owns wasm memory: call `free()` (or
 *  `using`) when done with it. */
export class Bundle {
  readonly info: BundleInfo;
  /** The manifest and catalog as the engine verified and validated them. */
  readonly data: BundleData & { catalog: Catalog };
  readonly report: LoadReport;
  #handle: WasmBundle | undefined;
  #generation: number;
  #rebuild: () => WasmBundle;
  #index: Map<string, number> | undefined;

  /** @internal `rebuild` loads the same files again, on a fresh engine instance after
   *  a panic. */
  constructor(handle: WasmBundle, report: LoadReport, rebuild: () => WasmBundle) {
    this.#handle = handle;
    this.#generation = instanceGeneration();
    this.#rebuild = rebuild;
    this.info = engine(() => JSON.parse(handle.infoJson()) as BundleInfo);
    // Both from the engine: the manifest bytes it verified (their sha256 is
    // `info.hash`), and its own serialization of the catalog it validated.
    this.data = engine(() => ({
      manifest: JSON.parse(new TextDecoder().decode(handle.manifestBytes())) as Manifest,
      catalog: JSON.parse(handle.catalogJson()) as Catalog,
    }));
    this.report = report;
  }

  /** @internal The engine's handle; reloaded from the same files when the engine was
   *  restarted after a panic. */
  get handle(): WasmBundle {
    if (!this.#handle) throw new AttuneError('E_RANK_INVALID', 'this bundle was freed');
    if (this.#generation !== instanceGeneration()) {
      // The old handle belongs to the replaced instance: never touch it again.
      this.#handle = engine(this.#rebuild);
      this.#generation = instanceGeneration();
    }
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
    if (this.#generation === instanceGeneration()) this.#handle?.free();
    this.#handle = undefined;
  }
}
if (disposeSymbol) {
  (Bundle.prototype as unknown as Record<symbol, unknown>)[disposeSymbol] = Bundle.prototype.free;
}

/**
 * Loads, verifies and prepares a bundle. From a URL it downloads `manifest.json`
 * (always revalidated, so a newly published version is picked up) and `manifest.sig`,
 * has the engine check them, then downloads the files the engine listed, from the cache
 * when their sha256 matches. Needs `init()`.
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
  return finish(files, trust(options), options, report);
}

/** The engine's trust options for this load. `floor` is the newest version already
 *  verified for the URL. */
function trust(options: LoadBundleOptions, floor?: string): string {
  return JSON.stringify({
    allow_test_keys: options.allowTestKey === true,
    ...(options.name === undefined ? {} : { expected_name: options.name }),
    ...(floor === undefined ? {} : { min_version: floor }),
    ...(options.maxAgeMs === undefined ? {} : { max_age_ms: options.maxAgeMs, now_ms: (options.now ?? Date.now)() }),
  });
}

function verify(manifest: Uint8Array, sig: Uint8Array | undefined, options: LoadBundleOptions, trustJson: string): Plan {
  const w = wasm();
  return engine(() => JSON.parse(w.verifyManifest(manifest, sig, options.signatureKey, trustJson)) as Plan);
}

interface Candidate {
  manifest: Uint8Array;
  sig: Uint8Array | undefined;
  plan: Plan;
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
  const key = options.signatureKey;

  // 0. The last manifest verified for this URL: the offline fallback and, for signed
  // bundles, the rollback floor (its age is checked only if it is used).
  let last: Candidate | undefined;
  const lastManifest = await safe(cache.get(manifestKey));
  const lastSig = key ? await safe(cache.get(sigKey)) : undefined;
  if (lastManifest && (!key || lastSig)) {
    try {
      const plan = verify(lastManifest, lastSig, options, trust({ ...options, maxAgeMs: undefined }));
      last = { manifest: lastManifest, sig: lastSig, plan };
    } catch {
      // Verified under another key or name, or damaged: neither a fallback nor a floor.
    }
  }
  const floor = key ? last?.plan.version : undefined;

  // 1. The manifest and signature, revalidated with the server every time; their size
  // is bounded by the engine's rules, not by the server.
  let fresh: { manifest: Uint8Array; sig: Uint8Array | undefined } | undefined;
  try {
    const manifest = await download(doFetch, manifestUrl, signal, MAX_MANIFEST_BYTES, () =>
      new AttuneError('E_BUNDLE_MANIFEST', `bundle manifest: manifest.json has more than ${MAX_MANIFEST_BYTES} bytes`),
    );
    const sig = key
      ? await download(doFetch, sigUrl, signal, SIGNATURE_BYTES, () =>
          new AttuneError('E_BUNDLE_SIGNATURE', `bundle signature: manifest.sig has more than ${SIGNATURE_BYTES} bytes`),
        )
      : undefined;
    fresh = { manifest, sig };
  } catch (e) {
    // Offline: use the last manifest that verified, if the cache has it.
    if (!(e instanceof AttuneError && e.code === 'E_FETCH' && e.details.status === undefined) || !last) throw e;
    report.offline = true;
  }
  throwIfAborted(signal);
  let chosen: Candidate | undefined;
  let trustJson = trust(options);
  if (fresh) {
    await checkIntegrity(fresh.manifest, options.integrity);
    try {
      const t = trust(options, floor);
      chosen = { ...fresh, plan: verify(fresh.manifest, fresh.sig, options, t) };
      trustJson = t;
    } catch (e) {
      if (!(AttuneError.is(e, 'E_BUNDLE_ROLLBACK') && last)) throw e;
      // An older signed manifest replayed: keep the newest verified bundle.
      report.refused = { code: e.code, message: (e as Error).message };
    }
  }
  if (!chosen) {
    // The cached manifest, checked again (its age now counts).
    await checkIntegrity(last!.manifest, options.integrity);
    chosen = { ...last!, plan: verify(last!.manifest, last!.sig, options, trustJson) };
  }
  const { plan } = chosen;

  // 2. The files the engine listed, from the cache or the network, each download
  // stopped at the size the manifest gives.
  const total = plan.files.reduce((a, f) => a + f.bytes, 0);
  let loaded = 0;
  const progress = (file: string, n: number) => {
    loaded += n;
    options.onProgress?.({ loaded, total, file });
  };
  // Files are content-addressed: the key is the file's URL plus its sha256 from the
  // manifest (the manifest itself is revalidated on every load, and its version and
  // hash select the files). A new version fetches only the files that changed.
  const keys = new Map<string, string>();
  for (const f of plan.files) keys.set(f.file, withParams(new URL(f.file, manifestUrl), { 'attune-sha256': f.sha256 }));

  const files = new Map<string, Uint8Array>();
  const toStore: [string, Uint8Array][] = [];
  await Promise.all(
    plan.files.map(async (f) => {
      const cacheKey = keys.get(f.file)!;
      const hit = await safe(cache.get(cacheKey));
      // A damaged cache entry (hash differs) is fetched again.
      if (hit && hit.byteLength === f.bytes && [undefined, f.sha256].includes(await sha256Hex(hit))) {
        files.set(f.file, hit);
        report.cached.push(f.file);
        progress(f.file, hit.byteLength);
        return;
      }
      const tooLarge = () =>
        new AttuneError('E_BUNDLE_INTEGRITY', `bundle integrity: ${f.file}: more than the ${f.bytes} bytes the manifest says`);
      const bytes = await download(doFetch, new URL(f.file, manifestUrl), signal, f.bytes, tooLarge, (n) => progress(f.file, n));
      const actual = await sha256Hex(bytes);
      if (actual !== undefined && actual !== f.sha256) {
        throw new AttuneError('E_BUNDLE_INTEGRITY', `bundle file ${f.file}: sha256 ${actual} does not match the manifest's ${f.sha256}`, {
          details: { expected: f.sha256, actual },
        });
      }
      files.set(f.file, bytes);
      report.fetched.push(f.file);
      toStore.push([cacheKey, bytes]);
    }),
  );
  throwIfAborted(signal);
  // Set last: the engine's path rule already refuses a listed file with these names.
  files.set('manifest.json', chosen.manifest);
  if (chosen.sig) files.set('manifest.sig', chosen.sig);

  // 3. Verify and prepare in the engine; only then remember the files.
  const bundle = await finish(files, trustJson, options, report);
  if (bundle.info.hash !== plan.hash) throw new AttuneError('E_INTERNAL', 'the engine loaded another manifest than it checked');
  for (const [k, bytes] of toStore) await safe(cache.put(k, group, bytes));
  if (chosen.manifest !== last?.manifest) {
    await safe(cache.put(manifestKey, group, chosen.manifest));
    if (chosen.sig) await safe(cache.put(sigKey, group, chosen.sig));
    await safe(cache.prune(group, new Set([manifestKey, sigKey, ...keys.values()])));
  }
  return bundle;
}

async function finish(files: Map<string, Uint8Array>, trustJson: string, options: LoadBundleOptions, report: LoadReport): Promise<Bundle> {
  const key = options.signatureKey;
  const load = () => wasm().WasmBundle.load(files, key, trustJson);
  const handle = engine(load);
  const generation = instanceGeneration();
  try {
    const bundle = new Bundle(handle, report, load);
    // Without WebCrypto the manifest hash is checked here, from the engine's own hash.
    const want = options.integrity ? parseIntegrity(options.integrity) : undefined;
    if (want && bundle.info.hash !== want) throw integrityError(want, bundle.info.hash);
    return bundle;
  } catch (e) {
    // After a panic the handle belongs to the replaced instance and is left alone.
    if (generation === instanceGeneration()) handle.free();
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

function withParams(url: URL, params: Record<string, string>): string {
  const u = new URL(url.href);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

/** GET with streaming progress, stopped past `limit` bytes; HTTP errors carry the
 *  status, network errors do not. */
async function download(
  doFetch: typeof fetch,
  url: URL,
  signal: AbortSignal | undefined,
  limit: number,
  tooLarge: () => AttuneError,
  onChunk: (n: number) => void = () => {},
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
    return await readCapped(response, limit, tooLarge, onChunk);
  } catch (e) {
    if (e instanceof AttuneError) throw e;
    if (isAbort(e) || signal?.aborted) throw new AttuneError('E_ABORTED', `fetching ${url.href}: aborted`, { cause: e });
    throw new AttuneError('E_FETCH', `reading ${url.href}: ${(e as Error).message}`, { cause: e, details: { url: url.href } });
  }
}
