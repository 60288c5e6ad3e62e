//! The ranker: profile + request → an ordered, explained list.
//!
//! Pipeline (each step is deterministic; ties are broken by model index):
//!
//! 1. **Inputs.** The profile is derived for the bundle ([`Profile::derive`]): the
//!    history (most recent first) and the preferences vector (1.0 for onboarding picks
//!    and boosted topics, 0 otherwise; muted and rejected topics stay 0).
//! 2. **Eligibility.** Candidates (a list, or the whole catalog) minus blocked and
//!    "less like this" items, items with a muted topic, seen items (unless
//!    `include_seen`), and items failing the request's filters.
//! 3. **Scores.** One model run (a catalog-wide model scores everything at once; a
//!    candidate model gets the eligible items in index order, so the result does not
//!    depend on the order of the request's list).
//! 4. **Adjustments.** Model scores are min-max scaled to [0, 1] over the eligible
//!    items, then business rules (boost/bury), boosted topics, "less like this",
//!    rejected topics and freshness add or subtract on that scale.
//! 5. **Selection.** Greedy MMR over topic sets with weight `diversity` (0 = pure score
//!    order), then `round(exploration · k)` slots go to items outside the user's usual
//!    topics, drawn with a generator seeded from the request, then pins take their slots.
//! 6. **Reasons**, from the inputs actually fed to the model (see [`Reason`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::{Bundle, BundleModel, ModelInputs};
use crate::catalog::parse_day;
use crate::error::RankError;
use crate::profile::{Derived, HistoryItem, Profile};

/// Largest `k` a request may ask for.
pub const MAX_K: usize = 1000;
/// Most candidates a request may list.
pub const MAX_CANDIDATES: usize = 100_000;
/// Most business rules per request.
pub const MAX_RULES: usize = 1000;
/// Most item ids and topic ids across all the rules of a request.
pub const MAX_RULE_ENTRIES: usize = 100_000;
/// History items re-scored for "because you watched X" when the request does not say.
pub const DEFAULT_EXPLAIN_HISTORY: usize = 3;
/// Most history items re-scored for "because you watched X" (`explain_history`): each
/// one is a full model run, so this bounds a request's model runs to `1 + 20`.
pub const MAX_EXPLAIN_HISTORY: usize = 20;
/// Most metadata conditions per request.
pub const MAX_METADATA_FILTERS: usize = 64;
/// Most values in one metadata `one_of`.
pub const MAX_ONE_OF: usize = 1000;

/// The work a ranking did, counted in the units that grow with the request and the
/// profile, so that limits can be checked against a budget without timing anything
/// (a timed test would be flaky; BENCHMARKS.md has the times). Everything else a
/// ranking does is a constant per item or per returned item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Work {
    /// Model runs: the scoring run plus one per explained history item.
    pub model_runs: u64,
    /// Items scored across those runs (a catalog-wide model scores the whole catalog
    /// each time; a candidate model the padded candidate batch).
    pub items_scored: u64,
    /// Inner-loop steps of the ranker's own per-item work: metadata conditions and
    /// their values, rule and preference topics, "less like this" comparisons, the
    /// diversity re-ranking's comparisons and the leave-one-out score deltas.
    pub item_ops: u64,
}

/// Filters on item topics, metadata and publication date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// Keep only items with at least one of these topic ids (empty = no constraint).
    pub topics_any: Vec<String>,
    /// Drop items with any of these topic ids.
    pub topics_none: Vec<String>,
    /// Metadata conditions; all must hold.
    pub metadata: Vec<MetadataFilter>,
    /// Keep items published on or after this date (`YYYY-MM-DD`); undated items are dropped.
    pub published_after: Option<String>,
    /// Keep items published on or before this date; undated items are dropped.
    pub published_before: Option<String>,
}

/// One metadata condition: `metadata[key]` equals a value, or is one of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataFilter {
    /// The metadata key.
    pub key: String,
    /// Required value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
}

/// A business rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Add `weight` (on the [0, 1] score scale) to the listed items and topics.
    Boost {
        /// App item ids.
        #[serde(default)]
        items: Vec<String>,
        /// Topic ids.
        #[serde(default)]
        topics: Vec<String>,
        /// Amount added, ≥ 0.
        weight: f64,
    },
    /// Subtract `weight` from the listed items and topics.
    Bury {
        /// App item ids.
        #[serde(default)]
        items: Vec<String>,
        /// Topic ids.
        #[serde(default)]
        topics: Vec<String>,
        /// Amount subtracted, ≥ 0.
        weight: f64,
    },
    /// Put an item at a 0-based slot (if it is eligible: user blocks and filters win).
    Pin {
        /// App item id.
        item: String,
        /// 0-based position.
        slot: usize,
    },
}

/// Freshness bonus: `weight · 0.5^(age_days / half_life_days)` from `published`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    /// Bonus for an item published today, on the [0, 1] score scale.
    pub weight: f64,
    /// Half-life in days.
    pub half_life_days: f64,
}

/// What to rank and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RankRequest {
    /// Model id (default: the bundle's default model).
    pub model: Option<String>,
    /// App item ids to rank; `None` = the whole catalog.
    pub candidates: Option<Vec<String>>,
    /// How many to return (default: the bundle's `defaults.k`).
    pub k: Option<usize>,
    /// The caller's clock in ms, for affinity decay and freshness (default: the
    /// profile's latest event).
    pub now_ms: Option<i64>,
    /// Keep items the user already interacted with.
    pub include_seen: bool,
    /// Filters.
    pub filter: Filter,
    /// Business rules.
    pub rules: Vec<Rule>,
    /// MMR weight in [0, 1] (default: the profile's control, then the bundle default).
    pub diversity: Option<f64>,
    /// Share of exploration slots in [0, 1] (default: profile control, then bundle).
    pub exploration: Option<f64>,
    /// Seed of the exploration draw: same seed, same list.
    pub seed: u64,
    /// Freshness bonus.
    pub freshness: Option<Freshness>,
    /// Raw values of `context` features, by name.
    pub context: BTreeMap<String, f64>,
    /// How many of the most recent history items are re-scored leave-one-out to find
    /// "because you watched X" reasons (default 3; 0 turns it off).
    pub explain_history: Option<usize>,
    /// Cold-start nudge per matching onboarding pick (at most two count), applied only
    /// while the history is empty (default 0.03 on the [0, 1] scale; 0 turns it off).
    pub onboarding_weight: Option<f64>,
}

