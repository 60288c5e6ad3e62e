//! The user's on-device state: events, onboarding answers, controls and privacy
//! settings, serialized as versioned JSON. Everything the ranker needs (the history fed
//! to the model, topic affinities, the seen set) is *derived* from it on demand, so the
//! stored form has a single source of truth and no cache that can drift.
//!
//! Item ids are the app's own strings and are kept even when the current bundle does
//! not know them (a newer catalog may): the model ignores them, nothing is lost.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::error::ProfileError;

/// The profile format this runtime writes.
pub const PROFILE_FORMAT_VERSION: u32 = 1;

/// Upper bound on stored events even without a retention setting, so that a runaway
/// client cannot grow the profile (and every `rank` call, which derives from it)
/// without limit. Oldest events go first.
pub const MAX_EVENTS_HARD: usize = 100_000;

/// What the user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The item was shown.
    Impression,
    /// The item was opened / watched / read.
    View,
    /// The item was clicked.
    Click,
    /// Explicit like.
    Like,
    /// Explicit dislike.
    Dislike,
    /// Skipped after being shown.
    Skip,
    /// Time spent on the item.
    Dwell {
        /// Milliseconds.
        ms: u64,
    },
    /// An explicit rating (MovieLens: 1–5).
    Rating {
        /// The rating.
        value: f64,
    },
    /// Bought.
    Purchase,
    /// Shared.
    Share,
}

impl EventKind {
    /// Past-tense verb for reasons ("because you rated Alien").
    pub fn verb(&self) -> &'static str {
        match self {
            EventKind::Impression => "saw",
            EventKind::View | EventKind::Dwell { .. } => "watched",
            EventKind::Click => "opened",
            EventKind::Like => "liked",
            EventKind::Dislike => "disliked",
            EventKind::Skip => "skipped",
            EventKind::Rating { .. } => "rated",
            EventKind::Purchase => "bought",
            EventKind::Share => "shared",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The app's item id.
    pub item: String,
    /// Milliseconds since the Unix epoch, from the caller's clock.
    pub ts: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Onboarding answers. Works with zero history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboarding {
    /// Topic ids the user picked.
    #[serde(default)]
    pub picked_topics: Vec<String>,
    /// Topic ids the user said no to.
    #[serde(default)]
    pub rejected_topics: Vec<String>,
    /// Seed items the user liked on the onboarding screen.
    #[serde(default)]
    pub liked_items: Vec<String>,
}

/// The user's explicit controls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controls {
    /// Items carrying any of these topics are never shown.
    #[serde(default)]
    pub muted_topics: Vec<String>,
    /// Topics fed to the model as preferences and boosted when re-ranking.
    #[serde(default)]
    pub boosted_topics: Vec<String>,
    /// Items never shown.
    #[serde(default)]
    pub blocked_items: Vec<String>,
    /// "Less like this": the item is hidden and items sharing its topics are demoted.
    #[serde(default)]
    pub less_like_this: Vec<String>,
    /// The user's exploration preference in [0, 1] (overrides the bundle default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploration: Option<f64>,
    /// The user's diversity preference in [0, 1] (overrides the bundle default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversity: Option<f64>,
}

/// How long events are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep at most this many events (the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<usize>,
    /// Drop events older than this many milliseconds (applied with the caller's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_ms: Option<i64>,
}

/// Tunables of the derived state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Half-life of topic affinities, in milliseconds.
    #[serde(default = "default_half_life")]
    pub affinity_half_life_ms: i64,
    /// A dwell shorter than this does not put the item in the history.
    #[serde(default = "default_min_dwell")]
    pub min_dwell_ms: u64,
    /// Retention limits.
    #[serde(default)]
    pub retention: Retention,
}

fn default_half_life() -> i64 {
    // 30 days: tastes drift over weeks, not hours.
    30 * 24 * 3600 * 1000
}

fn default_min_dwell() -> u64 {
    10_000
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            affinity_half_life_ms: default_half_life(),
            min_dwell_ms: default_min_dwell(),
            retention: Retention::default(),
        }
    }
}

