#!/usr/bin/env bash
# Edge tests: builds the Worker (edge/build.sh, in the workspace's one target dir) and
# the native CLI (the parity reference, $ATTUNE_CLI), then runs tests/edge/*.test.mjs on real
# workerd through Miniflare and `wrangler dev`, all on 127.0.0.1: routes, auth, CORS,
# every bad-input class, each bundle source, bundle updates, parity with native on the
# golden cases, and the 10,000-request load test. Exit status 0 only if all pass.
#
#   scripts/test-edge.sh            # everything
#   scripts/test-edge.sh routes     # only tests/edge/routes.test.mjs
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

bash edge/build.sh
attune_cargo_native build

if [ $# -gt 0 ]; then
  files=()
  for n in "$@"; do files+=("tests/edge/$n.test.mjs"); done
else
  files=(tests/edge/*.test.mjs)
fi
# One file at a time: the load test must not share the two cores with other tests.
node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