/// Why an item is in the list. Each reason refers to an input that was actually used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A history item whose removal lowers this item's score (leave-one-out re-scoring
    /// of the most recent history items fed to the model).
    History {
        /// App id of the history item.
        item: String,
        /// Its title.
        title: String,
        /// What the user did ("rated", "liked", …).
        verb: String,
    },
    /// The item carries a topic the user picked at onboarding, and that pick was in the
    /// preferences the model read.
    PickedTopic {
        /// Topic id.
        topic: String,
        /// Topic label.
        label: String,
    },
    /// The item carries a topic the user boosted (fed as a preference and boosted).
    BoostedTopic {
        /// Topic id.
        topic: String,
        /// Topic label.
        label: String,
    },
    /// The item carries a topic that makes up a large share of the history, and the
    /// model read that share as a feature (`topic_share:<topic>`).
    FrequentTopic {
        /// Topic id.
        topic: String,
        /// Topic label.
        label: String,
        /// Share of the history's items with this topic.
        share: f32,
    },
    /// Among the model's top 1 % for a user it knows nothing about (the model's output
    /// for an empty profile, computed once at load).
    Popular,
    /// Recently published (freshness bonus applied).
    Fresh {
        /// The catalog's `published`.
        published: String,
    },
    /// An exploration slot: outside the user's usual topics.
    Exploration,
    /// A business rule changed the score.
    Rule {
        /// Net boost (negative: buried).
        boost: f64,
    },
    /// Pinned by a business rule.
    Pinned {
        /// 0-based slot.
        slot: usize,
    },
}

impl Reason {
    /// English text for display: the only place reason sentences are written. Ranked
    /// items carry it as `why`; the wasm module exports it (`reasonText`) for apps that
    /// show a display title of their own (see [`Reason::text_with_title`]).
    pub fn text(&self) -> String {
        self.text_with_title(None)
    }

    /// [`Reason::text`], with `title` in place of the catalog title of a history
    /// reason's item (an app's display form, e.g. "The Rock" for "Rock, The (1996)").
    /// Other reasons name no item and are unchanged.
    pub fn text_with_title(&self, title: Option<&str>) -> String {
        match self {
            Reason::History {
                title: catalog_title,
                verb,
                ..
            } => format!("because you {verb} {}", title.unwrap_or(catalog_title)),
            Reason::PickedTopic { label, .. } => format!("because you picked {label}"),
            Reason::BoostedTopic { label, .. } => format!("because you asked for more {label}"),
            Reason::FrequentTopic { label, share, .. } => {
                // Half away from zero (5 of 8 reads "63%"), as readers and JavaScript's
                // Math.round expect; `{:.0}` would round half to even ("62%").
                let percent = (f64::from(*share) * 100.0).round();
                format!("because {percent}% of what you watch is {label}")
            }
            Reason::Popular => "popular with everyone".into(),
            Reason::Fresh { published } => format!("new (published {published})"),
            Reason::Exploration => "something different to explore".into(),
            Reason::Rule { boost } if *boost >= 0.0 => "featured".into(),
            Reason::Rule { .. } => "shown lower by the editors".into(),
            Reason::Pinned { .. } => "featured by the editors".into(),
        }
    }
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedItem {
    /// App item id.
    pub id: String,
    /// Model index.
    pub index: u32,
    /// Title.
    pub title: String,
    /// 1-based rank.
    pub rank: usize,
    /// Final score on the adjusted [0, 1]-based scale.
    pub score: f32,
    /// The model's raw score.
    pub model_score: f32,
    /// Reasons, most personal first.
    pub reasons: Vec<Reason>,
    /// The reasons as English display text ([`Reason::text`]), in the same order, so
    /// that every target (browser, Worker, CLI) shows the same words.
    #[serde(default)]
    pub why: Vec<String>,
}

/// What the model was given, for troubleshooting a recommendation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputsUsed {
    /// History item ids fed to the model, most recent first (empty if it reads none).
    pub history: Vec<String>,
    /// Non-zero preferences fed to the model, by topic id.
    pub preferences: BTreeMap<String, f32>,
    /// Normalised feature values fed to the model, when it takes features.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<(String, f32)>,
    /// Profile item ids unknown to this catalog (kept, not used).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_items: Vec<String>,
    /// Profile topic ids unknown to this bundle (kept, not used).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_topics: Vec<String>,
}

/// Why candidates were left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Candidates considered.
    pub candidates: usize,
    /// Left out as already seen.
    pub seen: usize,
    /// Left out as blocked or "less like this".
    pub blocked: usize,
    /// Left out for a muted topic.
    pub muted: usize,
    /// Left out by the request's filters.
    pub filtered: usize,
    /// Scored.
    pub eligible: usize,
}

/// The result of [`rank`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Model id used.
    pub model: String,
    /// The list, best first.
    pub items: Vec<RankedItem>,
    /// What the model read.
    pub inputs: InputsUsed,
    /// Candidate accounting.
    pub counts: Counts,
}

fn invalid(msg: impl Into<String>) -> RankError {
    RankError::Invalid(msg.into())
}

fn unit(name: &str, v: f64) -> Result<f64, RankError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(format!("{name} {v} is not in [0, 1]")))
    }
}

/// splitmix64: tiny, portable, and identical on every target (no platform RNG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn jaccard(a: &[u16], b: &[u16]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.iter().filter(|t| b.contains(t)).count();
    inter as f32 / (a.len() + b.len() - inter) as f32
}

struct Resolved<'a> {
    model: &'a BundleModel,
    k: usize,
    diversity: f64,
    exploration: f64,
    explain_history: usize,
    topics_any: BTreeSet<u16>,
    topics_none: BTreeSet<u16>,
    after: Option<i64>,
    before: Option<i64>,
    metadata: Vec<MetadataCheck<'a>>,
    boosts: BTreeMap<u32, f64>,
    /// Net rule weight per topic index: every rule's topics folded into one number per
    /// topic, so an item costs its own topic count whatever the rules list.
    topic_boosts: Vec<f64>,
    /// One pin per item (the first rule that pins it), earliest slot first.
    pins: Vec<(u32, usize)>,
}

