#!/usr/bin/env bash
# Builds the browser/web-view module into pkg/wasm/:
#   cargo (wasm32-unknown-unknown, +simd128 from .cargo/config.toml, profile `wasm`; the
#     Worker's crate in the same invocation, see attune_cargo_wasm in env.sh)
#   → wasm-bindgen --target web (the CLI pinned to the crate's version)
#   → wasm-opt -Oz from npm binaryen (smaller, not faster: ANCHORS §3).
# Prints the raw and gzip -9 sizes. Idempotent; cargo skips work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

out=pkg/wasm
attune_cargo_wasm
raw=target/wasm32-unknown-unknown/wasm/attune_wasm.wasm

stamp="$out/.built-$(sha256sum "$raw" | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "pkg/wasm is up to date"
else
  attune_wait_wasm_bindgen
  rm -rf "$out"
  mkdir -p "$out"
  # --experimental-reset-state-function: after a panic traps the instance, the package
  # replaces it with a fresh one (pkg/src/wasm.ts), as the Worker does (edge/build.sh).
  wasm-bindgen --target web --experimental-reset-state-function --out-dir "$out" --out-name attune "$raw"
  # The features tract's wasm build uses; wasm-opt refuses the module without them.
  wasm-opt -Oz --strip-debug --strip-producers \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types \
    "$out/attune_bg.wasm" -o "$out/attune_bg.opt.wasm"
  mv "$out/attune_bg.opt.wasm" "$out/attune_bg.wasm"
  touch "$stamp"
fi
printf 'attune_bg.wasm: %s bytes, %s bytes gzip -9\n' \
  "$(stat -c %s "$out/attune_bg.wasm")" "$(gzip -9c "$out/attune_bg.wasm" | wc -c)"
