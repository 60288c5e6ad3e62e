//! Golden ranking cases: a bundle, a profile and a request, with the expected list.
//! `attune golden-check` is the one judge of them: it ranks natively, or judges the
//! rankings another target wrote (`--actual`: the shipped wasm module under node, the
//! Worker on workerd, the npm package in a browser), so every target is held to the
//! same output by the same code.
//!
//! Scores come from f32 model arithmetic whose summation order differs between SIMD
//! kernels (x86 vs wasm simd128), so scores are compared with a tolerance and two items
//! may swap places only when their expected scores are within that tolerance.

use serde::{Deserialize, Serialize};

use attune::{Profile, RankRequest, Ranking};

/// Absolute + relative tolerance on scores: f32 kernels differ in the last bits across
/// targets, far below this.
pub const TOLERANCE: f32 = 1e-4;

/// One expected item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedItem {
    /// App item id.
    pub id: String,
    /// Title (for reading the file; not compared).
    pub title: String,
    /// Final score.
    pub score: f32,
    /// Raw model score.
    pub model_score: f32,
    /// Reason texts.
    pub reasons: Vec<String>,
}

/// A golden case file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case covers.
    pub note: String,
    /// Bundle folder, relative to the repository root.
    pub bundle: String,
    /// The profile.
    pub profile: Profile,
    /// The request.
    pub request: RankRequest,
    /// The expected list.
    pub expect: Vec<ExpectedItem>,
}

/// The expected form of a ranking.
pub fn expected(r: &Ranking) -> Vec<ExpectedItem> {
    r.items
        .iter()
        .map(|it| ExpectedItem {
            id: it.id.clone(),
            title: it.title.clone(),
            score: it.score,
            model_score: it.model_score,
            reasons: it.reasons.iter().map(|r| r.text()).collect(),
        })
        .collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= TOLERANCE * (1.0 + a.abs().max(b.abs()))
}

/// Compares a ranking with the expectation; returns the differences (empty = pass).
pub fn compare(expect: &[ExpectedItem], got: &Ranking) -> Vec<String> {
    let mut diffs = vec![];
    for it in &got.items {
        let texts: Vec<String> = it.reasons.iter().map(|r| r.text()).collect();
        if it.why != texts {
            diffs.push(format!(
                "{}: why {:?} differs from its reasons {texts:?}",
                it.id, it.why
            ));
        }
    }
    let got = expected(got);
    if got.len() != expect.len() {
        diffs.push(format!("{} items, expected {}", got.len(), expect.len()));
    }
    for (pos, (e, g)) in expect.iter().zip(&got).enumerate() {
        if e.id != g.id {
            // A swap of two near-tied items is allowed.
            let other = expect.iter().find(|x| x.id == g.id);
            match other {
                Some(o) if close(o.score, e.score) => continue,
                _ => {
                    diffs.push(format!(
                        "rank {}: {} ({}), expected {} ({})",
                        pos + 1,
                        g.id,
                        g.title,
                        e.id,
                        e.title
                    ));
                    continue;
                }
            }
        }
        if !close(e.score, g.score) || !close(e.model_score, g.model_score) {
            diffs.push(format!(
                "rank {} {}: score {} / model {}, expected {} / {}",
                pos + 1,
                e.id,
                g.score,
                g.model_score,
                e.score,
                e.model_score
            ));
        }
        if e.reasons != g.reasons {
            diffs.push(format!(
                "rank {} {}: reasons {:?}, expected {:?}",
                pos + 1,
                e.id,
                g.reasons,
                e.reasons
            ));
        }
    }
    diffs
}

/// What a ranking says beyond its items (model, candidate accounting, the inputs the
/// model read), compared between another target's ranking and this build's for the same
/// case: the expectation files record only the items. Counts, ids and the model are
/// exact; preference and feature values are floats, within [`TOLERANCE`].
pub fn compare_context(native: &Ranking, got: &Ranking) -> Vec<String> {
    let mut diffs = vec![];
    if got.model != native.model {
        diffs.push(format!(
            "model {:?}, natively {:?}",
            got.model, native.model
        ));
    }
    if got.counts != native.counts {
        diffs.push(format!(
            "counts {:?}, natively {:?}",
            got.counts, native.counts
        ));
    }
    let (g, n) = (&got.inputs, &native.inputs);
    if g.history != n.history {
        diffs.push(format!(
            "inputs.history {:?}, natively {:?}",
            g.history, n.history
        ));
    }
    if g.unknown_items != n.unknown_items || g.unknown_topics != n.unknown_topics {
        diffs.push(format!(
            "unknown ids {:?} {:?}, natively {:?} {:?}",
            g.unknown_items, g.unknown_topics, n.unknown_items, n.unknown_topics
        ));
    }
    let named = |v: &mut dyn Iterator<Item = (&String, &f32)>| -> Vec<(String, f32)> {
        v.map(|(k, x)| (k.clone(), *x)).collect()
    };
    for (what, got, native) in [
        (
            "preferences",
            named(&mut g.preferences.iter()),
            named(&mut n.preferences.iter()),
        ),
        (
            "features",
            named(&mut g.features.iter().map(|(k, v)| (k, v))),
            named(&mut n.features.iter().map(|(k, v)| (k, v))),
        ),
    ] {
        let same = got.len() == native.len()
            && got
                .iter()
                .zip(&native)
                .all(|((gk, gv), (nk, nv))| gk == nk && close(*gv, *nv));
        if !same {
            diffs.push(format!("inputs.{what} {got:?}, natively {native:?}"));
        }
    }
    diffs
}
