// Issue 12: each attack on the package's bundle trust, reproduced against the built
// package (dist/, the published code) and refused with a typed error or by keeping
// the last good bundle. docs/security.md describes the threat model.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, loadBundle, openProfile, Ranker } from '../dist/index.js';
import { loadBundleData } from '../dist/onboarding.js';
import { copyBundle, freshDb, republish, repo, serve, sequenceDir, sha256, testKey, wasmBytes, type TestServer } from './helpers.js';

beforeAll(async () => {
  await init({ wasm: wasmBytes() });
});

const dev = { signatureKey: testKey, allowTestKey: true } as const;

/** A copy of the sequence bundle served on its own server. */
async function hosted(): Promise<{ dir: string; server: TestServer; url: string }> {
  const dir = copyBundle(sequenceDir);
  const server = await serve(dir);
  return { dir, server, url: server.base + '/manifest.json' };
}

describe('finding 1: a listed file cannot replace the signed manifest', () => {
  let h: Awaited<ReturnType<typeof hosted>>;
  beforeAll(async () => {
    h = await hosted();
  });
  afterAll(() => h.server.close());

  it('refuses an unsigned manifest that lists the genuine manifest as a file', async () => {
    const genuine = readFileSync(join(sequenceDir, 'manifest.json'));
    const m = JSON.parse(genuine.toString());
    const evilCatalog = JSON.parse(readFileSync(join(sequenceDir, 'catalog.json'), 'utf8'));
    evilCatalog.titles = evilCatalog.titles.map(() => 'EVIL');
    const evilBytes = Buffer.from(JSON.stringify(evilCatalog));
    // The attacker's manifest: its own catalog, plus every file the genuine manifest
    // needs, plus the genuine manifest itself under the name `manifest.json`.
    const evil = {
      ...m,
      catalog: { ...m.catalog, file: 'evil.json', sha256: sha256(evilBytes), bytes: evilBytes.length },
      models: [
        ...m.models,
        { ...m.models[0], id: 'c', file: 'catalog.json', sha256: m.catalog.sha256, bytes: m.catalog.bytes },
        { ...m.models[0], id: 'm', file: 'manifest.json', sha256: sha256(genuine), bytes: genuine.length },
      ],
    };
    writeFileSync(join(h.dir, 'evil.json'), evilBytes);
    // The server answers the first request for manifest.json with the attacker's
    // manifest and later ones with the genuine, signed manifest.
    let served = 0;
    h.server.hook = (path, _req, res) => {
      if (path !== '/manifest.json') return false;
      res.end(served++ === 0 ? JSON.stringify(evil) : genuine);
      return true;
    };
    const before = h.server.requests.length;
    const err = await loadBundle(h.url, { ...dev, cache: 'none' }).catch((e) => e);
    // Before the fix: it loaded, reporting signature_verified: true with EVIL titles.
    expect(err.code).toBe('E_BUNDLE_SIGNATURE');
    // Nothing but the manifest and its signature was downloaded.
    expect(h.server.requests.slice(before)).toEqual(['/manifest.json', '/manifest.sig']);

    // Without a key the engine's path rule refuses the reserved name.
    served = 0;
    const unsigned = await loadBundle(h.url, { cache: 'none' }).catch((e) => e);
    expect(unsigned.code).toBe('E_BUNDLE_MANIFEST');
    expect(unsigned.message).toMatch(/reserved/);
    h.server.hook = undefined;
  });

  it('shows only what the engine verified', async () => {
    const bundle = await loadBundle(h.url, { ...dev, cache: 'none' });
    expect(bundle.info.signature_verified).toBe(true);
    const catalog = JSON.parse(readFileSync(join(sequenceDir, 'catalog.json'), 'utf8'));
    expect(bundle.data.catalog.ids).toEqual(catalog.ids);
    expect(bundle.data.catalog.titles).toEqual(catalog.titles);
    expect(bundle.data.manifest.name).toBe(bundle.info.name);
    expect(bundle.item('50')?.title).toBe('Star Wars (1977)');
    bundle.free();
  });
});

