// End-to-end tests of the demo (web/) in Chromium: onboarding → feed with reasons,
// interactions, persistence across reloads, controls, the privacy panel's export and
// delete, the strict CSP, no third-party requests, and a phone viewport. Each step
// saves a screenshot under artifacts/screenshots/.
//
//   scripts/test-web.sh            # builds the wasm, the package and the demo, then runs this
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { extname, join, normalize } from 'node:path';
import { DESKTOP, PHONE, feed, launch, openPage, overflowX, serveDemo, shot, shotsDir, webDir } from './harness.mjs';

const PICKS = ['Sci-Fi', 'War', 'Thriller'];
// web/vite.config.ts's policy: in the built page and, plus frame-ancestors, as the
// preview server's header.
const DEMO_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";
const PICK_IDS = ['sci-fi', 'war', 'thriller'];

let server;
let browser;

before(async () => {
  server = await serveDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** The app's own requests only: the page, its assets, the wasm and the bundle. */
function assertOwnRequests(log) {
  const origin = new URL(server.url).origin;
  const foreign = log.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'requests to other origins');
  for (const u of log.requests) {
    const path = new URL(u).pathname;
    assert.match(path, /^\/($|index\.html$|favicon\.svg$|assets\/|bundles\/movielens-100k\/)/, `unexpected request ${u}`);
  }
}

describe('demo on a desktop viewport', () => {
  let ctx;
  before(async () => {
    ctx = await openPage(browser, DESKTOP);
  });
  after(async () => {
    await ctx.context.close();
  });

  test('is served under the strict CSP and starts with onboarding', async () => {
    const { page, log } = ctx;
    const response = await page.goto(server.url);
    assert.equal(response.headers()['content-security-policy'], `${DEMO_CSP}; frame-ancestors 'none'`);
    await page.getByRole('heading', { name: 'What do you like to watch?' }).waitFor();
    const tiles = page.locator('.topic-tile');
    assert.equal(await tiles.count(), 18);
    assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await shot(page, 'desktop-01-onboarding');
    for (const label of PICKS) await page.getByRole('button', { name: new RegExp(`^${label}\\b`) }).click();
    assert.equal(await page.locator('.topic-tile[aria-pressed="true"]').count(), 3);
    await shot(page, 'desktop-02-onboarding-picked');
    // The optional second step offers well-known titles of the picked genres.
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Any favourites here?' }).waitFor();
    assert.ok((await page.locator('.seed-tile').count()) >= 6);
    await shot(page, 'desktop-03-onboarding-favourites');
    assert.deepEqual(log.errors, []);
  });

  test('onboarding leads to a feed of fitting titles with reasons', async () => {
    const { page, log } = ctx;
    await page.getByRole('button', { name: 'Skip' }).click();
    await page.getByRole('heading', { name: 'For you' }).waitFor();
    const items = await feed(page);
    assert.equal(items.length, 24);
    assert.equal(items[0].title, 'Star Wars');
    // Every one of the first ten carries a picked genre and says why it is there.
    for (const it of items.slice(0, 10)) {
      assert.ok(it.genres.some((g) => PICKS.includes(g)), `${it.title} (${it.genres}) fits none of the picks`);
      assert.ok(it.reason.length > 0, `${it.title} has no reason`);
    }
    assert.match(items[0].reason, /^because you picked (Sci-Fi|War)$/);
    // "Why this?" opens a disclosure with every reason.
    const first = page.locator('#feed-grid article.card').first();
    await first.getByText('Why this?').click();
    assert.equal(await first.locator('details.why').getAttribute('open'), '');
    const reasons = await first.locator('.reason-text').allTextContents();
    assert.ok(reasons.includes('because you picked Sci-Fi'), reasons.join(' | '));
    assert.ok(reasons.includes('popular with everyone'), reasons.join(' | '));
    // Keyboard focus is visible (a ring on the disclosure after Tab / Shift+Tab).
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await first.locator('summary').evaluate((el) => el.matches(':focus-visible')), true);
    assert.notEqual(await first.locator('summary').evaluate((el) => getComputedStyle(el).boxShadow), 'none');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-04-feed-why');
    // The numbers panel shows the model and a measured ranking latency.
    assert.match(await page.locator('.panel-stats').innerText(), /sequence · f32/);
    assert.match(await page.getByTestId('latency').innerText(), /\d ms/);
    assert.match(await page.locator('.panel-stats').innerText(), /verified/);
    assert.deepEqual(log.errors, []);
  });

  test('a like changes the feed at once and explains it', async () => {
    const { page } = ctx;
    const before = await feed(page);
    await page.getByRole('button', { name: 'Like Star Wars' }).click();
    await page.getByText(/Liked Star Wars\./).waitFor();
    const afterLike = await feed(page);
    assert.ok(!afterLike.some((i) => i.id === before[0].id), 'the liked title is still in the feed');
    assert.notDeepEqual(afterLike.map((i) => i.id).slice(0, 10), before.map((i) => i.id).slice(1, 11));
    const explained = afterLike.filter((i) => i.reasons.includes('because you liked Star Wars'));
    assert.ok(explained.length > 0, 'no card says "because you liked Star Wars"');
    assert.ok((await page.locator('.card-new').count()) > 0, 'no new titles marked');
    assert.match(await page.locator('.feed-sub').innerText(), /1 like/);
    await shot(page, 'desktop-05-after-like');
    await page.locator('.panel-stats').scrollIntoViewIfNeeded();
    await page.locator('.panel-stats').screenshot({ path: join(shotsDir, 'desktop-05b-under-the-hood.png') });
    assert.match(await page.locator('.panel-stats').innerText(), /1 history · 3 genres/);

    // "Not for me" hides the title and demotes similar ones.
    const target = afterLike[1];
    await page.getByRole('button', { name: `Not for me: ${target.title}` }).click();
    await page.getByText(new RegExp(`Fewer titles like`)).waitFor();
    const afterDislike = await feed(page);
    assert.ok(!afterDislike.some((i) => i.id === target.id));
    await page.getByRole('button', { name: /Unhide 1 title/ }).waitFor();
  });

  test('a reload keeps the profile', async () => {
    const { page } = ctx;
    const beforeReload = await feed(page);
    await page.reload();
    await page.getByRole('heading', { name: 'For you' }).waitFor();
    await page.locator('#feed-grid article.card').first().waitFor();
    const afterReload = await feed(page);
    assert.deepEqual(afterReload.map((i) => i.id), beforeReload.map((i) => i.id));
    assert.match(await page.locator('.feed-sub').innerText(), /Tuned for Sci-Fi, War and Thriller · 1 like/);
  });

  test('muting a topic removes its titles; the variety slider reorders', async () => {
    const { page } = ctx;
    const mute = page.getByRole('button', { name: 'Hide Sci-Fi' });
    await mute.click();
    await page.getByText('Sci-Fi is hidden.').waitFor();
    assert.equal(await mute.getAttribute('aria-pressed'), 'true');
    let items = await feed(page);
    assert.equal(items.length, 24);
    assert.deepEqual(items.filter((i) => i.genres.includes('Sci-Fi')).map((i) => i.title), []);
    await mute.focus();
    await shot(page, 'desktop-06-muted-scifi');

    await mute.click();
    await page.getByText('Sci-Fi is back.').waitFor();
    items = await feed(page);
    assert.ok(items.some((i) => i.genres.includes('Sci-Fi')));

    const genresOfTop = (xs) => new Set(xs.slice(0, 8).flatMap((i) => i.genres)).size;
    const low = await feed(page);
    const slider = page.getByRole('slider', { name: 'Variety' });
    await slider.fill('1');
    await slider.dispatchEvent('change');
    await page.waitForFunction(() => document.querySelector('.slider-value')?.textContent === 'High');
    const high = await feed(page);
    assert.notDeepEqual(high.map((i) => i.id), low.map((i) => i.id));
    assert.ok(genresOfTop(high) >= genresOfTop(low), 'more variety should not narrow the genres');
    // Stored: survives a reload.
    await page.reload();
    await page.locator('#feed-grid article.card').first().waitFor();
    assert.equal(await page.getByRole('slider', { name: 'Variety' }).inputValue(), '1');
  });

  test('the privacy panel shows, exports and really deletes the data', async () => {
    const { page, log } = ctx;
    await page.getByRole('button', { name: 'Your data' }).click();
    const dialog = page.getByRole('dialog', { name: 'Your data' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /No other network requests/);
    assert.match(await dialog.getByTestId('event-summary').innerText(), /^1 like$/);
    await dialog.getByText('See everything stored').click();
    const json = JSON.parse(await dialog.locator('pre.json').innerText());
    assert.deepEqual(json.onboarding.picked_topics.sort(), [...PICK_IDS].sort());
    assert.deepEqual(json.events.map((e) => [e.item, e.type]), [['50', 'like']]);
    assert.equal(json.controls.less_like_this.length, 1);
    await shot(page, 'desktop-07-privacy');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      dialog.getByRole('button', { name: 'Export my data' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'attune-profile.json');
    const { readFile } = await import('node:fs/promises');
    const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(exported.events.length, 1);

    await dialog.getByRole('button', { name: 'Delete my data' }).click();
    await dialog.getByRole('button', { name: 'Yes, delete everything' }).click();
    await page.getByRole('heading', { name: 'What do you like to watch?' }).waitFor();
    await page.getByText('Your data was deleted from this device.').waitFor();
    // Gone from IndexedDB, not only from the page: a reload starts over.
    const stored = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('attune');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const get = db.transaction('profiles', 'readonly').objectStore('profiles').get('default');
            get.onsuccess = () => resolve(get.result ?? null);
            get.onerror = () => reject(get.error);
          };
        }),
    );
    assert.equal(stored, null);
    await page.reload();
    await page.getByRole('heading', { name: 'What do you like to watch?' }).waitFor();
    assert.equal(await page.locator('.topic-tile[aria-pressed="true"]').count(), 0);
    await shot(page, 'desktop-08-after-delete');

    assertOwnRequests(log);
    assert.deepEqual(log.errors, []);
  });
});

