/**
 * Onboarding capture without the wasm: topics to pick (or reject), then a few seed
 * items of the picked topics to like, with skip and progress. Plain TypeScript over the
 * bundle's JSON, so an onboarding screen paints while the engine is still loading.
 *
 * ```ts
 * import { createOnboarding, loadBundleData } from 'attune/onboarding';
 * const flow = createOnboarding(await loadBundleData(manifestUrl));
 * flow.subscribe((s) => render(s));
 * flow.toggleTopic('sci-fi'); flow.next(); flow.toggleItem('50'); flow.next();
 * await profile.setOnboarding(await flow.done);   // later, with the wasm loaded
 * ```
 */
import { AttuneError } from './errors.js';
import { sha256Hex } from './hash.js';
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

/**
 * Fetches a bundle's `manifest.json` and `catalog.json` only, for an onboarding screen
 * that paints before the engine loads. The catalog is checked against the manifest's
 * sha256 where WebCrypto is available. (The bundle itself is verified by `loadBundle`;
 * the browser's HTTP cache serves the second download.)
 */
export async function loadBundleData(
  manifestUrl: string | URL,
  options: { signal?: AbortSignal; fetch?: typeof fetch } = {},
): Promise<BundleData & { catalog: Catalog }> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const url = new URL(manifestUrl, typeof location === 'object' ? location.href : undefined);
  const get = async (u: URL): Promise<Uint8Array> => {
    let r: Response;
    try {
      r = await doFetch(u.href, { signal: options.signal });
    } catch (e) {
      const aborted = options.signal?.aborted || (e as { name?: string }).name === 'AbortError';
      throw new AttuneError(aborted ? 'E_ABORTED' : 'E_FETCH', `fetching ${u.href}: ${(e as Error).message}`, { cause: e });
    }
    if (!r.ok) throw new AttuneError('E_FETCH', `fetching ${u.href}: HTTP ${r.status}`, { details: { url: u.href, status: r.status } });
    return new Uint8Array(await r.arrayBuffer());
  };
  const manifest = parse<Manifest>(await get(url), 'E_BUNDLE_MANIFEST', 'manifest.json');
  const file = manifest.catalog?.file;
  if (typeof file !== 'string' || file.includes('..') || file.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(file)) {
    throw new AttuneError('E_BUNDLE_MANIFEST', 'manifest.json: catalog.file is not a plain relative path');
  }
  const bytes = await get(new URL(file, url));
  const actual = await sha256Hex(bytes);
  if (actual !== undefined && actual !== manifest.catalog.sha256) {
    throw new AttuneError('E_BUNDLE_INTEGRITY', `${file}: sha256 does not match the manifest`, {
      details: { expected: manifest.catalog.sha256, actual },
    });
  }
  return { manifest, catalog: parse<Catalog>(bytes, 'E_BUNDLE_CATALOG', file) };
}

function parse<T>(bytes: Uint8Array, code: 'E_BUNDLE_MANIFEST' | 'E_BUNDLE_CATALOG', what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new AttuneError(code, `${what}: not valid JSON`, { cause: e });
  }
}
