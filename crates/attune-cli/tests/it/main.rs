//! The `attune` binary as the test command and other runtimes' harnesses use it: the one
//! judge of conformance and golden ranking outputs (`--actual`), which must fail on
//! every kind of disagreement, not only pass on agreement.

// Test code unwraps: a panic there is a failing test.
#![allow(clippy::unwrap_used)]

mod judge;