/// A metadata condition prepared for the eligibility loop: scalar `one_of` values in a
/// hash set, so a condition costs one lookup per item whatever the list's length.
struct MetadataCheck<'a> {
    key: &'a str,
    equals: Option<&'a Value>,
    one_of: Option<(std::collections::HashSet<ScalarKey<'a>>, Vec<&'a Value>)>,
}

/// A JSON scalar as a hash key with `serde_json::Value`'s own equality: strings,
/// booleans and null by value; numbers as serde_json compares them (an unsigned, a
/// negative and a float integer are three kinds that never equal one another, so `1`
/// and `1.0` differ; floats compare as f64, so `-0.0` equals `0.0`).
#[derive(Debug, PartialEq, Eq, Hash)]
enum ScalarKey<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    Float(u64),
    String(&'a str),
}

fn scalar_key(v: &Value) -> Option<ScalarKey<'_>> {
    match v {
        Value::Null => Some(ScalarKey::Null),
        Value::Bool(b) => Some(ScalarKey::Bool(*b)),
        Value::Number(n) => Some(if let Some(u) = n.as_u64() {
            ScalarKey::Unsigned(u)
        } else if let Some(i) = n.as_i64() {
            ScalarKey::Negative(i)
        } else {
            // JSON has no NaN; +0.0 stands for both zeros.
            let f = n.as_f64().unwrap_or(0.0);
            ScalarKey::Float(if f == 0.0 { 0 } else { f.to_bits() })
        }),
        Value::String(s) => Some(ScalarKey::String(s)),
        Value::Array(_) | Value::Object(_) => None,
    }
}

impl MetadataCheck<'_> {
    /// Whether the item's metadata passes, counting the comparisons made.
    fn passes(&self, meta: Option<&serde_json::Map<String, Value>>, work: &mut u64) -> bool {
        *work += 1;
        let Some(v) = meta.and_then(|m| m.get(self.key)) else {
            return false;
        };
        if self.equals.is_some_and(|e| e != v) {
            return false;
        }
        match &self.one_of {
            None => true,
            Some((scalars, composite)) => match scalar_key(v) {
                Some(k) => scalars.contains(&k),
                None => {
                    *work += composite.len() as u64;
                    composite.contains(&v)
                }
            },
        }
    }
}

fn resolve<'a>(
    bundle: &'a Bundle,
    profile: &Profile,
    req: &'a RankRequest,
) -> Result<Resolved<'a>, RankError> {
    let model = bundle
        .model(req.model.as_deref())
        .ok_or_else(|| RankError::NoSuchModel(req.model.clone().unwrap_or_default()))?;
    let d = &bundle.manifest().defaults;
    let k = req.k.unwrap_or(d.k);
    if k == 0 {
        return Err(invalid("k must be at least 1"));
    }
    if k > MAX_K {
        return Err(RankError::TooLarge(format!("k {k} > {MAX_K}")));
    }
    let diversity = unit(
        "diversity",
        req.diversity
            .or(profile.controls.diversity)
            .unwrap_or(d.diversity),
    )?;
    let exploration = unit(
        "exploration",
        req.exploration
            .or(profile.controls.exploration)
            .unwrap_or(d.exploration),
    )?;
    let topic = |t: &String| {
        bundle
            .topic_index(t)
            .ok_or_else(|| invalid(format!("unknown topic id {t:?}")))
    };
    let topics_any = req
        .filter
        .topics_any
        .iter()
        .map(topic)
        .collect::<Result<_, _>>()?;
    let topics_none = req
        .filter
        .topics_none
        .iter()
        .map(topic)
        .collect::<Result<_, _>>()?;
    let date = |s: &Option<String>| -> Result<Option<i64>, RankError> {
        s.as_ref()
            .map(|s| parse_day(s).ok_or_else(|| invalid(format!("{s:?} is not a YYYY-MM-DD date"))))
            .transpose()
    };
    if req.rules.len() > MAX_RULES {
        return Err(RankError::TooLarge(format!(
            "{} rules > {MAX_RULES}",
            req.rules.len()
        )));
    }
    let entries: usize = req.rules.iter().map(Rule::entries).sum();
    if entries > MAX_RULE_ENTRIES {
        return Err(RankError::TooLarge(format!(
            "the rules list {entries} item and topic ids > {MAX_RULE_ENTRIES}"
        )));
    }
    let explain_history = req.explain_history.unwrap_or(DEFAULT_EXPLAIN_HISTORY);
    if explain_history > MAX_EXPLAIN_HISTORY {
        return Err(RankError::TooLarge(format!(
            "explain_history {explain_history} > {MAX_EXPLAIN_HISTORY}"
        )));
    }
    let metadata = metadata_checks(&req.filter.metadata)?;
    let mut unknown = vec![];
    let mut item = |id: &String| -> Option<u32> {
        let i = bundle.catalog().index_of(id);
        if i.is_none() {
            unknown.push(id.clone());
        }
        i
    };
    let mut boosts = BTreeMap::new();
    let mut topic_boosts = vec![0.0f64; bundle.num_topics()];
    let mut pins = vec![];
    let mut pinned = BTreeSet::new();
    for rule in &req.rules {
        let (items, topics, w) = match rule {
            Rule::Boost {
                items,
                topics,
                weight,
            } => (items, topics, *weight),
            Rule::Bury {
                items,
                topics,
                weight,
            } => (items, topics, -*weight),
            Rule::Pin { item: id, slot } => {
                if *slot >= MAX_K {
                    return Err(invalid(format!("pin slot {slot} >= {MAX_K}")));
                }
                // An item pinned twice keeps its first rule: one item, one slot.
                if let Some(i) = item(id) {
                    if pinned.insert(i) {
                        pins.push((i, *slot));
                    }
                }
                continue;
            }
        };
        if !w.is_finite() || w.abs() > 100.0 {
            return Err(invalid(format!(
                "rule weight {w} is not a finite number in [0, 100]"
            )));
        }
        if matches!(rule, Rule::Boost { weight, .. } | Rule::Bury { weight, .. } if *weight < 0.0) {
            return Err(invalid("rule weights are >= 0 (use bury to lower)"));
        }
        if items.len() > MAX_CANDIDATES {
            return Err(RankError::TooLarge(format!(
                "a rule lists {} items",
                items.len()
            )));
        }
        for id in items {
            if let Some(i) = item(id) {
                *boosts.entry(i).or_insert(0.0) += w;
            }
        }
        for t in topics {
            topic_boosts[usize::from(topic(t)?)] += w;
        }
    }
    if !unknown.is_empty() {
        return Err(RankError::UnknownItems(unknown));
    }
    if let Some(f) = &req.freshness {
        if !f.weight.is_finite()
            || !(0.0..=100.0).contains(&f.weight)
            || f.half_life_days <= 0.0
            || !f.half_life_days.is_finite()
        {
            return Err(invalid("freshness: weight in [0, 100], half_life_days > 0"));
        }
    }
    for (name, v) in &req.context {
        if !v.is_finite() {
            return Err(invalid(format!("context value {name:?} is not finite")));
        }
    }
    // Earliest pins first; on equal slots, the rule listed first wins the slot.
    pins.sort_by_key(|p| p.1);
    Ok(Resolved {
        model,
        k,
        diversity,
        exploration,
        explain_history,
        topics_any,
        topics_none,
        after: date(&req.filter.published_after)?,
        before: date(&req.filter.published_before)?,
        metadata,
        boosts,
        topic_boosts,
        pins,
    })
}

