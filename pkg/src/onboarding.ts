/**
 * Onboarding capture without the wasm: topics to pick (or reject), then a few seed
 * items of the picked topics to like, with skip and progress. Plain TypeScript over the
 * bundle's JSON, so an onboarding screen paints while the engine is still loading.
 *
 * ```ts
 * import { createOnboarding, loadBundleData } from 'attune/onboarding';
 * const flow = createOnboarding(await loadBundleData(manifestUrl, { signatureKey }));
 * flow.subscribe((s) => render(s));
 * flow.toggleTopic('sci-fi'); flow.next(); flow.toggleItem('50'); flow.next();
 * await profile.setOnboarding(await flow.done);   // later, with the wasm loaded
 * ```
 */
import { AttuneError } from './errors.js';
import { MAX_MANIFEST_BYTES, PUBLISHED_TEST_KEYS, SIGNATURE_BYTES, pathProblem } from './generated/bundle-rules.js';
import { readCapped } from './download.js';
import { parseIntegrity, sha256Hex } from './hash.js';
import type { BundleData, Catalog, Manifest, Onboarding } from './types.js';

export { AttuneError } from './errors.js';
export type { BundleData, Catalog, Manifest, Onboarding } from './types.js';

export interface OnboardingOptions {
  /** Fewest picks before `next()` moves on (default 1; skipping is always allowed). */
  minPicks?: number;
  /** Most picks (default: no limit); picking more is refused. */
  maxPicks?: number;
  /** Topics to offer (default: the manifest's `onboarding.topics`, in that order). */
  topics?: string[];
  /** Seed items shown per picked topic (default 3); 0 leaves out the items step. */
  itemsPerTopic?: number;
  /** Most seed items in all (default 12). */
  maxItems?: number;
}

export type OnboardingStep = 'topics' | 'items' | 'done';

export interface OnboardingTopic {
  id: string;
  label: string;
  picked: boolean;
  rejected: boolean;
}

export interface OnboardingItem {
  id: string;
  title: string;
  /** Topic ids of the item (from the catalog), or the picked topic that brought it. */
  topics: string[];
  liked: boolean;
}

export interface OnboardingProgress {
  picked: number;
  /** How many picks the bundle suggests asking for. */
  suggested: number;
  min: number;
  max: number;
  /** 1-based step number and the number of steps (the items step counts only when
   *  there are seed items to show). */
  step: number;
  steps: number;
  /** True when `next()` would move on. */
  canContinue: boolean;
}

/** What the user answered. Pass it to `profile.setOnboarding()` (extra fields are
 *  ignored there). */
export interface OnboardingResult extends Onboarding {
  skipped: boolean;
}

export interface OnboardingState {
  step: OnboardingStep;
  topics: OnboardingTopic[];
  /** Seed items for the picked topics (shown in the items step). */
  items: OnboardingItem[];
  progress: OnboardingProgress;
  /** Set once the flow is done. */
  result?: OnboardingResult;
}

export interface OnboardingController {
  /** The current state (a fresh object after every change). */
  readonly state: OnboardingState;
  /** Resolves with the answers when the flow finishes or is skipped. */
  readonly done: Promise<OnboardingResult>;
  /** Calls `listener` now and after every change; returns the unsubscribe function. */
  subscribe(listener: (state: OnboardingState) => void): () => void;
  /** Picks or unpicks a topic; returns false when refused (unknown, or `maxPicks` reached). */
  toggleTopic(id: string): boolean;
  /** Marks a topic as not wanted (or clears that mark). */
  toggleReject(id: string): boolean;
  toggleItem(id: string): boolean;
  /** Moves to the next step; returns false while too few topics are picked. */
  next(): boolean;
  back(): boolean;
  /** Ends the flow now, keeping what was answered so far, with `skipped: true`. */
  skip(): void;
  /** Ends the flow with the current answers. */
  finish(): void;
}

/** Creates an onboarding flow over a bundle's data (`bundle.data`, or
 *  `loadBundleData(url)` before the engine is loaded). */
