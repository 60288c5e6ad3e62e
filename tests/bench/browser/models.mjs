// The models of the browser benchmark: the same case folders, in the same order, as
// DEFAULT_MODELS in tests/bench/bench_native.py (keep the two lists in step), plus its
// one-op TRIVIAL_CASE, so the browser figures line up with the native and node ones in
// BENCHMARKS.md.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

// [key (URL-safe), label, case folder relative to the repository root]
export const MODELS = [
  ['ranking_dynamic_batch', 'ranking f32, 1000 cand., dynamic batch', 'tests/conformance/models/ranking_dynamic_batch/case_1'],
  ['ranking_f32', 'ranking f32, 1000 cand.', 'tests/conformance/models/ranking_f32/case_0'],
  ['ranking_dynamic_range', 'ranking dynamic-range, 1000 cand.', 'tests/conformance/models/ranking_dynamic_range/case_0'],
  ['ranking_int8_per_tensor', 'ranking int8 per-tensor, 1000 cand.', 'tests/conformance/models/ranking_int8_per_tensor/case_0'],
  ['ranking_int8_per_channel', 'ranking int8 per-channel, 1000 cand.', 'tests/conformance/models/ranking_int8_per_channel/case_0'],
  ['ranking_int8_io', 'ranking int8 I/O, 1000 cand.', 'tests/conformance/models/ranking_int8_io/case_0'],
  ['two_tower', 'two-tower, 1000 cand. scores', 'tests/conformance/models/two_tower/case_0'],
  ['two_tower_topk', 'two-tower + top-10', 'tests/conformance/models/two_tower_topk/case_0'],
  ['seq_bag_of_words', 'bag-of-words + top-10 of 2000', 'tests/conformance/models/seq_bag_of_words/case_0'],
  ['seq_cnn', 'CNN seq. + top-10 of 500', 'tests/conformance/models/seq_cnn/case_0'],
  ['seq_gru', 'GRU (Keras 3, WHILE) + top-10', 'tests/conformance/models/seq_gru/case_0'],
  ['seq_gru_unrolled', 'GRU (unrolled) + top-10', 'tests/conformance/models/seq_gru_unrolled/case_0'],
  ['seq_lstm', 'LSTM (Keras 3, WHILE) + top-10', 'tests/conformance/models/seq_lstm/case_0'],
  ['seq_lstm_tfkeras', 'LSTM (tf_keras, UNIDIR._SEQ._LSTM) + top-10', 'tests/conformance/models/seq_lstm_tfkeras/case_0'],
  ['rec_cnn', 'official TFLite rec. CNN, top-100', '../shared/conformance/tflite-examples-recommendation-cnn/case_0'],
  // bench_native.py's TRIVIAL_CASE: a one-op model, for the fixed cost of one run
  ['abs_one_op', 'one-op model (ABS on f32[3,7]): fixed cost per run', 'tests/conformance/ops/abs/case_0'],
];

// What the page gets for each model: where to fetch the model and the inputs, and the
// outputs' names, dtypes and shapes (to find each output among the runtime's). The
// reference outputs stay on disk: the `attune` CLI judges against them.
export function loadCases(keys) {
  const picked = keys ? MODELS.filter(([k]) => keys.includes(k)) : MODELS;
  if (keys && picked.length !== keys.length) {
    const known = new Set(MODELS.map(([k]) => k));
    throw new Error(`unknown model(s): ${keys.filter((k) => !known.has(k)).join(', ')}; known: ${[...known].join(', ')}`);
  }
  return picked.map(([key, label, rel]) => {
    const dir = join(REPO, rel);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const io = (x) => ({ name: x.name, dtype: x.dtype, shape: x.shape, url: `/models/${key}/${x.file}` });
    return {
      key,
      label,
      caseDir: rel,
      dir,
      modelPath: resolve(dir, m.model),
      modelUrl: `/models/${key}/model.tflite`,
      inputs: m.inputs.map(io),
      outputs: m.outputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    };
  });
}
