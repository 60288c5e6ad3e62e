#!/usr/bin/env bash
# Fills corpus/load_model with a diverse set of real models (all the whole-model
# conformance suites, every 8th single-operator model, and the shared recommendation
# CNN when present). The corpus is not committed: run this before fuzzing.
set -euo pipefail
cd "$(dirname "$0")"
root=../../..
out=corpus/load_model
mkdir -p "$out" corpus/mutate_model
for m in "$root"/tests/conformance/models/*/model.tflite; do
  cp "$m" "$out/model_$(basename "$(dirname "$m")").tflite"
done
i=0
for m in "$root"/tests/conformance/ops/*/model.tflite; do
  if [ $((i % 8)) -eq 0 ]; then
    cp "$m" "$out/op_$(basename "$(dirname "$m")").tflite"
  fi
  i=$((i + 1))
done
shared="$root/../shared/conformance/tflite-examples-recommendation-cnn/model.tflite"
[ -f "$shared" ] && cp "$shared" "$out/recommendation_cnn.tflite"
echo "$(ls "$out" | wc -l) seeds in $out"