export function createOnboarding(data: BundleData, options: OnboardingOptions = {}): OnboardingController {
  const manifest = data.manifest;
  if (!manifest || !Array.isArray(manifest.topics)) {
    throw new AttuneError('E_ONBOARDING', 'createOnboarding: data.manifest with topics is required');
  }
  const byId = new Map(manifest.topics.map((t) => [t.id, t]));
  const offered = (options.topics ?? manifest.onboarding?.topics ?? manifest.topics.map((t) => t.id)).filter((id) => byId.has(id));
  const suggested = manifest.onboarding?.suggested_picks ?? 3;
  const min = Math.max(0, options.minPicks ?? 1);
  const max = Math.max(min, options.maxPicks ?? offered.length);
  const perTopic = Math.max(0, options.itemsPerTopic ?? 3);
  const maxItems = Math.max(0, options.maxItems ?? 12);
  const catalog = data.catalog;
  const index = catalog ? new Map(catalog.ids.map((id, i) => [id, i])) : undefined;

  const picked: string[] = [];
  const rejected = new Set<string>();
  const liked = new Set<string>();
  let step: OnboardingStep = 'topics';
  let result: OnboardingResult | undefined;
  const listeners = new Set<(s: OnboardingState) => void>();
  let resolveDone!: (r: OnboardingResult) => void;
  const done = new Promise<OnboardingResult>((r) => (resolveDone = r));

  function seedItems(): OnboardingItem[] {
    if (perTopic === 0) return [];
    const out: OnboardingItem[] = [];
    const seen = new Set<string>();
    for (const t of picked) {
      let n = 0;
      for (const id of byId.get(t)?.representative_items ?? []) {
        if (n >= perTopic || out.length >= maxItems) break;
        if (seen.has(id)) continue;
        seen.add(id);
        n++;
        out.push({ id, ...describe(id, t), liked: liked.has(id) });
      }
    }
    return out;
  }

  function describe(id: string, topic: string): { title: string; topics: string[] } {
    const i = index?.get(id);
    if (catalog && i !== undefined) {
      return {
        title: catalog.titles[i] ?? id,
        topics: (catalog.topics[i] ?? []).map((t) => manifest.topics[t]?.id).filter((t): t is string => t !== undefined),
      };
    }
    return { title: id, topics: [topic] };
  }

  function snapshot(): OnboardingState {
    const items = seedItems();
    const steps = items.length > 0 || step === 'items' ? 2 : 1;
    return {
      step,
      topics: offered.map((id) => ({ id, label: byId.get(id)!.label, picked: picked.includes(id), rejected: rejected.has(id) })),
      items,
      progress: {
        picked: picked.length,
        suggested,
        min,
        max,
        step: step === 'topics' ? 1 : steps,
        steps,
        canContinue: step !== 'done' && picked.length >= min,
      },
      ...(result ? { result } : {}),
    };
  }

  let state = snapshot();
  function changed(): void {
    state = snapshot();
    for (const l of listeners) l(state);
  }

  function end(skipped: boolean): void {
    if (step === 'done') return;
    const items = new Set(seedItems().map((i) => i.id));
    result = {
      picked_topics: [...picked],
      rejected_topics: offered.filter((id) => rejected.has(id)),
      // Only likes of items still on screen: unpicking a topic drops its items.
      liked_items: [...liked].filter((id) => items.has(id)),
      skipped,
    };
    step = 'done';
    changed();
    resolveDone(result);
  }

  return {
    get state() {
      return state;
    },
    done,
    subscribe(listener) {
      listeners.add(listener);
      listener(state);
      return () => listeners.delete(listener);
    },
    toggleTopic(id) {
      if (step !== 'topics' || !offered.includes(id)) return false;
      const at = picked.indexOf(id);
      if (at >= 0) picked.splice(at, 1);
      else {
        if (picked.length >= max) return false;
        picked.push(id);
        rejected.delete(id);
      }
      changed();
      return true;
    },
    toggleReject(id) {
      if (step !== 'topics' || !offered.includes(id)) return false;
      if (rejected.has(id)) rejected.delete(id);
      else {
        rejected.add(id);
        const at = picked.indexOf(id);
        if (at >= 0) picked.splice(at, 1);
      }
      changed();
      return true;
    },
    toggleItem(id) {
      if (step !== 'items' || !seedItems().some((i) => i.id === id)) return false;
      if (liked.has(id)) liked.delete(id);
      else liked.add(id);
      changed();
      return true;
    },
    next() {
      if (step === 'topics') {
        if (picked.length < min) return false;
        if (seedItems().length > 0) {
          step = 'items';
          changed();
        } else end(false);
        return true;
      }
      if (step === 'items') {
        end(false);
        return true;
      }
      return false;
    },
    back() {
      if (step !== 'items') return false;
      step = 'topics';
      changed();
      return true;
    },
    skip() {
      end(true);
    },
    finish() {
      end(false);
    },
  };
}

