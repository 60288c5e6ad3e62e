// The npm package in Debian's Chromium: a plain <script type="module"> page importing
// pkg/dist through a static server (no bundler), under the strict CSP, with a wrongly
// typed .wasm, persistence across reloads, deletion, a corrupted profile, the worker
// entry, the onboarding element, and the requests the runtime makes.
//
// Run: node --test tests/browser/pkg/   (after `npm run build -w pkg`)
// Screenshots: artifacts/pkg-browser/*.png
import assert from 'node:assert/strict';
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
    const { context, page, requests, errors } = await open(server, `/tests/browser/pkg/pages/basic.html?key=${key}`);
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
        assert.ok(allowed.has(p) || /^\/pkg\/dist\/[a-z-]+\.js$/.test(p), `unexpected request ${p}`);
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
    const { context, page, errors } = await open(server, `/tests/browser/pkg/pages/basic.html?key=${key}&cache=none`);
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
    const { context, page } = await open(server, `/tests/browser/pkg/pages/basic.html?key=${key}`);
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
    const { context, page } = await open(server, `/tests/browser/pkg/pages/basic.html?key=${key}`);
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
