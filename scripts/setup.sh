#!/usr/bin/env bash
# Installs what the tests and the demo need, idempotently: every step is skipped when
# its result is already present, so a warm machine pays only for the checks.
#
#   scripts/setup.sh            # everything
#
# Python packages go into .venv at the repository root (pinned in the requirements
# files); Rust targets come from rust-toolchain.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '\n== setup: %s\n' "$*"; }

# --- Rust: the toolchain file pins the version and lists the wasm targets; rustup
# installs missing targets on first use, but doing it here keeps that out of timings.
log "rust targets"
for t in wasm32-wasip1 wasm32-unknown-unknown; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
    rustup target add "$t"
  fi
done

# --- Python: the reference interpreter (ai-edge-litert) for differential conformance,
# and TensorFlow for the training pipeline's tests.
log "python venv"
reqs=(training/requirements.txt)
stamp=".venv/.installed-$(cat "${reqs[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r training/requirements.txt
  rm -f .venv/.installed-*
  touch "$stamp"
else
  echo "already installed ($stamp)"
fi

# --- Node: the wasm conformance run uses node's built-in WASI (node >= 20).
log "node"
node --version
