import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttuneError, init, loadBundle, type LoadProgress } from '../dist/index.js';
import { copyBundle, countRecords, freshDb, publishNewVersion, repo, serve, sha256, testKey, wasmBytes, type TestServer } from './helpers.js';

let server: TestServer;
const seq = '/models/movielens-100k/sequence/manifest.json';

beforeAll(async () => {
  await init({ wasm: wasmBytes() });
  server = await serve(repo);
});
afterAll(() => server.close());

describe('loadBundle', () => {
  it('downloads, verifies the signature and reports progress', async () => {
    const events: LoadProgress[] = [];
    const bundle = await loadBundle(server.base + seq, {
      signatureKey: testKey,
      allowTestKey: true, // the reference bundles' published key
      dbName: freshDb(),
      onProgress: (p) => events.push(p),
    });
    expect(bundle.info.name).toBe('movielens-100k-sequence');
    expect(bundle.info.signature_verified).toBe(true);
    expect(bundle.info.num_items).toBe(1682);
    expect(bundle.data.catalog.ids.length).toBe(1682);
    expect(bundle.item('50')?.title).toBe('Star Wars (1977)');
    expect(bundle.item('50')?.topics.map((t) => t.id)).toContain('sci-fi');
    expect(bundle.item('no-such-id')).toBeUndefined();
    const last = events.at(-1)!;
    expect(last.loaded).toBe(last.total);
    expect(last.total).toBe(bundle.data.manifest.catalog.bytes + bundle.data.manifest.models[0]!.bytes);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    expect(bundle.report.fetched.sort()).toEqual(['catalog.json', 'model.tflite']);
    bundle.free();
  });

  it('serves the second load from the cache, revalidating only the manifest', async () => {
    const dbName = freshDb();
    await loadBundle(server.base + seq, { dbName });
    const before = server.requests.length;
    const again = await loadBundle(server.base + seq, { dbName });
    expect(again.report.cached.sort()).toEqual(['catalog.json', 'model.tflite']);
    expect(again.report.fetched).toEqual([]);
    expect(server.requests.slice(before)).toEqual([seq]);
    // manifest + 2 files
    expect(await countRecords(dbName, 'files')).toBe(3);
  });

  it('uses no cache with cache: "none"', async () => {
    const dbName = freshDb();
    await loadBundle(server.base + seq, { dbName, cache: 'none' });
    const b = await loadBundle(server.base + seq, { dbName, cache: 'none' });
    expect(b.report.cache).toBe('none');
    expect(b.report.fetched.length).toBe(2);
  });

  it('picks up a newly published version and prunes the old files', async () => {
    const dir = copyBundle(join(repo, 'models/movielens-100k/sequence'));
    const local = await serve(dir);
    try {
      const dbName = freshDb();
      const v1 = await loadBundle(local.base + '/manifest.json', { dbName });
      expect(v1.info.version).toBe('1.0.0');
      publishNewVersion(dir, '1.0.1');
      const v2 = await loadBundle(local.base + '/manifest.json', { dbName });
      expect(v2.info.version).toBe('1.0.1');
      expect(v2.report.fetched).toEqual(['catalog.json']);
      expect(v2.report.cached).toEqual(['model.tflite']);
      expect(v2.data.catalog.titles[0]).toMatch(/remastered/);
      // manifest + the new catalog + the model; the old catalog is gone
      expect(await countRecords(dbName, 'files')).toBe(3);
    } finally {
      await local.close();
    }
  });

  it('checks the manifest integrity before using anything', async () => {
    const hash = sha256(readFileSync(join(repo, seq)));
    const ok = await loadBundle(server.base + seq, { integrity: `sha256-${hash}`, cache: 'none' });
    expect(ok.info.hash).toBe(hash);
    const sri = 'sha256-' + Buffer.from(hash, 'hex').toString('base64');
    await loadBundle(server.base + seq, { integrity: sri, cache: 'none' });
    const before = server.requests.length;
    const err = await loadBundle(server.base + seq, { integrity: 'sha256-' + '0'.repeat(64), cache: 'none' }).catch((e) => e);
    expect(err).toBeInstanceOf(AttuneError);
    expect(err.code).toBe('E_INTEGRITY');
    expect(err.details.actual).toBe(hash);
    expect(server.requests.slice(before)).toEqual([seq]); // nothing else downloaded
    await expect(loadBundle(server.base + seq, { integrity: 'md5-abc', cache: 'none' })).rejects.toMatchObject({ code: 'E_INTEGRITY' });
  });

  it('refuses a wrong pinned key', async () => {
    const wrong = testKey.replace(/^../, testKey.startsWith('00') ? '11' : '00');
    await expect(loadBundle(server.base + seq, { signatureKey: wrong, cache: 'none' })).rejects.toMatchObject({
      name: 'AttuneError',
      code: 'E_BUNDLE_SIGNATURE',
    });
  });

  it('refuses a tampered file and does not cache it', async () => {
    const dir = copyBundle(join(repo, 'models/movielens-100k/sequence'));
    const local = await serve(dir);
    try {
      const bytes = readFileSync(join(dir, 'model.tflite'));
      bytes[bytes.length - 10]! ^= 0xff;
      local.hook = (path, _req, res) => {
        if (path !== '/model.tflite') return false;
        res.end(bytes);
        return true;
      };
      const dbName = freshDb();
      const err = await loadBundle(local.base + '/manifest.json', { dbName }).catch((e) => e);
      expect(err.code).toBe('E_BUNDLE_INTEGRITY');
      expect(await countRecords(dbName, 'files')).toBe(0);
    } finally {
      await local.close();
    }
  });

  it('aborts a download', async () => {
    const dir = copyBundle(join(repo, 'models/movielens-100k/sequence'));
    const local = await serve(dir);
    try {
      const controller = new AbortController();
      local.hook = (path, _req, res) => {
        if (path !== '/model.tflite') return false;
        res.setHeader('Content-Type', 'application/octet-stream');
        res.write(new Uint8Array(1000)); // then stall
        setTimeout(() => controller.abort(), 50);
        return true;
      };
      await expect(loadBundle(local.base + '/manifest.json', { cache: 'none', signal: controller.signal })).rejects.toMatchObject({
        code: 'E_ABORTED',
      });
      const already = AbortSignal.abort();
      await expect(loadBundle(local.base + '/manifest.json', { signal: already })).rejects.toMatchObject({ code: 'E_ABORTED' });
    } finally {
      await local.close();
    }
  });

  it('reports HTTP errors with the status', async () => {
    const err = await loadBundle(server.base + '/models/nope/manifest.json', { cache: 'none' }).catch((e) => e);
    expect(err.code).toBe('E_FETCH');
    expect(err.details.status).toBe(404);
  });

  it('works offline from the last verified manifest', async () => {
    const local = await serve(join(repo, 'models/movielens-100k/sequence'));
    const dbName = freshDb();
    const url = local.base + '/manifest.json';
    await loadBundle(url, { dbName, signatureKey: testKey, allowTestKey: true });
    await local.close();
    const offline = await loadBundle(url, { dbName, signatureKey: testKey, allowTestKey: true });
    expect(offline.report.offline).toBe(true);
    expect(offline.info.signature_verified).toBe(true);
    // A bundle never loaded before cannot come from nowhere.
    await expect(loadBundle(url, { dbName: freshDb() })).rejects.toMatchObject({ code: 'E_FETCH' });
  });

  it('loads from files given by the app', async () => {
    const dir = join(repo, 'models/movielens-100k/ranking');
    const files: Record<string, Uint8Array> = {};
    for (const f of ['manifest.json', 'manifest.sig', 'catalog.json', 'ranking_f32.tflite', 'ranking_int8.tflite']) {
      files[f] = readFileSync(join(dir, f));
    }
    const bundle = await loadBundle(files, { signatureKey: testKey, allowTestKey: true });
    expect(bundle.info.models.map((m) => m.id)).toEqual(['ranking_f32', 'ranking_int8']);
    delete files['catalog.json'];
    await expect(loadBundle(files)).rejects.toMatchObject({ code: 'E_BUNDLE_MISSING_FILE' });
  });

  it('refuses manifest paths that leave the bundle', async () => {
    const dir = copyBundle(join(repo, 'models/movielens-100k/sequence'));
    const local = await serve(dir);
    try {
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      m.catalog.file = '../secret.json';
      local.hook = (path, _req, res) => {
        if (path !== '/manifest.json') return false;
        res.end(JSON.stringify(m));
        return true;
      };
      await expect(loadBundle(local.base + '/manifest.json', { cache: 'none' })).rejects.toMatchObject({ code: 'E_BUNDLE_MANIFEST' });
      expect(local.requests).not.toContain('/secret.json');
    } finally {
      await local.close();
    }
  });
});
