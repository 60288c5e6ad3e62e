#!/usr/bin/env bash
# The main job, for now: build the attune CLI, show what the MovieLens reference
# model looks like to the engine, and run every bundled conformance suite against
# the reference interpreter's outputs. (The browser demo replaces this when the npm
# package lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p attune-cli
./target/release/attune inspect models/movielens-100k/sequence/model.tflite
echo
suites=(tests/conformance models)
[ -d ../shared/conformance ] && suites+=(../shared/conformance)
./target/release/attune conform -q "${suites[@]}"
