#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, Rust unit and integration
# tests, TFLite conformance natively and compiled to wasm, differential conformance
# against the live reference interpreter, and the training pipeline's tests.
# Installs what it needs first (scripts/setup.sh). Exit status 0 only if all pass.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# wasm-bindgen-cli may still be compiling in the background when setup returns: the
# native steps run meanwhile and the wasm steps wait for it (scripts/setup.sh).
ATTUNE_SETUP_BACKGROUND=1 bash scripts/setup.sh || { echo "setup failed"; exit 1; }
source scripts/env.sh

passed=0
failed=0
failures=()
step() {
  local name=$1
  shift
  printf '\n== test: %s\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '== ok: %s (%ss)\n' "$name" $((SECONDS - t0))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '== FAILED: %s (%ss)\n' "$name" $((SECONDS - t0))
  fi
}

shared=../shared/conformance
[ -d "$shared" ] || { echo "missing $shared (the shared folder must sit beside the repository)"; exit 1; }

step "cargo fmt" cargo fmt --all -- --check
# One native profile for clippy, the tests and the CLI the later steps call: `ci`
# (Cargo.toml says why). Release and wasm builds are only for what ships.
step "cargo clippy" attune_cargo_native clippy -- -D warnings
step "cargo test" cargo test --profile ci --workspace
step "build attune (native)" attune_cargo_native build
step "conformance (native)" "$ATTUNE_CLI" conform -q tests/conformance "$shared" models
# The browser/Worker module as shipped in the npm package (wasm32-unknown-unknown,
# +simd128, wasm-bindgen, wasm-opt), checked against the same references under node.
step "build wasm module (pkg/wasm)" scripts/build-wasm.sh
step "conformance (shipped wasm module, node)" node tests/wasm/module-check.mjs conform tests/conformance "$shared" models
step "differential conformance vs LiteRT (native)" .venv/bin/python tests/conformance/differential.py --attune "$ATTUNE_CLI" tests/conformance "$shared" models
step "training pipeline (pytest)" bash -c 'cd training && ../.venv/bin/python -m pytest -q tests'
step "attune golden ranking cases (native)" "$ATTUNE_CLI" golden-check tests/golden
step "attune golden ranking cases (shipped wasm module, node)" node tests/wasm/module-check.mjs golden tests/golden
step "attune eval = training metrics (MovieLens ms track)" bash -c '.venv/bin/python tests/eval/ml100k_events.py && for b in sequence ranking; do "$ATTUNE_CLI" eval models/movielens-100k/$b --events training/.cache/movielens-100k/events.csv --expect models/movielens-100k/eval/metrics.json || exit 1; done'
step "npm package (publint, attw, vitest, Chromium)" scripts/test-pkg.sh
step "demo app (Chromium end to end)" scripts/test-web.sh
step "Cloudflare Worker on workerd (routes, auth, bad input, sources, parity, load)" scripts/test-edge.sh
# Smoke run of the browser benchmark: the attune CLI judges the outputs of Attune,
# LiteRT.js and tfjs-tflite against each model's reference; it never asserts timings.
step "browser benchmark smoke (every runtime's outputs judged against the reference)" node tests/bench/browser/run.mjs --quick

printf '\n'
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
