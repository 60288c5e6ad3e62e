//! Offline evaluation: the training pipeline's metrics (`models/movielens-100k/eval/
//! METRICS.md`), computed on rankings produced by this runtime's own [`rank`] path, so
//! that `attune eval` measures what apps run.
//!
//! Input is an events CSV with a header: `user_id,item_id,timestamp` (seconds), an
//! optional `rating` (or `value`) column, and one column per track whose values are
//! `train` / `test` / `holdout` (the `splits.csv` of `SPLITS.md`, optionally joined
//! with the ratings). Onboarding picks (`+picks` rows and the ranking models' `pref:`
//! features) need the ratings; without them those rows are skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use attune::profile::{Event, EventKind, Profile};
use attune::{rank, Bundle, RankError, RankRequest};

/// One CSV row.
#[derive(Debug, Clone)]
struct Row {
    user: String,
    item: String,
    ts: i64,
    rating: Option<f32>,
    split: String,
}

/// Events of one track, grouped by user (in first-appearance order of the file).
#[derive(Debug, Clone, Default)]
pub struct Track {
    users: Vec<(String, Vec<Row>)>,
    has_ratings: bool,
}

/// Parses the events CSV for one track column (e.g. `ms`).
pub fn parse_events(csv: &str, track: &str) -> Result<Track, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty file")?
        .trim_end_matches('\r')
        .split(',')
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (u, i, t) = match (col("user_id"), col("item_id"), col("timestamp")) {
        (Some(u), Some(i), Some(t)) => (u, i, t),
        _ => {
            return Err(format!(
                "header {header:?} needs user_id, item_id and timestamp"
            ))
        }
    };
    let r = col("rating").or_else(|| col("value"));
    let s = col(track).ok_or_else(|| format!("no column {track:?} in the header {header:?}"))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out = Track {
        users: vec![],
        has_ratings: r.is_some(),
    };
    for (n, line) in lines.enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let get = |c: usize| {
            f.get(c)
                .copied()
                .ok_or_else(|| format!("line {}: too few fields", n + 2))
        };
        let ts = get(t)?
            .parse::<i64>()
            .map_err(|e| format!("line {}: timestamp: {e}", n + 2))?;
        let rating = match r {
            Some(c) => Some(
                get(c)?
                    .parse::<f32>()
                    .map_err(|e| format!("line {}: rating: {e}", n + 2))?,
            ),
            None => None,
        };
        let row = Row {
            user: get(u)?.into(),
            item: get(i)?.into(),
            ts,
            rating,
            split: get(s)?.into(),
        };
        let slot = *index.entry(row.user.clone()).or_insert_with(|| {
            out.users.push((row.user.clone(), vec![]));
            out.users.len() - 1
        });
        out.users[slot].1.push(row);
    }
    Ok(out)
}

/// Onboarding picks derived from ratings, as `training/attune_training/topics.py`
/// does: `score(t) = (Σ ratings on items with t + prior · mean rating) / (count(t) +
/// prior)` over topics rated at least once, ordered by score desc, count desc, topic
/// index. The arithmetic is float32 like the numpy original, so ties resolve the same.
pub fn derive_picks(
    bundle: &Bundle,
    items: &[u32],
    values: &[f32],
    n: usize,
    prior: f32,
) -> Vec<u16> {
    if items.is_empty() {
        return vec![];
    }
    let nt = bundle.num_topics();
    let mut cnt = vec![0f32; nt];
    let mut tot = vec![0f32; nt];
    for (i, v) in items.iter().zip(values) {
        for t in bundle.catalog().topics(*i) {
            cnt[*t as usize] += 1.0;
            tot[*t as usize] += v;
        }
    }
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    let shrink = (prior as f64 * mean as f64) as f32;
    let score: Vec<f32> = (0..nt)
        .map(|t| (tot[t] + shrink) / (cnt[t] + prior))
        .collect();
    let mut cand: Vec<usize> = (0..nt).filter(|t| cnt[*t] > 0.0).collect();
    cand.sort_by(|a, b| {
        score[*b]
            .total_cmp(&score[*a])
            .then(cnt[*b].total_cmp(&cnt[*a]))
            .then(a.cmp(b))
    });
    cand.into_iter().take(n).map(|t| t as u16).collect()
}

/// Per-user metrics (binary relevance) of METRICS.md.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct UserMetrics {
    /// |L ∩ R| / k.
    pub precision: f64,
    /// |L ∩ R| / |R|.
    pub recall: f64,
    /// 1 if any hit.
    pub hit_rate: f64,
    /// nDCG@k.
    pub ndcg: f64,
    /// AP with |R| in the denominator ("map").
    pub map: f64,
    /// AP with min(|R|, k) in the denominator.
    pub map_at_k: f64,
    /// 1 / rank of the first hit.
    pub mrr: f64,
}

