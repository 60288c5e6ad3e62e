//! Arbitrary bytes as a model: `Model::load`, then one run on zero inputs of the
//! declared shapes when it loads. Seed it with real models (see ../seed_corpus.sh).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    attune_tflite_fuzz::load_and_run(data);
});
