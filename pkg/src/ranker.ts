import type { Bundle } from './bundle.js';
import type { Profile } from './profile.js';
import type { RankRequest, Ranking } from './types.js';
import { engine } from './wasm.js';

/** Ranks a bundle's catalog (or given candidates) for a profile, with reasons. */
export class Ranker {
  readonly bundle: Bundle;

  constructor(bundle: Bundle) {
    this.bundle = bundle;
  }

  /** Synchronous: a next-item model over 1,682 items takes a few milliseconds. For
   *  large catalogs or slow devices use `attune/worker`. */
  rank(profile: Profile, request: RankRequest = {}): Ranking {
    const handle = this.bundle.handle;
    return engine(() => JSON.parse(handle.rank(profile.handle, JSON.stringify(request))) as Ranking);
  }
}