impl Rule {
    /// Item ids and topic ids the rule lists (a pin counts one).
    pub fn entries(&self) -> usize {
        match self {
            Rule::Boost { items, topics, .. } | Rule::Bury { items, topics, .. } => {
                items.len() + topics.len()
            }
            Rule::Pin { .. } => 1,
        }
    }
}

fn metadata_checks(filters: &[MetadataFilter]) -> Result<Vec<MetadataCheck<'_>>, RankError> {
    if filters.len() > MAX_METADATA_FILTERS {
        return Err(RankError::TooLarge(format!(
            "{} metadata conditions > {MAX_METADATA_FILTERS}",
            filters.len()
        )));
    }
    filters
        .iter()
        .map(|f| {
            let one_of = match &f.one_of {
                None => None,
                Some(values) if values.len() > MAX_ONE_OF => {
                    return Err(RankError::TooLarge(format!(
                        "metadata {:?}: one_of lists {} values > {MAX_ONE_OF}",
                        f.key,
                        values.len()
                    )))
                }
                Some(values) => {
                    let mut scalars = std::collections::HashSet::new();
                    let mut composite = vec![];
                    for v in values {
                        match scalar_key(v) {
                            Some(k) => {
                                scalars.insert(k);
                            }
                            None => composite.push(v),
                        }
                    }
                    Some((scalars, composite))
                }
            };
            Ok(MetadataCheck {
                key: &f.key,
                equals: f.equals.as_ref(),
                one_of,
            })
        })
        .collect()
}

/// The preferences vector fed to the model: 1.0 for picks and boosts.
pub(crate) fn preferences(bundle: &Bundle, d: &Derived) -> Vec<f32> {
    let mut p = vec![0.0f32; bundle.num_topics()];
    for t in d.picked.iter().chain(&d.boosted) {
        p[*t as usize] = 1.0;
    }
    // Muting or rejecting a topic outranks picking it (the later, explicit "no" wins).
    for t in d.muted.iter().chain(&d.rejected) {
        p[*t as usize] = 0.0;
    }
    p
}

/// Share of history items carrying each topic (the `topic_share:` features).
pub(crate) fn topic_share(bundle: &Bundle, history: &[u32]) -> Vec<f32> {
    let mut counts = vec![0u32; bundle.num_topics()];
    for h in history {
        for t in bundle.catalog().topics(*h) {
            counts[*t as usize] += 1;
        }
    }
    let n = history.len();
    counts
        .into_iter()
        .map(|c| if n == 0 { 0.0 } else { c as f32 / n as f32 })
        .collect()
}

/// Ranks candidates for a profile. See the module docs for the pipeline.
pub fn rank(bundle: &Bundle, profile: &Profile, req: &RankRequest) -> Result<Ranking, RankError> {
    rank_with_work(bundle, profile, req).map(|(r, _)| r)
}

