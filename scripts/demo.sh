#!/usr/bin/env bash
# The main job: install what is needed, build the wasm, the npm package and the demo
# app (web/), then serve it on this machine and print the URL.
#
#   scripts/demo.sh              # http://127.0.0.1:5173/
#   PORT=8080 scripts/demo.sh    # another port
#
# The server is `vite preview` over web/dist with the demo's strict CSP
# (script-src 'self' 'wasm-unsafe-eval'); stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

scripts/build-wasm.sh
npm run --silent build --workspace attune
npm run --silent build --workspace attune-demo

port="${PORT:-5173}"
printf '\n  Attune demo: http://127.0.0.1:%s/\n\n' "$port"
exec vite preview web --host 127.0.0.1 --port "$port" --strictPort
