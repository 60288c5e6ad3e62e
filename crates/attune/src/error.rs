//! Error types. One `#[non_exhaustive]` enum per concern, each variant with a stable
//! machine code so that JS and HTTP callers can branch on `err.code` without parsing
//! messages (house style, STYLE.md "Errors").

use attune_tflite::ModelError;

/// Loading or validating a bundle failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// `manifest.sig` is missing, malformed, or does not verify with the pinned key.
    #[error("bundle signature: {0}")]
    Signature(String),
    /// `format` is not `attune-bundle` or `format_version` is not one this runtime reads.
    #[error("bundle version: {0}")]
    Version(String),
    /// The manifest or catalog is not valid JSON, or does not follow the v1 schema.
    #[error("bundle manifest: {0}")]
    Manifest(String),
    /// A file's size or sha256 differs from the manifest.
    #[error("bundle integrity: {file}: {reason}")]
    Integrity {
        /// Path of the file inside the bundle.
        file: String,
        /// What differed.
        reason: String,
    },
    /// A file the manifest lists could not be fetched.
    #[error("bundle file {file}: {reason}")]
    Missing {
        /// Path of the file inside the bundle.
        file: String,
        /// The fetcher's message.
        reason: String,
    },
    /// The catalog disagrees with the manifest (item count, array lengths, duplicate ids,
    /// topic indices out of range).
    #[error("bundle catalog: {0}")]
    Catalog(String),
    /// A model's declared inputs/outputs disagree with the real model (dtype, shape, roles).
    #[error("model {model}: tensor {tensor}: {reason}")]
    Contract {
        /// Model id from the manifest.
        model: String,
        /// Which tensor (`input 1 "serving_default_history:0"`) or `-` for the model as a whole.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// The pinned key is a published test key, whose secret key anyone can read, and
    /// test keys were not allowed ([`crate::LoadOptions::allow_test_keys`]).
    #[error("bundle key: {0}")]
    TestKey(String),
    /// The manifest's `name` is not the bundle the app expects.
    #[error("bundle name: {0}")]
    Name(String),
    /// The manifest's `version` is older than the newest one already verified for this
    /// source: an old signed manifest replayed to roll the app back.
    #[error("bundle rollback: {0}")]
    Rollback(String),
    /// The manifest was `created` longer ago than the app accepts.
    #[error("bundle expired: {0}")]
    Expired(String),
    /// The model file does not load in the engine.
    #[error("model {model}: {source}")]
    Model {
        /// Model id from the manifest.
        model: String,
        /// The engine's error.
        #[source]
        source: ModelError,
    },
}

impl BundleError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Signature(_) => "E_BUNDLE_SIGNATURE",
            BundleError::Version(_) => "E_BUNDLE_VERSION",
            BundleError::Manifest(_) => "E_BUNDLE_MANIFEST",
            BundleError::Integrity { .. } => "E_BUNDLE_INTEGRITY",
            BundleError::Missing { .. } => "E_BUNDLE_MISSING_FILE",
            BundleError::Catalog(_) => "E_BUNDLE_CATALOG",
            BundleError::Contract { .. } => "E_BUNDLE_CONTRACT",
            BundleError::TestKey(_) => "E_BUNDLE_TEST_KEY",
            BundleError::Name(_) => "E_BUNDLE_NAME",
            BundleError::Rollback(_) => "E_BUNDLE_ROLLBACK",
            BundleError::Expired(_) => "E_BUNDLE_EXPIRED",
            BundleError::Model { source, .. } => source.code(),
        }
    }
}

/// Reading or changing a profile failed. Nothing is changed when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The stored profile is not valid JSON or does not follow the profile format. It is
    /// never reset silently: the caller decides (export the raw bytes, ask the user, …).
    #[error("profile corrupt: {0}")]
    Corrupt(String),
    /// The profile was written by a newer runtime (`format_version` unknown here).
    #[error("profile version: {0}")]
    Version(String),
    /// An event or control value is invalid (NaN, negative dwell, empty item id, …).
    #[error("profile input: {0}")]
    Invalid(String),
}

impl ProfileError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ProfileError::Corrupt(_) => "E_PROFILE_CORRUPT",
            ProfileError::Version(_) => "E_PROFILE_VERSION",
            ProfileError::Invalid(_) => "E_PROFILE_INVALID",
        }
    }
}

/// Ranking failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankError {
    /// The request names item ids the catalog does not have.
    #[error("unknown item ids in the request: {}", .0.join(", "))]
    UnknownItems(Vec<String>),
    /// A request value is out of range or not finite.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The request is larger than the runtime accepts (candidates, k, rules).
    #[error("request too large: {0}")]
    TooLarge(String),
    /// The request names a model id the bundle does not have.
    #[error("no model {0:?} in the bundle")]
    NoSuchModel(String),
    /// The model produced a non-finite score or failed to run.
    #[error("model: {0}")]
    Model(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] ModelError),
}

impl RankError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            RankError::UnknownItems(_) => "E_RANK_UNKNOWN_ITEM",
            RankError::Invalid(_) => "E_RANK_INVALID",
            RankError::TooLarge(_) => "E_RANK_TOO_LARGE",
            RankError::NoSuchModel(_) => "E_RANK_NO_MODEL",
            RankError::Model(_) => "E_RANK_MODEL_OUTPUT",
            RankError::Engine(e) => e.code(),
        }
    }
}
