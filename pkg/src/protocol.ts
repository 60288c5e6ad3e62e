/** @internal Messages between `attune/worker` and the worker script. */
import type { BundleInfo, Catalog, Manifest, RankRequest, Ranking } from './types.js';
import type { LoadProgress, LoadReport } from './bundle.js';
import type { CacheMode } from './cache.js';

export interface StartMessage {
  type: 'start';
  /** The compiled module when the page already has it, else a URL (or nothing: the
   *  default beside the worker script). */
  wasm?: WebAssembly.Module | string | ArrayBuffer;
  /** The manifest URL, or the files. */
  bundle: string | Record<string, Uint8Array>;
  options: { cache?: CacheMode; integrity?: string; signatureKey?: string; cacheName?: string; dbName?: string };
}

export interface RankMessage {
  type: 'rank';
  id: number;
  /** Identifies the profile and its version; `profile` is sent only when they change. */
  key: string;
  profile?: string;
  request: RankRequest;
}

export type ToWorker = StartMessage | RankMessage | { type: 'abort' };

export interface WireError {
  code: string;
  message: string;
}

export type FromWorker =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'ready'; info: BundleInfo; data: { manifest: Manifest; catalog: Catalog }; report: Omit<LoadReport, 'cacheError'> }
  | { type: 'failed'; error: WireError }
  | { type: 'ranked'; id: number; ranking: Ranking }
  | { type: 'rank-failed'; id: number; error: WireError };