/** Options of `loadBundleData`. */
export interface LoadBundleDataOptions {
  signal?: AbortSignal;
  /** The `fetch` to use (default: `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Pinned ed25519 public key (64 hex digits), as for `loadBundle`: `manifest.sig`
   *  must verify over the manifest (`E_BUNDLE_SIGNATURE`), checked with WebCrypto's
   *  Ed25519 because this module does not load the engine. */
  signatureKey?: string;
  /** Expected sha256 of manifest.json: `sha256-<64 hex>` or SRI `sha256-<base64>`. */
  integrity?: string;
  /** Development only: accept a published RFC 8032 test key as `signatureKey`. */
  allowTestKey?: boolean;
  /** The bundle name the app expects (`E_BUNDLE_NAME` otherwise). */
  name?: string;
}

/** What `loadBundleData` returns. */
export interface LoadedBundleData extends BundleData {
  catalog: Catalog;
  /** How the data was checked: `signature` (manifest.sig verified with the pinned key,
   *  the catalog against the manifest's sha256), `integrity` (the manifest's sha256
   *  pinned, the catalog against it), or `none` (nothing was pinned: the data is
   *  whatever the server sent; use `bundle.data` once `loadBundle` resolves). */
  verified: 'signature' | 'integrity' | 'none';
}

/**
 * Fetches a bundle's `manifest.json` and `catalog.json` only, for an onboarding screen
 * that paints before the engine loads. With `signatureKey` or `integrity` the data is
 * checked before it is returned (and refused when this browser cannot check it);
 * without, it is unverified (`verified: 'none'`). Either way an app switches to the
 * engine-verified `bundle.data` once `loadBundle` resolves. Paths and download sizes
 * follow the engine's rules (a generated copy, `generated/bundle-rules.ts`).
 */
