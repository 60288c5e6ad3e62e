import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// The demo serves one reference bundle. The sequence model is the better cold start:
// with three picked topics its first page is on-topic and familiar, where the candidate
// ranker's cold list is led by obscure 1997 titles (compare
// `attune rank models/movielens-100k/{sequence,ranking} --profile …`).
const here = fileURLToPath(new URL('.', import.meta.url));
const bundleDir = resolve(here, '../models/movielens-100k/sequence');
const bundleBase = 'bundles/movielens-100k/';

// The demo's Content-Security-Policy: only its own files, no inline script or style, no
// eval (only wasm compilation), no plugins, no <base>, no form posts, and no connection
// to any other origin, so nothing the user does can leave the page. Shipped in the
// built page itself (a <meta> first in <head>), so it holds on any static host, and
// sent as a header by the preview server (which also adds frame-ancestors, a directive
// a <meta> cannot carry). The tests check both.
export const csp = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
const previewCsp = `${csp}; frame-ancestors 'none'`;
// Vite's dev server injects styles and talks to its HMR websocket, which the full
// policy forbids; the development server keeps the script rules only.
const devCsp = "script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'";

/** Puts the policy into the built index.html, before anything that loads. */
function cspMeta(): Plugin {
  return {
    name: 'attune-demo-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: csp }, injectTo: 'head-prepend' }],
  };
}

/** The files an app downloads: the manifest, its signature and what the manifest lists
 *  (not `golden/`, which is test data). Read from the manifest so a rebuilt bundle
 *  with other file names still works. */
function bundleFiles(): string[] {
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
  const files = new Set<string>(['manifest.json', 'manifest.sig', manifest.catalog.file]);
  for (const m of manifest.models) files.add(m.file);
  return [...files];
}

/** Serves the bundle in dev and copies it into the build output, so the repository
 *  keeps one copy of the model files. */
function movielensBundle(): Plugin {
  const files = bundleFiles();
  const types: Record<string, string> = { json: 'application/json', sig: 'application/octet-stream' };
  return {
    name: 'attune-demo-bundle',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        const prefix = server.config.base + bundleBase;
        if (!path.startsWith(prefix)) return next();
        const name = path.slice(prefix.length);
        if (!files.includes(name)) return next();
        const ext = name.split('.').pop() ?? '';
        res.setHeader('Content-Type', types[ext] ?? 'application/octet-stream');
        res.end(readFileSync(join(bundleDir, name)));
      });
    },
    generateBundle() {
      for (const name of files) {
        this.emitFile({ type: 'asset', fileName: bundleBase + name, source: readFileSync(join(bundleDir, name)) });
      }
    },
  };
}

export default defineConfig({
  root: here,
  // Relative URLs: the built app works from any path (a sub-folder, a web view's file
  // server), not only from the site root.
  base: './',
  plugins: [movielensBundle(), cspMeta()],
  define: {
    // The pinned key of the bundle the demo serves, read from the bundle (no key is
    // written into this config). The reference bundles are signed with RFC 8032's
    // published TEST 1 key, which the package refuses unless told this is development:
    // the demo is, and says so with __ALLOW_TEST_KEY__. A real app pins its own
    // publisher's key and leaves test keys refused.
    __BUNDLE_KEY__: JSON.stringify(readFileSync(join(bundleDir, 'manifest.pub'), 'utf8').trim()),
    __ALLOW_TEST_KEY__: 'true',
    __BUNDLE_PATH__: JSON.stringify(bundleBase),
  },
  // The package loads its .wasm through `new URL(…, import.meta.url)`; pre-bundling
  // would move the JS away from the .wasm file.
  optimizeDeps: { exclude: ['attune'] },
  server: { host: '127.0.0.1', headers: { 'Content-Security-Policy': devCsp } },
  preview: { host: '127.0.0.1', headers: { 'Content-Security-Policy': previewCsp } },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
});
