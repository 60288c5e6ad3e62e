// Builds dist/: the TypeScript (tsc) plus the wasm-bindgen output from wasm/ (made by
// scripts/build-wasm.sh at the repository root), so the published package is
// self-contained.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmDir = join(root, 'wasm');
const dist = join(root, 'dist');
const glue = ['attune.js', 'attune.d.ts', 'attune_bg.wasm'];

for (const f of glue) {
  if (!existsSync(join(wasmDir, f))) {
    console.error(`pkg/wasm/${f} is missing: run scripts/build-wasm.sh first`);
    process.exit(1);
  }
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
try {
  execFileSync(process.execPath, [join(root, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
} catch {
  process.exit(1);
}
for (const f of glue) copyFileSync(join(wasmDir, f), join(dist, f));