describe('finding 2: one path rule, checked before any download, and bounded downloads', () => {
  const cases = JSON.parse(readFileSync(join(repo, 'pkg/test/fixtures/path-cases.json'), 'utf8')) as { path: string; problem: string | null }[];

  it('refuses every hostile path the Rust rule refuses, fetching nothing else', async () => {
    const h = await hosted();
    try {
      const m = JSON.parse(readFileSync(join(sequenceDir, 'manifest.json'), 'utf8'));
      for (const { path, problem } of cases.filter((c) => c.problem !== null)) {
        for (const where of ['catalog', 'model'] as const) {
          const copy = structuredClone(m);
          if (where === 'catalog') copy.catalog.file = path;
          else copy.models[0].file = path;
          h.server.hook = (p, _req, res) => {
            if (p !== '/manifest.json') return false;
            res.end(JSON.stringify(copy));
            return true;
          };
          const before = h.server.requests.length;
          const err = await loadBundle(h.url, { cache: 'none' }).catch((e) => e);
          expect(err.code, JSON.stringify(path)).toBe('E_BUNDLE_MANIFEST');
          expect(err.message).toContain(problem);
          expect(h.server.requests.slice(before)).toEqual(['/manifest.json']);
          const data = await loadBundleData(h.url).catch((e) => e);
          if (where === 'catalog') expect(data.code, JSON.stringify(path)).toBe('E_BUNDLE_MANIFEST');
        }
      }
    } finally {
      await h.server.close();
    }
  });

  it('checks manifest.sig before fetching anything the manifest lists', async () => {
    const h = await hosted();
    try {
      const m = readFileSync(join(h.dir, 'manifest.json'));
      writeFileSync(join(h.dir, 'manifest.json'), Buffer.concat([m, Buffer.from(' ')]));
      const err = await loadBundle(h.url, { ...dev, cache: 'none' }).catch((e) => e);
      expect(err.code).toBe('E_BUNDLE_SIGNATURE');
      expect(h.server.requests).toEqual(['/manifest.json', '/manifest.sig']);
    } finally {
      await h.server.close();
    }
  });

  it("stops a download at the manifest's size", async () => {
    const h = await hosted();
    let sent = 0;
    try {
      h.server.hook = (path, _req, res) => {
        if (path !== '/model.tflite') return false;
        // An endless body without Content-Length.
        res.setHeader('Content-Type', 'application/octet-stream');
        const chunk = new Uint8Array(64 * 1024);
        const pump = () => {
          while (!res.destroyed && sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.byteLength;
          if (!res.destroyed && sent < 64 * 1024 * 1024) res.once('drain', pump);
        };
        pump();
        return true;
      };
      const err = await loadBundle(h.url, { ...dev, cache: 'none' }).catch((e) => e);
      expect(err.code).toBe('E_BUNDLE_INTEGRITY');
      expect(err.message).toMatch(/more than the \d+ bytes the manifest says/);
      // Stopped within a few MB of the model's 1.1 MB, not at the server's 64 MB.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await h.server.close();
    }
  });

  it('refuses a manifest larger than the engine reads', async () => {
    const h = await hosted();
    try {
      h.server.hook = (path, _req, res) => {
        if (path !== '/manifest.json') return false;
        res.end(Buffer.alloc(4 * 1024 * 1024 + 1, 32));
        return true;
      };
      const err = await loadBundle(h.url, { cache: 'none' }).catch((e) => e);
      expect(err.code).toBe('E_BUNDLE_MANIFEST');
      const data = await loadBundleData(h.url).catch((e) => e);
      expect(data.code).toBe('E_BUNDLE_MANIFEST');
    } finally {
      await h.server.close();
    }
  });
});

describe('finding 3: onboarding data is verified when a key or integrity is given', () => {
  it('verifies the manifest signature and the catalog hash without the engine', async () => {
    const h = await hosted();
    try {
      const ok = await loadBundleData(h.url, dev);
      expect(ok.verified).toBe('signature');
      expect(ok.catalog.titles[49]).toBe('Star Wars (1977)');
      const unverified = await loadBundleData(h.url);
      expect(unverified.verified).toBe('none');
      const hash = sha256(readFileSync(join(h.dir, 'manifest.json')));
      expect((await loadBundleData(h.url, { integrity: `sha256-${hash}` })).verified).toBe('integrity');
      await expect(loadBundleData(h.url, { integrity: `sha256-${'0'.repeat(64)}` })).rejects.toMatchObject({ code: 'E_INTEGRITY' });
      await expect(loadBundleData(h.url, { signatureKey: testKey })).rejects.toMatchObject({ code: 'E_BUNDLE_TEST_KEY' });
      await expect(loadBundleData(h.url, { ...dev, name: 'movielens-100k-ranking' })).rejects.toMatchObject({ code: 'E_BUNDLE_NAME' });

      // A man in the middle rewrites the titles and the manifest's hash of them.
      const catalog = JSON.parse(readFileSync(join(h.dir, 'catalog.json'), 'utf8'));
      catalog.titles[49] = 'EVIL';
      const evil = Buffer.from(JSON.stringify(catalog));
      const m = JSON.parse(readFileSync(join(h.dir, 'manifest.json'), 'utf8'));
      m.catalog.sha256 = sha256(evil);
      m.catalog.bytes = evil.length;
      h.server.hook = (path, _req, res) => {
        if (path === '/manifest.json') res.end(JSON.stringify(m));
        else if (path === '/catalog.json') res.end(evil);
        else return false;
        return true;
      };
      // Before the fix the key was not even accepted: the EVIL title came back.
      await expect(loadBundleData(h.url, dev)).rejects.toMatchObject({ code: 'E_BUNDLE_SIGNATURE' });
      // Only the catalog swapped, the manifest genuine: caught by the signed hash.
      h.server.hook = (path, _req, res) => {
        if (path !== '/catalog.json') return false;
        res.end(evil);
        return true;
      };
      await expect(loadBundleData(h.url, dev)).rejects.toMatchObject({ code: 'E_BUNDLE_INTEGRITY' });
    } finally {
      await h.server.close();
    }
  });
});

describe('finding 4: a published test key is refused unless development allows it', () => {
  it('refuses the RFC 8032 TEST 1 key by default, before any download', async () => {
    const h = await hosted();
    try {
      const err = await loadBundle(h.url, { signatureKey: testKey, cache: 'none' }).catch((e) => e);
      expect(err.code).toBe('E_BUNDLE_TEST_KEY');
      expect(h.server.requests).toEqual(['/manifest.json', '/manifest.sig']);
      const files: Record<string, Uint8Array> = {};
      for (const f of ['manifest.json', 'manifest.sig', 'catalog.json', 'model.tflite']) files[f] = readFileSync(join(h.dir, f));
      await expect(loadBundle(files, { signatureKey: testKey })).rejects.toMatchObject({ code: 'E_BUNDLE_TEST_KEY' });
      const b = await loadBundle(files, dev);
      expect(b.info.signature_verified).toBe(true);
      b.free();
    } finally {
      await h.server.close();
    }
  });
});

describe('finding 6: rollback, name and age', () => {
  it('keeps the newest verified version when an older signed manifest is replayed', async () => {
    const h = await hosted();
    try {
      const dbName = freshDb();
      const v100 = { manifest: readFileSync(join(h.dir, 'manifest.json')), sig: readFileSync(join(h.dir, 'manifest.sig')) };
      republish(h.dir, {
        manifest: (m) => (m.version = '1.0.1'),
        catalog: (c) => (c.titles[0] = 'Toy Story (new cut)'),
        catalogFile: 'catalog-1.0.1.json',
      });
      const v101 = await loadBundle(h.url, { ...dev, dbName });
      expect(v101.info.version).toBe('1.0.1');
      // The attacker replays the old (genuinely signed) 1.0.0 manifest and signature.
      h.server.hook = (path, _req, res) => {
        if (path === '/manifest.json') res.end(v100.manifest);
        else if (path === '/manifest.sig') res.end(v100.sig);
        else return false;
        return true;
      };
      const kept = await loadBundle(h.url, { ...dev, dbName });
      // Before the fix: version 1.0.0 loaded and replaced 1.0.1 in the cache.
      expect(kept.info.version).toBe('1.0.1');
      expect(kept.report.refused?.code).toBe('E_BUNDLE_ROLLBACK');
      expect(kept.data.catalog.titles[0]).toBe('Toy Story (new cut)');
      // …and again on the next visit: the cache still holds 1.0.1.
      const again = await loadBundle(h.url, { ...dev, dbName });
      expect(again.info.version).toBe('1.0.1');
      // A client that never saw 1.0.1 has no floor.
      const other = await loadBundle(h.url, { ...dev, dbName: freshDb() });
      expect(other.info.version).toBe('1.0.0');
    } finally {
      await h.server.close();
    }
  });

  it('binds the bundle name', async () => {
    const h = await hosted();
    try {
      await expect(loadBundle(h.url, { ...dev, cache: 'none', name: 'movielens-100k-ranking' })).rejects.toMatchObject({ code: 'E_BUNDLE_NAME' });
      expect(h.server.requests).toEqual(['/manifest.json', '/manifest.sig']);
      const b = await loadBundle(h.url, { ...dev, cache: 'none', name: 'movielens-100k-sequence' });
      expect(b.info.name).toBe('movielens-100k-sequence');
    } finally {
      await h.server.close();
    }
  });

  it('refuses a bundle older than maxAgeMs, also offline from the cache', async () => {
    const h = await hosted();
    const dbName = freshDb();
    const created = Date.parse(JSON.parse(readFileSync(join(h.dir, 'manifest.json'), 'utf8')).created);
    const day = 86_400_000;
    await loadBundle(h.url, { ...dev, dbName, maxAgeMs: day, now: () => created + 1000 });
    await expect(loadBundle(h.url, { ...dev, dbName, maxAgeMs: day, now: () => created + 2 * day })).rejects.toMatchObject({
      code: 'E_BUNDLE_EXPIRED',
    });
    await h.server.close();
    // Offline: the cached bundle serves while it is young enough, and not after.
    const offline = await loadBundle(h.url, { ...dev, dbName, maxAgeMs: day, now: () => created + 1000 });
    expect(offline.report.offline).toBe(true);
    // Before the fix: a client cut off from the network kept its cache forever.
    await expect(loadBundle(h.url, { ...dev, dbName, maxAgeMs: day, now: () => created + 2 * day })).rejects.toMatchObject({
      code: 'E_BUNDLE_EXPIRED',
    });
  });
});

describe('finding 9: a panic in the engine', () => {
  it('rejects the call with E_PANIC and the next call works on a fresh instance', async () => {
    const glue = (await import('../dist/attune.js')) as unknown as { __attuneInjectPanic(): void };
    const bundle = await loadBundle(filesOf(sequenceDir), dev);
    const profile = await openProfile({ storage: 'memory' });
    await profile.track({ item: '50', type: 'like', ts: 1 } as never);
    const ranker = new Ranker(bundle);
    const before = ranker.rank(profile, { k: 5 });
    glue.__attuneInjectPanic();
    let err: any;
    try {
      ranker.rank(profile, { k: 5 });
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe('E_PANIC');
    expect(err.message).toMatch(/injected panic/);
    // The next call works, with the same profile and the same result.
    expect(ranker.rank(profile, { k: 5 })).toEqual(before);
    expect(profile.eventCount).toBe(1);
    await profile.track({ item: '181', type: 'like', ts: 2 } as never);
    expect(profile.eventCount).toBe(2);
  });
});

function filesOf(dir: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const f of ['manifest.json', 'manifest.sig', 'catalog.json', 'model.tflite']) files[f] = readFileSync(join(dir, f));
  return files;
}
