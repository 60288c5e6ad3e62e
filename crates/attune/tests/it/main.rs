//! The crate's integration tests, in one binary: each `tests/*.rs` file used to be its
//! own executable linking all of tract, and linking dominated the test command's time.
//!
//! The golden ranking cases are not repeated here: `attune golden-check tests/golden`
//! (scripts/test.sh) judges them (the CLI's `golden` module), and the
//! shipped wasm module runs them again. Likewise `attune eval --expect` checks the
//! offline metrics against the training pipeline's.

// Helpers in test code unwrap: a panic there is a failing test.
#![allow(clippy::unwrap_used)]

mod bundle_load;
mod common;
mod rank_props;
