//! The HTTP API without HTTP: request parsing and validation, limits, error mapping,
//! bundle identity. Pure Rust, so it is unit-tested natively; the Worker shell
//! (`worker_main`) only moves bytes between this module and the runtime.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use attune::profile::Onboarding;
use attune::{
    rank_with_work, Bundle, BundleError, Event, Profile, ProfileError, RankError, RankRequest,
    Rule, Work,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Limits;

/// An API error: a stable machine code and a message for humans. The HTTP status is
/// derived from the code (house style: the code is the contract, the status follows).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Stable machine code, e.g. `E_JSON_MALFORMED`.
    pub code: &'static str,
    /// What went wrong, for a human.
    pub message: String,
}

/// Longest message put into a response: a list of 10,000 unknown ids must not turn an
/// error into a megabyte.
const MAX_MESSAGE: usize = 512;

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        ApiError { code, message }
    }

    /// The HTTP status for the code.
    pub fn status(&self) -> u16 {
        status_of(self.code)
    }

    /// `{"code": …, "message": …}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "code": self.code, "message": self.message }).to_string()
    }

    /// 401 for a missing or wrong key. The message is the same in every case, so a
    /// caller learns nothing about which keys exist or whether any are configured.
    pub fn unauthorized() -> ApiError {
        ApiError::new("E_UNAUTHORIZED", "missing or invalid API key")
    }
}

/// HTTP status by error code. Anything the caller can fix is 4xx; a bundle that cannot
/// be loaded is 503 (retry later); everything else is 500.
pub fn status_of(code: &str) -> u16 {
    match code {
        "E_UNAUTHORIZED" => 401,
        "E_NOT_FOUND" => 404,
        "E_METHOD_NOT_ALLOWED" => 405,
        "E_BODY_TOO_LARGE" => 413,
        "E_UNSUPPORTED_MEDIA_TYPE" => 415,
        "E_JSON_MALFORMED" | "E_JSON_INVALID" | "E_LIMIT_CANDIDATES" | "E_LIMIT_K"
        | "E_LIMIT_EVENTS" | "E_LIMIT_EXPLAIN" | "E_LIMIT_RULES" | "E_LIMIT_FILTERS"
        | "E_LIMIT_CONTROLS" => 400,
        "E_PROFILE_CORRUPT" | "E_PROFILE_VERSION" | "E_PROFILE_INVALID" => 400,
        "E_RANK_UNKNOWN_ITEM" | "E_RANK_INVALID" | "E_RANK_TOO_LARGE" | "E_RANK_NO_MODEL" => 400,
        c if c.starts_with("E_BUNDLE") => 503,
        "E_TIMEOUT" => 503,
        _ => 500,
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<RankError> for ApiError {
    fn from(e: RankError) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<BundleError> for ApiError {
    fn from(e: BundleError) -> ApiError {
        // Engine codes (E_MALFORMED_MODEL, …) arrive through BundleError::Model; at the
        // HTTP boundary every bundle failure is "the service's bundle is unavailable".
        let code = match e.code() {
            c if c.starts_with("E_BUNDLE") => c,
            _ => "E_BUNDLE_MODEL",
        };
        ApiError::new(code, e.to_string())
    }
}

/// The body of `POST /v1/rank`.
///
/// The user is either a stored `profile` (the same JSON the browser package keeps on
/// the device) or raw `events` plus `onboarding` answers; `request` is the crate's
/// [`RankRequest`] (candidates or the whole catalog, k, filters, rules, …).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RankBody {
    #[serde(default)]
    profile: Option<serde_json::Value>,
    #[serde(default)]
    events: Option<Vec<Event>>,
    #[serde(default)]
    onboarding: Option<Onboarding>,
    #[serde(default)]
    request: RankRequest,
}

fn json_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        // Syntax also covers NaN/Infinity tokens and numbers out of f64's range.
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new("E_JSON_MALFORMED", format!("request body is not JSON: {e}"))
        }
        Category::Data => ApiError::new("E_JSON_INVALID", format!("request body: {e}")),
    }
}