/// Metrics of one ranking against one relevant set (`relevant` non-empty).
pub fn user_metrics(ranking: &[u32], relevant: &BTreeSet<u32>, k: usize) -> UserMetrics {
    let (mut hits, mut dcg, mut ap, mut first) = (0usize, 0f64, 0f64, 0usize);
    for (r, item) in ranking.iter().take(k).enumerate() {
        let r = r + 1;
        if relevant.contains(item) {
            hits += 1;
            dcg += 1.0 / (1.0 + r as f64).ln();
            ap += hits as f64 / r as f64;
            if first == 0 {
                first = r;
            }
        }
    }
    let nrel = relevant.len();
    let idcg: f64 = (1..=nrel.min(k)).map(|r| 1.0 / (1.0 + r as f64).ln()).sum();
    UserMetrics {
        precision: hits as f64 / k as f64,
        recall: hits as f64 / nrel as f64,
        hit_rate: if hits > 0 { 1.0 } else { 0.0 },
        ndcg: dcg / idcg,
        map: ap / nrel as f64,
        map_at_k: ap / nrel.min(k) as f64,
        mrr: if first > 0 { 1.0 / first as f64 } else { 0.0 },
    }
}

/// One row of results: a model (or baseline) on a track.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsRow {
    /// Row name, as in `metrics.json` (`popularity`, `sequence`, `sequence+picks`, …).
    pub model: String,
    /// Mean per-user metrics.
    #[serde(flatten)]
    pub mean: UserMetrics,
    /// Users with at least one test item.
    pub users: usize,
    /// Distinct items in all top-k lists ÷ catalog size.
    pub coverage: f64,
    /// Mean training-popularity share of recommended items.
    pub mean_popularity_share: f64,
    /// Share of slots taken by the 10 % most-trained items.
    pub head10_share: f64,
    /// Mean Recall@k for k in 1, 2, 5, 10, 20, 50, 100.
    pub recall_curve: BTreeMap<String, f64>,
    /// Top-k app ids per user, in the order of the file (for comparing rankings).
    #[serde(skip)]
    pub top_ids: Vec<(String, Vec<String>)>,
}

/// Recall curve cut-offs (METRICS.md).
pub const CURVE_K: [usize; 7] = [1, 2, 5, 10, 20, 50, 100];

struct Prepared {
    user: String,
    train: Vec<(u32, i64, f32)>,
    test: BTreeSet<u32>,
}

fn summarize(
    name: &str,
    lists: &[(String, Vec<u32>, &BTreeSet<u32>)],
    k: usize,
    counts: &[f64],
    bundle: &Bundle,
) -> MetricsRow {
    let n = counts.len();
    let mut sum = UserMetrics::default();
    let mut users = 0;
    let mut curve = [0f64; CURVE_K.len()];
    for (_, l, rel) in lists {
        if rel.is_empty() {
            continue;
        }
        users += 1;
        let m = user_metrics(l, rel, k);
        sum.precision += m.precision;
        sum.recall += m.recall;
        sum.hit_rate += m.hit_rate;
        sum.ndcg += m.ndcg;
        sum.map += m.map;
        sum.map_at_k += m.map_at_k;
        sum.mrr += m.mrr;
        for (c, kk) in curve.iter_mut().zip(CURVE_K) {
            *c += user_metrics(l, rel, kk).recall;
        }
    }
    let u = users.max(1) as f64;
    let mean = UserMetrics {
        precision: sum.precision / u,
        recall: sum.recall / u,
        hit_rate: sum.hit_rate / u,
        ndcg: sum.ndcg / u,
        map: sum.map / u,
        map_at_k: sum.map_at_k / u,
        mrr: sum.mrr / u,
    };
    let slots: Vec<u32> = lists
        .iter()
        .flat_map(|(_, l, _)| l.iter().take(k).copied())
        .collect();
    let distinct: BTreeSet<u32> = slots.iter().copied().collect();
    let total: f64 = counts.iter().sum();
    let mut by_pop: Vec<usize> = (0..n).collect();
    by_pop.sort_by(|a, b| counts[*b].total_cmp(&counts[*a]).then(a.cmp(b)));
    let n_head = ((0.1 * n as f64).round() as usize).max(1);
    let head: BTreeSet<u32> = by_pop[..n_head].iter().map(|i| *i as u32).collect();
    let share_sum: f64 = slots
        .iter()
        .map(|i| counts[*i as usize] / total.max(1.0))
        .sum();
    MetricsRow {
        model: name.into(),
        mean,
        users,
        coverage: distinct.len() as f64 / n as f64,
        mean_popularity_share: share_sum / slots.len().max(1) as f64,
        head10_share: slots.iter().filter(|i| head.contains(i)).count() as f64
            / slots.len().max(1) as f64,
        recall_curve: CURVE_K
            .iter()
            .zip(curve)
            .map(|(kk, c)| (kk.to_string(), c / u))
            .collect(),
        top_ids: lists
            .iter()
            .map(|(user, l, _)| {
                (
                    user.clone(),
                    l.iter()
                        .take(k)
                        .map(|i| bundle.catalog().id(*i).to_string())
                        .collect(),
                )
            })
            .collect(),
    }
}

