/**
 * The user's profile: kept in the engine (`WasmProfile`) and persisted as its compact
 * JSON in IndexedDB, one record per profile name. Nothing leaves the device.
 *
 * Every change is applied in memory first, then written in its own transaction, in
 * order. A failed write (`E_STORAGE_QUOTA`, `E_STORAGE`) rejects that call's promise
 * and keeps the change in memory; the next successful write stores it. A stored record
 * that cannot be read is reported (`E_PROFILE_CORRUPT` / `E_PROFILE_VERSION`, with the
 * raw text in `error.details.raw`) and left exactly as it is: it is never reset.
 */
import type { WasmProfile } from './attune.js';
import type { Bundle } from './bundle.js';
import { AttuneError } from './errors.js';
import { DEFAULT_DB, PROFILES, request, transact } from './idb.js';
import type { Controls, Onboarding, ProfileData, ProfileEvent, Settings } from './types.js';
import { engine, instanceGeneration, wasm } from './wasm.js';

/** Schema of the IndexedDB record (not of the profile JSON, which has its own
 *  `format_version` and migrations in the engine). */
export const PROFILE_RECORD_SCHEMA = 1;

interface ProfileRecord {
  name: string;
  schema: number;
  /** The engine's compact JSON. Kept as text so a record the engine cannot read is
   *  still exportable byte for byte. */
  data: string;
  updated: number;
}

export interface OpenProfileOptions {
  /** The bundle the profile will rank with (optional; profiles are not tied to one). */
  bundle?: Bundle;
  /** Profile name (default `default`): an app can keep several. */
  name?: string;
  /** `indexeddb` (default) or `memory` (nothing stored; for tests and private modes). */
  storage?: 'indexeddb' | 'memory';
  /** IndexedDB database name (default `attune`). */
  dbName?: string;
  /** Clock for event timestamps and retention (default `Date.now`). */
  now?: () => number;
}

const disposeSymbol: symbol | undefined = (Symbol as { dispose?: symbol }).dispose;

