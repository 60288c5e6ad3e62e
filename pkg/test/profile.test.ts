import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AttuneError, deleteStoredProfile, init, openProfile, readStoredProfile } from '../dist/index.js';
import { freshDb, putRecord, rawRecord, wasmBytes } from './helpers.js';

beforeAll(() => init({ wasm: wasmBytes() }));
afterEach(() => vi.restoreAllMocks());

describe('profile', () => {
  it('persists events across opens', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName });
    expect(p.eventCount).toBe(0);
    await p.track({ item: '50', type: 'rating', value: 5, ts: 1000 });
    await p.track({ item: '181', type: 'view' });
    await p.setOnboarding({ picked_topics: ['sci-fi'] });
    const again = await openProfile({ dbName });
    expect(again.eventCount).toBe(2);
    const data = again.data();
    expect(data.format_version).toBe(1);
    expect(data.events[0]).toEqual({ item: '50', ts: 1000, type: 'rating', value: 5 });
    expect(data.events[1]!.ts).toBeGreaterThan(1_600_000_000_000); // defaulted to now
    expect(data.onboarding).toEqual({ picked_topics: ['sci-fi'], rejected_topics: [], liked_items: [] });
    // Profiles are separate by name.
    expect((await openProfile({ dbName, name: 'other' })).eventCount).toBe(0);
  });

  it('refuses a bad event, typed, and changes nothing', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName });
    await p.track({ item: '1', type: 'view' });
    const rev = p.revision;
    const err = await p.track({ item: '', type: 'view' }).catch((e) => e);
    expect(err).toBeInstanceOf(AttuneError);
    expect(err.code).toBe('E_PROFILE_INVALID');
    // @ts-expect-error: an unknown event type
    await expect(p.track({ item: '2', type: 'teleport' })).rejects.toMatchObject({ code: 'E_PROFILE_INVALID' });
    // A batch is all or nothing.
    await expect(p.track([{ item: '3', type: 'view' }, { item: '4', type: 'rating', value: Number.NaN }])).rejects.toBeInstanceOf(AttuneError);
    expect(p.eventCount).toBe(1);
    expect(p.revision).toBe(rev);
    expect((await openProfile({ dbName })).eventCount).toBe(1);
  });

  it('merges control updates and checks them', async () => {
    const p = await openProfile({ storage: 'memory' });
    await p.updateControls({ muted_topics: ['horror'] });
    await p.updateControls({ diversity: 0.5 });
    expect(p.data().controls).toMatchObject({ muted_topics: ['horror'], diversity: 0.5 });
    await expect(p.updateControls({ diversity: 2 })).rejects.toMatchObject({ code: 'E_PROFILE_INVALID' });
    expect(p.data().controls.diversity).toBe(0.5);
    await p.updateSettings({ retention: { max_events: 2 } });
    await p.track([
      { item: '1', type: 'view', ts: 1 },
      { item: '2', type: 'view', ts: 2 },
      { item: '3', type: 'view', ts: 3 },
    ]);
    await p.applyRetention(10);
    expect(p.data().events.map((e) => e.item)).toEqual(['2', '3']);
  });

  it('exports and deletes, removing the stored record', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName, name: 'me' });
    await p.track({ item: '50', type: 'like', ts: 5 });
    const exported = p.export();
    expect(exported.events).toEqual([{ item: '50', ts: 5, type: 'like' }]);
    expect(JSON.parse(p.exportJson())).toEqual(exported);
    expect(await rawRecord(dbName, 'profiles', 'me')).toMatchObject({ name: 'me', schema: 1 });
    await p.delete();
    expect(await rawRecord(dbName, 'profiles', 'me')).toBeUndefined();
    expect(p.eventCount).toBe(0);
    expect((await openProfile({ dbName, name: 'me' })).eventCount).toBe(0);
  });

  it('reports a corrupted record with its raw text and keeps it', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName });
    await p.track({ item: '50', type: 'view', ts: 1 });
    const broken = '{"format_version": 1, "events": [{"item": "50", "ts": 1, "type": "vi';
    await putRecord(dbName, 'profiles', { name: 'default', schema: 1, data: broken, updated: 0 });
    const err = await openProfile({ dbName }).catch((e) => e);
    expect(err).toBeInstanceOf(AttuneError);
    expect(err.code).toBe('E_PROFILE_CORRUPT');
    expect(err.details.raw).toBe(broken);
    // Not reset: the record is still there, byte for byte, and exportable.
    expect(await rawRecord(dbName, 'profiles', 'default')).toMatchObject({ data: broken });
    expect(await readStoredProfile('default', { dbName })).toBe(broken);
    // Opening again reports it again (nothing was overwritten meanwhile).
    await expect(openProfile({ dbName })).rejects.toMatchObject({ code: 'E_PROFILE_CORRUPT' });
    // A record that is not even in the package's shape is reported the same way.
    await putRecord(dbName, 'profiles', { name: 'odd', surprise: true });
    const odd = await openProfile({ dbName, name: 'odd' }).catch((e) => e);
    expect(odd.code).toBe('E_PROFILE_CORRUPT');
    expect(JSON.parse(odd.details.raw)).toEqual({ name: 'odd', surprise: true });
    // The user's way out is explicit.
    await deleteStoredProfile('default', { dbName });
    expect((await openProfile({ dbName })).eventCount).toBe(0);
  });

  it('reports a profile from a newer version as E_PROFILE_VERSION', async () => {
    const dbName = freshDb();
    await (await openProfile({ dbName })).track({ item: '1', type: 'view' });
    await putRecord(dbName, 'profiles', { name: 'default', schema: 1, data: '{"format_version": 99, "events": []}', updated: 0 });
    await expect(openProfile({ dbName })).rejects.toMatchObject({ code: 'E_PROFILE_VERSION' });
    await putRecord(dbName, 'profiles', { name: 'default', schema: 7, data: '{}', updated: 0 });
    await expect(openProfile({ dbName })).rejects.toMatchObject({ code: 'E_PROFILE_VERSION' });
  });

  it('surfaces a full disk as E_STORAGE_QUOTA and keeps the change for the next write', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName });
    await p.track({ item: '1', type: 'view', ts: 1 });
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    await expect(p.track({ item: '2', type: 'view', ts: 2 })).rejects.toMatchObject({ name: 'AttuneError', code: 'E_STORAGE_QUOTA' });
    expect(p.eventCount).toBe(2);
    put.mockRestore();
    await p.track({ item: '3', type: 'view', ts: 3 });
    const again = await openProfile({ dbName });
    expect(again.data().events.map((e) => e.item)).toEqual(['1', '2', '3']);
  });

  it('keeps nothing with storage: "memory"', async () => {
    const dbName = freshDb();
    const p = await openProfile({ dbName, storage: 'memory' });
    await p.track({ item: '1', type: 'view' });
    expect((await openProfile({ dbName })).eventCount).toBe(0);
  });
});
