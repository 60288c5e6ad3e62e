//! `attune eval` reproduces the training pipeline's offline metrics (metrics.json)
//! within 1e-3 on the `ms` track, from this runtime's own rankings.
//!
//! Needs the MovieLens ratings, which are never committed: build them with
//! `.venv/bin/python crates/attune/scripts/ml100k_events.py`. Without the file the
//! test says so and passes; scripts/test.sh builds the file and runs `attune eval
//! --expect`, which fails hard.

// Helpers in this test file unwrap: a panic there is a failing test.
#![allow(clippy::unwrap_used)]

mod common;

use attune::eval::{evaluate, parse_events, parse_rankings, EvalOptions};

#[test]
fn metrics_match_the_training_pipeline() {
    let events = common::root().join("training/.cache/movielens-100k/events.csv");
    let Ok(csv) = std::fs::read_to_string(&events) else {
        eprintln!(
            "SKIPPED: {} is missing (see crates/attune/scripts/ml100k_events.py)",
            events.display()
        );
        return;
    };
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("models/movielens-100k/eval/metrics.json")).unwrap(),
    )
    .unwrap();
    let track = parse_events(&csv, "ms").unwrap();
    for bundle in [common::sequence(), common::ranking()] {
        let (rows, notes) = evaluate(bundle, &track, &EvalOptions::default()).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        for row in rows {
            let want = expected["results"]["ms"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["model"] == row.model.as_str())
                .unwrap();
            let got = serde_json::to_value(&row).unwrap();
            for key in [
                "map",
                "ndcg",
                "precision",
                "recall",
                "hit_rate",
                "map_at_k",
                "mrr",
                "coverage",
                "mean_popularity_share",
            ] {
                let (a, b) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-3,
                    "{} {key}: {a} vs Python {b}",
                    row.model
                );
            }
            let file = common::root().join(format!(
                "models/movielens-100k/eval/rankings/ms__{}.csv",
                row.model
            ));
            let theirs = parse_rankings(&std::fs::read_to_string(file).unwrap());
            let same = row
                .top_ids
                .iter()
                .filter(|(u, l)| theirs.get(u) == Some(l))
                .count();
            eprintln!(
                "{}: {same}/{} identical top-10 lists",
                row.model,
                row.top_ids.len()
            );
            // Near-ties may order differently between tract and LiteRT kernels.
            assert!(
                same * 100 >= row.top_ids.len() * 95,
                "{}: only {same} identical lists",
                row.model
            );
        }
    }
}
