//! Structure-aware: the input picks a conformance model and rewrites some of its
//! scalar fields (shapes, types, indices, operator codes and options, small
//! constants) in place, so the flatbuffer stays well-formed and the mutations reach
//! validation and translation instead of dying in the verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(model) = attune_tflite_fuzz::mutate(data) {
        // `ATTUNE_FUZZ_DUMP=out.tflite mutate_model crash-...` writes the mutated model,
        // to keep it as a regression case
        if let Some(path) = std::env::var_os("ATTUNE_FUZZ_DUMP") {
            std::fs::write(path, &model).expect("write ATTUNE_FUZZ_DUMP");
        }
        attune_tflite_fuzz::load_and_run(&model);
    }
});
