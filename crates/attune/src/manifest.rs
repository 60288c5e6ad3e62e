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

/// A path relative to the manifest: `/`-separated, no `..`, no leading `/`, the
/// schema's character set (bundle.md "File paths").
pub(crate) fn check_path(p: &str) -> Result<(), BundleError> {
    let ok = !p.is_empty()
        && p.split('/').all(|seg| {
            let mut chars = seg.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(manifest_err(format!(
            "file path {p:?} is not a plain relative path"
        )))
    }
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
        if self.models.is_empty() {
            return Err(manifest_err("models is empty"));
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

    #[test]
    fn paths_must_stay_inside_the_bundle() {
        for ok in ["model.tflite", "models/a_b-1.tflite"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            ".hidden",
            "a\\b",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
