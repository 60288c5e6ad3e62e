#!/usr/bin/env bash
# Builds the Worker into edge/build/ without worker-build (see README.md, "Building"):
#
#   1. cargo, for wasm32-unknown-unknown, in the workspace's one target dir, with the
#      size-first `wasm` profile, in the same invocation as the browser module
#      (attune_cargo_wasm in scripts/env.sh: tract is compiled once for both);
#   2. wasm-bindgen --target module (the pinned CLI the browser build uses too);
#   3. the glue's `import source` (a proposal wrangler's bundler does not parse) is
#      rewritten to the default import Workers give a WebAssembly.Module for;
#   4. optionally wasm-opt (ATTUNE_EDGE_WASM_OPT=1): measured 7 min and a *larger*
#      gzipped module at -Oz (1.47 vs 1.39 MB), so it is off by default;
#   5. the reference bundles are copied to build/assets/ for the static-assets source.
#
# wrangler.toml runs this as its [build] command, so `npx wrangler dev` builds too.
set -euo pipefail
edge=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$edge")
# shellcheck source=../scripts/env.sh
source "$root/scripts/env.sh"
cd "$root"

attune_cargo_wasm
attune_wait_wasm_bindgen

out="$edge/build"
rm -rf "$out/pkg.tmp"
wasm-bindgen --target module --no-typescript \
  --experimental-reset-state-function \
  --remove-name-section --remove-producers-section \
  --out-dir "$out/pkg.tmp" target/wasm32-unknown-unknown/wasm/attune_edge.wasm
glue="$out/pkg.tmp/attune_edge.js"
from='import source wasmModule from "./attune_edge_bg.wasm";'
to='import wasmModule from "./attune_edge_bg.wasm";'
if [ "$(grep -cxF "$from" "$glue")" != 1 ]; then
  echo "build.sh: the wasm-bindgen glue no longer imports the module as expected" >&2
  exit 1
fi
sed -i "s|^${from}\$|${to}|" "$glue"
if [ "${ATTUNE_EDGE_WASM_OPT:-0}" = 1 ]; then
  "$WASM_OPT_BIN" -Oz --strip-debug --strip-producers --enable-simd --enable-bulk-memory --enable-sign-ext \
    --enable-nontrapping-float-to-int --enable-mutable-globals --enable-reference-types \
    --enable-multivalue "$out/pkg.tmp/attune_edge_bg.wasm" -o "$out/pkg.tmp/attune_edge_bg.wasm"
fi
rm -rf "$out/pkg"
mv "$out/pkg.tmp" "$out/pkg"

# Static-assets source: only the files a runtime reads (no golden cases or reports).
for b in sequence ranking; do
  dst="$out/assets/movielens-100k/$b"
  mkdir -p "$dst"
  for f in "$root/models/movielens-100k/$b"/{manifest.json,manifest.sig,catalog.json,*.tflite}; do
    cp -p "$f" "$dst/"
  done
done

wasm="$out/pkg/attune_edge_bg.wasm"
echo "built $wasm: $(wc -c <"$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
