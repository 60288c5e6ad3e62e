/**
 * Attune: on-device personalization. Load a signed bundle, keep the user's profile on
 * the device, rank with reasons.
 *
 * ```ts
 * import { init, loadBundle, openProfile, Ranker } from 'attune';
 * await init();
 * const bundle = await loadBundle('/bundles/movielens/manifest.json');
 * const profile = await openProfile({ bundle });
 * await profile.track({ item: '50', type: 'view' });
 * const ranking = new Ranker(bundle).rank(profile, { k: 10 });
 * ```
 */
export { init, isInitialized, type InitOptions, type WasmSource } from './wasm.js';
export {
  Bundle,
  loadBundle,
  type BundleFiles,
  type BundleSource,
  type CatalogItem,
  type LoadBundleOptions,
  type LoadProgress,
  type LoadReport,
} from './bundle.js';
export type { CacheMode } from './cache.js';
export {
  Profile,
  openProfile,
  readStoredProfile,
  deleteStoredProfile,
  PROFILE_RECORD_SCHEMA,
  type OpenProfileOptions,
} from './profile.js';
export { Ranker } from './ranker.js';
export {
  AttuneError,
  type AttuneErrorCode,
  type AttuneErrorDetails,
  type EngineErrorCode,
  type PackageErrorCode,
} from './errors.js';
export { reasonText, type ReasonTextOptions } from './reasons.js';
export type * from './types.js';

import { wasm } from './wasm.js';

/** The engine's version (same as the Rust crates). Needs `init()`. */
export function version(): string {
  return wasm().version();
}