/// The user's on-device state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Format version; see [`PROFILE_FORMAT_VERSION`].
    pub format_version: u32,
    /// Events, oldest first (stable for equal timestamps: insertion order).
    #[serde(default)]
    pub events: Vec<Event>,
    /// Onboarding answers.
    #[serde(default)]
    pub onboarding: Onboarding,
    /// Controls.
    #[serde(default)]
    pub controls: Controls,
    /// Settings.
    #[serde(default)]
    pub settings: Settings,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            format_version: PROFILE_FORMAT_VERSION,
            events: vec![],
            onboarding: Onboarding::default(),
            controls: Controls::default(),
            settings: Settings::default(),
        }
    }
}

/// A migration rewrites the JSON of version `n` into version `n + 1`. Index 0 migrates
/// version 1 to 2, and so on. Migrations work on JSON values so that old Rust types
/// need not be kept around. Version 1 is the first published format, so the list is
/// empty; a format change appends a function here and bumps [`PROFILE_FORMAT_VERSION`].
type Migration = fn(serde_json::Value) -> Result<serde_json::Value, String>;
const MIGRATIONS: &[Migration] = &[];

fn invalid(msg: impl Into<String>) -> ProfileError {
    ProfileError::Invalid(msg.into())
}

fn check_event(e: &Event) -> Result<(), String> {
    if e.item.is_empty() {
        return Err("event with an empty item id".into());
    }
    if e.item.len() > 1024 {
        return Err("item id longer than 1024 bytes".into());
    }
    if let EventKind::Rating { value } = e.kind {
        if !value.is_finite() {
            return Err(format!("rating of {:?} is not a finite number", e.item));
        }
    }
    Ok(())
}

fn check_unit(name: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !(0.0..=1.0).contains(&x) => Err(format!("{name} {x} is not in [0, 1]")),
        _ => Ok(()),
    }
}

impl Profile {
    /// An empty profile.
    pub fn new() -> Profile {
        Profile::default()
    }

