/**
 * Where downloaded bundle files are kept between visits: the Cache API or IndexedDB.
 * A file's key holds its URL and its sha256 from the manifest, so a newly published
 * version never reuses a stale file, and a file two versions share is reused. After a
 * successful load the files no longer listed by the manifest are pruned.
 */
import { FILES, request, transact } from './idb.js';

export type CacheMode = 'auto' | 'cache-api' | 'indexeddb' | 'none';

export interface FileCache {
  readonly kind: 'cache-api' | 'indexeddb' | 'none';
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, group: string, bytes: Uint8Array): Promise<void>;
  /** Deletes the group's entries whose key is not in `keep`. */
  prune(group: string, keep: Set<string>): Promise<void>;
}

const GROUP_HEADER = 'x-attune-group';

export function openCache(mode: CacheMode, options: { cacheName: string; dbName: string }): FileCache {
  const hasCaches = typeof (globalThis as { caches?: unknown }).caches === 'object';
  const hasIdb = typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object';
  if (mode === 'none') return noCache;
  // The Cache API exists only in secure contexts; IndexedDB is the fallback.
  if ((mode === 'cache-api' || mode === 'auto') && hasCaches) return cacheApi(options.cacheName);
  if (hasIdb) return idbCache(options.dbName);
  return noCache;
}

const noCache: FileCache = {
  kind: 'none',
  get: async () => undefined,
  put: async () => {},
  prune: async () => {},
};

function cacheApi(name: string): FileCache {
  const open = () => caches.open(name);
  return {
    kind: 'cache-api',
    async get(key) {
      const r = await (await open()).match(key);
      return r ? new Uint8Array(await r.arrayBuffer()) : undefined;
    },
    async put(key, group, bytes) {
      const body = bytes.slice().buffer;
      await (await open()).put(
        key,
        new Response(body, { headers: { 'Content-Type': 'application/octet-stream', [GROUP_HEADER]: group } }),
      );
    },
    async prune(group, keep) {
      const cache = await open();
      for (const req of await cache.keys()) {
        if (keep.has(req.url)) continue;
        const r = await cache.match(req);
        if (r?.headers.get(GROUP_HEADER) === group) await cache.delete(req);
      }
    },
  };
}

interface FileRecord {
  key: string;
  group: string;
  bytes: ArrayBuffer;
  stored: number;
}

function idbCache(dbName: string): FileCache {
  return {
    kind: 'indexeddb',
    async get(key) {
      const rec = await transact(dbName, FILES, 'readonly', 'reading the bundle cache', (tx) =>
        request(tx.objectStore(FILES).get(key) as IDBRequest<FileRecord | undefined>),
      );
      return rec && rec.bytes instanceof ArrayBuffer ? new Uint8Array(rec.bytes) : undefined;
    },
    async put(key, group, bytes) {
      const rec: FileRecord = { key, group, bytes: bytes.slice().buffer, stored: Date.now() };
      await transact(dbName, FILES, 'readwrite', 'writing the bundle cache', (tx) => {
        tx.objectStore(FILES).put(rec);
      });
    },
    async prune(group, keep) {
      await transact(dbName, FILES, 'readwrite', 'pruning the bundle cache', (tx) => {
        const req = tx.objectStore(FILES).openCursor();
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor) return;
          const rec = cursor.value as FileRecord;
          if (rec.group === group && !keep.has(rec.key)) cursor.delete();
          cursor.continue();
        };
      });
    },
  };
}
