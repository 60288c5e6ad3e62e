/** The demo's one door to the `attune` package: loads the bundle, opens the stored
 *  profile, ranks and times each ranking. Views never touch the package directly. */
import {
  init,
  loadBundle,
  openProfile,
  Ranker,
  readStoredProfile,
  reasonText,
  version,
  type Bundle,
  type BundleInfo,
  type Catalog as CatalogJson,
  type Controls,
  type Manifest,
  type Onboarding,
  type Profile,
  type ProfileData,
  type Ranking,
  type Reason,
} from 'attune';

export type { BundleInfo, Controls, ProfileData, RankedItem, Ranking, Reason } from 'attune';

/** A reason's sentence as the engine writes it (the demo writes none of its own), with
 *  the demo's display title ("The Rock") for the item a history reason names. */
export function reasonSentence(reason: Reason, displayTitle?: string): string {
  return reasonText(reason, displayTitle === undefined ? {} : { title: displayTitle });
}

/** The bundle this app is built for: another one, even signed, is refused. */
const BUNDLE_NAME = 'movielens-100k-sequence';

export interface Timed<T> {
  value: T;
  ms: number;
}

export class Engine {
  private constructor(
    private readonly bundle: Bundle,
    private readonly profile: Profile,
    private readonly ranker: Ranker,
    /** From the first byte of wasm to a profile ready to rank. */
    readonly loadMs: number,
    readonly runtimeVersion: string,
  ) {}

  /** Starts the wasm, fetches and verifies the bundle, and opens the stored profile.
   *  `allowTestKey`: the pinned key may be a published test key (development only). */
  static async start(bundleUrl: string, signatureKey: string, allowTestKey: boolean): Promise<Engine> {
    const t0 = performance.now();
    await init();
    // The default cache ('auto': the Cache API on a secure origin) keeps the model for
    // the next visit; the manifest is revalidated each time, so a new bundle shows up,
    // and a replayed older version is refused.
    const bundle = await loadBundle(bundleUrl, { signatureKey, allowTestKey, name: BUNDLE_NAME });
    const profile = await openProfile({ bundle, name: 'default' });
    return new Engine(bundle, profile, new Ranker(bundle), performance.now() - t0, version());
  }

  /** Whether this browser holds a profile with answers or events, read straight from
   *  IndexedDB without the wasm: returning users skip the onboarding screen. A record
   *  that cannot be read counts as present, so `start` reports it instead of hiding it. */
  static async hasStoredProfile(): Promise<boolean> {
    let text: string | undefined;
    try {
      text = await readStoredProfile('default');
    } catch {
      return false;
    }
    if (text === undefined) return false;
    try {
      const p = JSON.parse(text) as Partial<ProfileData>;
      return (p.onboarding?.picked_topics?.length ?? 0) > 0 || (p.events?.length ?? 0) > 0 || (p.onboarding?.liked_items?.length ?? 0) > 0;
    } catch {
      return true;
    }
  }

  get info(): BundleInfo {
    return this.bundle.info;
  }

  get manifest(): Manifest {
    return this.bundle.data.manifest;
  }

  get catalog(): CatalogJson {
    return this.bundle.data.catalog;
  }

  /** Everything stored about the user. */
  data(): ProfileData {
    return this.profile.data();
  }

  /** The user's data as the pretty JSON a download gets. */
  exportText(): string {
    return this.profile.exportJson();
  }

  rank(k: number, overrides: { diversity?: number; exploration?: number } = {}): Timed<Ranking> {
    const t0 = performance.now();
    const value = this.ranker.rank(this.profile, { k, ...overrides });
    return { value, ms: performance.now() - t0 };
  }

  track(item: string, type: 'like'): Promise<void> {
    return this.profile.track({ item, type });
  }

  setOnboarding(answers: Onboarding): Promise<void> {
    return this.profile.setOnboarding(answers);
  }

  setPicks(picked: string[]): Promise<void> {
    return this.profile.setOnboarding({ ...this.data().onboarding, picked_topics: picked });
  }

  updateControls(patch: Partial<Controls>): Promise<void> {
    return this.profile.updateControls(patch);
  }

  /** Deletes the stored profile, the IndexedDB record too; the profile is empty after. */
  deleteAll(): Promise<void> {
    return this.profile.delete();
  }
}
