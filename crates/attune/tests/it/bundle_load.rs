//! Loading the reference bundles, and every way a bundle can be wrong giving a
//! precise, typed error.

use crate::common;

use std::collections::BTreeMap;

use attune::{Bundle, BundleError, LoadOptions};
use common::{files, test_key};

fn lazy(key: Option<[u8; 32]>) -> LoadOptions {
    LoadOptions {
        public_key: key,
        lazy: true,
        allow_test_keys: true,
        ..LoadOptions::default()
    }
}

fn load_err(f: &BTreeMap<String, Vec<u8>>, key: Option<[u8; 32]>) -> BundleError {
    Bundle::from_files(f, &lazy(key)).expect_err("must fail")
}

/// Rewrites the manifest JSON (the signature no longer matches: load without a key).
fn edit_manifest(f: &mut BTreeMap<String, Vec<u8>>, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
    edit(&mut v);
    f.insert("manifest.json".into(), serde_json::to_vec(&v).unwrap());
}

#[test]
fn reference_bundles_load_with_the_pinned_key() {
    let b = common::sequence();
    assert!(b.signature_verified());
    assert_eq!(b.catalog().len(), 1682);
    assert_eq!(b.num_topics(), 18);
    assert_eq!(
        b.catalog().title(b.catalog().index_of("50").unwrap()),
        "Star Wars (1977)"
    );
    let r = common::ranking();
    assert_eq!(r.models().len(), 2);
    assert!(r.model(Some("ranking_int8")).is_some());
}

#[test]
fn signature_errors() {
    let mut f = files("sequence");
    // A different (valid) key: the RFC 8032 TEST 2 public key.
    let other = attune::parse_public_key(
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    )
    .unwrap();
    assert_eq!(load_err(&f, Some(other)).code(), "E_BUNDLE_SIGNATURE");
    // One changed byte in the manifest (a space is added: still valid JSON).
    let mut m = f["manifest.json"].clone();
    m.push(b' ');
    let mut g = f.clone();
    g.insert("manifest.json".into(), m);
    assert_eq!(load_err(&g, Some(test_key())).code(), "E_BUNDLE_SIGNATURE");
    // Without a pinned key the signature is not read, so the edited manifest loads.
    assert!(Bundle::from_files(&g, &lazy(None)).is_ok());
    f.remove("manifest.sig");
    assert_eq!(load_err(&f, Some(test_key())).code(), "E_BUNDLE_SIGNATURE");
    f.insert("manifest.sig".into(), vec![0; 63]);
    assert_eq!(load_err(&f, Some(test_key())).code(), "E_BUNDLE_SIGNATURE");
}

#[test]
fn integrity_errors_name_the_file() {
    let mut f = files("sequence");
    let mut cat = f["catalog.json"].clone();
    let at = cat.len() / 2;
    cat[at] ^= 1;
    f.insert("catalog.json".into(), cat);
    let e = load_err(&f, Some(test_key()));
    assert_eq!(e.code(), "E_BUNDLE_INTEGRITY");
    assert!(e.to_string().contains("catalog.json"), "{e}");
    let mut f = files("sequence");
    f.get_mut("model.tflite").unwrap().truncate(100);
    let e = load_err(&f, Some(test_key()));
    assert_eq!(e.code(), "E_BUNDLE_INTEGRITY");
    assert!(e.to_string().contains("model.tflite"), "{e}");
    let mut f = files("sequence");
    f.remove("model.tflite");
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_MISSING_FILE");
}

#[test]
fn version_and_schema_errors() {
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| v["format_version"] = 2.into());
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_VERSION");
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| v["surprise"] = true.into());
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_MANIFEST");
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| {
        v["models"][0]["file"] = "../model.tflite".into()
    });
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_MANIFEST");
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| {
        v["models"][0]["inputs"][1]["dtype"] = "f32".into()
    });
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_MANIFEST");
}

#[test]
fn contract_errors_name_the_tensor() {
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| {
        v["models"][0]["inputs"][1]["shape"] = serde_json::json!([200])
    });
    let e = load_err(&f, None);
    assert_eq!(e.code(), "E_BUNDLE_CONTRACT");
    assert!(e.to_string().contains("serving_default_history:0"), "{e}");
    // Roles swapped between the two inputs: the dtypes no longer fit the real model.
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| {
        v["models"][0]["inputs"][0]["index"] = 1.into();
        v["models"][0]["inputs"][1]["index"] = 0.into();
    });
    let e = load_err(&f, None);
    assert_eq!(e.code(), "E_BUNDLE_CONTRACT");
    // A padding value that is a real item.
    let mut f = files("sequence");
    edit_manifest(&mut f, |v| {
        v["models"][0]["inputs"][1]["padding_value"] = 5.into()
    });
    assert_eq!(load_err(&f, None).code(), "E_BUNDLE_CONTRACT");
    // The catalog size must match the scores output.
    let mut f = files("ranking");
    edit_manifest(&mut f, |v| {
        v["models"][0]["inputs"][0]["features"][0]["name"] = "age".into();
    });
    let e = load_err(&f, None);
    assert_eq!(e.code(), "E_BUNDLE_CONTRACT");
    assert!(e.to_string().contains("age"), "{e}");
}

#[test]
fn check_reports_every_problem() {
    let mut f = files("ranking");
    edit_manifest(&mut f, |v| {
        v["models"][0]["outputs"][0]["shape"] = serde_json::json!([1682]);
        v["models"][1]["sha256"] = "0".repeat(64).into();
    });
    let errs = Bundle::check(
        &f["manifest.json"],
        |p| f.get(p).cloned().ok_or_else(|| "missing".into()),
        &lazy(None),
    )
    .expect_err("two problems");
    let codes: Vec<&str> = errs.iter().map(|e| e.code()).collect();
    assert!(
        codes.contains(&"E_BUNDLE_CONTRACT") && codes.contains(&"E_BUNDLE_INTEGRITY"),
        "{codes:?}"
    );
}
