//! The golden ranking cases of `tests/golden/` (repository root), natively. The same
//! files run compiled to wasm32-wasip1 through `attune golden-check` (scripts/test.sh).

// Helpers in this test file unwrap: a panic there is a failing test.
#![allow(clippy::unwrap_used)]

mod common;

use attune::golden::{compare, Case};
use attune::rank;

#[test]
fn golden_cases_match() {
    let dir = common::root().join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "golden cases missing in {}",
        dir.display()
    );
    let mut failures = vec![];
    for f in files {
        let case: Case = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let bundle = match case.bundle.as_str() {
            "models/movielens-100k/sequence" => common::sequence(),
            "models/movielens-100k/ranking" => common::ranking(),
            other => panic!("unknown bundle {other}"),
        };
        assert!(
            !case.expect.is_empty(),
            "{}: no expectation (run attune golden-check --update)",
            f.display()
        );
        let got = rank(bundle, &case.profile, &case.request).unwrap();
        let diffs = compare(&case.expect, &got);
        if !diffs.is_empty() {
            failures.push(format!("{}:\n  {}", f.display(), diffs.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
