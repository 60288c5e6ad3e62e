//! `attune conform --actual` and `attune golden-check --actual`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the CLI from the repository root; returns (exit code, stdout + stderr).
fn attune(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attune-cli-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SUITE: &str = "tests/conformance/ops/abs";

/// Writes an index.json whose outputs are the references themselves, after `edit`
/// changes the f32 values of case `c`.
fn write_actual(dir: &Path, edit: impl Fn(usize, &mut Vec<f32>)) -> Vec<String> {
    let (code, list) = attune(&["conform", "--list", SUITE]);
    assert_eq!(code, 0, "{list}");
    let cases: Vec<String> = list.lines().map(str::to_string).collect();
    assert_eq!(cases.len(), 2, "{list}");
    let mut entries = vec![];
    for (n, c) in cases.iter().enumerate() {
        let bytes = std::fs::read(root().join(c).join("ref_0.bin")).unwrap();
        let mut v: Vec<f32> = bytes
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        edit(n, &mut v);
        let file = format!("{n}.bin");
        let out: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(dir.join(&file), out).unwrap();
        entries.push(serde_json::json!({
            "case": c, "outputs": [{"file": file, "dtype": "f32", "shape": [3, 7]}]
        }));
    }
    std::fs::write(
        dir.join("index.json"),
        serde_json::json!({"runtime": "test runtime", "cases": entries}).to_string(),
    )
    .unwrap();
    cases
}

fn judge(dir: &Path) -> (i32, String) {
    attune(&["conform", "--actual", dir.to_str().unwrap(), SUITE])
}

#[test]
fn conform_actual_passes_the_reference_itself() {
    let d = scratch("same");
    write_actual(&d, |_, _| {});
    let (code, out) = judge(&d);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("test runtime: 2 passed, 0 failed"), "{out}");
}

#[test]
fn conform_actual_fails_beyond_the_tolerance_and_on_nan() {
    // 1e-5 × max(1, max|ref|) is the bound: 1e-3 is far beyond it.
    let d = scratch("off");
    write_actual(&d, |n, v| {
        if n == 0 {
            v[3] += 1e-3;
        } else {
            v[0] = f32::NAN;
        }
    });
    let (code, out) = judge(&d);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

#[test]
fn conform_actual_fails_on_a_wrong_shape_or_element_count() {
    let d = scratch("shape");
    write_actual(&d, |n, v| {
        if n == 0 {
            v.pop();
        }
    });
    let (code, out) = judge(&d);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn conform_actual_fails_a_case_the_runtime_skipped_or_raised() {
    let d = scratch("skipped");
    let cases = write_actual(&d, |_, _| {});
    let index = serde_json::json!({"runtime": "r", "cases": [
        {"case": cases[0], "error": {"code": "E_RUNTIME", "message": "boom"}}
    ]});
    std::fs::write(d.join("index.json"), index.to_string()).unwrap();
    let (code, out) = judge(&d);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[E_RUNTIME] boom"), "{out}");
    assert!(out.contains("not run by r"), "{out}");
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

#[test]
fn conform_actual_refuses_a_case_outside_the_folders_given() {
    let d = scratch("extra");
    let mut cases = write_actual(&d, |_, _| {});
    cases.push("tests/conformance/ops/add/case_0".into());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("index.json")).unwrap()).unwrap();
    let mut entries = index["cases"].as_array().unwrap().clone();
    entries.push(serde_json::json!({"case": cases[2], "outputs": []}));
    std::fs::write(
        d.join("index.json"),
        serde_json::json!({"runtime": "r", "cases": entries}).to_string(),
    )
    .unwrap();
    let (code, out) = judge(&d);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not under the folders given"), "{out}");
}

/// The largest |value| of case `n`'s reference, at least 1: the scale of its float bound.
fn ref_scale(n: usize) -> f32 {
    let (_, list) = attune(&["conform", "--list", SUITE]);
    let c = list.lines().nth(n).unwrap();
    let bytes = std::fs::read(root().join(c).join("ref_0.bin")).unwrap();
    bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()).abs())
        .fold(1.0, f32::max)
}

