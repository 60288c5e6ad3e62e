//! Loading a bundle from bytes: signature, integrity, catalog, and the contract between
//! the manifest and the real models.
//!
//! The core never touches a filesystem or the network: the caller hands over the
//! manifest bytes and a `fetch` callback (a folder in the CLI, `fetch()` or KV/R2 in a
//! browser or Worker). Files are fetched in manifest order, only when needed.

use std::collections::BTreeMap;

use attune_tflite::{DType, Model, Tensor};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::error::BundleError;
use crate::manifest::{
    check_path, Dtype, HistoryOrder, InputRole, InputSpec, Manifest, ModelEntry, OutputRole,
    ScoresOver, Task,
};

/// Options for [`Bundle::load`] and [`verify_manifest`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The app's pinned ed25519 public key. When set, `manifest.sig` must exist and
    /// verify over the exact manifest bytes (`E_BUNDLE_SIGNATURE`); when unset, the
    /// signature is not read.
    pub public_key: Option<[u8; 32]>,
    /// Skip preparing (optimizing) model plans at load; they are prepared on first use.
    /// `validate` uses this: checking a contract does not need an optimized plan.
    pub lazy: bool,
    /// Accept a pinned key from [`PUBLISHED_TEST_KEYS`] (development only: anyone can
    /// sign with those). Off by default: such a key is refused with
    /// `E_BUNDLE_TEST_KEY` before anything is verified.
    pub allow_test_keys: bool,
    /// The bundle `name` the app expects; another signed bundle of the same publisher
    /// is refused (`E_BUNDLE_NAME`).
    pub expected_name: Option<String>,
    /// The newest `version` already verified for this source: an older manifest is
    /// refused (`E_BUNDLE_ROLLBACK`), so an old signed manifest cannot be replayed.
    pub min_version: Option<String>,
    /// Refuse a manifest `created` longer ago than this (`E_BUNDLE_EXPIRED`), so that
    /// a stale bundle (kept by a cache, or served by a frozen mirror) is not used
    /// forever.
    pub max_age: Option<MaxAge>,
}

/// How old a manifest may be, by its `created` time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge {
    /// The caller's clock, ms since the epoch (the core has no clock of its own).
    pub now_ms: i64,
    /// Largest accepted `now_ms - created`, in ms.
    pub max_age_ms: i64,
}

/// Ed25519 public keys whose secret keys are published, as hex: the five test vectors
/// of RFC 8032 §7.1 (TEST 1, TEST 2, TEST 3, TEST 1024 and TEST SHA(abc)). A
/// signature under one of them proves nothing, yet they are what examples and test
/// fixtures (including this repository's reference bundles, signed with TEST 1) use.
pub const PUBLISHED_TEST_KEYS: [&str; 5] = [
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
];

/// True when `key` is one of the [`PUBLISHED_TEST_KEYS`].
pub fn is_published_test_key(key: &[u8; 32]) -> bool {
    PUBLISHED_TEST_KEYS
        .iter()
        .any(|hex| parse_public_key(hex).is_ok_and(|k| &k == key))
}

/// A manifest that passed the trust checks of [`verify_manifest`], with what a runtime
/// needs to fetch the rest of the bundle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedManifest {
    /// Bundle name.
    pub name: String,
    /// Bundle version.
    pub version: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// Lowercase hex sha256 of the manifest bytes.
    pub hash: String,
    /// True when `manifest.sig` verified with the pinned key.
    pub signature_verified: bool,
    /// The files to fetch (catalog, then models), each with its size and sha256.
    pub files: Vec<crate::manifest::FileRef>,
    /// The parsed manifest.
    #[serde(skip)]
    pub manifest: Manifest,
}

