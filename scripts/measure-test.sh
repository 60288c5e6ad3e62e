#!/usr/bin/env bash
# Times the test command as a new user (or CI) runs it: a fresh clone of this
# repository's HEAD in a sibling folder (so ../shared sits beside it, as CI has it), with
# an empty target dir, .venv and node_modules, then `bash .ci/run`. Prints every setup
# section's and every test step's wall time, and writes the table and the full log.
#
#   scripts/measure-test.sh                 # clone HEAD into ../attune-measure-<time>
#   scripts/measure-test.sh --keep          # keep the clone afterwards (default: removed)
#   scripts/measure-test.sh --cold          # first make this machine look new (below)
#
# Without --cold, what a machine already has stays: Debian packages (Chromium, …),
# ~/.cargo/bin/wasm-bindgen and the download caches; that gives the "system packages
# installed" figure. --cold removes them first (apt-get purge of the packages
# scripts/setup.sh installs, the wasm-bindgen binary, cargo's registry and git caches,
# pip's and npm's caches) for the "nothing installed" figure: it is destructive, meant
# for a machine that does nothing else. The table says which it was.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
keep=0
cold=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --cold) cold=1 ;;
    *) echo "usage: $0 [--keep] [--cold]" >&2; exit 2 ;;
  esac
done

if [ "$cold" = 1 ]; then
  pkgs=$(sed -n 's/^apt_pkgs=(\(.*\))$/\1/p' "$here/scripts/setup.sh")
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get purge -y -qq $pkgs >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get autoremove -y -qq >/dev/null 2>&1
  $sudo_cmd apt-get clean
  rm -rf "$HOME/.cargo/bin/wasm-bindgen" "$HOME/.cargo/bin/wasm-bindgen-test-runner" \
    "$HOME/.cargo/bin/wasm2es6js" "$HOME/.cargo/registry" "$HOME/.cargo/git" \
    "$HOME/.cache/pip" "$HOME/.npm"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
dir="$(dirname "$here")/attune-measure-$stamp"
out="$here/artifacts/measure-$stamp"
mkdir -p "$out"

installed=()
[ -x /usr/bin/chromium ] && installed+=(chromium)
[ -x /usr/bin/WebKitWebDriver ] && installed+=(webkit2gtk-driver)
[ -x "$HOME/.cargo/bin/wasm-bindgen" ] && installed+=(wasm-bindgen-cli)
[ -n "$(ls -A "$HOME/.cargo/registry/cache" 2>/dev/null)" ] && installed+=(cargo-registry-cache)

git clone --quiet --no-hardlinks "$here" "$dir" || exit 1
echo "measuring $(git -C "$dir" rev-parse --short HEAD) in $dir"
echo "already on this machine: ${installed[*]:-nothing}"

start=$SECONDS
# Each line gets the seconds since the start; each step marker also gets the machine's
# 1-minute load average, so a run that shared the machine says so in its table.
(cd "$dir" && bash .ci/run) 2>&1 | while IFS= read -r line; do
  printf '%6d %s\n' $((SECONDS - start)) "$line"
  case "$line" in
    "== setup: "* | "== test: "*) printf '%6d == load: %s\n' $((SECONDS - start)) "$(cut -d' ' -f1 /proc/loadavg)" ;;
  esac
done >"$out/log.txt"
rc=${PIPESTATUS[0]}
total=$((SECONDS - start))

# Section times: from each "== setup: X" / "== test: X" marker to the next marker.
{
  echo "commit: $(git -C "$dir" rev-parse --short HEAD); cores: $(nproc); already installed: ${installed[*]:-nothing}"
  echo
  echo "| step | seconds | load at start | result |"
  echo "|---|---:|---:|---|"
  awk '
    /^ *[0-9]+ == setup: / { flush($1); name = "setup: " substr($0, index($0, "== setup: ") + 10); t0 = $1; res = ""; load = ""; next }
    /^ *[0-9]+ == test: /  { flush($1); name = substr($0, index($0, "== test: ") + 9); t0 = $1; res = ""; load = ""; next }
    /^ *[0-9]+ == load: /  { if (load == "") load = $4; next }
    /^ *[0-9]+ == ok: /     { res = "ok" }
    /^ *[0-9]+ == FAILED: / { res = "FAILED" }
    /^ *[0-9]+ steps: /     { flush($1); name = ""; summary = substr($0, index($0, "steps: ")) }
    { last = $1 }
    function flush(t) { if (name != "") printf "| %s | %d | %s | %s |\n", name, t - t0, load, res; name = "" }
    END { flush(last); if (summary != "") print "\n" summary }
  ' "$out/log.txt"
  echo
  echo "total: ${total} s ($((total / 60)) min $((total % 60)) s), exit status $rc"
} | tee "$out/table.md"

grep -E '[0-9]+ passed' "$out/log.txt" | tail -40 >"$out/counts.txt" || true
echo "log: $out/log.txt"
[ "$keep" = 1 ] || rm -rf "$dir"
exit "$rc"