/// A parsed, validated rank call.
#[derive(Debug)]
pub struct RankCall {
    /// The user.
    pub profile: Profile,
    /// What to rank.
    pub request: RankRequest,
}

/// Parses and validates a `POST /v1/rank` body against the limits. Everything a
/// caller can get wrong is caught here or by the ranker as a 4xx code.
pub fn parse_rank_body(bytes: &[u8], limits: &Limits) -> Result<RankCall, ApiError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(body_too_large(limits));
    }
    let body: RankBody = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    let profile = match (body.profile, body.events, body.onboarding) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::new(
                "E_JSON_INVALID",
                "give either `profile` or `events`/`onboarding`, not both",
            ))
        }
        (Some(p), None, None) => {
            // Through Profile::from_value, so migrations and validation are the same as
            // on the device (from_json parses, then calls it).
            Profile::from_value(p)?
        }
        (None, events, onboarding) => {
            let events = events.unwrap_or_default();
            if events.len() > limits.max_events {
                return Err(too_many_events(events.len(), limits));
            }
            let mut p = Profile::new();
            for e in events {
                p.record(e)?;
            }
            p.onboarding = onboarding.unwrap_or_default();
            p
        }
    };
    if profile.events.len() > limits.max_events {
        return Err(too_many_events(profile.events.len(), limits));
    }
    let controls = {
        let (c, o) = (&profile.controls, &profile.onboarding);
        c.muted_topics.len()
            + c.boosted_topics.len()
            + c.blocked_items.len()
            + c.less_like_this.len()
            + o.picked_topics.len()
            + o.rejected_topics.len()
            + o.liked_items.len()
    };
    if controls > limits.max_controls {
        return Err(ApiError::new(
            "E_LIMIT_CONTROLS",
            format!(
                "the profile's control and onboarding lists hold {controls} entries; this service reads at most {}",
                limits.max_controls
            ),
        ));
    }
    let mut request = body.request;
    check_work_limits(&mut request, limits)?;
    if let Some(c) = &request.candidates {
        if c.len() > limits.max_candidates {
            return Err(ApiError::new(
                "E_LIMIT_CANDIDATES",
                format!(
                    "{} candidates; this service ranks at most {}",
                    c.len(),
                    limits.max_candidates
                ),
            ));
        }
    }
    if let Some(k) = request.k {
        check_k(k, limits)?;
    }
    Ok(RankCall { profile, request })
}

/// The limits on what multiplies a request's work: explained history items (a model
/// run each), rules, and metadata conditions. A request without `explain_history` gets
/// the crate's default, lowered to the service's limit.
fn check_work_limits(request: &mut RankRequest, limits: &Limits) -> Result<(), ApiError> {
    let explain = request
        .explain_history
        .get_or_insert(attune::DEFAULT_EXPLAIN_HISTORY.min(limits.max_explain_history));
    if *explain > limits.max_explain_history {
        return Err(ApiError::new(
            "E_LIMIT_EXPLAIN",
            format!(
                "explain_history {explain}; this service explains at most {} history items",
                limits.max_explain_history
            ),
        ));
    }
    let entries: usize = request.rules.iter().map(Rule::entries).sum();
    if request.rules.len() > limits.max_rules || entries > limits.max_rule_entries {
        return Err(ApiError::new(
            "E_LIMIT_RULES",
            format!(
                "{} rules listing {entries} ids; this service takes at most {} rules and {} ids",
                request.rules.len(),
                limits.max_rules,
                limits.max_rule_entries
            ),
        ));
    }
    let filters = &request.filter.metadata;
    let values: usize = filters
        .iter()
        .map(|f| usize::from(f.equals.is_some()) + f.one_of.as_ref().map_or(0, Vec::len))
        .sum();
    if filters.len() > limits.max_filters || values > limits.max_filter_values {
        return Err(ApiError::new(
            "E_LIMIT_FILTERS",
            format!(
                "{} metadata conditions with {values} values; this service takes at most {} conditions and {} values",
                filters.len(),
                limits.max_filters,
                limits.max_filter_values
            ),
        ));
    }
    Ok(())
}

