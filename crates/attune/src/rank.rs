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
    topics_any: BTreeSet<u16>,
    topics_none: BTreeSet<u16>,
    after: Option<i64>,
    before: Option<i64>,
    boosts: BTreeMap<u32, f64>,
    topic_boosts: Vec<(u16, f64)>,
    pins: Vec<(u32, usize)>,
}

fn resolve<'a>(
    bundle: &'a Bundle,
    profile: &Profile,
    req: &RankRequest,
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
    let mut unknown = vec![];
    let mut item = |id: &String| -> Option<u32> {
        let i = bundle.catalog().index_of(id);
        if i.is_none() {
            unknown.push(id.clone());
        }
        i
    };
    let mut boosts = BTreeMap::new();
    let mut topic_boosts = vec![];
    let mut pins = vec![];
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
                if let Some(i) = item(id) {
                    pins.push((i, *slot));
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
            topic_boosts.push((topic(t)?, w));
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
        topics_any,
        topics_none,
        after: date(&req.filter.published_after)?,
        before: date(&req.filter.published_before)?,
        boosts,
        topic_boosts,
        pins,
    })
}

fn metadata_ok(bundle: &Bundle, i: u32, filters: &[MetadataFilter]) -> bool {
    filters.iter().all(|f| {
        let v = bundle.catalog().metadata(i).and_then(|m| m.get(&f.key));
        let Some(v) = v else { return false };
        f.equals.as_ref().is_none_or(|e| e == v) && f.one_of.as_ref().is_none_or(|s| s.contains(v))
    })
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
    for (p, _) in &r.pins {
        if let Err(pos) = candidates.binary_search(p) {
            candidates.insert(pos, *p);
        }
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
            || !metadata_ok(bundle, i, &req.filter.metadata)
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
        return Ok(Ranking {
            model: model.entry().id.clone(),
            items: vec![],
            inputs,
            counts,
        });
    }

    // 3. Scores.
    let raw = model.score(&inp, &eligible, n, bundle.num_topics())?;

    // 4. Adjustments on a [0, 1] scale, so that rule weights mean the same for every model.
    let (lo, hi) = raw
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(*s), hi.max(*s))
        });
    let spread = hi - lo;
    let llt_topics: Vec<&[u16]> = derived
        .less_like_this
        .iter()
        .map(|i| cat.topics(*i))
        .collect();
    let today = req.now_ms.map(|ms| ms.div_euclid(86_400_000));
    let onboarding_w = unit("onboarding_weight", req.onboarding_weight.unwrap_or(0.03))?;
    let mut rule_boost = vec![0.0f64; eligible.len()];
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
            for (t, w) in &r.topic_boosts {
                if topics.contains(t) {
                    rb += w;
                }
            }
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
            let llt = llt_topics
                .iter()
                .map(|lt| jaccard(topics, lt))
                .fold(0.0f32, f32::max);
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
    let is_pinned = |j: usize| pinned.iter().any(|(p, _)| *p == j);
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
            for o in &left {
                max_sim[*o] = max_sim[*o].max(jaccard(cat.topics(eligible[*o]), tj));
            }
            chosen.push(j);
        }
    } else {
        chosen.extend(order.iter().take(n_model));
    }
    let mut explored = BTreeSet::new();
    if n_explore > 0 {
        let usual = usual_topics(&derived, &prefs);
        let mut pool: Vec<usize> = (0..eligible.len())
            .filter(|j| !chosen.contains(j) && !is_pinned(*j))
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
            explored.insert(j);
        }
    }
    // Fill up when exploration found too few items.
    for j in &order {
        if chosen.len() + pinned.len() >= k {
            break;
        }
        if !chosen.contains(j) {
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
    let depth = req.explain_history.unwrap_or(3);
    let loo = leave_one_out(
        bundle,
        model,
        &inp,
        &derived.history,
        &picked,
        depth,
        (&eligible, &raw),
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
    Ok(Ranking {
        model: model.entry().id.clone(),
        items,
        inputs,
        counts,
    })
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
fn leave_one_out(
    bundle: &Bundle,
    model: &BundleModel,
    inp: &ModelInputs<'_>,
    history: &[HistoryItem],
    chosen: &[(usize, u32, f32)],
    depth: usize,
    eligible: (&[u32], &[f32]),
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