fn judge_with(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["conform", "--actual", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(SUITE);
    attune(&args)
}

#[test]
fn conform_actual_peer_rule_admits_what_peers_differ_by_and_no_more() {
    // One int8 step of a [0, 1] score (1/256) is far beyond 1e-5 × scale but within the
    // peers' 1e-2 × scale; 2e-2 × scale is beyond both.
    let d = scratch("peer");
    let step = ref_scale(0) / 256.0;
    write_actual(&d, |n, v| {
        if n == 0 {
            v[3] += step;
        }
    });
    let (code, out) = judge(&d);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
    let (code, out) = judge_with(&d, &["--peer"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");

    let far = 2e-2 * ref_scale(1);
    write_actual(&d, |n, v| {
        if n == 1 {
            v[0] -= far;
        }
    });
    let (code, out) = judge_with(&d, &["--peer"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
    // --rtol sets the factor itself
    let (code, out) = judge_with(&d, &["--rtol", "0.05"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = judge_with(&d, &["--rtol", "0.01"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn conform_rejects_an_rtol_that_is_not_a_finite_non_negative_number() {
    let d = scratch("bad-rtol");
    write_actual(&d, |_, _| {});
    for bad in ["-0.1", "NaN", "inf"] {
        let (code, out) = judge_with(&d, &[&format!("--rtol={bad}")]);
        assert_eq!(code, 2, "{bad}: {out}");
        assert!(out.contains("--rtol must be"), "{bad}: {out}");
    }
    let (code, out) = judge_with(&d, &["--rtol", "0.1", "--peer"]);
    assert_eq!(code, 2, "{out}");
}

fn json_report(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let (code, out) = judge_with(dir, &args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, v)
}

#[test]
fn conform_json_gives_each_output_its_diff_bound_and_verdict() {
    let d = scratch("json");
    let scale = ref_scale(0);
    let cases = write_actual(&d, |n, v| {
        if n == 0 {
            v[3] += 1e-3 * scale;
        }
    });
    let (code, r) = json_report(&d, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["runtime"], "test runtime");
    assert_eq!(r["rule"]["rtol"], 0.0);
    assert_eq!(
        (r["passed"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let c0 = &r["cases"][0];
    assert_eq!(c0["case"], cases[0].as_str());
    assert_eq!(c0["passed"], false);
    assert!(
        c0["detail"].as_str().unwrap().contains("max abs diff"),
        "{c0}"
    );
    let o = &c0["outputs"][0];
    assert_eq!(
        (o["index"].as_u64(), o["dtype"].as_str()),
        (Some(0), Some("f32"))
    );
    assert_eq!(o["passed"], false);
    assert_eq!(o["differing"], 1);
    let diff = o["max_diff"].as_f64().unwrap();
    assert!((diff / (1e-3 * f64::from(scale)) - 1.0).abs() < 1e-3, "{o}");
    assert!(
        (o["bound"].as_f64().unwrap() - 1e-5 * f64::from(scale)).abs() < 1e-9,
        "{o}"
    );
    assert_eq!(r["cases"][1]["passed"], true);
    assert_eq!(r["cases"][1]["outputs"][0]["max_diff"], 0.0);

    let (code, r) = json_report(&d, &["--peer"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["rule"]["rtol"], 0.01);
    let o = &r["cases"][0]["outputs"][0];
    assert_eq!(o["passed"], true);
    assert!(
        (o["bound"].as_f64().unwrap() - 1e-2 * f64::from(scale)).abs() < 1e-6,
        "{o}"
    );
}

#[test]
fn conform_json_reports_the_error_a_runtime_raised_and_a_nan() {
    let d = scratch("json-error");
    let cases = write_actual(&d, |_, v| v[1] = f32::NAN);
    let index = serde_json::json!({"runtime": "r", "cases": [
        {"case": cases[0], "error": {"code": "E_RUNTIME", "message": "boom"}},
        {"case": cases[1], "outputs": [{"file": "1.bin", "dtype": "f32", "shape": [3, 7]}]},
    ]});
    std::fs::write(d.join("index.json"), index.to_string()).unwrap();
    let (code, r) = json_report(&d, &["--peer"]);
    assert_eq!(code, 1, "{r}");
    let c0 = &r["cases"][0];
    assert_eq!(c0["passed"], false);
    assert_eq!(c0["error"]["code"], "E_RUNTIME");
    assert_eq!(c0["error"]["message"], "boom");
    assert_eq!(c0["outputs"].as_array().unwrap().len(), 0);
    let o = &r["cases"][1]["outputs"][0];
    assert_eq!(o["passed"], false);
    assert!(o["max_diff"].is_null(), "{o}");
    assert!(o["detail"].as_str().unwrap().contains("NaN"), "{o}");
}

/// Native rankings of every golden case, as another target would write them.
fn golden_actual(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in &files {
        let case: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let tmp = dir.join("in");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("p.json"), case["profile"].to_string()).unwrap();
        std::fs::write(tmp.join("r.json"), case["request"].to_string()).unwrap();
        let (code, out) = attune(&[
            "rank",
            case["bundle"].as_str().unwrap(),
            "--profile",
            tmp.join("p.json").to_str().unwrap(),
            "--request",
            tmp.join("r.json").to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, 0, "{out}");
        std::fs::write(dir.join(f.file_name().unwrap()), out).unwrap();
    }
    files
}

fn golden_judge(dir: &Path) -> (i32, String) {
    attune(&[
        "golden-check",
        "tests/golden",
        "--actual",
        dir.to_str().unwrap(),
    ])
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

#[test]
fn golden_actual_passes_native_rankings_and_fails_each_kind_of_difference() {
    let d = scratch("golden");
    let files = golden_actual(&d);
    let (code, out) = golden_judge(&d);
    assert_eq!(code, 0, "{out}");
    let n = files.len();
    assert!(out.contains(&format!("{n} passed, 0 failed")), "{out}");

    let at = |i: usize| d.join(files[i].file_name().unwrap());
    // A score off by far more than the tolerance.
    edit_json(&at(0), |v| {
        let s = v["items"][0]["score"].as_f64().unwrap();
        v["items"][0]["score"] = (s + 0.01).into();
    });
    // A display text that is not the library's text for its reason.
    edit_json(&at(1), |v| {
        v["items"][0]["why"] = serde_json::json!(["because we said so"])
    });
    // Candidate accounting that differs from the native ranking's.
    edit_json(&at(2), |v| {
        let c = v["counts"]["eligible"].as_u64().unwrap();
        v["counts"]["eligible"] = (c + 1).into();
    });
    // An error instead of a ranking.
    std::fs::write(
        at(3),
        r#"{"error": {"code": "E_RANK_INVALID", "message": "no"}}"#,
    )
    .unwrap();
    // A missing result.
    std::fs::remove_file(at(4)).unwrap();
    let (code, out) = golden_judge(&d);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("{} passed, 5 failed", n - 5)),
        "{out}"
    );
    assert!(out.contains("differs from its reasons"), "{out}");
    assert!(out.contains("counts "), "{out}");
    assert!(out.contains("[E_RANK_INVALID] no"), "{out}");
}
