/**
 * A small promise layer over IndexedDB: one database per app (default `attune`) with a
 * versioned schema. Every read and write runs in a transaction and resolves when the
 * transaction commits, so a resolved write is durable; failures become `AttuneError`s
 * (`E_STORAGE_QUOTA` when the browser is out of quota, `E_STORAGE` otherwise).
 */
import { AttuneError } from './errors.js';

/** Schema version of the database. Version 1: `profiles` (key: profile name) and
 *  `files` (cached bundle files, key: see bundle.ts). A new version adds an upgrade
 *  step below; existing data is never dropped by an upgrade. */
export const DB_VERSION = 1;
export const DEFAULT_DB = 'attune';
export const PROFILES = 'profiles';
export const FILES = 'files';

const open = new Map<string, Promise<IDBDatabase>>();

function factory(): IDBFactory {
  const f = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!f) throw new AttuneError('E_STORAGE', 'IndexedDB is not available here (use storage: "memory")');
  return f;
}

export function storageError(e: unknown, what: string): AttuneError {
  if (e instanceof AttuneError) return e;
  const name = (e as { name?: string } | null)?.name;
  const message = (e as { message?: string } | null)?.message ?? String(e);
  if (name === 'QuotaExceededError') {
    return new AttuneError('E_STORAGE_QUOTA', `${what}: out of storage quota (${message})`, { cause: e });
  }
  return new AttuneError('E_STORAGE', `${what}: ${name ? name + ': ' : ''}${message}`, { cause: e });
}

/** Opens (and creates or upgrades) the database; the connection is shared. */
export function openDb(name: string = DEFAULT_DB): Promise<IDBDatabase> {
  let p = open.get(name);
  if (!p) {
    p = new Promise<IDBDatabase>((resolve, reject) => {
      let req: IDBOpenDBRequest;
      try {
        req = factory().open(name, DB_VERSION);
      } catch (e) {
        reject(storageError(e, `opening IndexedDB ${name}`));
        return;
      }
      req.onupgradeneeded = (ev) => {
        const db = req.result;
        // Version 0 → 1.
        if (ev.oldVersion < 1) {
          db.createObjectStore(PROFILES, { keyPath: 'name' });
          db.createObjectStore(FILES, { keyPath: 'key' });
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab (or deleteDatabase) needs a newer schema: let it proceed and
        // reopen on next use.
        db.onversionchange = () => {
          db.close();
          open.delete(name);
        };
        db.onclose = () => open.delete(name);
        resolve(db);
      };
      req.onerror = () => reject(storageError(req.error, `opening IndexedDB ${name}`));
      req.onblocked = () => reject(new AttuneError('E_STORAGE', `IndexedDB ${name} is blocked by an older connection in another tab`));
    });
    open.set(name, p);
    p.catch(() => open.delete(name));
  }
  return p;
}

/** Runs `body` in one transaction; resolves with its result once the transaction commits. */
export async function transact<T>(
  dbName: string,
  stores: string | string[],
  mode: IDBTransactionMode,
  what: string,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> {
  const db = await openDb(dbName);
  return new Promise<T>((resolve, reject) => {
    let tx: IDBTransaction;
    try {
      tx = db.transaction(stores, mode);
    } catch (e) {
      reject(storageError(e, what));
      return;
    }
    let result: T;
    let failed: unknown;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(storageError(failed ?? tx.error, what));
    tx.onabort = () => reject(storageError(failed ?? tx.error ?? new Error('transaction aborted'), what));
    const fail = (e: unknown) => {
      failed = e;
      try {
        tx.abort();
      } catch {
        reject(storageError(e, what));
      }
    };
    // Called synchronously: a transaction stays active only while its creating task
    // (and the callbacks of its own requests) run.
    let out: T | Promise<T>;
    try {
      out = body(tx);
    } catch (e) {
      fail(e);
      return;
    }
    Promise.resolve(out).then((r) => {
      result = r;
    }, fail);
  });
}

/** A request as a promise (use inside `transact`). */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
