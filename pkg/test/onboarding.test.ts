import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOnboarding, loadBundleData, type OnboardingState } from '../dist/onboarding.js';
import type { BundleData } from '../dist/index.js';
import { dist, repo, serve } from './helpers.js';

const dir = join(repo, 'models/movielens-100k/sequence');
const data: BundleData = {
  manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')),
  catalog: JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')),
};

describe('createOnboarding', () => {
  it('walks topics, then seed items, to a result', async () => {
    const flow = createOnboarding(data, { itemsPerTopic: 2 });
    const seen: OnboardingState[] = [];
    flow.subscribe((s) => seen.push(s));
    expect(flow.state.step).toBe('topics');
    expect(flow.state.topics.map((t) => t.id)).toEqual(data.manifest.onboarding.topics);
    expect(flow.state.progress).toMatchObject({ picked: 0, suggested: 3, min: 1, canContinue: false, step: 1 });
    expect(flow.next()).toBe(false); // nothing picked yet
    expect(flow.toggleTopic('sci-fi')).toBe(true);
    expect(flow.toggleTopic('war')).toBe(true);
    expect(flow.toggleReject('horror')).toBe(true);
    expect(flow.toggleTopic('no-such-topic')).toBe(false);
    expect(flow.state.progress).toMatchObject({ picked: 2, canContinue: true, steps: 2 });
    expect(flow.next()).toBe(true);
    expect(flow.state.step).toBe('items');
    const items = flow.state.items;
    expect(items.length).toBe(4);
    expect(items[0]).toMatchObject({ id: '50', title: 'Star Wars (1977)', liked: false });
    expect(items[0]!.topics).toContain('sci-fi');
    expect(flow.toggleItem('50')).toBe(true);
    expect(flow.toggleItem('99999')).toBe(false);
    expect(flow.next()).toBe(true);
    const result = await flow.done;
    expect(result).toEqual({ picked_topics: ['sci-fi', 'war'], rejected_topics: ['horror'], liked_items: ['50'], skipped: false });
    expect(flow.state.step).toBe('done');
    expect(flow.state.result).toEqual(result);
    expect(seen.length).toBeGreaterThan(5);
    // Done is final.
    expect(flow.toggleTopic('war')).toBe(false);
  });

  it('skips, keeping what was answered', async () => {
    const flow = createOnboarding(data);
    flow.toggleTopic('comedy');
    flow.skip();
    expect(await flow.done).toEqual({ picked_topics: ['comedy'], rejected_topics: [], liked_items: [], skipped: true });
  });

  it('respects maxPicks and back()', () => {
    const flow = createOnboarding(data, { maxPicks: 1 });
    expect(flow.toggleTopic('drama')).toBe(true);
    expect(flow.toggleTopic('comedy')).toBe(false);
    flow.next();
    expect(flow.back()).toBe(true);
    expect(flow.state.step).toBe('topics');
    expect(flow.toggleTopic('drama')).toBe(true); // unpick
    expect(flow.state.progress.picked).toBe(0);
  });

  it('works from the manifest alone (titles fall back to ids)', async () => {
    const flow = createOnboarding({ manifest: data.manifest }, { itemsPerTopic: 1 });
    flow.toggleTopic('sci-fi');
    flow.next();
    expect(flow.state.items[0]).toMatchObject({ id: '50', title: '50', topics: ['sci-fi'] });
    flow.finish();
    expect((await flow.done).skipped).toBe(false);
  });

  it('goes straight to done without seed items', async () => {
    const flow = createOnboarding(data, { itemsPerTopic: 0 });
    flow.toggleTopic('sci-fi');
    expect(flow.state.progress.steps).toBe(1);
    flow.next();
    expect(flow.state.step).toBe('done');
  });

  it('refuses data without a manifest', () => {
    expect(() => createOnboarding({} as BundleData)).toThrow(expect.objectContaining({ code: 'E_ONBOARDING' }));
  });
});

describe('loadBundleData', () => {
  it('fetches the manifest and the verified catalog only', async () => {
    const server = await serve(repo);
    try {
      const d = await loadBundleData(server.base + '/models/movielens-100k/sequence/manifest.json');
      expect(d.catalog.num_items).toBe(1682);
      expect(server.requests).toEqual(['/models/movielens-100k/sequence/manifest.json', '/models/movielens-100k/sequence/catalog.json']);
      server.hook = (path, _req, res) => {
        if (!path.endsWith('catalog.json')) return false;
        res.end('{"format": "attune-catalog"}');
        return true;
      };
      await expect(loadBundleData(server.base + '/models/movielens-100k/sequence/manifest.json')).rejects.toMatchObject({
        code: 'E_BUNDLE_INTEGRITY',
      });
    } finally {
      await server.close();
    }
  });
});

describe('entry points without the wasm', () => {
  // Follows the relative imports of a dist module; onboarding screens must paint
  // without downloading or compiling the engine.
  function graph(entry: string, seen = new Set<string>()): Set<string> {
    if (seen.has(entry)) return seen;
    seen.add(entry);
    const src = readFileSync(join(dist, entry), 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s*(?:[^'"]*?from\s*)?['"]\.\/([^'"]+)['"]|import\(\s*['"]\.\/([^'"]+)['"]\s*\)/g)) {
      graph(m[1] ?? m[2]!, seen);
    }
    return seen;
  }

  it.each(['onboarding.js', 'element.js'])('%s does not import the wasm glue', (entry) => {
    const g = graph(entry);
    expect(g.has('attune.js')).toBe(false);
    expect(g.has('wasm.js')).toBe(false);
  });

  it('the main entry loads the glue lazily', () => {
    const index = readFileSync(join(dist, 'wasm.js'), 'utf8');
    expect(index).toMatch(/import\(['"]\.\/attune\.js['"]\)/);
    expect(index).not.toMatch(/^import .*['"]\.\/attune\.js['"]/m);
  });

  it('element.js can be imported where there is no DOM', async () => {
    const mod = await import('../dist/element.js');
    expect(typeof mod.defineOnboardingElement).toBe('function');
  });
});
