//! Attune on Cloudflare Workers: `POST /v1/rank`, `GET /v1/bundle`, `GET /healthz`
//! over the `attune` crate (see `edge/README.md`).
//!
//! The crate is a thin shell, as the house style asks: [`api`] (request parsing,
//! validation, limits, error codes), [`auth`] (constant-time bearer keys) and
//! [`config`] (vars) are plain Rust with native unit tests; the Worker glue (routes,
//! bundle sources, the per-isolate bundle cache, logs) is compiled for wasm32 only,
//! because the `worker` crate's bindings exist only there.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod config;

#[cfg(target_arch = "wasm32")]
mod worker_main;
