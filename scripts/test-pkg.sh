#!/usr/bin/env bash
# Tests the npm package `attune` (pkg/): builds the wasm and the package, checks the
# packaging (publint, "are the types wrong"), runs the vitest suite in node and the
# Chromium tests (tests/browser/pkg). Screenshots go to artifacts/pkg-browser/.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

step "wasm"
scripts/build-wasm.sh

step "build pkg"
npm run build -w pkg --silent

step "publint"
(cd pkg && publint --strict)

step "are the types wrong"
# ESM-only package: the CommonJS and node10 resolutions are out of scope. The .wasm
# subpath is an asset, not a module with types.
attw --pack pkg --profile esm-only --exclude-entrypoints ./attune_bg.wasm --format table-flipped

step "vitest (node)"
(cd pkg && vitest run --root .)

step "Chromium"
node --test --test-reporter=spec tests/browser/pkg/pkg.test.mjs
