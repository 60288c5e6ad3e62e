// The npm package in Debian's Chromium: a plain <script type="module"> page importing
// pkg/dist through a static server (no bundler), under the strict CSP, with a wrongly
// typed .wasm, persistence across reloads, deletion, a corrupted profile, the worker
// entry, the onboarding element, and the requests the runtime makes.
//
// Run: node --test tests/browser/pkg/   (after `npm run build -w pkg`)
// Screenshots: artifacts/pkg-browser/*.png
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { repo, startServer, strictCsp } from './server.mjs';

const key = readFileSync(join(repo, 'models/movielens-100k/sequence/manifest.pub'), 'utf8').trim();
const shots = join(repo, 'artifacts/pkg-browser');
mkdirSync(shots, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});
after(() => browser?.close());

/** A fresh profile (own storage), a page, and everything it requested. */
async function open(server, path) {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(server.base + path);
  return { context, page, requests, errors };
}

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.state && document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== 'ready') assert.fail(`page failed: ${JSON.stringify(await page.evaluate(() => window.__error))}`);
}

const bundleFiles = ['manifest.json', 'manifest.sig', 'catalog.json', 'model.tflite'].map((f) => `/models/movielens-100k/sequence/${f}`);

describe('attune package in Chromium', () => {
  it('works from a plain module page under the strict CSP, and makes only the expected requests', async () => {
    const server = await startServer({ csp: strictCsp });
    const { context, page, requests, errors } = await open(server, `/tests/browser/pkg/pages/basic.html?dev=1&key=${key}`);
    try {
      await ready(page);
      const response = await page.request.get(server.base + '/tests/browser/pkg/pages/basic.html');
      assert.equal(response.headers()['content-security-policy'], strictCsp);
      const items = await page.locator('#list li').count();
      assert.equal(items, 10);
      assert.deepEqual(await page.evaluate(() => window.__violations), []);
      assert.deepEqual(errors, []);
      const info = await page.evaluate(() => window.__app.bundle.info);
      assert.equal(info.signature_verified, true);
      const progress = await page.evaluate(() => window.__app.progress);
      assert.ok(progress.length >= 2, 'progress events');
      await page.screenshot({ path: join(shots, 'basic-csp.png'), fullPage: true });

      // Privacy: only the page, the package, the .wasm and the bundle's files; nothing
      // else, on no other origin.
      const paths = new Set(requests.map((u) => {
        const url = new URL(u);
        assert.equal(url.origin, server.base, `request to another origin: ${u}`);
        return url.pathname;
      }));
      const allowed = new Set([
        '/tests/browser/pkg/pages/basic.html',
        '/tests/browser/pkg/pages/basic.js',
        '/tests/browser/pkg/pages/style.css',
        '/pkg/dist/attune_bg.wasm',
        ...bundleFiles,
      ]);
      for (const p of paths) {
        assert.ok(allowed.has(p) || /^\/pkg\/dist\/(generated\/)?[a-z-]+\.js$/.test(p), `unexpected request ${p}`);
      }
      for (const f of bundleFiles) assert.ok(paths.has(f), `${f} fetched`);
      assert.ok(paths.has('/pkg/dist/attune_bg.wasm'));

      // Second visit: the files come from the cache; only the manifest and its
      // signature are revalidated.
      requests.length = 0;
      await page.reload();
      await ready(page);
      const report = await page.evaluate(() => window.__app.bundle.report);
      assert.equal(report.cache, 'cache-api');
      assert.deepEqual(report.cached.sort(), ['catalog.json', 'model.tflite']);
      const again = requests.map((u) => new URL(u).pathname).filter((p) => p.startsWith('/models/'));
      assert.deepEqual(again.sort(), ['/models/movielens-100k/sequence/manifest.json', '/models/movielens-100k/sequence/manifest.sig']);
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('falls back when the .wasm is served as application/octet-stream', async () => {
    const server = await startServer({ wasmType: 'application/octet-stream' });
    const { context, page, errors } = await open(server, `/tests/browser/pkg/pages/basic.html?dev=1&key=${key}&cache=none`);
    try {
      await ready(page);
      const r = await page.request.get(server.base + '/pkg/dist/attune_bg.wasm');
      assert.equal(r.headers()['content-type'], 'application/octet-stream');
      assert.equal(await page.locator('#list li').count(), 10);
      assert.deepEqual(errors, []);
      await page.screenshot({ path: join(shots, 'wrong-mime.png'), fullPage: true });
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('keeps the profile across a reload and really deletes it', async () => {
    const server = await startServer();
    const { context, page } = await open(server, `/tests/browser/pkg/pages/basic.html?dev=1&key=${key}`);
    try {
      await ready(page);
      await page.evaluate(async () => {
        const { profile } = window.__app;
        await profile.setOnboarding({ picked_topics: ['sci-fi'] });
        await profile.track({ item: '50', type: 'rating', value: 5 });
        await profile.track({ item: '172', type: 'view' });
      });
      await page.reload();
      await ready(page);
      const after = await page.evaluate(() => ({ count: window.__app.profile.eventCount, data: window.__app.profile.data() }));
      assert.equal(after.count, 2);
      assert.deepEqual(after.data.onboarding.picked_topics, ['sci-fi']);
      const text = await page.locator('#list').innerText();
      assert.match(text, /because you (rated|watched) /);
      await page.screenshot({ path: join(shots, 'after-reload.png'), fullPage: true });

      await page.evaluate(() => window.__app.profile.delete());
      const record = await page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const req = indexedDB.open('attune');
            req.onsuccess = () => {
              const get = req.result.transaction('profiles').objectStore('profiles').get('default');
              get.onsuccess = () => resolve(get.result ?? null);
              get.onerror = () => reject(get.error);
            };
            req.onerror = () => reject(req.error);
          }),
      );
      assert.equal(record, null, 'the IndexedDB record is gone');
      await page.reload();
      await ready(page);
      assert.equal(await page.evaluate(() => window.__app.profile.eventCount), 0);
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('reports a corrupted stored profile and keeps it', async () => {
    const server = await startServer();
    const { context, page } = await open(server, `/tests/browser/pkg/pages/basic.html?dev=1&key=${key}`);
    try {
      await ready(page);
      await page.evaluate(() => window.__app.profile.track({ item: '50', type: 'view' }));
      const broken = '{"format_version": 1, "events": [{"item": "50", "ts": oops';
      await page.evaluate(
        (data) =>
          new Promise((resolve, reject) => {
            const req = indexedDB.open('attune');
            req.onsuccess = () => {
              const tx = req.result.transaction('profiles', 'readwrite');
              tx.objectStore('profiles').put({ name: 'default', schema: 1, data, updated: 0 });
              tx.oncomplete = () => resolve();
              tx.onerror = () => reject(tx.error);
            };
          }),
        broken,
      );
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === 'error');
      const error = await page.evaluate(() => window.__error);
      assert.equal(error.name, 'AttuneError');
      assert.equal(error.code, 'E_PROFILE_CORRUPT');
      assert.equal(error.raw, broken);
      const stored = await page.evaluate(async () => (await import('/pkg/dist/index.js')).readStoredProfile());
      assert.equal(stored, broken, 'still there, exportable');
      await page.screenshot({ path: join(shots, 'corrupt-profile.png'), fullPage: true });
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('ranks in a Web Worker with the same results as the page', async () => {
    const server = await startServer();
    const { context, page, requests, errors } = await open(server, `/tests/browser/pkg/pages/worker.html?key=${key}`);
    try {
      await ready(page);
      const r = await page.evaluate(() => window.__result);
      assert.equal(r.info.signature_verified, true);
      assert.ok(r.progressEvents >= 1);
      assert.equal(r.coldIds.length, 10);
      assert.ok(!r.warmIds.includes('50'));
      assert.notDeepEqual(r.coldIds, r.warmIds, 'the changed profile reached the worker');
      assert.equal(r.sameAsMainThread, true);
      assert.equal(r.badRequest, 'AttuneError E_RANK_INVALID');
      assert.ok(requests.some((u) => u.endsWith('/pkg/dist/worker-entry.js')));
      assert.deepEqual(await page.evaluate(() => window.__violations), []);
      assert.deepEqual(errors, []);
      await page.screenshot({ path: join(shots, 'worker.png'), fullPage: true });
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('runs the worker without init() on the page', async () => {
    const server = await startServer();
    const { context, page } = await open(server, `/tests/browser/pkg/pages/worker.html?key=${key}&mode=standalone`);
    try {
      await ready(page);
      const r = await page.evaluate(() => window.__result);
      assert.equal(r.ids.length, 5);
      assert.ok(!r.ids.includes('50'));
      assert.equal(r.afterTerminate, 'E_WORKER');
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('onboarding element: keyboard, labels, focus; no wasm loaded', async () => {
    const server = await startServer();
    const { context, page, requests, errors } = await open(server, '/tests/browser/pkg/pages/element.html');
    try {
      const options = page.getByRole('group', { name: 'What do you like?' }).getByRole('button');
      await options.first().waitFor();
      assert.ok((await options.count()) >= 10);
      // One tab stop for the group: Tab lands on the first option.
      await page.keyboard.press('Tab');
      assert.equal(await options.first().evaluate((b) => b === b.getRootNode().activeElement), true);
      await page.keyboard.press('Space'); // pick the first topic
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Enter'); // and the second
      assert.equal(await options.nth(0).getAttribute('aria-pressed'), 'true');
      assert.equal(await options.nth(1).getAttribute('aria-pressed'), 'true');
      assert.match(await page.getByRole('status').innerText(), /2 of 3 picked/);
      await page.screenshot({ path: join(shots, 'onboarding-topics.png'), fullPage: true });
      // Tab out of the group to Skip, then Continue.
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      const heading = page.getByRole('heading', { name: 'Any favourites here?' });
      await heading.waitFor();
      // Focus moved to the new step's heading.
      assert.equal(await heading.evaluate((h) => h === h.getRootNode().activeElement), true);
      const items = page.getByRole('group', { name: 'Any favourites here?' }).getByRole('button');
      assert.ok((await items.count()) >= 2);
      await items.first().click();
      await page.screenshot({ path: join(shots, 'onboarding-items.png'), fullPage: true });
      await page.getByRole('button', { name: 'Done' }).click();
      await page.waitForFunction(() => window.__done);
      const done = await page.evaluate(() => window.__done);
      assert.equal(done.picked_topics.length, 2);
      assert.equal(done.liked_items.length, 1);
      assert.equal(done.skipped, false);
      assert.ok(!requests.some((u) => u.endsWith('.wasm') || u.endsWith('/attune.js')), 'no wasm on the onboarding page');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await server.close();
    }
  });
});

// Issue 12: the attacks on bundle trust, and a panic, against the real package.
describe('attune package in Chromium: bundle trust and panics', () => {
  const seqDir = join(repo, 'models/movielens-100k/sequence');
  const read = (f) => readFileSync(join(seqDir, f));
  const sha = (b) => createHash('sha256').update(b).digest('hex');

  /** Serves the sequence bundle under /host/, with `answer(file)` overriding files. */
  function host(answer) {
    return startServer({
      route(path, _req, res) {
        if (!path.startsWith('/host/')) return false;
        const file = path.slice('/host/'.length);
        const body = answer(file) ?? (['manifest.json', 'manifest.sig', 'catalog.json', 'model.tflite'].includes(file) ? read(file) : undefined);
        if (body === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-cache' }).end(body);
        return true;
      },
    });
  }

  async function lab(server) {
    const opened = await open(server, '/tests/browser/pkg/pages/lab.html');
    await ready(opened.page);
    return opened;
  }

  it('refuses a manifest that lists the signed manifest as one of its files (finding 1)', async () => {
    const genuine = read('manifest.json');
    const m = JSON.parse(genuine);
    const catalog = JSON.parse(read('catalog.json'));
    catalog.titles = catalog.titles.map(() => 'EVIL');
    const evilCatalog = Buffer.from(JSON.stringify(catalog));
    const evil = JSON.stringify({
      ...m,
      catalog: { ...m.catalog, file: 'evil.json', sha256: sha(evilCatalog), bytes: evilCatalog.length },
      models: [
        ...m.models,
        { ...m.models[0], id: 'c', file: 'catalog.json', sha256: m.catalog.sha256, bytes: m.catalog.bytes },
        { ...m.models[0], id: 'm', file: 'manifest.json', sha256: sha(genuine), bytes: genuine.length },
      ],
    });
    let manifests = 0;
    const server = await host((file) => {
      if (file === 'manifest.json') return manifests++ === 0 ? evil : undefined;
      if (file === 'evil.json') return evilCatalog;
      return undefined;
    });
    const { context, page } = await lab(server);
    try {
      const result = await page.evaluate(async (key) => {
        const { attune } = window.__lab;
        await attune.init();
        try {
          const b = await attune.loadBundle('/host/manifest.json', { signatureKey: key, allowTestKey: true, cache: 'none' });
          return { loaded: true, verified: b.info.signature_verified, title: b.data.catalog.titles[0] };
        } catch (e) {
          return { loaded: false, code: e.code, message: e.message };
        }
      }, key);
      // Before the fix: { loaded: true, verified: true, title: 'EVIL' }.
      assert.deepEqual({ loaded: result.loaded, code: result.code }, { loaded: false, code: 'E_BUNDLE_SIGNATURE' }, JSON.stringify(result));
      assert.deepEqual(server.requests.filter((p) => p.startsWith('/host/')), ['/host/manifest.json', '/host/manifest.sig']);
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('checks every listed path with the engine rule before any other download (finding 2)', async () => {
    const cases = JSON.parse(readFileSync(join(repo, 'pkg/test/fixtures/path-cases.json'), 'utf8')).filter((c) => c.problem !== null);
    let current = '';
    const server = await host((file) => {
      if (file !== 'manifest.json') return undefined;
      const m = JSON.parse(read('manifest.json'));
      m.catalog.file = current;
      return JSON.stringify(m);
    });
    const { context, page } = await lab(server);
    try {
      await page.evaluate(() => window.__lab.attune.init());
      for (const c of cases) {
        current = c.path;
        const before = server.requests.length;
        const got = await page.evaluate(async () => {
          const { attune, onboarding } = window.__lab;
          const codes = [];
          for (const load of [() => attune.loadBundle('/host/manifest.json', { cache: 'none' }), () => onboarding.loadBundleData('/host/manifest.json')]) {
            codes.push(await load().then(() => 'loaded', (e) => e.code));
          }
          return codes;
        });
        assert.deepEqual(got, ['E_BUNDLE_MANIFEST', 'E_BUNDLE_MANIFEST'], JSON.stringify(c.path));
        const seen = server.requests.slice(before);
        assert.deepEqual(seen, ['/host/manifest.json', '/host/manifest.json'], `${JSON.stringify(c.path)}: ${seen}`);
      }
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('the onboarding element shows only data that verifies (finding 3)', async () => {
    let tamper = false;
    const server = await host((file) => {
      if (!tamper || file !== 'catalog.json') return undefined;
      const c = JSON.parse(read('catalog.json'));
      c.titles = c.titles.map(() => 'EVIL');
      return JSON.stringify(c);
    });
    const { context, page, requests } = await lab(server);
    const show = (attrs) =>
      page.evaluate(
        (attrs) =>
          new Promise((resolve) => {
            const slot = document.getElementById('slot');
            const el = document.createElement('attune-onboarding');
            for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
            el.addEventListener('attune-onboarding-error', (e) => resolve({ error: e.detail.code }));
            slot.replaceChildren(el);
            const poll = () => {
              const buttons = el.shadowRoot.querySelectorAll('button[data-id]');
              if (buttons.length) resolve({ options: buttons.length });
              else setTimeout(poll, 20);
            };
            poll();
          }),
        attrs,
      );
    try {
      const signed = { src: '/host/manifest.json', 'signature-key': key, 'allow-test-key': '' };
      assert.ok((await show(signed)).options >= 10);
      assert.deepEqual(await show({ src: '/host/manifest.json', 'signature-key': key }), { error: 'E_BUNDLE_TEST_KEY' });
      tamper = true;
      // Before the fix the element took no key and showed the tampered catalog.
      assert.deepEqual(await show(signed), { error: 'E_BUNDLE_INTEGRITY' });
      assert.ok(!requests.some((u) => u.endsWith('.wasm')), 'the element verified without the engine');
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('a panic rejects the call with E_PANIC and the next call works (finding 9)', async () => {
    const server = await startServer();
    const { context, page, errors } = await lab(server);
    try {
      const r = await page.evaluate(async (key) => {
        const { attune, glue } = window.__lab;
        await attune.init();
        const bundle = await attune.loadBundle('/models/movielens-100k/sequence/manifest.json', { signatureKey: key, allowTestKey: true });
        const profile = await attune.openProfile({ bundle });
        await profile.track({ item: '50', type: 'rating', value: 5, ts: 1 });
        const ranker = new attune.Ranker(bundle);
        const ids = () => ranker.rank(profile, { k: 10 }).items.map((i) => i.id);
        const before = ids();
        (await glue()).__attuneInjectPanic();
        let panic;
        try {
          ids();
        } catch (e) {
          panic = { name: e.name, code: e.code, message: e.message };
        }
        const after = ids();
        await profile.track({ item: '181', type: 'like', ts: 2 });
        const stored = JSON.parse(await attune.readStoredProfile());
        return { before, after, panic, events: profile.eventCount, stored: stored.events.length, afterTrack: ids().length };
      }, key);
      assert.equal(r.panic?.code, 'E_PANIC', JSON.stringify(r.panic));
      assert.equal(r.panic.name, 'AttuneError');
      assert.match(r.panic.message, /injected panic/);
      assert.deepEqual(r.after, r.before);
      assert.equal(r.events, 2);
      assert.equal(r.stored, 2);
      assert.equal(r.afterTrack, 10);
      // console_error_panic_hook printed the panic (the only console error).
      assert.ok(errors.some((e) => /injected panic/.test(e)), errors.join('\n'));
      assert.ok(errors.every((e) => /panic/.test(e)), errors.join('\n'));
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('a panic in the Web Worker rejects that rank with E_PANIC and the next one works (finding 9)', async () => {
    const server = await startServer();
    const { context, page } = await lab(server);
    try {
      const r = await page.evaluate(async (key) => {
        const { attune, worker } = window.__lab;
        const { createWorkerRanker } = await worker();
        await attune.init();
        let w;
        const ranker = await createWorkerRanker('/models/movielens-100k/sequence/manifest.json', {
          signatureKey: key,
          allowTestKey: true,
          cache: 'none',
          createWorker: () => (w = new Worker('/tests/browser/pkg/pages/panic-worker.js', { type: 'module' })),
        });
        const profile = await attune.openProfile({ storage: 'memory' });
        await profile.track({ item: '50', type: 'rating', value: 5, ts: 1 });
        const ids = async () => (await ranker.rank(profile, { k: 10 })).items.map((i) => i.id);
        const before = await ids();
        await new Promise((resolve) => {
          w.addEventListener('message', function armed(ev) {
            if (ev.data?.type === 'test-panic-armed') resolve(w.removeEventListener('message', armed));
          });
          w.postMessage({ type: 'test-panic' });
        });
        const panic = await ranker.rank(profile, { k: 10 }).then(
          () => undefined,
          (e) => ({ name: e.name, code: e.code, message: e.message }),
        );
        const after = await ids();
        ranker.terminate();
        return { before, after, panic };
      }, key);
      assert.equal(r.panic?.code, 'E_PANIC', JSON.stringify(r.panic));
      assert.match(r.panic.message, /injected panic/);
      // The worker's engine restarted and the profile was sent again.
      assert.deepEqual(r.after, r.before);
    } finally {
      await context.close();
      await server.close();
    }
  });
});
