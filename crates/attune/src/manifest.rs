//! The bundle format v1 as Rust types (`docs/bundle.md`, `docs/bundle.schema.json`).
//!
//! Every struct denies unknown fields: a v1 reader must never silently ignore meaning
//! (bundle.md, loading rule 2). Role-specific tensor fields are kept in one flat struct
//! per tensor and checked against the role in [`Manifest::check`], because serde cannot
//! express the schema's `oneOf` together with `deny_unknown_fields`.

use serde::{Deserialize, Serialize};

use crate::error::BundleError;

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `attune-bundle`.
    pub format: String,
    /// Always 1 for this runtime.
    pub format_version: u32,
    /// Bundle name, `[a-z0-9._-]`.
    pub name: String,
    /// Semver of the bundle's content.
    pub version: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The models, at least one.
    pub models: Vec<ModelEntry>,
    /// Model used when the app does not choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// The catalog file.
    pub catalog: CatalogRef,
    /// Topics; the position is the topic index used by `preferences` and the catalog.
    pub topics: Vec<Topic>,
    /// Onboarding screen hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding: Option<Onboarding>,
    /// Defaults for ranking options.
    pub defaults: Defaults,
    /// Free-form model card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_card: Option<serde_json::Value>,
}

/// A file reference: path, sha256 and size.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRef {
    /// Path relative to the manifest.
    pub file: String,
    /// Lowercase hex sha256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Number of items (= model indices).
    pub num_items: usize,
}

/// One model of the bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Model id, `[a-z0-9_-]`.
    pub id: String,
    /// Path relative to the manifest.
    pub file: String,
    /// Lowercase hex sha256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// `next_item` or `ranking`.
    pub task: Task,
    /// `f32`, `f16`, `int8` or `dynamic_range`.
    pub precision: String,
    /// TFLite builtin ops the model uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<String>>,
    /// Input bindings.
    pub inputs: Vec<InputSpec>,
    /// Output bindings.
    pub outputs: Vec<OutputSpec>,
}

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// History/preferences → a score for every catalog item.
    NextItem,
    /// Features + candidates → a score per candidate.
    Ranking,
}

/// Tensor element types of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
    /// 8-bit signed integer.
    I8,
    /// 8-bit unsigned integer.
    U8,
    /// Boolean.
    Bool,
}

impl Dtype {
    /// The name used in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::I32 => "i32",
            Dtype::I64 => "i64",
            Dtype::I8 => "i8",
            Dtype::U8 => "u8",
            Dtype::Bool => "bool",
        }
    }
}

/// Input roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputRole {
    /// The user's last N items.
    History,
    /// One affinity per topic.
    Preferences,
    /// Items to score (dynamic batch).
    Candidates,
    /// Normalised user features.
    UserFeatures,
    /// Normalised context features.
    Context,
}

/// Output roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputRole {
    /// Scores over the catalog or the candidates.
    Scores,
    /// Model indices of the model's own top k.
    TopkIds,
    /// Scores that go with `topk_ids`.
    TopkScores,
}

/// Order of the history input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOrder {
    /// Position 0 is the latest item.
    MostRecentFirst,
    /// Position 0 is the oldest item kept.
    OldestFirst,
}

/// What `scores` are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoresOver {
    /// One per model index.
    Catalog,
    /// One per candidate.
    Candidates,
}

/// One normalised feature of `user_features` / `context`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Feature name, e.g. `topic_share:drama`.
    pub name: String,
    /// Subtracted from the raw value.
    pub mean: f64,
    /// The centred value is divided by this (> 0).
    pub std: f64,
    /// Optional human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An input binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Position in the interpreter's input list.
    pub index: usize,
    /// Tensor name (informative).
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// `shape_signature`; -1 marks a dynamic dimension.
    pub shape: Vec<i64>,
    /// What the runtime feeds.
    pub role: InputRole,
    /// `history`: the value of unused slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_value: Option<i64>,
    /// `history`: order of the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<HistoryOrder>,
    /// `preferences`: always `topic_affinity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `candidates`: the batch dimension is dynamic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_batch: Option<bool>,
    /// `user_features` / `context`: feature definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<Feature>>,
}