describe('demo on a phone viewport (390×844)', () => {
  let ctx;
  before(async () => {
    ctx = await openPage(browser, PHONE, { isMobile: true });
  });
  after(async () => {
    await ctx.context.close();
  });

  test('onboarding paints before the engine, then feed, settings sheet and privacy fit the screen', async () => {
    const { page, log } = ctx;
    // Hold the .wasm back: the genres must be on screen without it.
    let release;
    const gate = new Promise((r) => (release = r));
    await page.route('**/*.wasm', async (route) => {
      await gate;
      await route.continue();
    });
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'What do you like to watch?' }).waitFor();
    assert.equal(await page.locator('.topic-tile').count(), 18);
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-01-onboarding');
    release();

    for (const label of PICKS) await page.getByRole('button', { name: new RegExp(`^${label}\\b`) }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Any favourites here?' }).waitFor();
    await page.getByRole('button', { name: /^Star Wars/ }).click();
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-02-favourites');
    await page.getByRole('button', { name: 'Show my feed' }).click();
    await page.getByRole('heading', { name: 'For you' }).waitFor();
    await page.locator('#feed-grid article.card').first().waitFor();
    // A favourite from onboarding is history: the feed says so and leaves it out.
    const items = await feed(page);
    assert.ok(!items.some((i) => i.title === 'Star Wars'));
    assert.ok(items.some((i) => i.reason === 'because you liked Star Wars'), items.map((i) => i.reason).join(' | '));
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-03-feed');
    const first = page.locator('#feed-grid article.card').first();
    await first.getByText('Why this?').click();
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-04-feed-why');
    await shot(page, 'phone-05-feed-full', { fullPage: true });

    // "Not for me" hides a title; Tune's "Unhide" brings it back.
    const passed = (await feed(page))[0];
    await page.getByRole('button', { name: `Not for me: ${passed.title}` }).click();
    await page.getByText(`Fewer titles like ${passed.title}.`).waitFor();
    assert.ok(!(await feed(page)).some((i) => i.id === passed.id));

    const tune = page.getByRole('button', { name: 'Tune' });
    await tune.click();
    assert.equal(await tune.getAttribute('aria-expanded'), 'true');
    await page.getByRole('button', { name: 'Unhide 1 title' }).click();
    await page.getByText('Hidden titles can show up again.').waitFor();
    assert.ok((await feed(page)).some((i) => i.id === passed.id));
    await page.getByRole('button', { name: 'Hide Thriller' }).click();
    await page.getByText('Thriller is hidden.').waitFor();
    assert.deepEqual((await feed(page)).filter((i) => i.genres.includes('Thriller')), []);
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-06-tune');
    await page.getByRole('button', { name: 'Close settings' }).click();
    assert.equal(await tune.getAttribute('aria-expanded'), 'false');

    await page.getByRole('button', { name: 'Your data' }).click();
    await page.getByRole('dialog', { name: 'Your data' }).waitFor();
    assert.equal(await overflowX(page), 0);
    await shot(page, 'phone-07-privacy');

    assertOwnRequests(log);
    assert.deepEqual(log.errors, []);
  });
});