    /// Reads a stored profile, migrating older versions. A profile that cannot be read
    /// is an error (`E_PROFILE_CORRUPT` / `E_PROFILE_VERSION`), never an empty profile:
    /// resetting silently would destroy the user's data.
    pub fn from_json(bytes: &[u8]) -> Result<Profile, ProfileError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ProfileError::Corrupt(format!("not JSON: {e}")))?;
        Profile::from_value(value)
    }

    /// [`Profile::from_json`] from parsed JSON (a request body that embeds a profile
    /// is parsed once, not serialized and parsed again).
    pub fn from_value(mut value: serde_json::Value) -> Result<Profile, ProfileError> {
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| ProfileError::Corrupt("no integer format_version".into()))?;
        if version == 0 {
            return Err(ProfileError::Corrupt(
                "format_version 0 does not exist".into(),
            ));
        }
        if version > PROFILE_FORMAT_VERSION as u64 {
            return Err(ProfileError::Version(format!(
                "format_version {version} was written by a newer runtime (this one reads up to {PROFILE_FORMAT_VERSION})"
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize - 1) {
            value = m(value)
                .map_err(|e| ProfileError::Corrupt(format!("migrating version {} : {e}", i + 1)))?;
            value["format_version"] = serde_json::json!(i as u64 + 2);
        }
        let mut p: Profile =
            serde_json::from_value(value).map_err(|e| ProfileError::Corrupt(e.to_string()))?;
        p.validate().map_err(ProfileError::Corrupt)?;
        // Hand-written or merged profiles may list events out of order; a stable sort
        // keeps same-timestamp events in their written order.
        p.events.sort_by_key(|e| e.ts);
        p.enforce_count();
        Ok(p)
    }

    /// Everything the profile holds, as pretty JSON (the user's data export).
    pub fn export_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }

    /// Compact JSON for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a profile always serializes")
    }

    /// Deletes everything: events, onboarding answers, controls and settings.
    pub fn delete_all(&mut self) {
        *self = Profile::default();
    }

    fn validate(&self) -> Result<(), String> {
        for e in &self.events {
            check_event(e)?;
        }
        check_unit("exploration", self.controls.exploration)?;
        check_unit("diversity", self.controls.diversity)?;
        if self.settings.affinity_half_life_ms <= 0 {
            return Err("affinity_half_life_ms must be > 0".into());
        }
        Ok(())
    }

    /// Records an event. Invalid events (empty id, NaN rating) are refused with
    /// `E_PROFILE_INVALID` and the profile is unchanged. Events are kept in timestamp
    /// order; a late-arriving event is inserted after those with the same timestamp.
    /// The retention cap on the number of events is applied.
    pub fn record(&mut self, event: Event) -> Result<(), ProfileError> {
        check_event(&event).map_err(ProfileError::Invalid)?;
        let pos = self.events.partition_point(|e| e.ts <= event.ts);
        self.events.insert(pos, event);
        self.enforce_count();
        Ok(())
    }

    fn enforce_count(&mut self) {
        let cap = self
            .settings
            .retention
            .max_events
            .unwrap_or(MAX_EVENTS_HARD)
            .min(MAX_EVENTS_HARD);
        if self.events.len() > cap {
            let extra = self.events.len() - cap;
            self.events.drain(..extra);
        }
    }

    /// Applies the retention limits at `now_ms`; returns how many events were removed.
    pub fn apply_retention(&mut self, now_ms: i64) -> usize {
        let before = self.events.len();
        if let Some(age) = self.settings.retention.max_age_ms {
            let cutoff = now_ms.saturating_sub(age);
            self.events.retain(|e| e.ts >= cutoff);
        }
        self.enforce_count();
        before - self.events.len()
    }

    /// Sets the exploration preference (`None` = bundle default).
    pub fn set_exploration(&mut self, v: Option<f64>) -> Result<(), ProfileError> {
        check_unit("exploration", v).map_err(invalid)?;
        self.controls.exploration = v;
        Ok(())
    }

    /// Sets the diversity preference (`None` = bundle default).
    pub fn set_diversity(&mut self, v: Option<f64>) -> Result<(), ProfileError> {
        check_unit("diversity", v).map_err(invalid)?;
        self.controls.diversity = v;
        Ok(())
    }

    /// Derives the model-facing state for a bundle at `now_ms` (the caller's clock;
    /// `None` = the latest event's time, which keeps ranking reproducible).
    pub fn derive(&self, bundle: &Bundle, now_ms: Option<i64>) -> Derived {
        let cat = bundle.catalog();
        let nt = bundle.num_topics();
        let now = now_ms.unwrap_or_else(|| self.events.last().map_or(0, |e| e.ts));
        let half = self.settings.affinity_half_life_ms.max(1) as f64;
        let mut affinity = vec![0.0f32; nt];
        let mut seen = BTreeSet::new();
        let mut in_history = BTreeSet::new();
        let mut history = vec![];
        let mut unknown = BTreeSet::new();
        // Newest first: the first occurrence of an item is its most recent one.
        for e in self.events.iter().rev() {
            let Some(idx) = cat.index_of(&e.item) else {
                unknown.insert(e.item.clone());
                continue;
            };
            let w = match e.kind {
                EventKind::Impression => 0.0,
                EventKind::View => 0.5,
                EventKind::Click => 1.0,
                EventKind::Like => 2.0,
                EventKind::Dislike => -2.0,
                EventKind::Skip => -0.5,
                EventKind::Dwell { ms } => (ms as f64 / 30_000.0).min(2.0),
                // Centred on 3 of 5 stars, so a 1-star rating pushes a topic down.
                EventKind::Rating { value } => ((value - 3.0) / 2.0).clamp(-1.0, 1.0),
                EventKind::Purchase => 3.0,
                EventKind::Share => 2.0,
            };
            // Saturating: `ts` and `now` are caller data and may sit at the ends of i64.
            let age = now.saturating_sub(e.ts).max(0) as f64;
            let decayed = (w * 0.5f64.powf(age / half)) as f32;
            for t in cat.topics(idx) {
                affinity[*t as usize] += decayed;
            }
            if !matches!(e.kind, EventKind::Impression) {
                seen.insert(idx);
            }
            let consumed = match e.kind {
                EventKind::View
                | EventKind::Click
                | EventKind::Like
                | EventKind::Rating { .. }
                | EventKind::Purchase
                | EventKind::Share => true,
                EventKind::Dwell { ms } => ms >= self.settings.min_dwell_ms,
                EventKind::Impression | EventKind::Dislike | EventKind::Skip => false,
            };
            if consumed && in_history.insert(idx) {
                history.push(HistoryItem {
                    index: idx,
                    kind: e.kind,
                    ts: e.ts,
                    seed: false,
                });
            }
        }
        // Onboarding seed likes are the oldest evidence: they go after every event.
        for id in &self.onboarding.liked_items {
            match cat.index_of(id) {
                Some(idx) => {
                    seen.insert(idx);
                    if in_history.insert(idx) {
                        history.push(HistoryItem {
                            index: idx,
                            kind: EventKind::Like,
                            ts: i64::MIN,
                            seed: true,
                        });
                    }
                }
                None => {
                    unknown.insert(id.clone());
                }
            }
        }
        let topic_set = |ids: &[String], unknown_topics: &mut BTreeSet<String>| -> BTreeSet<u16> {
            ids.iter()
                .filter_map(|t| {
                    let i = bundle.topic_index(t);
                    if i.is_none() {
                        unknown_topics.insert(t.clone());
                    }
                    i
                })
                .collect()
        };
        let mut unknown_topics = BTreeSet::new();
        let picked = topic_set(&self.onboarding.picked_topics, &mut unknown_topics);
        let rejected = topic_set(&self.onboarding.rejected_topics, &mut unknown_topics);
        let muted = topic_set(&self.controls.muted_topics, &mut unknown_topics);
        let boosted = topic_set(&self.controls.boosted_topics, &mut unknown_topics);
        let ids =
            |v: &[String]| -> BTreeSet<u32> { v.iter().filter_map(|i| cat.index_of(i)).collect() };
        Derived {
            history,
            affinity,
            seen,
            picked,
            rejected,
            muted,
            boosted,
            blocked: ids(&self.controls.blocked_items),
            less_like_this: ids(&self.controls.less_like_this),
            unknown_items: unknown.into_iter().collect(),
            unknown_topics: unknown_topics.into_iter().collect(),
        }
    }
}

