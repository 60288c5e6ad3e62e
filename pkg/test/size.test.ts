import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { dist, repo } from './helpers.js';

// The one place the budget lives: pkg/size-budget.json (gzip -9 bytes of the .wasm).
it('keeps the gzipped .wasm within the size budget', () => {
  const budget = JSON.parse(readFileSync(join(repo, 'pkg/size-budget.json'), 'utf8'));
  const wasm = readFileSync(join(dist, 'attune_bg.wasm'));
  const gz = gzipSync(wasm, { level: 9 }).length;
  console.log(`attune_bg.wasm: ${wasm.length} bytes, ${gz} bytes gzip -9, budget ${budget.wasm_gzip_bytes}`);
  expect(gz).toBeLessThanOrEqual(budget.wasm_gzip_bytes);
});