/// [`rank`], also reporting the [`Work`] it did.
pub fn rank_with_work(
    bundle: &Bundle,
    profile: &Profile,
    req: &RankRequest,
) -> Result<(Ranking, Work), RankError> {
    let mut work = Work::default();
    let r = resolve(bundle, profile, req)?;
    let cat = bundle.catalog();
    let n = cat.len();
    let derived = profile.derive(bundle, req.now_ms);

    // 2. Eligibility.
    let mut counts = Counts::default();
    let mut candidates: Vec<u32> = match &req.candidates {
        None => (0..n as u32).collect(),
        Some(ids) => {
            if ids.len() > MAX_CANDIDATES {
                return Err(RankError::TooLarge(format!(
                    "{} candidates > {MAX_CANDIDATES}",
                    ids.len()
                )));
            }
            let mut unknown = vec![];
            let mut v = Vec::with_capacity(ids.len());
            for id in ids {
                match cat.index_of(id) {
                    Some(i) => v.push(i),
                    None => unknown.push(id.clone()),
                }
            }
            if !unknown.is_empty() {
                return Err(RankError::UnknownItems(unknown));
            }
            // Index order makes everything after this independent of the list's order.
            v.sort_unstable();
            if let Some(w) = v.windows(2).find(|w| w[0] == w[1]) {
                return Err(invalid(format!(
                    "candidate {:?} is listed twice",
                    cat.id(w[0])
                )));
            }
            v
        }
    };
    // Pinned items are ranked even when the list does not name them.
    if !r.pins.is_empty() {
        candidates.extend(r.pins.iter().map(|p| p.0));
        candidates.sort_unstable();
        candidates.dedup();
    }
    counts.candidates = candidates.len();
    let mut eligible = Vec::with_capacity(candidates.len());
    for &i in &candidates {
        let topics = cat.topics(i);
        if derived.blocked.contains(&i) || derived.less_like_this.contains(&i) {
            counts.blocked += 1;
        } else if topics.iter().any(|t| derived.muted.contains(t)) {
            counts.muted += 1;
        } else if !req.include_seen && derived.seen.contains(&i) {
            counts.seen += 1;
        } else if (!r.topics_any.is_empty() && !topics.iter().any(|t| r.topics_any.contains(t)))
            || topics.iter().any(|t| r.topics_none.contains(t))
            || !r
                .metadata
                .iter()
                .all(|m| m.passes(cat.metadata(i), &mut work.item_ops))
            || r.after
                .is_some_and(|a| cat.published_day(i).is_none_or(|d| d < a))
            || r.before
                .is_some_and(|b| cat.published_day(i).is_none_or(|d| d > b))
        {
            counts.filtered += 1;
        } else {
            eligible.push(i);
        }
    }
    counts.eligible = eligible.len();

    // 1. Model inputs.
    let history: Vec<u32> = derived.history.iter().map(|h| h.index).collect();
    let prefs = preferences(bundle, &derived);
    let share = topic_share(bundle, &history);
    let inp = ModelInputs {
        history: &history,
        preferences: &prefs,
        topic_share: &share,
        masked: None,
        context: &req.context,
    };
    let model = r.model;
    let mut inputs = InputsUsed {
        history: history
            .iter()
            .take(if model.history_len() > 0 {
                model.history_len()
            } else if model.reads_history() {
                usize::MAX
            } else {
                0
            })
            .map(|i| cat.id(*i).to_string())
            .collect(),
        preferences: if model.reads_preferences() {
            prefs
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(t, v)| (bundle.topic_id(t as u16).to_string(), *v))
                .collect()
        } else {
            BTreeMap::new()
        },
        features: model.feature_values(&inp).map_err(RankError::Invalid)?,
        unknown_items: derived.unknown_items.clone(),
        unknown_topics: derived.unknown_topics.clone(),
    };
    if eligible.is_empty() {
        let ranking = Ranking {
            model: model.entry().id.clone(),
            items: vec![],
            inputs,
            counts,
        };
        return Ok((ranking, work));
    }

    // 3. Scores.
    let raw = model.score(&inp, &eligible, n, bundle.num_topics())?;
    work.count_run(model, eligible.len(), n);

    // 4. Adjustments on a [0, 1] scale, so that rule weights mean the same for every model.
    let (lo, hi) = raw
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(*s), hi.max(*s))
        });
    let spread = hi - lo;
    // Distinct topic sets only: a thousand "less like this" items of one genre cost
    // one comparison per item, not a thousand.
    let llt_topics: Vec<&[u16]> = derived
        .less_like_this
        .iter()
        .map(|i| cat.topics(*i))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let today = req.now_ms.map(|ms| ms.div_euclid(86_400_000));
    let onboarding_w = unit("onboarding_weight", req.onboarding_weight.unwrap_or(0.03))?;
    let mut rule_boost = vec![0.0f64; eligible.len()];
    let mut llt_memo: BTreeMap<&[u16], f32> = BTreeMap::new();
    let adj: Vec<f32> = eligible
        .iter()
        .zip(&raw)
        .enumerate()
        .map(|(j, (&i, &s))| {
            let topics = cat.topics(i);
            let mut a = if spread > 0.0 {
                ((s - lo) / spread) as f64
            } else {
                0.0
            };
            let mut rb = r.boosts.get(&i).copied().unwrap_or(0.0);
            for t in topics {
                rb += r.topic_boosts[usize::from(*t)];
            }
            work.item_ops += topics.len() as u64;
            rule_boost[j] = rb;
            a += rb;
            // Cold start: a reference sequence model's onboarding head is weak against
            // its popularity prior (MovieLens: two off-topic titles in a 3-pick top 10),
            // so picks get a small nudge. Only with an empty history, so warm rankings
            // (and the offline metrics) are pure model order.
            if history.is_empty() {
                a += onboarding_w
                    * topics
                        .iter()
                        .filter(|t| derived.picked.contains(t))
                        .count()
                        .min(2) as f64;
            }
            // The user's own "more of this": a nudge, smaller than an editor's boost.
            a += 0.1
                * topics
                    .iter()
                    .filter(|t| derived.boosted.contains(t))
                    .count()
                    .min(2) as f64;
            if !topics.is_empty() {
                let rejected = topics
                    .iter()
                    .filter(|t| derived.rejected.contains(t))
                    .count();
                a -= 0.2 * rejected as f64 / topics.len() as f64;
            }
            // The demotion depends only on the item's topic set: computed once per
            // distinct set, so a catalog of a few hundred genre combinations costs a few
            // hundred comparisons per "less like this" set, not one per item.
            let llt = *llt_memo.entry(topics).or_insert_with(|| {
                work.item_ops += llt_topics.len() as u64;
                llt_topics
                    .iter()
                    .map(|lt| jaccard(topics, lt))
                    .fold(0.0f32, f32::max)
            });
            a -= 0.3 * llt as f64;
            if let (Some(f), Some(today), Some(day)) = (&req.freshness, today, cat.published_day(i))
            {
                let age = (today - day).max(0) as f64;
                a += f.weight * 0.5f64.powf(age / f.half_life_days);
            }
            a as f32
        })
        .collect();

    // 5. Selection. Order: adjusted score, then raw score, then model index.
    let mut order: Vec<usize> = (0..eligible.len()).collect();
    let better = |a: &usize, b: &usize| {
        adj[*b]
            .total_cmp(&adj[*a])
            .then(raw[*b].total_cmp(&raw[*a]))
            .then(eligible[*a].cmp(&eligible[*b]))
    };
    let pinned: Vec<(usize, usize)> = r
        .pins
        .iter()
        .filter_map(|(item, slot)| eligible.binary_search(item).ok().map(|j| (j, *slot)))
        .collect();
    let mut pin_mask = vec![false; eligible.len()];
    for (j, _) in &pinned {
        pin_mask[*j] = true;
    }
    let is_pinned = |j: usize| pin_mask[j];
    let k = r.k.min(eligible.len());
    let n_explore = ((r.exploration * r.k as f64).round() as usize).min(k.saturating_sub(1));
    let n_model = k
        .saturating_sub(pinned.len().min(k))
        .saturating_sub(n_explore);
    // Only a pool of the best items can win a slot; ranking all of them is wasted work.
    let pool_size = (n_model * 5).max(50).min(order.len());
    if pool_size < order.len() {
        order.select_nth_unstable_by(pool_size - 1, better);
        order.truncate(pool_size);
    }
    order.sort_unstable_by(better);
    order.retain(|j| !is_pinned(*j));
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    if r.diversity > 0.0 {
        let d = r.diversity as f32;
        let mut left = order.clone();
        let mut max_sim = vec![0.0f32; eligible.len()];
        // Similarity depends only on topic sets: each pick compares its set with the
        // pool's distinct sets once, then every pool item reads its set's value.
        let mut sets: Vec<&[u16]> = vec![];
        let mut set_of = vec![0usize; eligible.len()];
        {
            let mut ids: BTreeMap<&[u16], usize> = BTreeMap::new();
            for &o in &left {
                let t = cat.topics(eligible[o]);
                set_of[o] = *ids.entry(t).or_insert_with(|| {
                    sets.push(t);
                    sets.len() - 1
                });
            }
        }
        while chosen.len() < n_model && !left.is_empty() {
            let (pos, _) =
                left.iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |(bp, bv), (p, j)| {
                        let v = (1.0 - d) * adj[*j] - d * max_sim[*j];
                        // `>` keeps the earlier (better by the stable order) item on ties.
                        if v > bv {
                            (p, v)
                        } else {
                            (bp, bv)
                        }
                    });
            let j = left.remove(pos);
            let tj = cat.topics(eligible[j]);
            let sim: Vec<f32> = sets.iter().map(|s| jaccard(s, tj)).collect();
            for o in &left {
                max_sim[*o] = max_sim[*o].max(sim[set_of[*o]]);
            }
            work.item_ops += (sets.len() + 2 * left.len()) as u64;
            chosen.push(j);
        }
    } else {
        chosen.extend(order.iter().take(n_model));
    }
    let mut explored = BTreeSet::new();
    let mut in_chosen = vec![false; eligible.len()];
    for j in &chosen {
        in_chosen[*j] = true;
    }
    if n_explore > 0 {
        let usual = usual_topics(&derived, &prefs);
        let mut pool: Vec<usize> = (0..eligible.len())
            .filter(|j| !in_chosen[*j] && !is_pinned(*j))
            .filter(|j| {
                let t = cat.topics(eligible[*j]);
                !t.is_empty() && !t.iter().any(|t| usual.contains(t))
            })
            .collect();
        pool.sort_unstable_by(better);
        pool.truncate(50);
        let mut rng = Rng(req.seed ^ 0x6174_7475_6e65_2e78);
        for _ in 0..n_explore {
            if pool.is_empty() {
                break;
            }
            let j = pool.remove(rng.below(pool.len()));
            // Never the first slot: the top spot stays the best personal match.
            let slot = 1 + rng.below(chosen.len());
            chosen.insert(slot.min(chosen.len()), j);
            in_chosen[j] = true;
            explored.insert(j);
        }
    }
    // Fill up when exploration found too few items.
    for j in &order {
        if chosen.len() + pinned.len() >= k {
            break;
        }
        if !in_chosen[*j] {
            in_chosen[*j] = true;
            chosen.push(*j);
        }
    }
    let mut pin_slot = BTreeMap::new();
    for (j, slot) in &pinned {
        let at = (*slot).min(chosen.len());
        chosen.insert(at, *j);
        pin_slot.insert(*j, *slot);
    }
    chosen.truncate(k);

    // 6. Reasons.
    let picked: Vec<(usize, u32, f32)> = chosen.iter().map(|&j| (j, eligible[j], raw[j])).collect();
    let loo = leave_one_out(
        bundle,
        model,
        &inp,
        &derived.history,
        &picked,
        r.explain_history,
        (&eligible, &raw),
        &mut work,
    )?;
    let prior_cut = (n / 100).max(10) as u32;
    let items = chosen
        .iter()
        .enumerate()
        .map(|(pos, &j)| {
            let i = eligible[j];
            let topics = cat.topics(i);
            let mut reasons = vec![];
            if let Some(slot) = pin_slot.get(&j) {
                reasons.push(Reason::Pinned { slot: *slot });
            }
            if explored.contains(&j) {
                reasons.push(Reason::Exploration);
            }
            if rule_boost[j] != 0.0 {
                reasons.push(Reason::Rule {
                    boost: rule_boost[j],
                });
            }
            if let Some(h) = loo.get(&j) {
                reasons.push(h.clone());
            }
            if model.reads_preferences() {
                for t in topics {
                    if prefs[*t as usize] > 0.0 {
                        let (topic, label) = (
                            bundle.topic_id(*t).to_string(),
                            bundle.topic_label(*t).to_string(),
                        );
                        reasons.push(if derived.picked.contains(t) {
                            Reason::PickedTopic { topic, label }
                        } else {
                            Reason::BoostedTopic { topic, label }
                        });
                    }
                }
            }
            if model.reads_history() && model.history_len() == 0 && !history.is_empty() {
                if let Some(t) = topics.iter().max_by(|a, b| {
                    share[**a as usize]
                        .total_cmp(&share[**b as usize])
                        .then(b.cmp(a))
                }) {
                    let s = share[*t as usize];
                    if s >= 0.25 {
                        reasons.push(Reason::FrequentTopic {
                            topic: bundle.topic_id(*t).to_string(),
                            label: bundle.topic_label(*t).to_string(),
                            share: s,
                        });
                    }
                }
            }
            if model
                .prior_rank()
                .get(i as usize)
                .is_some_and(|r| *r < prior_cut)
            {
                reasons.push(Reason::Popular);
            }
            if let (Some(f), Some(today), Some(day)) = (&req.freshness, today, cat.published_day(i))
            {
                if f.weight > 0.0 && ((today - day).max(0) as f64) < f.half_life_days {
                    reasons.push(Reason::Fresh {
                        published: cat.published(i).unwrap_or_default().to_string(),
                    });
                }
            }
            RankedItem {
                id: cat.id(i).to_string(),
                index: i,
                title: cat.title(i).to_string(),
                rank: pos + 1,
                score: adj[j],
                model_score: raw[j],
                why: reasons.iter().map(Reason::text).collect(),
                reasons,
            }
        })
        .collect();
    inputs.unknown_items.sort();
    let ranking = Ranking {
        model: model.entry().id.clone(),
        items,
        inputs,
        counts,
    };
    Ok((ranking, work))
}

