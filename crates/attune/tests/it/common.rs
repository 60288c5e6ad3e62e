//! Shared test helpers: the reference bundles, loaded once per test binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use attune::{Bundle, LoadOptions};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every top-level file of a reference bundle, as the browser would hold them.
pub fn files(name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = root().join("models/movielens-100k").join(name);
    std::fs::read_dir(&dir)
        .expect("bundle folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// The RFC 8032 TEST 1 key the reference bundles are signed with.
pub fn test_key() -> [u8; 32] {
    let hex = std::fs::read_to_string(root().join("models/movielens-100k/sequence/manifest.pub"))
        .expect("manifest.pub");
    attune::parse_public_key(&hex).expect("key")
}

fn load(name: &str) -> Bundle {
    Bundle::from_files(
        &files(name),
        &LoadOptions {
            public_key: Some(test_key()),
            lazy: false,
            allow_test_keys: true,
            ..LoadOptions::default()
        },
    )
    .expect("reference bundle loads")
}

/// The sequence bundle.
pub fn sequence() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| load("sequence"))
}

/// The ranking bundle (f32 and int8 models).
pub fn ranking() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| load("ranking"))
}
