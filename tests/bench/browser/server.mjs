// A static server on 127.0.0.1 for the browser benchmark: the bench pages, the models and
// their cases' inputs, and the three runtimes' files. Every response is gzip -9 encoded when
// the browser accepts it (cached in memory) and never cached by the browser
// (`Cache-Control: no-store`, which also disables V8's wasm code cache), so a fresh page
// downloads and compiles everything again. Every page is cross-origin isolated
// (COOP/COEP), which gives `performance.now()` 5 µs resolution in Chromium instead of
// 100 µs. Each response is logged (path, raw and sent bytes) for the byte accounting.
//
//   node tests/bench/browser/server.mjs [--port 8787]   # serve for manual browsing
//
// The runtimes:
//   /rt/attune/  pkg/wasm/ as built by scripts/build-wasm.sh (attune.js + attune_bg.wasm),
//                served as they are;
//   /rt/litert/  @litertjs/core: its ESM entry bundled and minified by esbuild (it imports
//                a bare specifier), plus its single-threaded wasm files (wasm/);
//   /rt/tfjs/    @tensorflow/tfjs-core + tfjs-backend-cpu + tfjs-tflite's
//                dist/tf-tflite.fesm.js bundled and minified by esbuild, plus tfjs-tflite's
//                wasm/ (it loads its emscripten JS with a <script> tag).
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO, loadCases } from './models.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const NM = join(REPO, 'node_modules');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.tflite': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

// The runtimes' single-threaded files that may be requested; only these are served.
const LITERT_WASM = ['litert_wasm_internal.js', 'litert_wasm_internal.wasm',
  'litert_wasm_compat_internal.js', 'litert_wasm_compat_internal.wasm'];
const TFJS_WASM = ['tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.wasm',
  'tflite_web_api_cc.js', 'tflite_web_api_cc.wasm'];

async function bundle(name, contents) {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    stdin: { contents, resolveDir: REPO, sourcefile: `${name}-entry.js`, loader: 'js' },
    bundle: true,
    format: 'esm',
    minify: true,
    write: false,
    platform: 'browser',
    target: 'es2020',
    legalComments: 'none',
    logLevel: 'error',
  });
  return Buffer.from(r.outputFiles[0].contents);
}

export async function bundles() {
  return {
    '/rt/litert/litert.mjs': await bundle('litert',
      "export { loadLiteRt, loadAndCompile, Tensor } from '@litertjs/core';"),
    '/rt/tfjs/tfjs-tflite.mjs': await bundle('tfjs', [
      "import '@tensorflow/tfjs-backend-cpu';",
      "export { tensor, setBackend, ready, getBackend, memory } from '@tensorflow/tfjs-core';",
      "export { loadTFLiteModel, setWasmPath } from '@tensorflow/tfjs-tflite/dist/tf-tflite.fesm.js';",
    ].join('\n')),
  };
}

export function versions() {
  const v = (p) => JSON.parse(readFileSync(join(NM, p, 'package.json'), 'utf8')).version;
  return {
    litert: v('@litertjs/core'),
    tfjs_tflite: v('@tensorflow/tfjs-tflite'),
    tfjs_core: v('@tensorflow/tfjs-core'),
    tfjs_backend_cpu: v('@tensorflow/tfjs-backend-cpu'),
    esbuild: v('esbuild'),
    playwright_core: v('playwright-core'),
  };
}

/**
 * Starts the server. `attuneDir`: the folder with attune.js + attune_bg.wasm
 * (default pkg/wasm); `attuneAltDir`: another build, served at /rt/attune-alt/. Resolves to { url, port, log, close, cases, files }.
 */
export async function startServer({ port = 0, attuneDir = join(REPO, 'pkg/wasm'), attuneAltDir, models } = {}) {
  for (const d of [attuneDir, attuneAltDir].filter(Boolean)) {
    for (const f of ['attune.js', 'attune_bg.wasm']) {
      if (!existsSync(join(d, f))) throw new Error(`${join(d, f)} missing: run scripts/build-wasm.sh`);
    }
  }
  const cases = loadCases(models);
  const generated = await bundles();
  const files = new Map(); // url path -> file path or Buffer
  for (const f of ['bench.html', 'cold.html', 'bench.mjs', 'cold.mjs', 'runtimes.mjs']) {
    files.set(`/${f}`, join(HERE, 'page', f));
  }
  files.set('/rt/attune/attune.js', join(attuneDir, 'attune.js'));
  files.set('/rt/attune/attune_bg.wasm', join(attuneDir, 'attune_bg.wasm'));
  if (attuneAltDir) {
    files.set('/rt/attune-alt/attune.js', join(attuneAltDir, 'attune.js'));
    files.set('/rt/attune-alt/attune_bg.wasm', join(attuneAltDir, 'attune_bg.wasm'));
  }
  for (const [p, buf] of Object.entries(generated)) files.set(p, buf);
  for (const f of LITERT_WASM) files.set(`/rt/litert/wasm/${f}`, join(NM, '@litertjs/core/wasm', f));
  for (const f of TFJS_WASM) files.set(`/rt/tfjs/wasm/${f}`, join(NM, '@tensorflow/tfjs-tflite/wasm', f));
  for (const c of cases) {
    files.set(c.modelUrl, c.modelPath);
    for (const io of c.inputs) files.set(io.url, join(c.dir, io.url.split('/').pop()));
  }
  const pageCases = cases.map(({ key, label, caseDir, modelUrl, inputs, outputs }) => ({
    key, label, caseDir, modelUrl, inputs, outputs,
  }));
  files.set('/cases.json', Buffer.from(JSON.stringify(pageCases)));

  const cache = new Map(); // path -> { raw, gz }
  const body = (p) => {
    let e = cache.get(p);
    if (!e) {
      const src = files.get(p);
      const raw = Buffer.isBuffer(src) ? src : readFileSync(src);
      e = { raw, gz: gzipSync(raw, { level: 9 }) };
      // the harness's own page files are read again each time (edits show up at once)
      if (!(typeof src === 'string' && src.startsWith(join(HERE, 'page')))) cache.set(p, e);
    }
    return e;
  };

  // Read (and gzip) the runtimes' files now: a rebuild of pkg/wasm during a run (other
  // people work in this checkout) then cannot mix two builds in one result.
  for (const p of files.keys()) if (p.startsWith('/rt/')) body(p);

  const log = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const p = path === '/' ? '/bench.html' : path;
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (!files.has(p)) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end(`not found: ${p}`);
      log.push({ path: p, status: 404, raw: 0, sent: 0, t: Date.now() });
      return;
    }
    const { raw, gz } = body(p);
    const useGz = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
    const out = useGz ? gz : raw;
    headers['Content-Type'] = TYPES[extname(p)] || 'application/octet-stream';
    headers['Content-Length'] = out.length;
    if (useGz) headers['Content-Encoding'] = 'gzip';
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : out);
    log.push({ path: p, status: 200, raw: raw.length, sent: out.length, gzip: useGz, t: Date.now() });
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    log,
    cases,
    files,
    /** the bytes served for a path (as read at start for the runtimes' files) */
    bytes: (p) => body(p).raw,
    /** raw and gzip -9 sizes of one served path */
    size: (p) => { const e = body(p); return { raw: e.raw.length, gzip9: e.gz.length }; },
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const s = await startServer({ port: i > 0 ? Number(process.argv[i + 1]) : 8787 });
  console.log(`serving on ${s.url}/bench.html  (Ctrl-C to stop)`);
}
