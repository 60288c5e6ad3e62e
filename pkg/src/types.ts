/**
 * The wire format shared by every target: the serde form of the Rust types in
 * `crates/attune` (snake_case fields; the engine refuses unknown fields). A request
 * that works here works unchanged against the Worker's `POST /v1/rank`.
 */

// ---------------------------------------------------------------- bundle

/** What the engine reports about a loaded bundle. */
export interface BundleInfo {
  name: string;
  version: string;
  /** sha256 (hex) of the exact manifest.json bytes: identifies the bundle content. */
  hash: string;
  /** True when a pinned key verified manifest.sig. */
  signature_verified: boolean;
  num_items: number;
  default_model: string;
  models: ModelInfo[];
}

export interface ModelInfo {
  id: string;
  task: 'next_item' | 'ranking';
  precision: string;
  sha256: string;
  bytes: number;
  /** True when the model scores the whole catalog (next-item models). */
  scores_catalog: boolean;
  history_len: number;
}

export interface Topic {
  id: string;
  label: string;
  /** App item ids to show for the topic at onboarding. */
  representative_items: string[];
}

export interface ManifestFile {
  file: string;
  sha256: string;
  bytes: number;
}

export interface ManifestModel extends ManifestFile {
  id: string;
  task: 'next_item' | 'ranking';
  precision: string;
  ops: string[];
  inputs: Record<string, unknown>[];
  outputs: Record<string, unknown>[];
}

/** `manifest.json` (docs/bundle.md), as plain JSON. */
export interface Manifest {
  format: 'attune-bundle';
  format_version: number;
  name: string;
  version: string;
  created: string;
  models: ManifestModel[];
  default_model: string;
  catalog: ManifestFile & { num_items: number };
  topics: Topic[];
  onboarding: { topics: string[]; suggested_picks: number };
  defaults: { k: number; diversity: number; exploration: number };
  model_card: Record<string, unknown>;
}

/** `catalog.json`: columnar; position `i` of every array describes model index `i`. */
export interface Catalog {
  format: 'attune-catalog';
  format_version: number;
  num_items: number;
  ids: string[];
  titles: string[];
  /** Indices into `manifest.topics`. */
  topics: number[][];
  published?: (string | null)[];
  image_urls?: (string | null)[];
  metadata?: (Record<string, unknown> | null)[];
}

/** The bundle's plain data, usable without the wasm (onboarding, titles, images). */
export interface BundleData {
  manifest: Manifest;
  catalog?: Catalog;
}

// ---------------------------------------------------------------- profile

export type EventType =
  | 'impression'
  | 'view'
  | 'click'
  | 'like'
  | 'dislike'
  | 'skip'
  | 'dwell'
  | 'rating'
  | 'purchase'
  | 'share';

interface EventBase {
  /** The app's item id. */
  item: string;
  /** Milliseconds since the epoch (`track` fills in `Date.now()` when absent). */
  ts?: number;
}

/** One thing the user did. */
export type ProfileEvent =
  | (EventBase & { type: 'impression' | 'view' | 'click' | 'like' | 'dislike' | 'skip' | 'purchase' | 'share' })
  | (EventBase & { type: 'dwell'; ms: number })
  | (EventBase & { type: 'rating'; value: number });

/** An event as stored (with its timestamp). */
export type StoredEvent = ProfileEvent & { ts: number };

export interface Onboarding {
  picked_topics: string[];
  rejected_topics: string[];
  liked_items: string[];
}

export interface Controls {
  muted_topics: string[];
  boosted_topics: string[];
  blocked_items: string[];
  less_like_this: string[];
  /** In [0, 1]; overrides the bundle default. */
  exploration?: number;
  /** In [0, 1]; overrides the bundle default. */
  diversity?: number;
}

export interface Retention {
  max_events?: number;
  max_age_ms?: number;
}

export interface Settings {
  affinity_half_life_ms: number;
  min_dwell_ms: number;
  retention: Retention;
}

/** The stored profile (`format_version` 1). */
export interface ProfileData {
  format_version: number;
  events: StoredEvent[];
  onboarding: Onboarding;
  controls: Controls;
  settings: Settings;
}

// ---------------------------------------------------------------- ranking

export interface MetadataFilter {
  key: string;
  equals?: unknown;
  one_of?: unknown[];
}

export interface Filter {
  topics_any?: string[];
  topics_none?: string[];
  metadata?: MetadataFilter[];
  /** `YYYY-MM-DD`; undated items are dropped. */
  published_after?: string | null;
  published_before?: string | null;
}

export type Rule =
  | { kind: 'boost'; items?: string[]; topics?: string[]; weight: number }
  | { kind: 'bury'; items?: string[]; topics?: string[]; weight: number }
  | { kind: 'pin'; item: string; slot: number };

/** What to rank and how. Every field is optional. */
export interface RankRequest {
  /** Model id (default: the bundle's default model). */
  model?: string | null;
  /** App item ids to rank (default: the whole catalog). */
  candidates?: string[] | null;
  /** How many to return (default: the bundle's `defaults.k`). */
  k?: number | null;
  /** The caller's clock, for affinity decay and freshness. */
  now_ms?: number | null;
  include_seen?: boolean;
  filter?: Filter;
  rules?: Rule[];
  /** MMR weight in [0, 1]. */
  diversity?: number | null;
  /** Share of exploration slots in [0, 1]. */
  exploration?: number | null;
  /** Seed of the exploration draw: same seed, same list. */
  seed?: number;
  freshness?: { weight: number; half_life_days: number } | null;
  /** Raw values of `context` features, by name. */
  context?: Record<string, number>;
  /** How many recent history items are re-scored for "because you watched X". */
  explain_history?: number | null;
  /** Cold-start nudge per matching onboarding pick. */
  onboarding_weight?: number | null;
}

/** Why an item is in the list; each reason refers to an input the model really used. */
export type Reason =
  | { kind: 'history'; item: string; title: string; verb: string }
  | { kind: 'picked_topic'; topic: string; label: string }
  | { kind: 'boosted_topic'; topic: string; label: string }
  | { kind: 'frequent_topic'; topic: string; label: string; share: number }
  | { kind: 'popular' }
  | { kind: 'fresh'; published: string }
  | { kind: 'exploration' }
  | { kind: 'rule'; boost: number }
  | { kind: 'pinned'; slot: number };

export interface RankedItem {
  id: string;
  /** Model index (position in the catalog). */
  index: number;
  title: string;
  /** 1-based. */
  rank: number;
  /** Final score on the [0, 1] scale after rules, diversity and freshness. */
  score: number;
  /** The model's raw output. */
  model_score: number;
  reasons: Reason[];
  /** The reasons as English display text, written by the engine (`Reason::text`), in
   *  the same order. `reasonText(reason, { title })` gives the same sentence with a
   *  display title of your own. */
  why: string[];
}

export interface Ranking {
  model: string;
  items: RankedItem[];
  inputs: {
    history: string[];
    preferences: Record<string, number>;
    features?: [string, number][];
    unknown_items?: string[];
    unknown_topics?: string[];
  };
  counts: {
    candidates: number;
    seen: number;
    blocked: number;
    muted: number;
    filtered: number;
    eligible: number;
  };
}