/// Checks a manifest before any file it lists is fetched (bundle.md, loading rules 1
/// and 2, and the app's trust policy), in this order: its size, the pinned key (no
/// published test key unless allowed), the signature over the exact bytes (when a key
/// is pinned; `signature` is `manifest.sig`, ignored without a key), the v1 structure
/// and path rules, then the expected name, the rollback floor and the maximum age.
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signature: Option<&[u8]>,
    opts: &LoadOptions,
) -> Result<VerifiedManifest, BundleError> {
    use crate::manifest::{parse_rfc3339_ms, Version, MAX_MANIFEST_BYTES};
    if manifest_bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(BundleError::Manifest(format!(
            "manifest.json has {} bytes; a runtime reads at most {MAX_MANIFEST_BYTES}",
            manifest_bytes.len()
        )));
    }
    let mut signature_verified = false;
    if let Some(key) = &opts.public_key {
        if !opts.allow_test_keys && is_published_test_key(key) {
            return Err(BundleError::TestKey(
                "the pinned key is a published RFC 8032 test key: anyone can sign with it. \
                 Pin your own publisher key (allow test keys only in development)"
                    .into(),
            ));
        }
        let sig =
            signature.ok_or_else(|| BundleError::Signature("manifest.sig is missing".into()))?;
        verify_signature(manifest_bytes, sig, key)?;
        signature_verified = true;
    }
    let manifest = Manifest::parse(manifest_bytes)?;
    if let Some(want) = &opts.expected_name {
        if &manifest.name != want {
            return Err(BundleError::Name(format!(
                "the manifest is bundle {:?}, the app expects {want:?}",
                manifest.name
            )));
        }
    }
    if let Some(floor) = &opts.min_version {
        let floor_v = Version::parse(floor).ok_or_else(|| {
            BundleError::Rollback(format!("the version floor {floor:?} is not semver"))
        })?;
        // Manifest::parse checked the version.
        if manifest.semver().is_some_and(|v| v < floor_v) {
            return Err(BundleError::Rollback(format!(
                "version {} is older than {floor}, already verified for this source",
                manifest.version
            )));
        }
    }
    if let Some(age) = &opts.max_age {
        let created = parse_rfc3339_ms(&manifest.created).unwrap_or(i64::MIN);
        if age.now_ms.saturating_sub(created) > age.max_age_ms {
            return Err(BundleError::Expired(format!(
                "created {}, more than {} ms ago",
                manifest.created, age.max_age_ms
            )));
        }
    }
    Ok(VerifiedManifest {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        created: manifest.created.clone(),
        hash: sha256_hex(manifest_bytes),
        signature_verified,
        files: manifest.files(),
        manifest,
    })
}

/// How one model input is filled.
#[derive(Debug, Clone)]
pub(crate) enum Fill {
    History {
        len: usize,
        pad: i32,
        order: HistoryOrder,
    },
    Preferences,
    Candidates,
    Features(Vec<(FeatureKind, f32, f32)>),
}

/// A raw user/context feature this runtime knows how to compute.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FeatureKind {
    /// Share of the history's items that carry the topic.
    TopicShare(u16),
    /// The preferences value of the topic.
    Pref(u16),
    /// ln(1 + number of history items).
    LogHistory,
    /// A context value the request supplies by name.
    Context(String),
}

/// A model of the bundle, loaded and bound to its roles.
pub struct BundleModel {
    entry: ModelEntry,
    model: Model,
    fills: Vec<Fill>,
    scores_out: usize,
    over: ScoresOver,
    /// Model score of every catalog item for a user about whom nothing is known
    /// (empty history, no preferences): the basis of "popular" reasons.
    prior_rank: Vec<u32>,
}

impl std::fmt::Debug for BundleModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleModel")
            .field("id", &self.entry.id)
            .finish()
    }
}

/// What the ranker hands a model: everything derived from the profile and request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelInputs<'a> {
    /// Model indices, most recent first, deduplicated, not yet cut to the model's length.
    pub history: &'a [u32],
    /// One value per manifest topic.
    pub preferences: &'a [f32],
    /// Per manifest topic: share of the history's items that carry it.
    pub topic_share: &'a [f32],
    /// Leave-one-out: this history position is fed as padding (its item removed
    /// without shifting the others, whose positions carry recency weights).
    pub masked: Option<usize>,
    /// Named raw context values.
    pub context: &'a BTreeMap<String, f64>,
}

impl BundleModel {
    /// The manifest entry.
    pub fn entry(&self) -> &ModelEntry {
        &self.entry
    }

    /// The engine model.
    pub fn engine(&self) -> &Model {
        &self.model
    }

    /// The model's task.
    pub fn task(&self) -> Task {
        self.entry.task
    }

    /// True when the scores cover the whole catalog in one run (no candidates input).
    pub fn scores_catalog(&self) -> bool {
        self.over == ScoresOver::Catalog
    }

    /// Rank of each item (0 = best) in the model's prior for an empty profile.
    pub fn prior_rank(&self) -> &[u32] {
        &self.prior_rank
    }