/// An output binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Position in the interpreter's output list.
    pub index: usize,
    /// Tensor name (informative).
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// `shape_signature`; -1 marks a dynamic dimension.
    pub shape: Vec<i64>,
    /// What the output means.
    pub role: OutputRole,
    /// `scores`: over the catalog or the candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<ScoresOver>,
    /// `scores`: `none` (logit), `logistic` or `softmax`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<String>,
    /// `topk_*`: k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// `topk_ids`: history items are ranked last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes_history: Option<bool>,
}

/// A topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Stable id, `[a-z0-9_-]`.
    pub id: String,
    /// Display label.
    pub label: String,
    /// App item ids to show on the onboarding card.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub representative_items: Vec<String>,
}

/// Onboarding hints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboarding {
    /// Topic ids to offer, in display order.
    pub topics: Vec<String>,
    /// How many to ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_picks: Option<u32>,
}

/// Ranking defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Items to return.
    pub k: usize,
    /// Topic diversity weight in [0, 1].
    pub diversity: f64,
    /// Share of exploration slots in [0, 1].
    pub exploration: f64,
}

/// `catalog.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    /// Always `attune-catalog`.
    pub format: String,
    /// Always 1.
    pub format_version: u32,
    /// Number of items.
    pub num_items: usize,
    /// App item ids, unique.
    pub ids: Vec<String>,
    /// Display titles.
    pub titles: Vec<String>,
    /// Topic indices per item.
    pub topics: Vec<Vec<usize>>,
    /// ISO 8601 date (or date-time) per item, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Vec<Option<String>>>,
    /// Image URL per item, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_urls: Option<Vec<Option<String>>>,
    /// Free-form metadata object per item, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<Option<serde_json::Map<String, serde_json::Value>>>>,
}

fn manifest_err(msg: impl Into<String>) -> BundleError {
    BundleError::Manifest(msg.into())
}

/// Largest `manifest.json` a runtime reads. It is downloaded before anything is
/// verified, so its size must be bounded by the runtime, not by the manifest. The
/// reference manifests are a few KB; 4 MiB leaves room for tens of thousands of topics.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Size of `manifest.sig`: one raw ed25519 signature.
pub const SIGNATURE_BYTES: u64 = 64;

/// Most topics a manifest may list: topic indices are `u16` everywhere in the runtime
/// (catalog, preferences, rules), so a 65,537th topic would wrap to index 0.
pub const MAX_TOPICS: usize = u16::MAX as usize + 1;

/// Longest file path a manifest may list, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// Names a listed file can never take, compared ASCII case-insensitively. The runtimes
/// keep a bundle's files in one path → bytes map next to the manifest and its
/// signature; a listed file with one of these names would replace the very bytes the
/// signature covers (and on a case-insensitive file system `MANIFEST.JSON` is the
/// manifest).
pub const RESERVED_PATHS: [&str; 2] = ["manifest.json", "manifest.sig"];

/// Characters allowed in a path segment after its first (ASCII letter or digit) one,
/// besides ASCII letters and digits. No `%` (percent-decoding would make `%2e%2e` a
/// `..`), no `?` or `#` (they end a URL's path), no `\` (a separator in WHATWG URLs),
/// no whitespace or control characters (stripped or rejected differently by URL
/// parsers), no `:` (a scheme).
pub const PATH_SEGMENT_EXTRA: [char; 3] = ['.', '_', '-'];

/// The bundle path rule (bundle.md "File paths"): a path relative to the manifest,
/// `/`-separated segments that each start with an ASCII letter or digit and continue
/// with letters, digits and [`PATH_SEGMENT_EXTRA`]; at most [`MAX_PATH_BYTES`]; never
/// one of [`RESERVED_PATHS`]. Such a path resolves against the manifest URL to a file
/// beside or below it on the same host, with no query or fragment, in every URL parser.
/// Returns what is wrong, or `None`. The npm package's onboarding module uses a
/// generated copy of this rule (`pkg/src/generated/bundle-rules.ts`), checked by a test here.
pub fn path_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("is empty");
    }
    if p.len() > MAX_PATH_BYTES {
        return Some("is too long");
    }
    let segment_ok = |seg: &str| {
        let mut chars = seg.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || PATH_SEGMENT_EXTRA.contains(&c))
    };
    if !p.split('/').all(segment_ok) {
        return Some("is not a plain relative path");
    }
    if RESERVED_PATHS.iter().any(|r| p.eq_ignore_ascii_case(r)) {
        return Some("is reserved for the manifest and its signature");
    }
    None
}

