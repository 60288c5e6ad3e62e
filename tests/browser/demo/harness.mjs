// Shared pieces of the demo's browser tests: the built demo served by `vite preview`
// (with the strict CSP from web/vite.config.ts), Debian's Chromium through
// playwright-core, and screenshots under artifacts/screenshots/.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const webDir = join(root, 'web');
export const shotsDir = join(root, 'artifacts', 'screenshots');

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Serves web/dist (built beforehand by scripts/test-web.sh) on 127.0.0.1. */
export async function serveDemo() {
  const port = await freePort();
  const server = await preview({
    root: webDir,
    configFile: join(webDir, 'vite.config.ts'),
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A fresh context (its own IndexedDB and caches) and page that records every request,
 *  console error, page error and CSP violation, for the tests to assert on. */
export async function openPage(browser, viewport, { isMobile = false } = {}) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: isMobile ? 2 : 1,
    isMobile,
    hasTouch: isMobile,
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const log = { requests: [], errors: [] };
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { context, page, log };
}

export async function shot(page, name, options = {}) {
  mkdirSync(shotsDir, { recursive: true });
  // Let transitions settle (the toast, the sheet) so the picture shows the end state.
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(shotsDir, `${name}.png`), ...options });
}

/** Horizontal overflow of the page in CSS pixels (0 = none). */
export function overflowX(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** The feed as the user sees it: id, title, genre chips and the headline reason of
 *  every card, in order. */
export function feed(page) {
  return page.locator('#feed-grid article.card').evaluateAll((cards) =>
    cards.map((c) => ({
      id: c.dataset.item,
      title: c.querySelector('.poster-title')?.textContent ?? '',
      genres: [...c.querySelectorAll('.chip')].map((x) => x.textContent),
      reason: c.querySelector('.headline-reason')?.textContent ?? '',
      reasons: [...c.querySelectorAll('.reason-text')].map((x) => x.textContent),
    })),
  );
}
