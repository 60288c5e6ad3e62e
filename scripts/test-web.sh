#!/usr/bin/env bash
# The demo's end-to-end tests: builds the wasm, the npm package and the demo (web/),
# then runs tests/browser/demo/ in Debian's Chromium (playwright-core, node:test).
# Screenshots of every step land in artifacts/screenshots/. Exit status: the tests'.
#
#   scripts/test-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  echo "test-web: ${CHROMIUM_BIN:-/usr/bin/chromium} is missing; run scripts/setup.sh" >&2
  exit 1
fi

scripts/build-wasm.sh
npm run --silent build --workspace attune
npm run --silent build --workspace attune-demo

# One file at a time: the tests share one browser and the machine's few cores.
node --test --test-concurrency=1 --test-reporter=spec tests/browser/demo/*.test.mjs