/// Evaluation options.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Cut-off for the headline metrics (10).
    pub k: usize,
    /// Onboarding picks per user (3).
    pub picks: usize,
    /// Shrinkage prior of the picks (5.0).
    pub prior: f32,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            k: 10,
            picks: 3,
            prior: 5.0,
        }
    }
}

/// Evaluates the popularity baseline and every model of the bundle on a track with
/// `train`/`test` rows (`ms` or `loo`): history = the user's training events, training
/// items excluded, relevant = test items. Returns the rows and notes on skipped rows.
pub fn evaluate(
    bundle: &Bundle,
    track: &Track,
    opts: &EvalOptions,
) -> Result<(Vec<MetricsRow>, Vec<String>), RankError> {
    let cat = bundle.catalog();
    let n = cat.len();
    let mut notes = vec![];
    let mut unknown = 0usize;
    let mut users = vec![];
    for (user, rows) in &track.users {
        let mut p = Prepared {
            user: user.clone(),
            train: vec![],
            test: BTreeSet::new(),
        };
        for r in rows {
            let Some(i) = cat.index_of(&r.item) else {
                unknown += 1;
                continue;
            };
            match r.split.as_str() {
                "train" => p.train.push((i, r.ts, r.rating.unwrap_or(1.0))),
                "test" => {
                    p.test.insert(i);
                }
                _ => {}
            }
        }
        // The pipeline's order: timestamp, then item index (SPLITS.md).
        p.train.sort_by_key(|(i, ts, _)| (*ts, *i));
        users.push(p);
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} rows name items the catalog does not have; ignored"
        ));
    }
    let depth = *CURVE_K.iter().max().expect("non-empty").max(&opts.k);
    let mut counts = vec![0f64; n];
    for u in &users {
        for (i, _, _) in &u.train {
            counts[*i as usize] += 1.0;
        }
    }
    let mut rows = vec![];
    // Popularity: training counts, ties by smaller index, training items excluded.
    let mut pop_order: Vec<u32> = (0..n as u32).collect();
    pop_order.sort_by(|a, b| {
        counts[*b as usize]
            .total_cmp(&counts[*a as usize])
            .then(a.cmp(b))
    });
    let lists: Vec<(String, Vec<u32>, &BTreeSet<u32>)> = users
        .iter()
        .map(|u| {
            let seen: BTreeSet<u32> = u.train.iter().map(|t| t.0).collect();
            (
                u.user.clone(),
                pop_order
                    .iter()
                    .copied()
                    .filter(|i| !seen.contains(i))
                    .take(depth)
                    .collect(),
                &u.test,
            )
        })
        .collect();
    rows.push(summarize("popularity", &lists, opts.k, &counts, bundle));
    for m in bundle.models() {
        let direct_prefs = m
            .entry()
            .inputs
            .iter()
            .any(|i| i.role == attune::manifest::InputRole::Preferences);
        let variants: Vec<(String, bool)> = if direct_prefs {
            vec![
                (m.entry().id.clone(), false),
                (format!("{}+picks", m.entry().id), true),
            ]
        } else {
            vec![(m.entry().id.clone(), m.reads_preferences())]
        };
        for (name, with_picks) in variants {
            if with_picks && !track.has_ratings {
                notes.push(format!("{name}: skipped, picks need a rating column"));
                continue;
            }
            let mut lists = Vec::with_capacity(users.len());
            for u in &users {
                let mut p = Profile::new();
                p.settings.retention.max_events = Some(attune::profile::MAX_EVENTS_HARD);
                for (i, ts, v) in &u.train {
                    p.record(Event {
                        item: cat.id(*i).to_string(),
                        ts: ts * 1000,
                        kind: EventKind::Rating { value: *v as f64 },
                    })
                    .map_err(|e| RankError::Invalid(e.to_string()))?;
                }
                if with_picks {
                    let items: Vec<u32> = u.train.iter().map(|t| t.0).collect();
                    let values: Vec<f32> = u.train.iter().map(|t| t.2).collect();
                    p.onboarding.picked_topics =
                        derive_picks(bundle, &items, &values, opts.picks, opts.prior)
                            .into_iter()
                            .map(|t| bundle.topic_id(t).to_string())
                            .collect();
                }
                let req = RankRequest {
                    model: Some(m.entry().id.clone()),
                    k: Some(depth),
                    explain_history: Some(0),
                    diversity: Some(0.0),
                    exploration: Some(0.0),
                    ..Default::default()
                };
                let r = rank(bundle, &p, &req)?;
                lists.push((
                    u.user.clone(),
                    r.items.iter().map(|it| it.index).collect(),
                    &u.test,
                ));
            }
            rows.push(summarize(&name, &lists, opts.k, &counts, bundle));
        }
    }
    Ok((rows, notes))
}

/// Reads a `rankings/<track>__<model>.csv` file (`user_id,top10`).
pub fn parse_rankings(csv: &str) -> BTreeMap<String, Vec<String>> {
    csv.lines()
        .skip(1)
        .filter_map(|l| {
            let (u, top) = l.split_once(',')?;
            Some((
                u.to_string(),
                top.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .collect()
}
