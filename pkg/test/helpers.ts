import { createHash, createPrivateKey, sign } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const dist = join(repo, 'pkg/dist');
export const sequenceDir = join(repo, 'models/movielens-100k/sequence');
export const rankingDir = join(repo, 'models/movielens-100k/ranking');
export const testKey = readFileSync(join(sequenceDir, 'manifest.pub'), 'utf8').trim();

export function wasmBytes(): Uint8Array {
  return readFileSync(join(dist, 'attune_bg.wasm'));
}

export interface TestServer {
  base: string;
  /** Paths requested, in order. */
  requests: string[];
  /** Per-path hooks: return true when handled. */
  hook?: (path: string, req: IncomingMessage, res: ServerResponse) => boolean;
  close(): Promise<void>;
}

/** A static server on 127.0.0.1 over `root`, recording every request. */
export async function serve(root: string): Promise<TestServer> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    state.requests.push(path);
    if (state.hook?.(path, req, res)) return;
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.statusCode = 403;
      res.end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.setHeader('Content-Type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const state: TestServer = {
    base: `http://127.0.0.1:${port}`,
    requests: [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return state;
}

/** A writable copy of a bundle directory. */
export function copyBundle(dir: string): string {
  const to = mkdtempSync(join(tmpdir(), 'attune-bundle-'));
  cpSync(dir, to, { recursive: true });
  return to;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Rewrites a copied bundle: changes the catalog (one title) and bumps the version,
 *  keeping the manifest consistent (unsigned: manifest.sig no longer matches). */
export function publishNewVersion(dir: string, version: string): void {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const catalog = JSON.parse(readFileSync(join(dir, manifest.catalog.file), 'utf8'));
  catalog.titles[0] = catalog.titles[0] + ' (remastered)';
  const bytes = Buffer.from(JSON.stringify(catalog));
  writeFileSync(join(dir, manifest.catalog.file), bytes);
  manifest.version = version;
  manifest.catalog.sha256 = sha256(bytes);
  manifest.catalog.bytes = bytes.length;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
}

/** The stored IndexedDB record of a profile, read directly (not through the package). */
export function rawRecord(db: string, store: string, key: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const conn = open.result;
      if (!conn.objectStoreNames.contains(store)) {
        conn.close();
        resolve(undefined);
        return;
      }
      const req = conn.transaction(store).objectStore(store).get(key);
      req.onsuccess = () => {
        conn.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    };
  });
}

export function putRecord(db: string, store: string, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const conn = open.result;
      const tx = conn.transaction(store, 'readwrite');
      tx.objectStore(store).put(value);
      tx.oncomplete = () => {
        conn.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

export function countRecords(db: string, store: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onsuccess = () => {
      const conn = open.result;
      const req = conn.transaction(store).objectStore(store).count();
      req.onsuccess = () => {
        conn.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    };
    open.onerror = () => reject(open.error);
  });
}

let dbCounter = 0;
/** A fresh database name per test, so tests do not share state. */
export function freshDb(): string {
  return `attune-test-${process.pid}-${dbCounter++}`;
}

/** The secret key of RFC 8032 §7.1 TEST 1, the published test vector the reference
 *  bundles are signed with: anyone can sign with it, which is what these tests show. */
const TEST1_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

/** Signs manifest bytes with the published TEST 1 secret key. */
export function signWithTestKey(bytes: Uint8Array): Buffer {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(TEST1_SECRET, 'hex')]);
  return sign(null, bytes, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

/** Rewrites a copied bundle's manifest (and optionally its catalog), keeping the
 *  catalog's hash consistent, and signs it with the published TEST 1 key. Returns the
 *  new manifest bytes. */
export function republish(
  dir: string,
  edit: { manifest?: (m: Record<string, any>) => void; catalog?: (c: Record<string, any>) => void; catalogFile?: string },
): Buffer {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  if (edit.catalog) {
    const catalog = JSON.parse(readFileSync(join(dir, manifest.catalog.file), 'utf8'));
    edit.catalog(catalog);
    const bytes = Buffer.from(JSON.stringify(catalog));
    // A new file name keeps the old version's catalog servable too.
    if (edit.catalogFile) manifest.catalog.file = edit.catalogFile;
    writeFileSync(join(dir, manifest.catalog.file), bytes);
    manifest.catalog.sha256 = sha256(bytes);
    manifest.catalog.bytes = bytes.length;
  }
  edit.manifest?.(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest, null, 1));
  writeFileSync(join(dir, 'manifest.json'), bytes);
  writeFileSync(join(dir, 'manifest.sig'), signWithTestKey(bytes));
  return bytes;
}