// Issue 12, finding 8: the policy existed only as a dev/preview server header, so the
// built demo on any other static host ran without one. It ships in the page now.
describe('demo built page on a host that sends no CSP header', () => {
  test('keeps its CSP: nothing can connect to another origin', async () => {
    const dist = join(webDir, 'dist');
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    assert.ok(meta, 'index.html carries the policy');
    assert.equal(meta[1].replaceAll('&#39;', "'"), DEMO_CSP);
    assert.ok(html.indexOf(meta[0]) < html.indexOf('<script'), 'the policy comes before any script');
    // A plain static server over web/dist (no headers), and a beacon on another origin.
    const beacons = [];
    const beacon = createServer((req, res) => {
      beacons.push(req.url);
      res.writeHead(204, { 'Access-Control-Allow-Origin': '*' }).end();
    });
    const plain = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const file = normalize(join(dist, path === '/' ? 'index.html' : path));
      if (!file.startsWith(dist)) return res.writeHead(404).end();
      try {
        const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.json': 'application/json' }[extname(file)];
        res.writeHead(200, type ? { 'Content-Type': type } : {}).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await Promise.all([beacon, plain].map((s) => new Promise((r) => s.listen(0, '127.0.0.1', r))));
    const { context, page, log } = await openPage(browser, DESKTOP);
    try {
      const base = `http://127.0.0.1:${plain.address().port}/`;
      const response = await page.goto(base);
      assert.equal(response.headers()['content-security-policy'], undefined);
      await page.getByRole('heading', { name: 'What do you like to watch?' }).waitFor();
      const other = `http://127.0.0.1:${beacon.address().port}/beacon`;
      const sent = await page.evaluate(async (url) => {
        try {
          await fetch(url, { mode: 'no-cors' });
          return 'sent';
        } catch {
          return 'blocked';
        }
      }, other);
      await page.waitForTimeout(200);
      // Before the fix: 'sent', and the beacon saw the request.
      assert.equal(sent, 'blocked');
      assert.deepEqual(beacons, []);
      assert.ok(log.errors.some((e) => /CSP violation: connect-src/.test(e)), log.errors.join('\n'));
    } finally {
      await context.close();
      await Promise.all([beacon, plain].map((s) => new Promise((r) => s.close(r))));
    }
  });
});
