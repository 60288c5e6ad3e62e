import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, expect, it } from 'vitest';
import { init, loadBundle, openProfile, Ranker } from '../dist/index.js';
import { dist, repo, wasmBytes } from './helpers.js';

beforeAll(() => init({ wasm: wasmBytes() }));

function files(dir: string): Record<string, Uint8Array> {
  const m = JSON.parse(readFileSync(join(repo, dir, 'manifest.json'), 'utf8'));
  const out: Record<string, Uint8Array> = { 'manifest.json': readFileSync(join(repo, dir, 'manifest.json')) };
  for (const f of [m.catalog.file, ...m.models.map((x: { file: string }) => x.file)]) out[f] = readFileSync(join(repo, dir, f));
  return out;
}

// The TypeScript wire types are written by hand; this checks them against what the
// engine really produces: real outputs become object literals typed with the package's
// types, and tsc's excess-property and missing-property checks catch any drift.
it('the package types describe the engine output exactly', async () => {
  const seq = await loadBundle(files('models/movielens-100k/sequence'));
  const rnk = await loadBundle(files('models/movielens-100k/ranking'));
  const profile = await openProfile({ storage: 'memory' });
  await profile.setOnboarding({ picked_topics: ['sci-fi'], rejected_topics: ['horror'], liked_items: ['50'] });
  await profile.updateControls({ boosted_topics: ['war'], exploration: 0.3, diversity: 0.2 });
  await profile.updateSettings({ retention: { max_events: 100, max_age_ms: 1e12 } });
  await profile.track([
    { item: '172', type: 'rating', value: 5, ts: 1000 },
    { item: '181', type: 'dwell', ms: 20000, ts: 2000 },
    { item: 'unknown-id', type: 'view', ts: 3000 },
  ]);
  const rankings = [
    new Ranker(seq).rank(profile, {
      k: 20,
      now_ms: 888000000000,
      rules: [{ kind: 'pin', item: '1', slot: 2 }, { kind: 'boost', items: ['7'], weight: 0.3 }, { kind: 'bury', topics: ['childrens'], weight: 0.2 }],
      freshness: { weight: 0.3, half_life_days: 365 },
      exploration: 0.5,
      seed: 3,
    }),
    new Ranker(rnk).rank(profile, { model: 'ranking_f32', k: 10 }),
  ];
  const kinds = new Set(rankings.flatMap((r) => r.items.flatMap((i) => i.reasons.map((x) => x.kind))));
  expect(kinds.size).toBeGreaterThanOrEqual(6);

  const source = `
import type { BundleInfo, Manifest, Catalog, ProfileData, Ranking } from ${JSON.stringify(join(dist, 'index.js'))};
export const infos: BundleInfo[] = ${JSON.stringify([seq.info, rnk.info])};
export const manifests: Manifest[] = ${JSON.stringify([seq.data.manifest, rnk.data.manifest])};
export const catalog: Catalog = ${JSON.stringify({ ...seq.data.catalog, ids: seq.data.catalog.ids.slice(0, 3), titles: seq.data.catalog.titles.slice(0, 3), topics: seq.data.catalog.topics.slice(0, 3), published: seq.data.catalog.published?.slice(0, 3) })};
export const profile: ProfileData = ${JSON.stringify(profile.data())};
export const exported: ProfileData = ${JSON.stringify(profile.export())};
export const rankings: Ranking[] = ${JSON.stringify(rankings)};
`;
  const dir = mkdtempSync(join(tmpdir(), 'attune-wire-'));
  const file = join(dir, 'wire.ts');
  writeFileSync(file, source);
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
});
