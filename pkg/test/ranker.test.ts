import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AttuneError,
  init,
  loadBundle,
  openProfile,
  Ranker,
  reasonText,
  type Bundle,
  type RankRequest,
} from '../dist/index.js';
import { freshDb, putRecord, repo, wasmBytes } from './helpers.js';

const bundles = new Map<string, Bundle>();

async function bundle(dir: string): Promise<Bundle> {
  let b = bundles.get(dir);
  if (!b) {
    const manifest = JSON.parse(readFileSync(join(repo, dir, 'manifest.json'), 'utf8'));
    const files: Record<string, Uint8Array> = { 'manifest.json': readFileSync(join(repo, dir, 'manifest.json')) };
    for (const f of [manifest.catalog.file, ...manifest.models.map((m: { file: string }) => m.file)]) {
      files[f] = readFileSync(join(repo, dir, f));
    }
    b = await loadBundle(files);
    bundles.set(dir, b);
  }
  return b;
}

beforeAll(() => init({ wasm: wasmBytes() }));

interface Golden {
  note: string;
  bundle: string;
  profile: unknown;
  request: RankRequest;
  expect: { id: string; title: string; score: number; model_score: number; reasons: string[] }[];
}

// The repository's golden ranking cases (tests/golden, also checked natively and under
// WASI): the package must give the same lists through IndexedDB and the wasm layer.
const goldenDir = join(repo, 'tests/golden');
const cases = readdirSync(goldenDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(goldenDir, f), 'utf8')) as Golden] as const);

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);

describe('golden rankings through the package', () => {
  it.each(cases)('%s', async (_file, c) => {
    const dbName = freshDb();
    // Stored the way the package stores profiles, then opened through the package.
    await (await openProfile({ dbName })).flush();
    await putRecord(dbName, 'profiles', { name: 'default', schema: 1, data: JSON.stringify(c.profile), updated: 0 });
    const profile = await openProfile({ dbName, now: () => 0 });
    const ranking = new Ranker(await bundle(c.bundle)).rank(profile, c.request);
    expect(ranking.items.length).toBe(c.expect.length);
    expect(new Set(ranking.items.map((i) => i.id))).toEqual(new Set(c.expect.map((e) => e.id)));
    ranking.items.forEach((item, i) => {
      const want = c.expect[i]!;
      expect(item.rank).toBe(i + 1);
      // Two items may swap only when their expected scores are within the tolerance.
      expect(close(item.score, want.score), `${c.note}: score at ${i}`).toBe(true);
      if (item.id !== want.id) return;
      expect(close(item.model_score, want.model_score)).toBe(true);
      expect(item.title).toBe(want.title);
      expect(item.reasons.map(reasonText)).toEqual(want.reasons);
    });
  });
});

describe('Ranker', () => {
  it('ranks a cold start with onboarding picks, with reasons', async () => {
    const b = await bundle('models/movielens-100k/sequence');
    const profile = await openProfile({ storage: 'memory' });
    await profile.setOnboarding({ picked_topics: ['sci-fi'] });
    const r = new Ranker(b).rank(profile, { k: 5 });
    expect(r.model).toBe('sequence');
    expect(r.items).toHaveLength(5);
    expect(r.items.some((i) => i.reasons.some((x) => x.kind === 'picked_topic' && x.topic === 'sci-fi'))).toBe(true);
    expect(r.counts.candidates).toBe(1682);
    expect(r.inputs.preferences['sci-fi']).toBe(1);
    // Deterministic.
    expect(new Ranker(b).rank(profile, { k: 5 })).toEqual(r);
    // Default k comes from the bundle.
    expect(new Ranker(b).rank(profile).items).toHaveLength(b.data.manifest.defaults.k);
  });

  it('sees a tracked event at once and leaves seen items out', async () => {
    const b = await bundle('models/movielens-100k/sequence');
    const profile = await openProfile({ storage: 'memory' });
    await profile.track({ item: '50', type: 'rating', value: 5, ts: 1 });
    const r = new Ranker(b).rank(profile, { k: 20 });
    expect(r.items.map((i) => i.id)).not.toContain('50');
    expect(r.inputs.history).toEqual(['50']);
    expect(r.items[0]!.reasons[0]).toMatchObject({ kind: 'history', item: '50', verb: 'rated' });
  });

  it('ranks candidates with the ranking bundle', async () => {
    const b = await bundle('models/movielens-100k/ranking');
    const profile = await openProfile({ storage: 'memory' });
    const r = new Ranker(b).rank(profile, { model: 'ranking_int8', candidates: ['1', '50', '181'], k: 3 });
    expect(r.items.map((i) => i.id).sort()).toEqual(['1', '181', '50']);
  });

  it('gives typed errors for bad requests', async () => {
    const b = await bundle('models/movielens-100k/sequence');
    const profile = await openProfile({ storage: 'memory' });
    const ranker = new Ranker(b);
    const code = (req: unknown) => {
      try {
        ranker.rank(profile, req as RankRequest);
      } catch (e) {
        expect(e).toBeInstanceOf(AttuneError);
        return (e as AttuneError).code;
      }
      return 'no error';
    };
    expect(code({ kk: 3 })).toBe('E_RANK_INVALID');
    expect(code({ model: 'nope' })).toBe('E_RANK_NO_MODEL');
    expect(code({ k: 100000 })).toMatch(/^E_RANK_(TOO_LARGE|INVALID)$/);
  });

  it('cannot rank with a freed bundle', async () => {
    const b = await bundle('models/movielens-100k/sequence');
    const manifest = b.data.manifest;
    const files: Record<string, Uint8Array> = {
      'manifest.json': readFileSync(join(repo, 'models/movielens-100k/sequence/manifest.json')),
      [manifest.catalog.file]: readFileSync(join(repo, 'models/movielens-100k/sequence', manifest.catalog.file)),
      [manifest.models[0]!.file]: readFileSync(join(repo, 'models/movielens-100k/sequence', manifest.models[0]!.file)),
    };
    const own = await loadBundle(files);
    own.free();
    expect(() => new Ranker(own).rank(null as never)).toThrow(AttuneError);
  });
});