/** A profile stored on this device. */
export class Profile {
  readonly name: string;
  readonly storage: 'indexeddb' | 'memory';
  #handle: WasmProfile;
  #generation: number;
  /** The last state the engine accepted, as its compact JSON: what the handle is
   *  rebuilt from when the engine was restarted after a panic. */
  #snapshot: string;
  #dbName: string;
  #now: () => number;
  #revision = 0;
  #writes: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(handle: WasmProfile, name: string, storage: 'indexeddb' | 'memory', dbName: string, now: () => number) {
    this.#handle = handle;
    this.#generation = instanceGeneration();
    this.#snapshot = handle.toJson();
    this.name = name;
    this.storage = storage;
    this.#dbName = dbName;
    this.#now = now;
  }

  /** @internal */
  get handle(): WasmProfile {
    return this.#h;
  }

  /** The engine's handle, rebuilt from the snapshot on a restarted engine. */
  get #h(): WasmProfile {
    if (this.#generation !== instanceGeneration()) {
      // The old handle belongs to the replaced instance: never touch it again.
      this.#handle = engine(() => wasm().WasmProfile.fromJson(this.#snapshot));
      this.#generation = instanceGeneration();
    }
    return this.#handle;
  }

  /** Increases on every change (a worker ranker resends the profile only then). */
  get revision(): number {
    return this.#revision;
  }

  get eventCount(): number {
    return this.#h.eventCount();
  }

  /** Records what the user did (one event or a batch). `ts` defaults to now. A bad
   *  event rejects with `E_PROFILE_INVALID` and changes nothing. The change is applied
   *  in memory at once (a `rank` right after sees it); the promise settles when it is
   *  stored. */
  async track(event: ProfileEvent | ProfileEvent[]): Promise<void> {
    const events = Array.isArray(event) ? event : [event];
    const now = this.#now();
    // All or nothing: the events are checked by the engine one by one, so a bad event
    // in a batch would leave the earlier ones recorded. Check them on a copy first.
    if (events.length > 1) {
      const probe = engine(() => wasm().WasmProfile.fromJson(this.#h.toJson()));
      try {
        for (const e of events) engine(() => probe.track(JSON.stringify({ ts: now, ...e })));
      } finally {
        probe.free();
      }
    }
    for (const e of events) engine(() => this.#h.track(JSON.stringify({ ts: now, ...e })));
    return this.#changed();
  }

  /** Stores the onboarding answers (missing lists are empty). */
  async setOnboarding(answers: Partial<Onboarding>): Promise<void> {
    const full: Onboarding = {
      picked_topics: answers.picked_topics ?? [],
      rejected_topics: answers.rejected_topics ?? [],
      liked_items: answers.liked_items ?? [],
    };
    engine(() => this.#h.setOnboarding(JSON.stringify(full)));
    return this.#changed();
  }

  /** Changes some controls, keeping the others. Values are checked (`E_PROFILE_INVALID`). */
  async updateControls(changes: Partial<Controls>): Promise<void> {
    const next = { ...this.data().controls, ...changes };
    engine(() => this.#h.setControls(JSON.stringify(next)));
    return this.#changed();
  }

  /** Changes some settings, keeping the others. */
  async updateSettings(changes: Partial<Settings>): Promise<void> {
    const next = { ...this.data().settings, ...changes };
    engine(() => this.#h.setSettings(JSON.stringify(next)));
    return this.#changed();
  }

  /** Drops events past the retention limits; returns how many were removed. */
  async applyRetention(nowMs: number = this.#now()): Promise<number> {
    const removed = engine(() => this.#h.applyRetention(nowMs));
    if (removed > 0) await this.#changed();
    return removed;
  }

  /** The profile as stored (compact wire form). */
  data(): ProfileData {
    return JSON.parse(this.#h.toJson()) as ProfileData;
  }

  /** Everything the profile holds, for the user's data export. */
  export(): ProfileData {
    return JSON.parse(this.#h.exportJson()) as ProfileData;
  }

  /** The export as pretty JSON text (to offer as a download). */
  exportJson(): string {
    return this.#h.exportJson();
  }

  /** Deletes everything: the in-memory profile and the stored record. The profile
   *  stays usable (empty); a later change stores a new record. */
  async delete(): Promise<void> {
    engine(() => this.#h.deleteAll());
    this.#snapshot = engine(() => this.#h.toJson());
    this.#revision++;
    const run = this.#writes.then(() => (this.storage === 'indexeddb' ? deleteStoredProfile(this.name, { dbName: this.#dbName }) : undefined));
    this.#writes = run.catch(() => {});
    await run;
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.#writes;
  }

  /** Releases the engine's memory. */
  free(): void {
    if (this.#generation === instanceGeneration()) this.#handle.free();
  }

  #changed(): Promise<void> {
    this.#revision++;
    const text = engine(() => this.#h.toJson());
    this.#snapshot = text;
    if (this.storage === 'memory') return Promise.resolve();
    const run = this.#writes.then(() => writeRecord(this.#dbName, this.name, text));
    this.#writes = run.catch(() => {});
    return run;
  }
}
if (disposeSymbol) {
  (Profile.prototype as unknown as Record<symbol, unknown>)[disposeSymbol] = Profile.prototype.free;
}

/**
 * Opens the named profile, creating an empty one when none is stored. Needs `init()`.
 * Applies the retention limits on open.
 */
export async function openProfile(options: OpenProfileOptions = {}): Promise<Profile> {
  const w = wasm();
  const name = options.name ?? 'default';
  const storage = options.storage ?? 'indexeddb';
  const dbName = options.dbName ?? DEFAULT_DB;
  const now = options.now ?? Date.now;
  let handle: WasmProfile;
  if (storage === 'memory') {
    handle = new w.WasmProfile();
  } else {
    const raw = await readRecord(dbName, name);
    if (raw === undefined) {
      handle = new w.WasmProfile();
    } else {
      const text = recordText(raw);
      try {
        handle = w.WasmProfile.fromJson(text);
      } catch (e) {
        const code = AttuneError.is(e, 'E_PROFILE_VERSION') ? 'E_PROFILE_VERSION' : 'E_PROFILE_CORRUPT';
        throw new AttuneError(
          code,
          `stored profile ${JSON.stringify(name)} cannot be read (${(e as Error).message}); it was left as it is: ` +
            'export it with readStoredProfile() or remove it with deleteStoredProfile()',
          { cause: e, details: { raw: text } },
        );
      }
    }
  }
  const profile = new Profile(handle, name, storage, dbName, now);
  await profile.applyRetention();
  return profile;
}

/** The stored record's profile text as it is, without parsing it: the way to export a
 *  profile that `openProfile` reports as corrupt. */
export async function readStoredProfile(name = 'default', options: { dbName?: string } = {}): Promise<string | undefined> {
  const raw = await readRecord(options.dbName ?? DEFAULT_DB, name);
  return raw === undefined ? undefined : recordText(raw);
}

/** Removes the stored record (e.g. after the user exported a corrupt one). */
export async function deleteStoredProfile(name = 'default', options: { dbName?: string } = {}): Promise<void> {
  await transact(options.dbName ?? DEFAULT_DB, PROFILES, 'readwrite', `deleting profile ${JSON.stringify(name)}`, (tx) => {
    tx.objectStore(PROFILES).delete(name);
  });
}

function readRecord(dbName: string, name: string): Promise<unknown> {
  return transact(dbName, PROFILES, 'readonly', `reading profile ${JSON.stringify(name)}`, (tx) =>
    request(tx.objectStore(PROFILES).get(name)),
  );
}

/** The profile text of a record; any other shape is reported with the record itself
 *  as the raw text. */
function recordText(raw: unknown): string {
  const r = raw as Partial<ProfileRecord> | null;
  if (r && typeof r === 'object' && typeof r.schema === 'number' && r.schema > PROFILE_RECORD_SCHEMA) {
    throw new AttuneError('E_PROFILE_VERSION', `stored profile record has schema ${r.schema}; this version reads ${PROFILE_RECORD_SCHEMA}`, {
      details: { raw: safeStringify(raw) },
    });
  }
  if (r && typeof r === 'object' && typeof r.data === 'string') return r.data;
  throw new AttuneError('E_PROFILE_CORRUPT', 'stored profile record is not in the expected form; it was left as it is', {
    details: { raw: safeStringify(raw) },
  });
}

function safeStringify(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

async function writeRecord(dbName: string, name: string, data: string): Promise<void> {
  const rec: ProfileRecord = { name, schema: PROFILE_RECORD_SCHEMA, data, updated: Date.now() };
  await transact(dbName, PROFILES, 'readwrite', `saving profile ${JSON.stringify(name)}`, (tx) => {
    tx.objectStore(PROFILES).put(rec);
  });
}
