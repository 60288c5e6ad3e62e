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

// The same header the tests check: no inline script, no eval, only wasm compilation.
export const csp = "script-src 'self' 'wasm-unsafe-eval'";

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
  plugins: [movielensBundle()],
  define: {
    // The bundle's pinned signing key (the RFC 8032 test key of the reference bundles,
    // a fixture: a real app pins its own publisher key).
    __BUNDLE_KEY__: JSON.stringify(readFileSync(join(bundleDir, 'manifest.pub'), 'utf8').trim()),
    __BUNDLE_PATH__: JSON.stringify(bundleBase),
  },
  // The package loads its .wasm through `new URL(…, import.meta.url)`; pre-bundling
  // would move the JS away from the .wasm file.
  optimizeDeps: { exclude: ['attune'] },
  server: { host: '127.0.0.1', headers: { 'Content-Security-Policy': csp } },
  preview: { host: '127.0.0.1', headers: { 'Content-Security-Policy': csp } },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
});