impl Work {
    /// Counts one model run over `candidates` items of a catalog of `num_items`.
    fn count_run(&mut self, model: &BundleModel, candidates: usize, num_items: usize) {
        self.model_runs += 1;
        self.items_scored += if model.scores_catalog() {
            num_items
        } else {
            model.bucket(candidates.max(1), num_items)
        } as u64;
    }
}

/// Topics the user is known to like: picks, boosts, and topics whose decayed affinity
/// is at least a quarter of the strongest one.
fn usual_topics(d: &Derived, prefs: &[f32]) -> BTreeSet<u16> {
    let max = d.affinity.iter().copied().fold(0.0f32, f32::max);
    let mut s: BTreeSet<u16> = prefs
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .map(|(t, _)| t as u16)
        .collect();
    if max > 0.0 {
        s.extend(
            d.affinity
                .iter()
                .enumerate()
                .filter(|(_, a)| **a >= 0.25 * max)
                .map(|(t, _)| t as u16),
        );
    }
    s
}

/// "Because you watched X": re-score the chosen items with each of the most recent
/// history items left out; the history item whose removal costs an item the most
/// score beyond the median drop (by at least 2 % of the score spread) is its reason. For a catalog-wide model
/// that is one full run per history item; for a candidate model only the chosen items
/// are re-scored.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn leave_one_out(
    bundle: &Bundle,
    model: &BundleModel,
    inp: &ModelInputs<'_>,
    history: &[HistoryItem],
    chosen: &[(usize, u32, f32)],
    depth: usize,
    eligible: (&[u32], &[f32]),
    work: &mut Work,
) -> Result<BTreeMap<usize, Reason>, RankError> {
    let mut out = BTreeMap::new();
    let fed = if model.history_len() > 0 {
        model.history_len()
    } else {
        inp.history.len()
    };
    let h = depth.min(inp.history.len()).min(fed);
    if h == 0 || !model.reads_history() || chosen.is_empty() {
        return Ok(out);
    }
    let cat = bundle.catalog();
    // The reference set: every eligible item for a catalog model (its run scores them
    // all anyway), the chosen items for a candidate model (re-scoring only k is cheap).
    // Sorted by index so that a candidate model sees the same batch whatever the order.
    let (ref_items, ref_raw): (Vec<u32>, Vec<f32>) = if model.scores_catalog() {
        (eligible.0.to_vec(), eligible.1.to_vec())
    } else {
        let mut v: Vec<(u32, f32)> = chosen.iter().map(|c| (c.1, c.2)).collect();
        v.sort_unstable_by_key(|c| c.0);
        v.into_iter().unzip()
    };
    let (lo, hi) = eligible
        .1
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), s| {
            (l.min(*s), h.max(*s))
        });
    let threshold = 0.02 * (hi - lo);
    let mut best: BTreeMap<usize, (f32, usize)> = BTreeMap::new();
    for pos in 0..h {
        let mut rest: Vec<u32> = inp.history.to_vec();
        rest.remove(pos);
        let share = topic_share(bundle, &rest);
        // The item is masked in place (the others keep their positions and recency
        // weights); derived features (topic shares, history length) drop it.
        let without = ModelInputs {
            history: inp.history,
            preferences: inp.preferences,
            topic_share: &share,
            masked: Some(pos),
            context: inp.context,
        };
        let s = model.score(&without, &ref_items, cat.len(), bundle.num_topics())?;
        work.count_run(model, ref_items.len(), cat.len());
        work.item_ops += ref_items.len() as u64;
        let deltas: Vec<f32> = ref_raw.iter().zip(&s).map(|(a, b)| a - b).collect();
        // Removing a history item shifts every score (e.g. through the bag's length
        // normalization); only a drop beyond the typical one says that this history
        // item matters for this recommendation in particular.
        let mut sorted_d = deltas.clone();
        sorted_d.sort_unstable_by(f32::total_cmp);
        let median = sorted_d[sorted_d.len() / 2];
        for (j, item, _) in chosen {
            let Ok(r) = ref_items.binary_search(item) else {
                continue;
            };
            let delta = deltas[r] - median;
            if delta > threshold && best.get(j).is_none_or(|(d, _)| delta > *d) {
                best.insert(*j, (delta, pos));
            }
        }
    }
    for (j, _, _) in chosen {
        if let Some(&(_, pos)) = best.get(j) {
            let hist = &history[pos];
            out.insert(
                *j,
                Reason::History {
                    item: cat.id(hist.index).to_string(),
                    title: cat.title(hist.index).to_string(),
                    verb: hist.kind.verb().to_string(),
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod reason_tests {
    use super::Reason;

    #[test]
    fn shares_round_half_away_from_zero() {
        let r = |share: f32| {
            Reason::FrequentTopic {
                topic: "war".into(),
                label: "War".into(),
                share,
            }
            .text()
        };
        assert_eq!(r(5.0 / 8.0), "because 63% of what you watch is War");
        assert_eq!(r(1.0 / 8.0), "because 13% of what you watch is War");
        assert_eq!(r(5.0 / 6.0), "because 83% of what you watch is War");
        assert_eq!(r(1.0), "because 100% of what you watch is War");
    }

    #[test]
    fn a_display_title_replaces_only_the_history_items_title() {
        let h = Reason::History {
            item: "1".into(),
            title: "Rock, The (1996)".into(),
            verb: "liked".into(),
        };
        assert_eq!(h.text(), "because you liked Rock, The (1996)");
        assert_eq!(
            h.text_with_title(Some("The Rock")),
            "because you liked The Rock"
        );
        assert_eq!(
            Reason::Popular.text_with_title(Some("x")),
            "popular with everyone"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ranking, sequence};

    fn req(json: serde_json::Value) -> RankRequest {
        serde_json::from_value(json).unwrap()
    }

    fn warm_profile() -> Profile {
        let mut p = Profile::new();
        for (i, item) in ["50", "181", "172", "174", "1", "98", "127"]
            .iter()
            .enumerate()
        {
            p.record(crate::Event {
                item: (*item).into(),
                ts: 1_000 * (i as i64 + 1),
                kind: crate::EventKind::Like,
            })
            .unwrap();
        }
        p.controls.less_like_this = vec!["2".into()];
        p
    }

    #[test]
    fn an_item_pinned_twice_is_listed_once() {
        let r = rank(
            ranking(),
            &Profile::new(),
            &req(serde_json::json!({
                "k": 10,
                "rules": [
                    {"kind": "pin", "item": "50", "slot": 0},
                    {"kind": "pin", "item": "50", "slot": 4},
                    {"kind": "pin", "item": "50", "slot": 0},
                ],
            })),
        )
        .unwrap();
        let ids: Vec<&str> = r.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), 10);
        assert_eq!(ids.iter().filter(|i| **i == "50").count(), 1, "{ids:?}");
        // The first rule wins.
        assert_eq!(ids[0], "50");
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    /// Every rule lists every topic: the ranker must still do per item only as many
    /// topic steps as the item has topics.
    #[test]
    fn rule_topics_cost_each_item_its_own_topics() {
        let b = sequence();
        let all: Vec<String> = b.manifest().topics.iter().map(|t| t.id.clone()).collect();
        let rules: Vec<serde_json::Value> = (0..MAX_RULES)
            .map(|_| serde_json::json!({"kind": "bury", "topics": all, "weight": 0.001}))
            .collect();
        let p = warm_profile();
        let base = req(serde_json::json!({"k": 10, "explain_history": 0}));
        let mut heavy = base.clone();
        heavy.rules = serde_json::from_value(serde_json::Value::Array(rules)).unwrap();
        let (_, w0) = rank_with_work(b, &p, &base).unwrap();
        let (r1, w1) = rank_with_work(b, &p, &heavy).unwrap();
        assert_eq!(w1.model_runs, 1);
        // Same work with and without the rules: rule topics are folded per topic.
        assert_eq!(w1.item_ops, w0.item_ops, "{w0:?} vs {w1:?}");
        // …and they still apply: every item is buried by 1000 · 0.001 per topic.
        for item in &r1.items {
            let topics = b.catalog().topics(item.index).len() as f64;
            let boost = item.reasons.iter().find_map(|r| match r {
                Reason::Rule { boost } => Some(*boost),
                _ => None,
            });
            assert!((boost.unwrap_or(0.0) + topics).abs() < 1e-9, "{item:?}");
        }
    }

    #[test]
    fn explained_history_is_bounded() {
        let b = sequence();
        let p = warm_profile();
        let over = req(serde_json::json!({"k": 10, "explain_history": MAX_EXPLAIN_HISTORY + 1}));
        let e = rank(b, &p, &over).expect_err("over the cap");
        assert_eq!(e.code(), "E_RANK_TOO_LARGE");
        let (_, w) = rank_with_work(
            b,
            &p,
            &req(serde_json::json!({"k": 10, "explain_history": 5})),
        )
        .unwrap();
        // The profile has 7 history items: one scoring run plus 5 leave-one-out runs.
        assert_eq!(w.model_runs, 6);
        assert_eq!(w.items_scored, 6 * b.catalog().len() as u64);
    }

    #[test]
    fn one_of_costs_one_lookup_per_item() {
        let b = ranking();
        let values: Vec<serde_json::Value> = (0..MAX_ONE_OF).map(|i| i.into()).collect();
        let filter = serde_json::json!([{"key": "year", "one_of": values}]);
        let (r, w) = rank_with_work(
            b,
            &Profile::new(),
            &req(serde_json::json!({"k": 5, "filter": {"metadata": filter}})),
        )
        .unwrap();
        // The reference catalog has no metadata: everything is filtered, after one
        // step per item.
        assert_eq!(r.counts.filtered, b.catalog().len());
        assert_eq!(w.item_ops, b.catalog().len() as u64);
        let too_many: Vec<serde_json::Value> = (0..=MAX_ONE_OF).map(|i| i.into()).collect();
        let e = rank(
            b,
            &Profile::new(),
            &req(serde_json::json!({"filter": {"metadata": [{"key": "y", "one_of": too_many}]}})),
        )
        .expect_err("one_of over the cap");
        assert_eq!(e.code(), "E_RANK_TOO_LARGE");
    }

    #[test]
    fn scalar_keys_keep_json_equality() {
        let pairs = [
            (serde_json::json!(1), serde_json::json!(1)),
            (serde_json::json!("a"), serde_json::json!("a")),
            (serde_json::json!(null), serde_json::json!(null)),
            (serde_json::json!(1), serde_json::json!(1.0)),
            (serde_json::json!("1"), serde_json::json!(1)),
            (serde_json::json!(true), serde_json::json!("true")),
            (serde_json::json!(-0.0), serde_json::json!(0.0)),
            (serde_json::json!(-1), serde_json::json!(-1)),
            (serde_json::json!(-1), serde_json::json!(-1.0)),
            (serde_json::json!(2.5), serde_json::json!(2.5)),
            (serde_json::json!(u64::MAX), serde_json::json!(u64::MAX)),
        ];
        for (a, b) in pairs {
            assert_eq!(scalar_key(&a) == scalar_key(&b), a == b, "{a} vs {b}");
        }
    }

    #[test]
    fn too_many_rule_entries_are_refused() {
        let items: Vec<String> = (0..=MAX_RULE_ENTRIES).map(|i| format!("x{i}")).collect();
        let e = rank(
            ranking(),
            &Profile::new(),
            &req(serde_json::json!({"rules": [{"kind": "boost", "items": items, "weight": 1}]})),
        )
        .expect_err("over the cap");
        assert_eq!(e.code(), "E_RANK_TOO_LARGE");
    }
}