/// An item of the derived history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryItem {
    /// Model index.
    pub index: u32,
    /// The most recent event that put it there.
    pub kind: EventKind,
    /// Its timestamp (`i64::MIN` for onboarding seeds).
    pub ts: i64,
    /// True for an onboarding seed like.
    pub seed: bool,
}

/// The model-facing state derived from a profile for one bundle.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// Consumed items known to the catalog, most recent first, each once.
    pub history: Vec<HistoryItem>,
    /// Time-decayed affinity per topic (can be negative).
    pub affinity: Vec<f32>,
    /// Items the user interacted with in any way but an impression.
    pub seen: BTreeSet<u32>,
    /// Onboarding picks (topic indices).
    pub picked: BTreeSet<u16>,
    /// Onboarding rejections.
    pub rejected: BTreeSet<u16>,
    /// Muted topics.
    pub muted: BTreeSet<u16>,
    /// Boosted topics.
    pub boosted: BTreeSet<u16>,
    /// Blocked items (known to the catalog).
    pub blocked: BTreeSet<u32>,
    /// "Less like this" items.
    pub less_like_this: BTreeSet<u32>,
    /// Item ids in the profile that the catalog does not know (kept, not used).
    pub unknown_items: Vec<String>,
    /// Topic ids in the profile that the bundle does not know (kept, not used).
    pub unknown_topics: Vec<String>,
}