export async function loadBundleData(manifestUrl: string | URL, options: LoadBundleDataOptions = {}): Promise<LoadedBundleData> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const url = new URL(manifestUrl, typeof location === 'object' ? location.href : undefined);
  const get = async (u: URL, limit: number, code: 'E_BUNDLE_MANIFEST' | 'E_BUNDLE_SIGNATURE' | 'E_BUNDLE_INTEGRITY', what: string): Promise<Uint8Array> => {
    let r: Response;
    try {
      r = await doFetch(u.href, { signal: options.signal, credentials: 'same-origin' });
    } catch (e) {
      const aborted = options.signal?.aborted || (e as { name?: string }).name === 'AbortError';
      throw new AttuneError(aborted ? 'E_ABORTED' : 'E_FETCH', `fetching ${u.href}: ${(e as Error).message}`, { cause: e });
    }
    if (!r.ok) throw new AttuneError('E_FETCH', `fetching ${u.href}: HTTP ${r.status}`, { details: { url: u.href, status: r.status } });
    return readCapped(r, limit, () => new AttuneError(code, `${what}: more than ${limit} bytes`));
  };
  const key = options.signatureKey;
  if (key !== undefined && !options.allowTestKey && PUBLISHED_TEST_KEYS.includes(key.trim().toLowerCase())) {
    throw new AttuneError(
      'E_BUNDLE_TEST_KEY',
      'bundle key: the pinned key is a published RFC 8032 test key: anyone can sign with it. Pin your own publisher key (allow test keys only in development)',
    );
  }
  const manifestBytes = await get(url, MAX_MANIFEST_BYTES, 'E_BUNDLE_MANIFEST', 'manifest.json');
  let verified: LoadedBundleData['verified'] = 'none';
  if (options.integrity !== undefined) {
    const want = parseIntegrity(options.integrity);
    if (!want) throw new AttuneError('E_INTEGRITY', `integrity ${JSON.stringify(options.integrity)}: expected sha256-<64 hex> or sha256-<base64>`);
    const actual = await sha256Hex(manifestBytes);
    if (actual === undefined) throw new AttuneError('E_INTEGRITY', 'manifest.json: this page cannot compute sha256 (WebCrypto needs a secure context)');
    if (actual !== want) {
      throw new AttuneError('E_INTEGRITY', `manifest.json: sha256 ${actual} does not match the expected ${want}`, { details: { expected: want, actual } });
    }
    verified = 'integrity';
  }
  if (key !== undefined) {
    const sig = await get(new URL('manifest.sig', url), SIGNATURE_BYTES, 'E_BUNDLE_SIGNATURE', 'manifest.sig');
    await verifyEd25519(key, sig, manifestBytes);
    verified = 'signature';
  }
  const manifest = parse<Manifest>(manifestBytes, 'E_BUNDLE_MANIFEST', 'manifest.json');
  if (options.name !== undefined && manifest.name !== options.name) {
    throw new AttuneError('E_BUNDLE_NAME', `bundle name: the manifest is bundle ${JSON.stringify(manifest.name)}, the app expects ${JSON.stringify(options.name)}`);
  }
  const ref = manifest.catalog;
  const file = ref?.file;
  const problem = typeof file === 'string' ? pathProblem(file) : 'is missing';
  if (problem !== undefined) {
    throw new AttuneError('E_BUNDLE_MANIFEST', `bundle manifest: file path ${JSON.stringify(file)} ${problem}`);
  }
  const size = ref.bytes;
  if (!Number.isSafeInteger(size) || size < 0) throw new AttuneError('E_BUNDLE_MANIFEST', 'bundle manifest: catalog.bytes is not a size');
  const bytes = await get(new URL(file!, url), size, 'E_BUNDLE_INTEGRITY', `bundle file ${file}`);
  const actual = await sha256Hex(bytes);
  if (actual === undefined && verified !== 'none') {
    throw new AttuneError('E_BUNDLE_INTEGRITY', `bundle file ${file}: this page cannot compute sha256 (WebCrypto needs a secure context)`);
  }
  if (bytes.byteLength !== size || (actual !== undefined && actual !== ref.sha256)) {
    throw new AttuneError('E_BUNDLE_INTEGRITY', `bundle file ${file}: size or sha256 does not match the manifest`, {
      details: { expected: ref.sha256, ...(actual === undefined ? {} : { actual }) },
    });
  }
  return { manifest, catalog: parse<Catalog>(bytes, 'E_BUNDLE_CATALOG', file!), verified };
}

/** Verifies `manifest.sig` with WebCrypto's Ed25519 (RFC 8032, the scheme the engine
 *  verifies). Browsers without it get a clear error rather than unverified data. */
async function verifyEd25519(keyHex: string, sig: Uint8Array, message: Uint8Array): Promise<void> {
  const hex = keyHex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new AttuneError('E_BUNDLE_SIGNATURE', `bundle signature: public key ${JSON.stringify(keyHex)} is not 64 hex digits`);
  if (sig.byteLength !== SIGNATURE_BYTES) {
    throw new AttuneError('E_BUNDLE_SIGNATURE', `bundle signature: manifest.sig has ${sig.byteLength} bytes, expected ${SIGNATURE_BYTES}`);
  }
  const raw = new Uint8Array(32);
  for (let i = 0; i < 32; i++) raw[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  let ok: boolean;
  try {
    if (!subtle) throw new Error('no WebCrypto (not a secure context)');
    const key = await subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    ok = await subtle.verify({ name: 'Ed25519' }, key, sig as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new AttuneError(
      'E_BUNDLE_SIGNATURE',
      `bundle signature: this browser cannot verify Ed25519 without the engine (${(e as Error).message}); use bundle.data from loadBundle()`,
      { cause: e },
    );
  }
  if (!ok) throw new AttuneError('E_BUNDLE_SIGNATURE', 'bundle signature: manifest.sig does not verify with the pinned key');
}

function parse<T>(bytes: Uint8Array, code: 'E_BUNDLE_MANIFEST' | 'E_BUNDLE_CATALOG', what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new AttuneError(code, `${what}: not valid JSON`, { cause: e });
  }
}