    /// How many history items the model reads (0 when it has no history input).
    pub fn history_len(&self) -> usize {
        self.fills
            .iter()
            .find_map(|f| match f {
                Fill::History { len, .. } => Some(*len),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// True when the model reads the preferences vector, directly or as `pref:` features.
    pub fn reads_preferences(&self) -> bool {
        self.fills.iter().any(|f| match f {
            Fill::Preferences => true,
            Fill::Features(fs) => fs.iter().any(|(k, _, _)| matches!(k, FeatureKind::Pref(_))),
            _ => false,
        })
    }

    /// True when the model reads the history, directly or through derived features.
    pub fn reads_history(&self) -> bool {
        self.fills.iter().any(|f| match f {
            Fill::History { .. } => true,
            Fill::Features(fs) => fs
                .iter()
                .any(|(k, _, _)| matches!(k, FeatureKind::TopicShare(_) | FeatureKind::LogHistory)),
            _ => false,
        })
    }

    /// Input shapes for a candidate batch of `batch` items.
    fn shapes(&self, batch: usize) -> Vec<Vec<usize>> {
        self.model
            .inputs()
            .iter()
            .map(|t| {
                t.signature
                    .iter()
                    .map(|d| if *d < 0 { batch } else { *d as usize })
                    .collect()
            })
            .collect()
    }

    /// Candidate batches are padded up to one of a few sizes so that a handful of
    /// optimized plans serve every request size (a plan with a symbolic batch runs ~4x
    /// slower, ANCHORS §2, and optimizing one per distinct size costs milliseconds).
    /// Sizes: 16·4^j below the catalog size, then the catalog size itself.
    pub(crate) fn bucket(&self, n: usize, num_items: usize) -> usize {
        let mut b = 16;
        while b < n && b < num_items {
            b *= 4;
        }
        b.min(num_items.max(n)).max(n)
    }

    fn build_inputs(
        &self,
        inp: &ModelInputs<'_>,
        candidates: &[u32],
        batch: usize,
        num_topics: usize,
    ) -> Result<Vec<Tensor>, String> {
        let mut out = Vec::with_capacity(self.fills.len());
        for fill in &self.fills {
            let t = match fill {
                Fill::History { len, pad, order } => {
                    let mut v = vec![*pad; *len];
                    let m = inp.history.len().min(*len);
                    match order {
                        HistoryOrder::MostRecentFirst => {
                            for (slot, item) in v.iter_mut().zip(&inp.history[..m]) {
                                *slot = *item as i32;
                            }
                        }
                        // Oldest kept item first; padding after the items, as for
                        // most_recent_first (bundle.md: "unused slots hold padding").
                        HistoryOrder::OldestFirst => {
                            for (slot, item) in v.iter_mut().zip(inp.history[..m].iter().rev()) {
                                *slot = *item as i32;
                            }
                        }
                    }
                    if let Some(p) = inp.masked.filter(|p| *p < m) {
                        match order {
                            HistoryOrder::MostRecentFirst => v[p] = *pad,
                            HistoryOrder::OldestFirst => v[m - 1 - p] = *pad,
                        }
                    }
                    Tensor::from_shape(&[*len], &v)
                }
                Fill::Preferences => Tensor::from_shape(&[num_topics], inp.preferences),
                Fill::Candidates => {
                    let mut v: Vec<i32> = candidates.iter().map(|c| *c as i32).collect();
                    // Padding repeats the last candidate; its extra scores are dropped.
                    let last = v.last().copied().unwrap_or(0);
                    v.resize(batch, last);
                    Tensor::from_shape(&[batch], &v)
                }
                Fill::Features(fs) => {
                    let v = raw_features(fs, inp)?;
                    Tensor::from_shape(&[v.len()], &v)
                }
            };
            out.push(t.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// Normalised feature vector of a `user_features`/`context` input, for inspection.
    pub(crate) fn feature_values(
        &self,
        inp: &ModelInputs<'_>,
    ) -> Result<Vec<(String, f32)>, String> {
        let mut out = vec![];
        for (fill, spec) in self.fills.iter().zip(&self.entry.inputs) {
            if let (Fill::Features(fs), Some(defs)) = (fill, &spec.features) {
                let v = raw_features(fs, inp)?;
                out.extend(defs.iter().map(|d| d.name.clone()).zip(v));
            }
        }
        Ok(out)
    }

    /// Scores for `candidates` (model indices). For a catalog-wide model the whole
    /// catalog is scored once and the candidates are picked out.
    pub(crate) fn score(
        &self,
        inp: &ModelInputs<'_>,
        candidates: &[u32],
        num_items: usize,
        num_topics: usize,
    ) -> Result<Vec<f32>, crate::RankError> {
        use crate::RankError;
        let batch = if self.over == ScoresOver::Catalog {
            1
        } else {
            self.bucket(candidates.len().max(1), num_items)
        };
        let inputs = self
            .build_inputs(inp, candidates, batch, num_topics)
            .map_err(RankError::Invalid)?;
        let outputs = self.model.run(inputs)?;
        let t = outputs
            .get(self.scores_out)
            .ok_or_else(|| RankError::Model("scores output missing".into()))?;
        let plain = t
            .try_as_plain_ram()
            .map_err(|e| RankError::Model(e.to_string()))?;
        let s = plain
            .as_slice::<f32>()
            .map_err(|e| RankError::Model(e.to_string()))?;
        let scores: Vec<f32> = if self.over == ScoresOver::Catalog {
            if s.len() != num_items {
                return Err(RankError::Model(format!(
                    "scores has {} values, the catalog {num_items}",
                    s.len()
                )));
            }
            candidates.iter().map(|c| s[*c as usize]).collect()
        } else {
            if s.len() < candidates.len() {
                return Err(RankError::Model(format!(
                    "scores has {} values for {} candidates",
                    s.len(),
                    candidates.len()
                )));
            }
            s[..candidates.len()].to_vec()
        };
        if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
            return Err(RankError::Model(format!(
                "non-finite score {} for item index {}",
                scores[i], candidates[i]
            )));
        }
        Ok(scores)
    }
}

fn raw_features(fs: &[(FeatureKind, f32, f32)], inp: &ModelInputs<'_>) -> Result<Vec<f32>, String> {
    fs.iter()
        .map(|(kind, mean, std)| {
            let raw = match kind {
                FeatureKind::TopicShare(t) => {
                    inp.topic_share.get(*t as usize).copied().unwrap_or(0.0)
                }
                FeatureKind::Pref(t) => inp.preferences.get(*t as usize).copied().unwrap_or(0.0),
                FeatureKind::LogHistory => {
                    let n = inp.history.len()
                        - usize::from(inp.masked.is_some_and(|p| p < inp.history.len()));
                    (n as f64).ln_1p() as f32
                }
                FeatureKind::Context(name) => *inp
                    .context
                    .get(name)
                    .ok_or_else(|| format!("the request gives no context value {name:?}"))?
                    as f32,
            };
            // f32 arithmetic in the same order as the training pipeline's numpy
            // `(X - mean) / std` over float32 arrays, so features match bit for bit.
            Ok((raw - mean) / std)
        })
        .collect()
}

/// A loaded, verified bundle: manifest, catalog and prepared models.
pub struct Bundle {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    catalog: Catalog,
    models: Vec<BundleModel>,
    topic_index: BTreeMap<String, u16>,
    signature_verified: bool,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("name", &self.manifest.name)
            .field("models", &self.models)
            .finish()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_file(file: &str, bytes: &[u8], size: u64, sha: &str) -> Result<(), BundleError> {
    if bytes.len() as u64 != size {
        return Err(BundleError::Integrity {
            file: file.into(),
            reason: format!("{} bytes, the manifest says {size}", bytes.len()),
        });
    }
    let got = sha256_hex(bytes);
    if got != sha {
        return Err(BundleError::Integrity {
            file: file.into(),
            reason: format!("sha256 {got}, the manifest says {sha}"),
        });
    }
    Ok(())
}

/// Checks the manifest signature with a pinned key (bundle.md loading rule 1).
pub fn verify_signature(
    manifest_bytes: &[u8],
    sig: &[u8],
    public_key: &[u8; 32],
) -> Result<(), BundleError> {
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|e| BundleError::Signature(format!("pinned public key is invalid: {e}")))?;
    let sig: [u8; 64] = sig.try_into().map_err(|_| {
        BundleError::Signature(format!("manifest.sig has {} bytes, expected 64", sig.len()))
    })?;
    // verify_strict rejects small-order keys and non-canonical signatures (RFC 8032
    // pure Ed25519 as the format says); plain `verify` would accept malleable ones.
    key.verify_strict(manifest_bytes, &Signature::from_bytes(&sig))
        .map_err(|_| {
            BundleError::Signature("manifest.sig does not verify with the pinned key".into())
        })
}

/// Parses a hex public key (64 hex digits, as in `manifest.pub`).
pub fn parse_public_key(hex: &str) -> Result<[u8; 32], BundleError> {
    let hex = hex.trim();
    let bad = || BundleError::Signature(format!("public key {hex:?} is not 64 hex digits"));
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

fn engine_dtype(d: Dtype) -> DType {
    match d {
        Dtype::F32 => DType::F32,
        Dtype::I32 => DType::I32,
        Dtype::I64 => DType::I64,
        Dtype::I8 => DType::I8,
        Dtype::U8 => DType::U8,
        Dtype::Bool => DType::Bool,
    }
}

/// Everything [`Bundle::check`] found wrong, or the bundle.
pub type CheckResult = Result<Bundle, Vec<BundleError>>;

impl Bundle {
    /// Loads a bundle: verifies the signature (when a key is pinned), the manifest, the
    /// size and sha256 of every file it uses, the catalog, and each model's real inputs
    /// and outputs against its declared roles; then prepares each model's plan.
    ///
    /// `fetch` gets paths relative to the manifest (`catalog.json`, `model.tflite`,
    /// `manifest.sig`) and returns the bytes or a message.
    pub fn load(
        manifest_bytes: &[u8],
        fetch: impl Fn(&str) -> Result<Vec<u8>, String>,
        opts: &LoadOptions,
    ) -> Result<Bundle, BundleError> {
        Self::check(manifest_bytes, fetch, opts).map_err(|mut errs| errs.remove(0))
    }

    /// Like [`Bundle::load`] from an in-memory map of path → bytes (including
    /// `manifest.json`).
    pub fn from_files(
        files: &BTreeMap<String, Vec<u8>>,
        opts: &LoadOptions,
    ) -> Result<Bundle, BundleError> {
        let manifest = files
            .get("manifest.json")
            .ok_or_else(|| BundleError::Missing {
                file: "manifest.json".into(),
                reason: "not in the file map".into(),
            })?;
        Self::load(
            manifest,
            |p| {
                files
                    .get(p)
                    .cloned()
                    .ok_or_else(|| "not in the file map".to_string())
            },
            opts,
        )
    }

    /// Loads like [`Bundle::load`] but reports every problem it can find (each model
    /// and file is checked even when an earlier one failed), for `attune validate`.
    /// The errors are never empty.
    pub fn check(
        manifest_bytes: &[u8],
        fetch: impl Fn(&str) -> Result<Vec<u8>, String>,
        opts: &LoadOptions,
    ) -> CheckResult {
        // The signature is fetched only when a key is pinned, and the key policy is
        // checked before that fetch.
        let sig = match &opts.public_key {
            Some(key) if opts.allow_test_keys || !is_published_test_key(key) => Some(
                fetch("manifest.sig")
                    .map_err(|e| vec![BundleError::Signature(format!("manifest.sig: {e}"))])?,
            ),
            _ => None,
        };
        let verified =
            verify_manifest(manifest_bytes, sig.as_deref(), opts).map_err(|e| vec![e])?;
        let signature_verified = verified.signature_verified;
        let manifest = verified.manifest;
        let mut errors = vec![];
        let get = |file: &str, size: u64, sha: &str| -> Result<Vec<u8>, BundleError> {
            check_path(file)?;
            let bytes = fetch(file).map_err(|reason| BundleError::Missing {
                file: file.into(),
                reason,
            })?;
            check_file(file, &bytes, size, sha)?;
            Ok(bytes)
        };
        let c = &manifest.catalog;
        let catalog = get(&c.file, c.bytes, &c.sha256)
            .and_then(|b| Catalog::parse(&b, c.num_items, manifest.topics.len()));
        let catalog = match catalog {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let topic_index: BTreeMap<String, u16> = manifest
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i as u16))
            .collect();
        let mut models = vec![];
        for entry in &manifest.models {
            let loaded = get(&entry.file, entry.bytes, &entry.sha256).and_then(|bytes| {
                let model = Model::load(&bytes).map_err(|source| BundleError::Model {
                    model: entry.id.clone(),
                    source,
                })?;
                bind(entry, model, &manifest, &topic_index)
            });
            match loaded {
                Ok(m) => models.push(m),
                Err(e) => errors.push(e),
            }
        }
        let Some(catalog) = catalog else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut bundle = Bundle {
            manifest,
            manifest_bytes: manifest_bytes.to_vec(),
            catalog,
            models,
            topic_index,
            signature_verified,
        };
        for i in 0..bundle.models.len() {
            if let Err(e) = bundle.prepare_model(i, opts.lazy) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(bundle)
        } else {
            Err(errors)
        }
    }

    /// Prepares the common plan (the whole catalog as candidates) and computes the
    /// empty-profile prior. A model that fails here (e.g. NaN scores) is a bundle error.
    fn prepare_model(&mut self, i: usize, lazy: bool) -> Result<(), BundleError> {
        let n = self.catalog.len();
        let m = &self.models[i];
        let contract = |reason: String| BundleError::Contract {
            model: m.entry.id.clone(),
            tensor: "-".into(),
            reason,
        };
        if lazy {
            return Ok(());
        }
        let batch = if m.over == ScoresOver::Catalog { 1 } else { n };
        m.model
            .prepare(&m.shapes(batch))
            .map_err(|source| BundleError::Model {
                model: m.entry.id.clone(),
                source,
            })?;
        let all: Vec<u32> = (0..n as u32).collect();
        let prefs = vec![0.0; self.manifest.topics.len()];
        let ctx = BTreeMap::new();
        let inp = ModelInputs {
            history: &[],
            preferences: &prefs,
            topic_share: &prefs,
            masked: None,
            context: &ctx,
        };
        let needs_ctx = m.fills.iter().any(|f| match f {
            Fill::Features(fs) => fs
                .iter()
                .any(|(k, _, _)| matches!(k, FeatureKind::Context(_))),
            _ => false,
        });
        let prior = if needs_ctx {
            vec![0.0; n]
        } else {
            m.score(&inp, &all, n, prefs.len())
                .map_err(|e| contract(format!("the empty-profile run fails: {e}")))?
        };
        let mut order: Vec<u32> = all;
        order.sort_by(|a, b| {
            prior[*b as usize]
                .total_cmp(&prior[*a as usize])
                .then(a.cmp(b))
        });
        let mut rank = vec![0u32; n];
        for (r, item) in order.iter().enumerate() {
            rank[*item as usize] = r as u32;
        }
        self.models[i].prior_rank = rank;
        Ok(())
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The exact manifest bytes that were verified.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// True when the manifest signature was verified with a pinned key.
    pub fn signature_verified(&self) -> bool {
        self.signature_verified
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The models, in manifest order.
    pub fn models(&self) -> &[BundleModel] {
        &self.models
    }

    /// A model by id, or the default model.
    pub fn model(&self, id: Option<&str>) -> Option<&BundleModel> {
        let id = id.unwrap_or_else(|| self.manifest.default_model_id());
        self.models.iter().find(|m| m.entry.id == id)
    }

    /// Number of topics.
    pub fn num_topics(&self) -> usize {
        self.manifest.topics.len()
    }

    /// Topic index of a topic id.
    pub fn topic_index(&self, id: &str) -> Option<u16> {
        self.topic_index.get(id).copied()
    }

    /// Display label of a topic index.
    pub fn topic_label(&self, t: u16) -> &str {
        &self.manifest.topics[t as usize].label
    }

    /// Topic id of a topic index.
    pub fn topic_id(&self, t: u16) -> &str {
        &self.manifest.topics[t as usize].id
    }
}

fn bind(
    entry: &ModelEntry,
    model: Model,
    manifest: &Manifest,
    topics: &BTreeMap<String, u16>,
) -> Result<BundleModel, BundleError> {
    let id = &entry.id;
    let num_items = manifest.catalog.num_items as i64;
    let num_topics = manifest.topics.len() as i64;
    let err = |tensor: String, reason: String| BundleError::Contract {
        model: id.clone(),
        tensor,
        reason,
    };
    let real_in = model.inputs();
    let real_out = model.outputs();
    if real_in.len() != entry.inputs.len() {
        return Err(err(
            "-".into(),
            format!(
                "the model has {} inputs, the manifest lists {}",
                real_in.len(),
                entry.inputs.len()
            ),
        ));
    }
    if real_out.len() != entry.outputs.len() {
        return Err(err(
            "-".into(),
            format!(
                "the model has {} outputs, the manifest lists {}",
                real_out.len(),
                entry.outputs.len()
            ),
        ));
    }
    let mut fills: Vec<Option<Fill>> = vec![None; real_in.len()];
    for spec in &entry.inputs {
        let name = format!("input {} {:?}", spec.index, spec.name);
        let real = real_in.get(spec.index).ok_or_else(|| {
            err(
                name.clone(),
                format!(
                    "index out of range (the model has {} inputs)",
                    real_in.len()
                ),
            )
        })?;
        if fills[spec.index].is_some() {
            return Err(err(name, "index listed twice".into()));
        }
        if real.dtype != engine_dtype(spec.dtype) {
            return Err(err(
                name,
                format!(
                    "the manifest says {}, the model takes {}",
                    spec.dtype.name(),
                    real.dtype.name()
                ),
            ));
        }
        if real.signature != spec.shape {
            return Err(err(
                name,
                format!(
                    "the manifest says shape {:?}, the model's signature is {:?}",
                    spec.shape, real.signature
                ),
            ));
        }
        fills[spec.index] =
            Some(input_fill(spec, num_items, num_topics, topics).map_err(|r| err(name, r))?);
    }
    let fills: Vec<Fill> = fills
        .into_iter()
        .map(|f| f.expect("every index bound once"))
        .collect();
    let mut scores = None;
    let mut seen = vec![false; real_out.len()];
    for spec in &entry.outputs {
        let name = format!("output {} {:?}", spec.index, spec.name);
        let real = real_out.get(spec.index).ok_or_else(|| {
            err(
                name.clone(),
                format!(
                    "index out of range (the model has {} outputs)",
                    real_out.len()
                ),
            )
        })?;
        if std::mem::replace(&mut seen[spec.index], true) {
            return Err(err(name, "index listed twice".into()));
        }
        if real.dtype != engine_dtype(spec.dtype) {
            return Err(err(
                name,
                format!(
                    "the manifest says {}, the model gives {}",
                    spec.dtype.name(),
                    real.dtype.name()
                ),
            ));
        }
        if real.signature != spec.shape {
            return Err(err(
                name,
                format!(
                    "the manifest says shape {:?}, the model's signature is {:?}",
                    spec.shape, real.signature
                ),
            ));
        }
        match spec.role {
            OutputRole::Scores => {
                let over = spec.over.unwrap_or(ScoresOver::Catalog);
                let want = match over {
                    ScoresOver::Catalog => vec![num_items],
                    ScoresOver::Candidates => vec![-1],
                };
                if spec.shape != want {
                    return Err(err(
                        name,
                        format!("scores over {over:?} must have shape {want:?}"),
                    ));
                }
                if scores.replace((spec.index, over)).is_some() {
                    return Err(err(name, "a second scores output".into()));
                }
            }
            OutputRole::TopkIds | OutputRole::TopkScores => {
                let k = spec.k.unwrap_or(0) as i64;
                if spec.shape != vec![k] {
                    return Err(err(
                        name,
                        format!("k is {k} but the shape is {:?}", spec.shape),
                    ));
                }
            }
        }
    }
    let (scores_out, over) =
        scores.ok_or_else(|| err("-".into(), "no output has role scores".into()))?;
    let has_candidates = fills.iter().any(|f| matches!(f, Fill::Candidates));
    match (entry.task, over, has_candidates) {
        (_, ScoresOver::Catalog, false) | (_, ScoresOver::Candidates, true) => {}
        (_, ScoresOver::Catalog, true) => {
            return Err(err(
                "-".into(),
                "scores over the catalog but a candidates input".into(),
            ))
        }
        (_, ScoresOver::Candidates, false) => {
            return Err(err(
                "-".into(),
                "scores over candidates but no candidates input".into(),
            ))
        }
    }
    if entry.task == Task::NextItem && over != ScoresOver::Catalog {
        return Err(err(
            "-".into(),
            "task next_item needs scores over the catalog".into(),
        ));
    }
    if entry.task == Task::Ranking && over != ScoresOver::Candidates {
        return Err(err(
            "-".into(),
            "task ranking needs scores over candidates".into(),
        ));
    }
    Ok(BundleModel {
        entry: entry.clone(),
        model,
        fills,
        scores_out,
        over,
        prior_rank: vec![],
    })
}

fn input_fill(
    spec: &InputSpec,
    num_items: i64,
    num_topics: i64,
    topics: &BTreeMap<String, u16>,
) -> Result<Fill, String> {
    match spec.role {
        InputRole::History => {
            let [n] = spec.shape[..] else {
                return Err(format!("history must be 1-D [N], is {:?}", spec.shape));
            };
            if n < 1 {
                return Err("history needs a fixed length N >= 1".into());
            }
            let pad = spec.padding_value.unwrap_or(-1);
            if (0..num_items).contains(&pad) || i32::try_from(pad).is_err() {
                return Err(format!(
                    "padding_value {pad} is a valid item index (0..{num_items})"
                ));
            }
            Ok(Fill::History {
                len: n as usize,
                pad: pad as i32,
                order: spec.order.unwrap_or(HistoryOrder::MostRecentFirst),
            })
        }
        InputRole::Preferences => {
            if spec.shape != vec![num_topics] {
                return Err(format!(
                    "preferences must have shape [{num_topics}] (one per topic), is {:?}",
                    spec.shape
                ));
            }
            Ok(Fill::Preferences)
        }
        InputRole::Candidates => {
            if spec.shape != vec![-1] {
                return Err(format!(
                    "candidates must have shape [-1], is {:?}",
                    spec.shape
                ));
            }
            Ok(Fill::Candidates)
        }
        InputRole::UserFeatures | InputRole::Context => {
            let fs = spec.features.as_deref().unwrap_or(&[]);
            if spec.shape != vec![fs.len() as i64] {
                return Err(format!(
                    "{} features listed but the shape is {:?}",
                    fs.len(),
                    spec.shape
                ));
            }
            let mut out = vec![];
            for f in fs {
                let topic = |t: &str| {
                    topics
                        .get(t)
                        .copied()
                        .ok_or_else(|| format!("feature {:?}: no topic {t:?}", f.name))
                };
                let kind = if spec.role == InputRole::Context {
                    FeatureKind::Context(f.name.clone())
                } else if let Some(t) = f.name.strip_prefix("topic_share:") {
                    FeatureKind::TopicShare(topic(t)?)
                } else if let Some(t) = f.name.strip_prefix("pref:") {
                    FeatureKind::Pref(topic(t)?)
                } else if f.name == "log_history" {
                    FeatureKind::LogHistory
                } else {
                    return Err(format!(
                        "user feature {:?} is not one this runtime computes (topic_share:<topic>, pref:<topic>, log_history)",
                        f.name
                    ));
                };
                out.push((kind, f.mean as f32, f.std as f32));
            }
            Ok(Fill::Features(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::files;

    fn key_of(secret_hex: &str) -> [u8; 32] {
        let secret: [u8; 32] = parse_public_key(secret_hex).unwrap();
        ed25519_dalek::SigningKey::from_bytes(&secret)
            .verifying_key()
            .to_bytes()
    }

    /// The list holds exactly the public halves of RFC 8032 §7.1's published secret
    /// keys, derived here rather than copied.
    #[test]
    fn published_test_keys_are_the_rfc_8032_vectors() {
        let secrets = [
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        ];
        for (secret, public) in secrets.iter().zip(PUBLISHED_TEST_KEYS) {
            assert_eq!(key_of(secret), parse_public_key(public).unwrap());
            assert!(is_published_test_key(&key_of(secret)));
        }
        assert!(!is_published_test_key(&[7; 32]));
    }

    fn sequence_manifest() -> (Vec<u8>, Vec<u8>) {
        let f = files("sequence");
        (f["manifest.json"].clone(), f["manifest.sig"].clone())
    }

    fn opts(key: Option<[u8; 32]>) -> LoadOptions {
        LoadOptions {
            public_key: key,
            allow_test_keys: true,
            ..LoadOptions::default()
        }
    }

    #[test]
    fn a_published_test_key_is_refused_unless_allowed() {
        let (m, sig) = sequence_manifest();
        let test1 = parse_public_key(PUBLISHED_TEST_KEYS[0]).unwrap();
        let strict = LoadOptions {
            public_key: Some(test1),
            ..LoadOptions::default()
        };
        let e = verify_manifest(&m, Some(&sig), &strict).expect_err("test key");
        assert_eq!(e.code(), "E_BUNDLE_TEST_KEY");
        // Bundle::load refuses before it even asks for manifest.sig or any file.
        let asked = std::cell::RefCell::new(vec![]);
        let e = Bundle::load(
            &m,
            |p| {
                asked.borrow_mut().push(p.to_string());
                Err("not here".into())
            },
            &strict,
        )
        .expect_err("test key");
        assert_eq!(e.code(), "E_BUNDLE_TEST_KEY");
        assert!(asked.borrow().is_empty(), "{:?}", asked.borrow());
        let v = verify_manifest(&m, Some(&sig), &opts(Some(test1))).unwrap();
        assert!(v.signature_verified);
        assert_eq!(v.name, "movielens-100k-sequence");
        assert_eq!(
            v.files.iter().map(|f| f.file.as_str()).collect::<Vec<_>>(),
            ["catalog.json", "model.tflite"]
        );
    }

    #[test]
    fn name_rollback_and_age_are_checked_after_the_signature() {
        let (m, sig) = sequence_manifest();
        let key = Some(parse_public_key(PUBLISHED_TEST_KEYS[0]).unwrap());
        let created = crate::manifest::parse_rfc3339_ms("2026-11-25T00:00:43Z").unwrap();
        let check = |o: LoadOptions| verify_manifest(&m, Some(&sig), &o).map(|_| ());
        let with = |f: &dyn Fn(&mut LoadOptions)| {
            let mut o = opts(key);
            f(&mut o);
            o
        };
        assert!(check(with(
            &|o| o.expected_name = Some("movielens-100k-sequence".into())
        ))
        .is_ok());
        let e = check(with(&|o| {
            o.expected_name = Some("movielens-100k-ranking".into())
        }));
        assert_eq!(e.unwrap_err().code(), "E_BUNDLE_NAME");
        // The manifest is 1.0.0.
        for floor in ["0.9.0", "1.0.0", "1.0.0-rc.1", "1.0.0+other"] {
            assert!(
                check(with(&|o| o.min_version = Some(floor.into()))).is_ok(),
                "{floor}"
            );
        }
        for floor in ["1.0.1", "1.1.0", "2.0.0-alpha"] {
            let e = check(with(&|o| o.min_version = Some(floor.into()))).unwrap_err();
            assert_eq!(e.code(), "E_BUNDLE_ROLLBACK", "{floor}");
        }
        let day = 86_400_000;
        let age = |now_ms, max_age_ms| with(&|o| o.max_age = Some(MaxAge { now_ms, max_age_ms }));
        assert!(check(age(created + day, day)).is_ok());
        assert_eq!(
            check(age(created + day + 1, day)).unwrap_err().code(),
            "E_BUNDLE_EXPIRED"
        );
        assert!(check(age(i64::MIN, day)).is_ok());
        assert_eq!(
            check(age(i64::MAX, 0)).unwrap_err().code(),
            "E_BUNDLE_EXPIRED"
        );
        // A bad signature is reported first, whatever else is wrong.
        let mut bad = sig.clone();
        bad[0] ^= 1;
        let e = verify_manifest(
            &m,
            Some(&bad),
            &with(&|o| o.expected_name = Some("other".into())),
        )
        .unwrap_err();
        assert_eq!(e.code(), "E_BUNDLE_SIGNATURE");
    }

    #[test]
    fn an_oversized_manifest_is_refused_before_parsing() {
        let mut m = sequence_manifest().0;
        m.resize(crate::manifest::MAX_MANIFEST_BYTES as usize + 1, b' ');
        let e = verify_manifest(&m, None, &LoadOptions::default()).unwrap_err();
        assert_eq!(e.code(), "E_BUNDLE_MANIFEST");
        assert!(e.to_string().contains("at most"), "{e}");
    }

    /// The npm loader keeps a bundle's files in one path → bytes map: a manifest that
    /// lists a file named `manifest.json` (with the hash of a genuine signed manifest)
    /// must never get that file verified as the manifest.
    #[test]
    fn a_listed_manifest_json_is_refused_before_any_fetch() {
        let f = files("sequence");
        let mut v: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
        v["catalog"]["file"] = "manifest.json".into();
        let bytes = serde_json::to_vec(&v).unwrap();
        let asked = std::cell::RefCell::new(vec![]);
        let e = Bundle::load(
            &bytes,
            |p| {
                asked.borrow_mut().push(p.to_string());
                f.get(p).cloned().ok_or_else(|| "absent".to_string())
            },
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "E_BUNDLE_MANIFEST");
        assert!(asked.borrow().is_empty(), "{:?}", asked.borrow());
    }
}