/// Counts per event type, for the admin view.
pub fn event_counts(p: &Profile) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in &p.events {
        let name = match e.kind {
            EventKind::Impression => "impression",
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Like => "like",
            EventKind::Dislike => "dislike",
            EventKind::Skip => "skip",
            EventKind::Dwell { .. } => "dwell",
            EventKind::Rating { .. } => "rating",
            EventKind::Purchase => "purchase",
            EventKind::Share => "share",
        };
        *m.entry(name).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_survives_timestamps_at_the_ends_of_i64() {
        let b = crate::testing::ranking();
        let mut p = Profile::new();
        for ts in [i64::MIN, i64::MIN + 1, 0, i64::MAX] {
            p.record(Event {
                item: "50".into(),
                ts,
                kind: EventKind::Like,
            })
            .unwrap();
        }
        for now in [Some(i64::MIN), Some(i64::MAX), None] {
            let d = p.derive(b, now);
            assert!(d.affinity.iter().all(|a| a.is_finite()), "{now:?}");
            assert_eq!(d.history.len(), 1);
        }
    }

    fn ev(item: &str, ts: i64, kind: EventKind) -> Event {
        Event {
            item: item.into(),
            ts,
            kind,
        }
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let mut p = Profile::new();
        p.record(ev("50", 10, EventKind::Rating { value: 5.0 }))
            .unwrap();
        p.record(ev("unknown-id", 11, EventKind::Dwell { ms: 40_000 }))
            .unwrap();
        p.onboarding.picked_topics = vec!["sci-fi".into()];
        p.controls.blocked_items = vec!["1".into()];
        p.set_diversity(Some(0.4)).unwrap();
        let back = Profile::from_json(p.export_json().as_bytes()).unwrap();
        assert_eq!(back, p);
        let back = Profile::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn corrupt_profiles_are_typed_errors_not_resets() {
        for bad in [&b"{"[..], b"[]", b"{\"events\": []}", b"{\"format_version\": 0}", b"{\"format_version\": 1, \"events\": 3}",
            b"{\"format_version\": 1, \"surprise\": true}",
            b"{\"format_version\": 1, \"events\": [{\"item\": \"1\", \"ts\": 1, \"type\": \"teleport\"}]}",
            b"{\"format_version\": 1, \"events\": [{\"item\": \"\", \"ts\": 1, \"type\": \"view\"}]}",
            b"{\"format_version\": 1, \"controls\": {\"diversity\": 3}}"]
        {
            let e = Profile::from_json(bad).unwrap_err();
            assert_eq!(e.code(), "E_PROFILE_CORRUPT", "{}", String::from_utf8_lossy(bad));
        }
        let e = Profile::from_json(b"{\"format_version\": 99}").unwrap_err();
        assert_eq!(e.code(), "E_PROFILE_VERSION");
    }

    #[test]
    fn invalid_events_are_refused_and_nothing_changes() {
        let mut p = Profile::new();
        p.record(ev("1", 5, EventKind::Like)).unwrap();
        let before = p.clone();
        let e = p
            .record(ev("2", 6, EventKind::Rating { value: f64::NAN }))
            .unwrap_err();
        assert_eq!(e.code(), "E_PROFILE_INVALID");
        assert_eq!(
            p.record(ev("", 6, EventKind::View)).unwrap_err().code(),
            "E_PROFILE_INVALID"
        );
        assert_eq!(
            p.set_exploration(Some(f64::NAN)).unwrap_err().code(),
            "E_PROFILE_INVALID"
        );
        assert_eq!(p, before);
    }

    #[test]
    fn events_stay_in_time_order_and_retention_applies() {
        let mut p = Profile::new();
        p.settings.retention.max_events = Some(3);
        for (i, ts) in [5, 1, 3, 4, 2].iter().enumerate() {
            p.record(ev(&i.to_string(), *ts, EventKind::View)).unwrap();
        }
        let ts: Vec<i64> = p.events.iter().map(|e| e.ts).collect();
        assert_eq!(ts, vec![3, 4, 5]);
        p.settings.retention.max_age_ms = Some(1);
        assert_eq!(p.apply_retention(5), 1);
        assert_eq!(p.events.len(), 2);
        p.delete_all();
        assert_eq!(p, Profile::new());
    }

    #[test]
    fn out_of_order_stored_events_are_sorted_on_load() {
        let json = br#"{"format_version": 1, "events": [
            {"item": "b", "ts": 9, "type": "view"}, {"item": "a", "ts": 1, "type": "like"}]}"#;
        let p = Profile::from_json(json).unwrap();
        assert_eq!(p.events[0].item, "a");
    }
}
