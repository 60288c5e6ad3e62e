//! Attune's inference crate: the one Rust API that every target runs (browser and web
//! views through wasm, the Cloudflare Worker, the CLI). It turns a signed bundle plus
//! what the device knows about its user into a ranked, explained, controllable list.
//!
//! - [`Bundle`]: load from bytes (no filesystem: the caller supplies a `fetch`), verify
//!   sha256 and the optional ed25519 signature, check the manifest against the models'
//!   real inputs and outputs, prepare plans once.
//! - [`Profile`]: the user's events, onboarding answers, controls and privacy settings,
//!   as versioned JSON; [`Profile::derive`] gives the model-facing state.
//! - [`rank`]: candidates (a list or the whole catalog), filters, business rules,
//!   diversity, exploration, freshness, and reasons derived from the inputs used.
//!
//! ```no_run
//! use attune::{rank, Bundle, LoadOptions, Profile, RankRequest};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::path::Path::new("models/movielens-100k/sequence");
//! let manifest = std::fs::read(dir.join("manifest.json"))?;
//! let bundle = Bundle::load(&manifest, |p| std::fs::read(dir.join(p)).map_err(|e| e.to_string()),
//!                           &LoadOptions::default())?;
//! let mut profile = Profile::new();
//! profile.onboarding.picked_topics = vec!["sci-fi".into(), "war".into(), "thriller".into()];
//! let ranking = rank(&bundle, &profile, &RankRequest { k: Some(10), ..Default::default() })?;
//! for item in &ranking.items {
//!     let why: Vec<String> = item.reasons.iter().map(|r| r.text()).collect();
//!     println!("{:2}. {} ({})", item.rank, item.title, why.join("; "));
//! }
//! # Ok(()) }
//! ```
//!
//! Pure Rust: no wasm-bindgen, js-sys, web-sys or worker in the dependency tree, no
//! threads, no clock and no randomness source inside (timestamps and seeds come from
//! the caller), so the same inputs give the same list on every target.
#![deny(missing_docs)]

mod bundle;
pub mod catalog;
mod error;
pub mod manifest;
pub mod profile;
mod rank;

pub use bundle::{
    is_published_test_key, parse_public_key, verify_manifest, verify_signature, Bundle,
    BundleModel, CheckResult, LoadOptions, MaxAge, VerifiedManifest, PUBLISHED_TEST_KEYS,
};
pub use catalog::Catalog;
pub use error::{BundleError, ProfileError, RankError};
pub use profile::{Event, EventKind, Profile};
pub use rank::{
    rank, rank_with_work, Counts, Filter, Freshness, InputsUsed, MetadataFilter, RankRequest,
    RankedItem, Ranking, Reason, Rule, Work, DEFAULT_EXPLAIN_HISTORY, MAX_CANDIDATES,
    MAX_EXPLAIN_HISTORY, MAX_K, MAX_METADATA_FILTERS, MAX_ONE_OF, MAX_RULES, MAX_RULE_ENTRIES,
};

#[cfg(test)]
mod testing;
