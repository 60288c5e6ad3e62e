import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoldenOutputs } from '../../tests/lib/judge.mjs';
import {
  AttuneError,
  init,
  loadBundle,
  openProfile,
  Ranker,
  reasonText,
  type Bundle,
  type Ranking,
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
}

// The repository's golden ranking cases (tests/golden): the package must give the same
// lists through IndexedDB and the wasm layer. Its rankings are written to files and
// judged by the native CLI (`attune golden-check --actual`, tests/lib/judge.mjs), the
// one judge every target answers to; this file compares nothing itself.
const goldenDir = join(repo, 'tests/golden');
const cases = readdirSync(goldenDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(goldenDir, f), 'utf8')) as Golden] as const);

const goldenRankings: Ranking[] = [];

describe('golden rankings through the package', () => {
  const outputs = new GoldenOutputs();
  afterAll(() => outputs.dispose());

  it.each(cases)('%s: ranked', async (file, c) => {
    const dbName = freshDb();
    // Stored the way the package stores profiles, then opened through the package.
    await (await openProfile({ dbName })).flush();
    await putRecord(dbName, 'profiles', { name: 'default', schema: 1, data: JSON.stringify(c.profile), updated: 0 });
    const profile = await openProfile({ dbName, now: () => 0 });
    const ranking = new Ranker(await bundle(c.bundle)).rank(profile, c.request);
    outputs.add(file, ranking);
    goldenRankings.push(ranking);
  });

  it('= the golden expectations and the native rankings (attune golden-check --actual)', () => {
    const verdict = outputs.judge('tests/golden');
    expect(verdict.ok, verdict.stdout).toBe(true);
  });
});

describe('reason text comes from the engine', () => {
  it('reasonText(reason) is byte-identical to the engine-written why, for every reason of every golden case', async () => {
    let n = 0;
    expect(goldenRankings.length).toBe(cases.length);
    for (const ranking of goldenRankings) {
      for (const item of ranking.items) {
        expect(item.reasons.map((r) => reasonText(r))).toEqual(item.why);
        n += item.reasons.length;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('a display title replaces only the history item title, and shares round half up', () => {
    const history = { kind: 'history', item: '1', title: 'Rock, The (1996)', verb: 'liked' } as const;
    expect(reasonText(history)).toBe('because you liked Rock, The (1996)');
    expect(reasonText(history, { title: 'The Rock' })).toBe('because you liked The Rock');
    expect(reasonText({ kind: 'frequent_topic', topic: 'war', label: 'War', share: 5 / 8 })).toBe(
      'because 63% of what you watch is War',
    );
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