/// [`path_problem`] as a bundle error.
pub(crate) fn check_path(p: &str) -> Result<(), BundleError> {
    match path_problem(p) {
        None => Ok(()),
        Some(why) => Err(manifest_err(format!("file path {p:?} {why}"))),
    }
}

/// A file the manifest lists, as a runtime downloads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// Path relative to the manifest (checked by [`path_problem`]).
    pub file: String,
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Exact size in bytes: a download stops as soon as it exceeds it.
    pub bytes: u64,
}

/// A semantic version (semver.org 2.0.0), compared by precedence: build metadata is
/// ignored, a pre-release sorts before its release, numeric pre-release identifiers
/// compare as numbers and below alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<PreId>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreId {
    // Declared first: numeric identifiers have lower precedence than alphanumeric ones.
    Num(u64),
    Alpha(String),
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`; `None` when it is not semver.
    pub fn parse(s: &str) -> Option<Version> {
        let ident_ok =
            |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let numeric = |id: &str| -> Option<u64> {
            let ok = !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && (id == "0" || !id.starts_with('0'));
            if ok {
                id.parse().ok()
            } else {
                None
            }
        };
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        if let Some(b) = build {
            if !b.split('.').all(ident_ok) {
                return None;
            }
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let major = numeric(parts.next()?)?;
        let minor = numeric(parts.next()?)?;
        let patch = numeric(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let mut ids = vec![];
        if let Some(p) = pre {
            for id in p.split('.') {
                if !ident_ok(id) {
                    return None;
                }
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    ids.push(PreId::Num(numeric(id)?));
                } else {
                    ids.push(PreId::Alpha(id.to_string()));
                }
            }
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: ids,
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Lexicographic by identifier; a longer list wins when one is a prefix.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

/// Milliseconds since the epoch of an RFC 3339 date-time
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`); `None` when it is not one.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if ![0..4, 5..7, 8..10]
        .into_iter()
        .all(|r| b[r].iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    let day = crate::catalog::parse_day(s.get(..10)?)?;
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // 60: a leap second, as RFC 3339 allows.
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut at = 19;
    let mut ms = 0;
    if b.get(at) == Some(&b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        // Milliseconds: the first three fraction digits, the rest truncated.
        for i in 0..3 {
            ms = ms * 10
                + b.get(at + 1 + i)
                    .filter(|c| i < digits && c.is_ascii_digit())
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        at += 1 + digits;
    }
    let offset_min = match s.get(at..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let oh = num(at + 1..at + 3)?;
            let om = num(at + 4..at + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    Some(((day * 24 + h) * 60 + m - offset_min) * 60_000 + sec * 1000 + ms)
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn id_ok(s: &str, extra: &[char]) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

impl Manifest {
    /// Parses manifest bytes: format and version first (so that a future version gets
    /// `E_BUNDLE_VERSION`, not a confusing field error), then the full v1 structure.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, BundleError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| manifest_err(format!("manifest.json is not JSON: {e}")))?;
        let format = value.get("format").and_then(|v| v.as_str());
        if format != Some("attune-bundle") {
            return Err(BundleError::Version(format!(
                "format is {:?}, expected \"attune-bundle\"",
                value.get("format")
            )));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(1) => {}
            other => {
                return Err(BundleError::Version(format!(
                    "format_version {other:?}; this runtime reads version 1"
                )))
            }
        }
        let m: Manifest = serde_json::from_value(value)
            .map_err(|e| manifest_err(format!("manifest.json: {e}")))?;
        m.check()?;
        Ok(m)
    }

    /// Schema-level checks serde does not express: patterns, ranges, role fields.
    pub fn check(&self) -> Result<(), BundleError> {
        if !id_ok(&self.name, &['.', '_', '-']) || self.name.len() > 128 {
            return Err(manifest_err(format!(
                "name {:?} is not [a-z0-9._-]",
                self.name
            )));
        }
        if Version::parse(&self.version).is_none() {
            return Err(manifest_err(format!(
                "version {:?} is not a semantic version (MAJOR.MINOR.PATCH)",
                self.version
            )));
        }
        if parse_rfc3339_ms(&self.created).is_none() {
            return Err(manifest_err(format!(
                "created {:?} is not an RFC 3339 date-time",
                self.created
            )));
        }
        if self.models.is_empty() {
            return Err(manifest_err("models is empty"));
        }
        if self.topics.len() > MAX_TOPICS {
            return Err(manifest_err(format!(
                "{} topics; a bundle has at most {MAX_TOPICS}",
                self.topics.len()
            )));
        }
        check_path(&self.catalog.file)?;
        if !is_hex64(&self.catalog.sha256) {
            return Err(manifest_err(
                "catalog.sha256 is not 64 lowercase hex digits",
            ));
        }
        if self.catalog.num_items == 0 {
            return Err(manifest_err("catalog.num_items must be at least 1"));
        }
        let mut ids = std::collections::BTreeSet::new();
        for m in &self.models {
            if !id_ok(&m.id, &['_', '-']) {
                return Err(manifest_err(format!(
                    "model id {:?} is not [a-z0-9_-]",
                    m.id
                )));
            }
            if !ids.insert(m.id.as_str()) {
                return Err(manifest_err(format!("model id {:?} appears twice", m.id)));
            }
            check_path(&m.file)?;
            if !is_hex64(&m.sha256) {
                return Err(manifest_err(format!(
                    "model {}: sha256 is not 64 lowercase hex digits",
                    m.id
                )));
            }
            if !matches!(
                m.precision.as_str(),
                "f32" | "f16" | "int8" | "dynamic_range"
            ) {
                return Err(manifest_err(format!(
                    "model {}: precision {:?}",
                    m.id, m.precision
                )));
            }
            if m.inputs.is_empty() || m.outputs.is_empty() {
                return Err(manifest_err(format!(
                    "model {}: needs inputs and outputs",
                    m.id
                )));
            }
            for i in &m.inputs {
                check_input(&m.id, i)?;
            }
            for o in &m.outputs {
                check_output(&m.id, o)?;
            }
        }
        if let Some(d) = &self.default_model {
            if !ids.contains(d.as_str()) {
                return Err(manifest_err(format!(
                    "default_model {d:?} is not a model id"
                )));
            }
        }
        let mut topic_ids = std::collections::BTreeSet::new();
        for t in &self.topics {
            if !id_ok(&t.id, &['_', '-']) {
                return Err(manifest_err(format!(
                    "topic id {:?} is not [a-z0-9_-]",
                    t.id
                )));
            }
            if !topic_ids.insert(t.id.as_str()) {
                return Err(manifest_err(format!("topic id {:?} appears twice", t.id)));
            }
        }
        if let Some(o) = &self.onboarding {
            for t in &o.topics {
                if !topic_ids.contains(t.as_str()) {
                    return Err(manifest_err(format!(
                        "onboarding topic {t:?} is not a topic id"
                    )));
                }
            }
        }
        let d = &self.defaults;
        if d.k == 0 || !(0.0..=1.0).contains(&d.diversity) || !(0.0..=1.0).contains(&d.exploration)
        {
            return Err(manifest_err(
                "defaults: k >= 1, diversity and exploration in [0, 1]",
            ));
        }
        Ok(())
    }

    /// The model used when the app does not choose.
    pub fn default_model_id(&self) -> &str {
        self.default_model.as_deref().unwrap_or(&self.models[0].id)
    }

    /// The files a runtime downloads besides the manifest and its signature: the
    /// catalog, then every model file, in manifest order, each once.
    pub fn files(&self) -> Vec<FileRef> {
        let mut out: Vec<FileRef> = vec![];
        let entries =
            std::iter::once((&self.catalog.file, &self.catalog.sha256, self.catalog.bytes))
                .chain(self.models.iter().map(|m| (&m.file, &m.sha256, m.bytes)));
        for (file, sha256, bytes) in entries {
            if !out.iter().any(|f| &f.file == file) {
                out.push(FileRef {
                    file: file.clone(),
                    sha256: sha256.clone(),
                    bytes,
                });
            }
        }
        out
    }

    /// The manifest's `version`, parsed (checked by [`Manifest::check`]).
    pub fn semver(&self) -> Option<Version> {
        Version::parse(&self.version)
    }
}

fn check_input(model: &str, i: &InputSpec) -> Result<(), BundleError> {
    let bad = |reason: &str| {
        manifest_err(format!(
            "model {model}: input {} {:?}: {reason}",
            i.index, i.name
        ))
    };
    let (want, extra_ok) = match i.role {
        InputRole::History => (
            Dtype::I32,
            i.padding_value.is_some()
                && i.order.is_some()
                && i.encoding.is_none()
                && i.dynamic_batch.is_none()
                && i.features.is_none(),
        ),
        InputRole::Preferences => (
            Dtype::F32,
            i.encoding.as_deref() == Some("topic_affinity")
                && i.padding_value.is_none()
                && i.order.is_none()
                && i.dynamic_batch.is_none()
                && i.features.is_none(),
        ),
        InputRole::Candidates => (
            Dtype::I32,
            i.dynamic_batch.is_some()
                && i.padding_value.is_none()
                && i.order.is_none()
                && i.encoding.is_none()
                && i.features.is_none(),
        ),
        InputRole::UserFeatures | InputRole::Context => (
            Dtype::F32,
            i.features.is_some()
                && i.padding_value.is_none()
                && i.order.is_none()
                && i.encoding.is_none()
                && i.dynamic_batch.is_none(),
        ),
    };
    if i.dtype != want {
        return Err(bad(&format!(
            "role {:?} needs dtype {}",
            i.role,
            want.name()
        )));
    }
    if !extra_ok {
        return Err(bad(
            "fields do not fit the role (see docs/bundle.md, input roles)",
        ));
    }
    if i.shape.iter().any(|d| *d < -1) {
        return Err(bad("shape dimensions must be >= -1"));
    }
    if let Some(fs) = &i.features {
        for f in fs {
            if f.std <= 0.0 || !f.std.is_finite() || !f.mean.is_finite() {
                return Err(bad(&format!(
                    "feature {:?}: std must be > 0 and finite",
                    f.name
                )));
            }
        }
    }
    Ok(())
}

fn check_output(model: &str, o: &OutputSpec) -> Result<(), BundleError> {
    let bad = |reason: &str| {
        manifest_err(format!(
            "model {model}: output {} {:?}: {reason}",
            o.index, o.name
        ))
    };
    let (want, extra_ok) = match o.role {
        OutputRole::Scores => (
            Dtype::F32,
            o.over.is_some()
                && o.k.is_none()
                && o.excludes_history.is_none()
                && matches!(
                    o.activation.as_deref(),
                    None | Some("none" | "logistic" | "softmax")
                ),
        ),
        OutputRole::TopkIds => (
            Dtype::I32,
            o.k.is_some() && o.over.is_none() && o.activation.is_none(),
        ),
        OutputRole::TopkScores => (
            Dtype::F32,
            o.k.is_some()
                && o.over.is_none()
                && o.activation.is_none()
                && o.excludes_history.is_none(),
        ),
    };
    if o.dtype != want {
        return Err(bad(&format!(
            "role {:?} needs dtype {}",
            o.role,
            want.name()
        )));
    }
    if !extra_ok {
        return Err(bad(
            "fields do not fit the role (see docs/bundle.md, output roles)",
        ));
    }
    if o.k == Some(0) {
        return Err(bad("k must be >= 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths a hostile manifest might list, each with why a URL parser or a file map
    /// could misread it. Shared with the generated TypeScript rule's test through
    /// `pkg/test/fixtures/path-cases.json`.
    const HOSTILE_PATHS: &[&str] = &[
        "",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a/./b",
        "a//b",
        "a/",
        ".hidden",
        "a\\b",
        "..\\x",
        " model.tflite",
        "model.tflite ",
        "\tmodel.tflite",
        "ht\ttps://evil.example/x",
        "https://evil.example/x",
        "//evil.example/x",
        "javascript:alert(1)",
        "data:,x",
        "%2e%2e/x",
        "%2E%2E/secret.json",
        "a%2fb",
        "model.tflite\0",
        "model.tflite?x=1",
        "model.tflite#x",
        "a:b",
        "mod\u{e9}l.tflite",
        "model\u{ff0e}tflite",
        "manifest.json",
        "manifest.sig",
        "MANIFEST.JSON",
        "Manifest.Sig",
    ];

    #[test]
    fn paths_must_stay_inside_the_bundle() {
        for ok in [
            "model.tflite",
            "models/a_b-1.tflite",
            "a.b.c",
            "0",
            "sub/manifest.json",
            "manifest.json.bak",
            "manifest.sig2",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in HOSTILE_PATHS {
            let e = check_path(bad).expect_err(bad);
            assert_eq!(e.code(), "E_BUNDLE_MANIFEST", "{bad}");
        }
        assert!(check_path(&"a".repeat(MAX_PATH_BYTES)).is_ok());
        assert!(check_path(&"a".repeat(MAX_PATH_BYTES + 1)).is_err());
    }

    #[test]
    fn a_listed_file_cannot_take_the_manifests_name() {
        let m = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/movielens-100k/sequence/manifest.json"),
        )
        .unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_slice(&m).expect("reference manifest");
        for name in ["manifest.json", "manifest.sig", "Manifest.JSON"] {
            let mut w = v.clone();
            w["catalog"]["file"] = name.into();
            let e = Manifest::parse(&serde_json::to_vec(&w).unwrap_or_default()).expect_err(name);
            assert_eq!(e.code(), "E_BUNDLE_MANIFEST");
            assert!(e.to_string().contains("reserved"), "{e}");
            let mut w = v.clone();
            w["models"][0]["file"] = name.into();
            assert!(Manifest::parse(&serde_json::to_vec(&w).unwrap_or_default()).is_err());
        }
        v["version"] = "1.0".into();
        assert!(Manifest::parse(&serde_json::to_vec(&v).unwrap_or_default()).is_err());
    }

    #[test]
    fn topic_indices_never_wrap() {
        let m = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/movielens-100k/sequence/manifest.json"),
        )
        .unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_slice(&m).expect("reference manifest");
        v["onboarding"] = serde_json::Value::Null;
        let topics = |n: usize| -> serde_json::Value {
            (0..n)
                .map(|i| serde_json::json!({"id": format!("t{i}"), "label": "x"}))
                .collect()
        };
        // The preferences input is [18]: the contract check (not the manifest) refuses
        // other counts, so parse only.
        let parse = |v: &serde_json::Value| {
            let mut v = v.clone();
            v.as_object_mut().map(|o| o.remove("onboarding"));
            Manifest::parse(&serde_json::to_vec(&v).unwrap_or_default())
        };
        v["topics"] = topics(MAX_TOPICS);
        assert!(parse(&v).is_ok());
        v["topics"] = topics(MAX_TOPICS + 1);
        let e = parse(&v).expect_err("65,537 topics");
        assert_eq!(e.code(), "E_BUNDLE_MANIFEST");
    }

    /// The TypeScript copy of the path rule for code that cannot load the engine
    /// (`attune/onboarding` paints before the wasm arrives). Generated from the
    /// constants above, never edited by hand.
    fn render_typescript_rules() -> String {
        let extra: String = PATH_SEGMENT_EXTRA
            .iter()
            .map(|c| {
                if *c == '-' {
                    "\\-".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        let reserved = serde_json::to_string(&RESERVED_PATHS).unwrap();
        let test_keys = serde_json::to_string_pretty(&crate::bundle::PUBLISHED_TEST_KEYS).unwrap();
        format!(
            r#"// Generated from crates/attune/src/manifest.rs by its test
// `generated_typescript_rules_are_current`: do not edit. To regenerate:
//   ATTUNE_REGENERATE=1 cargo test -p attune generated_typescript_rules
// The bundle rules for code that cannot load the wasm engine (attune/onboarding
// paints before the engine arrives); everything else asks the engine itself.
// pkg/test/bundle-rules.test.ts checks this copy against the Rust verdicts on
// pkg/test/fixtures/path-cases.json.

/** Names a listed file can never take (compared ASCII case-insensitively). */
export const RESERVED_PATHS: readonly string[] = {reserved};

/** Longest path a manifest may list, in bytes. */
export const MAX_PATH_BYTES = {max_path};

/** Largest manifest.json a runtime reads, in bytes. */
export const MAX_MANIFEST_BYTES = {max_manifest};

/** Size of manifest.sig, in bytes. */
export const SIGNATURE_BYTES = {sig_bytes};

/** Ed25519 public keys whose secret keys are published (RFC 8032 §7.1): refused as a
 *  pinned key unless test keys are allowed (development only). */
export const PUBLISHED_TEST_KEYS: readonly string[] = {test_keys};

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9{extra}]*$/;

/** What is wrong with a file path a manifest lists, or `undefined` when it is a plain
 *  relative path that stays beside or below the manifest. */
export function pathProblem(path: string): string | undefined {{
  if (path === '') return 'is empty';
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return 'is too long';
  if (!path.split('/').every((segment) => SEGMENT.test(segment))) return 'is not a plain relative path';
  const lower = path.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (RESERVED_PATHS.includes(lower)) return 'is reserved for the manifest and its signature';
  return undefined;
}}
"#,
            max_path = MAX_PATH_BYTES,
            max_manifest = MAX_MANIFEST_BYTES,
            sig_bytes = SIGNATURE_BYTES,
        )
    }

    /// Every hostile path with the Rust verdict, plus accepted ones and the length
    /// boundary: the TypeScript copy must give the same answers.
    fn render_path_cases() -> String {
        let long_ok = "a".repeat(MAX_PATH_BYTES);
        let long_bad = "a".repeat(MAX_PATH_BYTES + 1);
        let mut paths: Vec<&str> = HOSTILE_PATHS.to_vec();
        paths.extend([
            "model.tflite",
            "models/a_b-1.tflite",
            "sub/manifest.json",
            "manifest.json.bak",
            long_ok.as_str(),
            long_bad.as_str(),
        ]);
        let cases: Vec<serde_json::Value> = paths
            .iter()
            .map(|p| serde_json::json!({ "path": p, "problem": path_problem(p) }))
            .collect();
        let mut out = serde_json::to_string_pretty(&cases).unwrap();
        out.push('\n');
        out
    }

    /// Compares a generated file with its committed copy, or rewrites it when
    /// `ATTUNE_REGENERATE=1`.
    fn check_generated(relative: &str, want: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(relative);
        if std::env::var("ATTUNE_REGENERATE").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{relative} is stale: run ATTUNE_REGENERATE=1 cargo test -p attune generated_typescript_rules"
        );
    }

    #[test]
    fn generated_typescript_rules_are_current() {
        check_generated(
            "pkg/src/generated/bundle-rules.ts",
            &render_typescript_rules(),
        );
        check_generated("pkg/test/fixtures/path-cases.json", &render_path_cases());
    }

    #[test]
    fn semver_precedence() {
        // semver.org §11's example chain, in increasing precedence.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "10.0.0",
        ];
        for w in chain.windows(2) {
            let (a, b) = (Version::parse(w[0]).unwrap(), Version::parse(w[1]).unwrap());
            assert!(a < b, "{} < {}", w[0], w[1]);
        }
        assert_eq!(
            Version::parse("1.2.3+build.7").unwrap(),
            Version::parse("1.2.3").unwrap()
        );
        for bad in [
            "1.0",
            "1.0.0.0",
            "01.0.0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0+",
            "v1.0.0",
            "1.0.0-a..b",
            "",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-11-25T00:00:43Z"),
            Some(1_795_564_843_000)
        );
        for bad in [
            "2026-11-25",
            "2026-11-25T00:00:43",
            "2026-11-25T24:00:00Z",
            "2026-11-25T00:00:43.Z",
            "+026-11-25T00:00:43Z",
            "2026-11-25T00:00:43+0100",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }
}
