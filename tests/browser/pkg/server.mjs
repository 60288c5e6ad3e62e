// A static server for the package's browser tests: serves the built package
// (pkg/dist), the reference bundles (models/) and the test pages, on 127.0.0.1 with an
// ephemeral port. Headers are configurable per server: the CSP, and the MIME type of
// .wasm (to check the fallback when a server gets it wrong).
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const allowed = ['/pkg/dist/', '/models/movielens-100k/', '/tests/browser/pkg/pages/'];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export const strictCsp = "script-src 'self' 'wasm-unsafe-eval'";

/**
 * `route(path, req, res)` may answer a request itself (return true), for tests that
 * play a hostile or broken bundle host.
 * @param {{ csp?: string | null, wasmType?: string, route?: (path: string, req: any, res: any) => boolean }} options
 * @returns {Promise<{ base: string, requests: string[], close(): Promise<void> }>}
 */
export async function startServer(options = {}) {
  const csp = options.csp === undefined ? strictCsp : options.csp;
  const requests = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (options.route?.(path, req, res)) return;
    const file = normalize(join(repo, path));
    if (!allowed.some((p) => path.startsWith(p)) || !file.startsWith(repo)) {
      res.writeHead(404).end();
      return;
    }
    let body;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const ext = extname(file);
    const type = ext === '.wasm' && options.wasmType ? options.wasmType : (types[ext] ?? 'application/octet-stream');
    const headers = { 'Content-Type': type, 'Cache-Control': 'no-cache' };
    if (csp) headers['Content-Security-Policy'] = csp;
    res.writeHead(200, headers).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
