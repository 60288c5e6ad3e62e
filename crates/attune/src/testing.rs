//! Unit-test helpers: the reference bundles, loaded once per test binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{Bundle, LoadOptions};

/// Every top-level file of a reference bundle, as a browser would hold them.
pub(crate) fn files(name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/movielens-100k")
        .join(name);
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn load(name: &str) -> Bundle {
    // Unsigned on purpose: these helpers test ranking, not signatures.
    Bundle::from_files(&files(name), &LoadOptions::default()).unwrap()
}

/// The sequence bundle (a catalog-wide next-item model reading 300 history items).
pub(crate) fn sequence() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| load("sequence"))
}

/// The ranking bundle (candidate-scoring models).
pub(crate) fn ranking() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| load("ranking"))
}
