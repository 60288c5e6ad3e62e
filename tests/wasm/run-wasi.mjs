// Runs a wasm32-wasip1 command (the attune CLI) under Node's WASI implementation, with
// the current directory and its parent preopened so relative case paths resolve the
// same way they do natively. Usage: node run-wasi.mjs attune.wasm [args...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, env, exit, cwd } from 'node:process';
import { dirname } from 'node:path';

const [wasmPath, ...args] = argv.slice(2);
if (!wasmPath) {
  console.error('usage: node run-wasi.mjs <module.wasm> [args...]');
  exit(2);
}
const here = cwd();
const wasi = new WASI({
  version: 'preview1',
  args: ['attune', ...args],
  env: { RUST_BACKTRACE: env.RUST_BACKTRACE ?? '0' },
  preopens: { '.': here, '..': dirname(here) },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
