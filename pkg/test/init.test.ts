import { describe, expect, it } from 'vitest';
import { AttuneError, init, isInitialized, loadBundle, openProfile, version } from '../dist/index.js';
import { wasmBytes } from './helpers.js';

describe('init', () => {
  it('refuses to work before init, with a typed error', async () => {
    expect(isInitialized()).toBe(false);
    await expect(loadBundle('http://127.0.0.1:9/manifest.json')).rejects.toMatchObject({
      name: 'AttuneError',
      code: 'E_NOT_INITIALIZED',
    });
    await expect(openProfile({ storage: 'memory' })).rejects.toBeInstanceOf(AttuneError);
  });

  it('reports a fetch failure as E_WASM_INIT-safe AttuneError and can be retried', async () => {
    const err = await init({ wasm: 'file:///nonexistent/attune_bg.wasm' }).catch((e: unknown) => e);
    expect(AttuneError.is(err)).toBe(true);
    expect((err as AttuneError).code).toBe('E_FETCH');
    expect((err as AttuneError).message).toMatch(/pass the bytes/);
    expect(isInitialized()).toBe(false);
  });

  it('falls back from streaming when the Response has the wrong MIME type', async () => {
    const response = new Response(wasmBytes(), { headers: { 'Content-Type': 'application/octet-stream' } });
    const a = init({ wasm: response });
    const b = init(); // concurrent call: the same promise, no second load
    expect(b).toBe(a);
    await a;
    expect(isInitialized()).toBe(true);
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
    // Idempotent: later options are ignored.
    await init({ wasm: new Uint8Array([0, 1, 2]) });
  });
});

describe('init sources', () => {
  it('accepts bytes and a compiled module', async () => {
    // The module-level state is shared per file; check the helpers directly.
    const module = await WebAssembly.compile(wasmBytes());
    expect(WebAssembly.Module.exports(module).some((e) => e.name === 'wasmbundle_load')).toBe(true);
  });
});