fn check_k(k: usize, limits: &Limits) -> Result<(), ApiError> {
    if k > limits.max_k {
        return Err(ApiError::new(
            "E_LIMIT_K",
            format!("k {k}; this service returns at most {}", limits.max_k),
        ));
    }
    Ok(())
}

fn too_many_events(n: usize, limits: &Limits) -> ApiError {
    ApiError::new(
        "E_LIMIT_EVENTS",
        format!(
            "{n} events; this service reads at most {}",
            limits.max_events
        ),
    )
}

/// The 413 error.
pub fn body_too_large(limits: &Limits) -> ApiError {
    ApiError::new(
        "E_BODY_TOO_LARGE",
        format!("request body larger than {} bytes", limits.max_body_bytes),
    )
}

/// What a ranking call reports besides its JSON, for logs and `Server-Timing`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankStats {
    /// Model id used.
    pub model: String,
    /// Candidates considered.
    pub candidates: usize,
    /// Items returned.
    pub returned: usize,
    /// The work the ranking did (model runs, items scored, per-item steps).
    pub work: Work,
}

/// Ranks a validated call and serializes the result: the crate's `Ranking` as JSON,
/// the same object the browser package returns.
pub fn rank_json(
    bundle: &Bundle,
    call: &RankCall,
    limits: &Limits,
) -> Result<(Vec<u8>, RankStats), ApiError> {
    // The bundle's default k must obey the service's limit too.
    check_k(
        call.request.k.unwrap_or(bundle.manifest().defaults.k),
        limits,
    )?;
    let (ranking, work) = rank_with_work(bundle, &call.profile, &call.request)?;
    let stats = RankStats {
        model: ranking.model.clone(),
        candidates: ranking.counts.candidates,
        returned: ranking.items.len(),
        work,
    };
    let bytes = serde_json::to_vec(&ranking)
        .map_err(|e| ApiError::new("E_INTERNAL", format!("serializing the ranking: {e}")))?;
    Ok((bytes, stats))
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `GET /v1/bundle`: what is being served, and the size of the wasm memory holding it
/// (Workers allow 128 MB per isolate and local workerd does not enforce it).
pub fn bundle_info(
    bundle: &Bundle,
    manifest_sha256: &str,
    source: &str,
    memory_bytes: u64,
) -> String {
    let m = bundle.manifest();
    let models: Vec<serde_json::Value> = bundle
        .models()
        .iter()
        .map(|b| {
            let e = b.entry();
            serde_json::json!({ "id": e.id, "task": e.task, "precision": e.precision })
        })
        .collect();
    serde_json::json!({
        "name": m.name,
        "version": m.version,
        "hash": format!("sha256:{manifest_sha256}"),
        "signature_verified": bundle.signature_verified(),
        "default_model": m.default_model_id(),
        "models": models,
        "num_items": bundle.catalog().len(),
        "source": source,
        "memory_bytes": memory_bytes,
    })
    .to_string()
}

/// A `Server-Timing` header value from (metric, milliseconds, description).
pub fn server_timing(entries: &[(&str, f64, &str)]) -> String {
    let mut out = String::new();
    for (name, ms, desc) in entries {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let _ = write!(out, "{name};dur={ms:.3}");
        if !desc.is_empty() {
            // Descriptions are our own identifiers; quotes and backslashes are dropped
            // rather than escaped so the header stays trivially parseable.
            let d: String = desc.chars().filter(|c| *c != '"' && *c != '\\').collect();
            let _ = write!(out, ";desc=\"{d}\"");
        }
    }
    out
}

/// One structured log line (JSON). Callers pass only service data — codes, counts,
/// timings, bundle identity — never profile contents or item ids.
pub fn log_line(fields: &BTreeMap<&str, serde_json::Value>) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "{\"msg\":\"log\"}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_body_bytes: 10_000,
            max_candidates: 3,
            max_k: 5,
            max_events: 2,
            max_explain_history: 2,
            max_rules: 2,
            max_rule_entries: 3,
            max_filters: 1,
            max_filter_values: 2,
            max_controls: 2,
        }
    }

    fn code(body: &str) -> &'static str {
        parse_rank_body(body.as_bytes(), &limits())
            .map(|_| "OK")
            .unwrap_or_else(|e| e.code)
    }

    #[test]
    fn accepts_a_profile_or_events() {
        assert_eq!(code("{}"), "OK");
        assert_eq!(
            code(r#"{"profile": {"format_version": 1}, "request": {"k": 3}}"#),
            "OK"
        );
        assert_eq!(
            code(
                r#"{"events": [{"item": "1", "ts": 5, "type": "like"}], "onboarding": {"picked_topics": ["war"]}}"#
            ),
            "OK"
        );
        let call = parse_rank_body(
            br#"{"events": [{"item": "2", "ts": 9, "type": "view"}, {"item": "1", "ts": 5, "type": "like"}]}"#,
            &limits(),
        )
        .unwrap();
        // Events are recorded in time order, as on the device.
        assert_eq!(call.profile.events[0].item, "1");
    }

    #[test]
    fn every_bad_input_class_has_a_4xx_code() {
        let cases = [
            ("{", "E_JSON_MALFORMED"),
            ("", "E_JSON_MALFORMED"),
            ("[1, 2]", "E_JSON_INVALID"),
            (r#"{"request": {"k": "ten"}}"#, "E_JSON_INVALID"),
            (r#"{"request": {"k": -1}}"#, "E_JSON_INVALID"),
            (r#"{"request": {"k": 1.5}}"#, "E_JSON_INVALID"),
            (r#"{"surprise": 1}"#, "E_JSON_INVALID"),
            (r#"{"request": {"kk": 1}}"#, "E_JSON_INVALID"),
            (r#"{"request": {"diversity": NaN}}"#, "E_JSON_MALFORMED"),
            (
                r#"{"request": {"diversity": Infinity}}"#,
                "E_JSON_MALFORMED",
            ),
            (r#"{"request": {"diversity": 1e999}}"#, "E_JSON_MALFORMED"),
            (
                r#"{"request": {"k": 99999999999999999999999}}"#,
                "E_JSON_INVALID",
            ),
            (r#"{"request": {"k": 6}}"#, "E_LIMIT_K"),
            (
                r#"{"request": {"candidates": ["1", "2", "3", "4"]}}"#,
                "E_LIMIT_CANDIDATES",
            ),
            (
                r#"{"events": [{"item": "1", "ts": 1, "type": "view"}, {"item": "1", "ts": 2, "type": "view"}, {"item": "1", "ts": 3, "type": "view"}]}"#,
                "E_LIMIT_EVENTS",
            ),
            (
                r#"{"events": [{"item": "", "ts": 1, "type": "view"}]}"#,
                "E_PROFILE_INVALID",
            ),
            (
                r#"{"profile": {"format_version": 99}}"#,
                "E_PROFILE_VERSION",
            ),
            (r#"{"profile": {"events": 3}}"#, "E_PROFILE_CORRUPT"),
            (
                r#"{"profile": {"format_version": 1}, "events": []}"#,
                "E_JSON_INVALID",
            ),
            (r#"{"request": {"explain_history": 3}}"#, "E_LIMIT_EXPLAIN"),
            (
                r#"{"request": {"rules": [{"kind": "pin", "item": "1", "slot": 0}, {"kind": "pin", "item": "2", "slot": 1}, {"kind": "pin", "item": "3", "slot": 2}]}}"#,
                "E_LIMIT_RULES",
            ),
            (
                r#"{"request": {"rules": [{"kind": "bury", "topics": ["a", "b", "c", "d"], "weight": 1}]}}"#,
                "E_LIMIT_RULES",
            ),
            (
                r#"{"request": {"filter": {"metadata": [{"key": "a", "equals": 1}, {"key": "b", "equals": 1}]}}}"#,
                "E_LIMIT_FILTERS",
            ),
            (
                r#"{"request": {"filter": {"metadata": [{"key": "a", "one_of": [1, 2, 3]}]}}}"#,
                "E_LIMIT_FILTERS",
            ),
            (
                r#"{"onboarding": {"picked_topics": ["a", "b", "c"]}}"#,
                "E_LIMIT_CONTROLS",
            ),
            (
                r#"{"profile": {"format_version": 1, "controls": {"less_like_this": ["1", "2"], "blocked_items": ["3"]}}}"#,
                "E_LIMIT_CONTROLS",
            ),
        ];
        for (body, want) in cases {
            let got = code(body);
            assert_eq!(got, want, "{body}");
            let s = status_of(got);
            assert!((400..500).contains(&s), "{body}: {s}");
        }
        let big = format!(
            "{{\"request\": {{\"seed\": 1}}, \"x\": \"{}\"}}",
            "a".repeat(10_001)
        );
        assert_eq!(code(&big), "E_BODY_TOO_LARGE");
        assert_eq!(status_of("E_BODY_TOO_LARGE"), 413);
    }

    #[test]
    fn explain_history_defaults_within_the_limit() {
        let mut l = limits();
        let call = parse_rank_body(b"{}", &l).unwrap();
        assert_eq!(call.request.explain_history, Some(2));
        l.max_explain_history = 10;
        let call = parse_rank_body(b"{}", &l).unwrap();
        assert_eq!(
            call.request.explain_history,
            Some(attune::DEFAULT_EXPLAIN_HISTORY)
        );
    }

    fn reference_files(name: &str) -> BTreeMap<String, Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models/movielens-100k")
            .join(name);
        [
            "manifest.json",
            "catalog.json",
            "model.tflite",
            "ranking_f32.tflite",
            "ranking_int8.tflite",
        ]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
        .collect()
    }

    fn load(files: &BTreeMap<String, Vec<u8>>) -> Bundle {
        Bundle::from_files(files, &attune::LoadOptions::default()).unwrap()
    }

    /// The largest request of each kind the default limits let through, ranked for
    /// real: the work it does stays within `Limits::work_budget`. (Its time is
    /// measured, not asserted: BENCHMARKS.md, "Edge", `tests/edge/bench.mjs`.)
    #[test]
    fn the_worst_requests_the_limits_allow_stay_within_the_budget() {
        let l = Limits::default();
        let b = load(&reference_files("sequence"));
        let cat = b.catalog();
        let ids: Vec<&str> = (0..cat.len() as u32).map(|i| cat.id(i)).collect();
        let topics: Vec<&str> = b.manifest().topics.iter().map(|t| t.id.as_str()).collect();
        let events: Vec<serde_json::Value> = (0..l.max_events)
            .map(|i| serde_json::json!({"item": ids[i % ids.len()], "ts": i, "type": "like"}))
            .collect();
        // "Less like this" items with as many distinct topic sets as possible.
        let mut llt: Vec<&str> = vec![];
        let mut sets = std::collections::BTreeSet::new();
        for (i, id) in ids.iter().enumerate() {
            if llt.len() < l.max_controls && sets.insert(cat.topics(i as u32)) {
                llt.push(id);
            }
        }
        let topic_rules = (l.max_rules - 1).min(l.max_rule_entries / topics.len());
        let mut rules: Vec<serde_json::Value> = (0..topic_rules)
            .map(|_| serde_json::json!({"kind": "bury", "topics": topics, "weight": 0.001}))
            .collect();
        let left = l.max_rule_entries - topic_rules * topics.len();
        let boosted: Vec<&str> = ids.iter().cycle().take(left).copied().collect();
        rules.push(serde_json::json!({"kind": "boost", "items": boosted, "weight": 0.01}));
        let body = serde_json::json!({
            "profile": {"format_version": 1, "events": events, "controls": {"less_like_this": llt}},
            "request": {
                "k": l.max_k, "include_seen": true, "diversity": 1.0, "exploration": 0.5,
                "explain_history": l.max_explain_history, "rules": rules,
                "freshness": {"weight": 0.1, "half_life_days": 30}, "now_ms": 0,
            },
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        let call = parse_rank_body(&bytes, &l).expect("within the limits");
        let (_, stats) = rank_json(&b, &call, &l).unwrap();
        let max_topics = (0..cat.len() as u32)
            .map(|i| cat.topics(i).len())
            .max()
            .unwrap();
        let budget = l.work_budget(cat.len(), max_topics);
        let w = stats.work;
        assert_eq!(w.model_runs, 1 + l.max_explain_history as u64, "{w:?}");
        assert!(w.items_scored <= budget.items_scored, "{w:?} > {budget:?}");
        assert!(w.item_ops <= budget.item_ops, "{w:?} > {budget:?}");
        // One step more on any limit is refused before the bundle is touched.
        let mut over = body.clone();
        over["request"]["explain_history"] = (l.max_explain_history + 1).into();
        let e = parse_rank_body(&serde_json::to_vec(&over).unwrap(), &l).unwrap_err();
        assert_eq!(e.code, "E_LIMIT_EXPLAIN");
        let mut over = body.clone();
        over["request"]["rules"][0]["topics"]
            .as_array_mut()
            .unwrap()
            .push("war".into());
        let e = parse_rank_body(&serde_json::to_vec(&over).unwrap(), &l).unwrap_err();
        assert_eq!(e.code, "E_LIMIT_RULES");

        // Metadata conditions: a catalog whose items all carry an object value, and
        // conditions whose matching value comes last.
        let mut f = reference_files("ranking");
        let mut doc: serde_json::Value = serde_json::from_slice(&f["catalog.json"]).unwrap();
        let n = doc["num_items"].as_u64().unwrap() as usize;
        doc["metadata"] = (0..n)
            .map(|_| serde_json::json!({"tags": {"g": 1}}))
            .collect();
        let catalog = serde_json::to_vec(&doc).unwrap();
        let mut m: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
        m["catalog"]["sha256"] = sha256_hex(&catalog).into();
        m["catalog"]["bytes"] = catalog.len().into();
        f.insert("catalog.json".into(), catalog);
        f.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
        let b = load(&f);
        let per = l.max_filter_values / l.max_filters;
        let condition = |_| {
            let mut values: Vec<serde_json::Value> = (0..per - 1)
                .map(|i| serde_json::json!({"g": i + 2}))
                .collect();
            values.push(serde_json::json!({"g": 1}));
            serde_json::json!({"key": "tags", "one_of": values})
        };
        let conditions: Vec<serde_json::Value> = (0..l.max_filters).map(condition).collect();
        let candidates: Vec<&str> = (0..l.max_candidates.min(n) as u32)
            .map(|i| b.catalog().id(i))
            .collect();
        let body = serde_json::json!({"request": {
            "k": l.max_k, "candidates": candidates, "filter": {"metadata": conditions},
        }});
        let call = parse_rank_body(&serde_json::to_vec(&body).unwrap(), &l).unwrap();
        let (json, stats) = rank_json(&b, &call, &l).unwrap();
        let ranking: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(ranking["counts"]["filtered"], 0, "every item passes");
        let cat = b.catalog();
        let max_topics = (0..cat.len() as u32)
            .map(|i| cat.topics(i).len())
            .max()
            .unwrap();
        let budget = l.work_budget(cat.len(), max_topics);
        assert!(
            stats.work.item_ops <= budget.item_ops,
            "{:?} > {budget:?}",
            stats.work
        );
        assert!(stats.work.item_ops >= (candidates.len() * l.max_filter_values) as u64);
    }

    #[test]
    fn statuses() {
        assert_eq!(status_of("E_UNAUTHORIZED"), 401);
        assert_eq!(status_of("E_BUNDLE_INTEGRITY"), 503);
        assert_eq!(status_of("E_RUNTIME"), 500);
        assert_eq!(status_of("E_INTERNAL"), 500);
        let e = ApiError::new("E_RANK_UNKNOWN_ITEM", "x".repeat(10_000));
        assert!(e.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["code"], "E_RANK_UNKNOWN_ITEM");
    }

    #[test]
    fn server_timing_format() {
        assert_eq!(
            server_timing(&[("bundle", 0.0, "cached"), ("rank", 1.23456, "model \"x\"")]),
            "bundle;dur=0.000;desc=\"cached\", rank;dur=1.235;desc=\"model x\""
        );
    }

    #[test]
    fn hashes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
