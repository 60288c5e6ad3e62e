#!/usr/bin/env node
// An experiment, not a build to ship: sizes what Attune loses to static constructors.
//
// The module never calls `__wasm_call_ctors` itself, so wasm-ld links it "command-style"
// and wraps every export (WasmModel.run, but also __wbindgen_malloc and
// __externref_table_alloc, which the JS glue calls for each argument) in a call to
// `__wasm_call_ctors`: tract's `inventory` registrations run again on every call into
// the module. This script copies a wasm-bindgen output folder and rewrites the module
// with binaryen so that the wrappers run the constructors only the first time (a guard
// global), which is what an explicit `__wasm_call_ctors()` call in the crate's start
// function gets from wasm-ld. The rest is what scripts/build-wasm.sh does (wasm-bindgen
// --target web, then wasm-opt -Oz), so the output differs from pkg/wasm only in that
// guard (the patch goes between the two: binaryen's text round trip would drop
// wasm-bindgen's metadata section). It is then benchmarked next to the real build:
//
//   scripts/build-wasm.sh
//   node tests/bench/browser/ctors-once.mjs OUT_DIR [RAW_WASM]
//   node tests/bench/browser/run.mjs --attune-alt OUT_DIR --attune-alt-label "ctors once"
//
// RAW_WASM defaults to cargo's target/wasm32-unknown-unknown/wasm/attune_wasm.wasm (it
// still has its function names, which the patch needs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO } from './models.mjs';

const out = process.argv[2] && resolve(process.argv[2]);
const raw = resolve(process.argv[3] ?? join(REPO, 'target/wasm32-unknown-unknown/wasm/attune_wasm.wasm'));
if (!out) {
  console.error('usage: ctors-once.mjs OUT_DIR [RAW_WASM]');
  process.exit(2);
}
const bin = (n) => join(REPO, 'node_modules/.bin', n);
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
const features = ['--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
  '--enable-sign-ext', '--enable-mutable-globals', '--enable-multivalue', '--enable-reference-types'];
mkdirSync(out, { recursive: true });
// wasm-bindgen first: binaryen's text round trip drops its custom section
run(process.env.WASM_BINDGEN_BIN || 'wasm-bindgen', ['--target', 'web', '--out-dir', out, '--out-name', 'attune', raw]);
const wasm = join(out, 'attune_bg.wasm');
const wat = join(out, 'patched.wat');
const patched = join(out, 'patched.wasm');
run(bin('wasm-dis'), [...features, wasm, '-o', wat]);
let text = readFileSync(wat, 'utf8');
const calls = text.split('(call $__wasm_call_ctors)').length - 1;
if (!calls) {
  console.error('no __wasm_call_ctors calls found (no names in the module, or it already runs them once)');
  process.exit(1);
}
text = text.replaceAll('(call $__wasm_call_ctors)',
  '(if (i32.eqz (global.get $bench_ctors_done)) (then (global.set $bench_ctors_done (i32.const 1)) (call $__wasm_call_ctors)))');
const at = text.indexOf('\n (global ');
text = `${text.slice(0, at + 1)} (global $bench_ctors_done (mut i32) (i32.const 0))\n${text.slice(at + 1)}`;
writeFileSync(wat, text);
run(bin('wasm-as'), [...features, '-g', wat, '-o', patched]);
rmSync(wat);
run(bin('wasm-opt'), ['-Oz', '--strip-debug', '--strip-producers', ...features, patched, '-o', wasm]);
rmSync(patched);
console.log(`${calls} constructor calls now run once; wrote ${out}`);
