//! Bundle commands: `inspect`/`bench` on a bundle folder, `validate`, `rank`, `eval`
//! and `golden-check`. The folder is read here; everything else is the `attune` crate,
//! which only sees bytes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use attune::{parse_public_key, rank, Bundle, BundleError, LoadOptions, Profile, RankRequest};
use serde_json::json;

/// True when `path` is a bundle folder (a directory with a manifest.json).
pub fn is_bundle(path: &Path) -> bool {
    path.is_dir() && path.join("manifest.json").is_file()
}

fn err(e: &BundleError) -> anyhow::Error {
    anyhow!("[{}] {e}", e.code())
}

/// The public key: `--key HEX`, `--key @FILE`, or none.
pub fn key_arg(key: Option<&str>) -> Result<Option<[u8; 32]>> {
    match key {
        None => Ok(None),
        Some(k) => {
            let hex = match k.strip_prefix('@') {
                Some(f) => std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?,
                None => k.to_string(),
            };
            Ok(Some(parse_public_key(&hex).map_err(|e| err(&e))?))
        }
    }
}

fn reader(dir: &Path) -> impl Fn(&str) -> Result<Vec<u8>, String> + '_ {
    move |p: &str| std::fs::read(dir.join(p)).map_err(|e| e.to_string())
}

/// Loads a bundle folder.
pub fn load(dir: &Path, key: Option<[u8; 32]>, lazy: bool) -> Result<Bundle> {
    let manifest = std::fs::read(dir.join("manifest.json"))
        .with_context(|| format!("reading {}", dir.join("manifest.json").display()))?;
    Bundle::load(
        &manifest,
        reader(dir),
        &LoadOptions {
            public_key: key,
            lazy,
            // A developer tool over local files: the reference bundles' published test
            // key is what it is most often pointed at.
            allow_test_keys: true,
            ..LoadOptions::default()
        },
    )
    .map_err(|e| err(&e))
}

/// `attune inspect BUNDLE`.
pub fn inspect(dir: &Path, as_json: bool) -> Result<ExitCode> {
    let b = load(dir, None, true)?;
    let m = b.manifest();
    let cat = b.catalog();
    let mut topic_counts = vec![0usize; b.num_topics()];
    let mut days = vec![];
    for i in 0..cat.len() as u32 {
        for t in cat.topics(i) {
            topic_counts[*t as usize] += 1;
        }
        days.extend(cat.published(i).map(str::to_string));
    }
    days.sort();
    let signed = dir.join("manifest.sig").is_file();
    let models: Vec<_> = b
        .models()
        .iter()
        .map(|bm| {
            let e = bm.entry();
            json!({
                "id": e.id, "task": e.task, "precision": e.precision, "file": e.file, "bytes": e.bytes,
                "default": e.id == m.default_model_id(),
                "inputs": e.inputs.iter().map(|i| json!({
                    "index": i.index, "name": i.name, "dtype": i.dtype, "shape": i.shape, "role": i.role,
                    "features": i.features.as_ref().map(|f| f.len()),
                })).collect::<Vec<_>>(),
                "outputs": e.outputs.iter().map(|o| json!({
                    "index": o.index, "name": o.name, "dtype": o.dtype, "shape": o.shape, "role": o.role,
                })).collect::<Vec<_>>(),
                "ops": e.ops,
            })
        })
        .collect();
    if as_json {
        let v = json!({
            "name": m.name, "version": m.version, "created": m.created, "signed": signed,
            "models": models,
            "catalog": {"items": cat.len(), "published_min": days.first(), "published_max": days.last()},
            "topics": m.topics.iter().zip(&topic_counts).map(|(t, n)| json!({"id": t.id, "label": t.label, "items": n})).collect::<Vec<_>>(),
            "onboarding": m.onboarding, "defaults": m.defaults,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {}  (created {}, {})",
        m.name,
        m.version,
        m.created,
        if signed { "signed" } else { "unsigned" }
    );
    if let Some(s) = m
        .model_card
        .as_ref()
        .and_then(|c| c.get("summary"))
        .and_then(|s| s.as_str())
    {
        println!("{s}");
    }
    for bm in b.models() {
        let e = bm.entry();
        let default = if e.id == m.default_model_id() {
            " (default)"
        } else {
            ""
        };
        println!(
            "\nmodel {}{default}: {:?}, {}, {} ({} bytes)",
            e.id, e.task, e.precision, e.file, e.bytes
        );
        for i in &e.inputs {
            let extra = i
                .features
                .as_ref()
                .map(|f| format!("  {} features", f.len()))
                .unwrap_or_default();
            println!(
                "  in  {}  {:<36} {:<4} {:?}  {:?}{extra}",
                i.index,
                i.name,
                i.dtype.name(),
                i.shape,
                i.role
            );
        }
        for o in &e.outputs {
            println!(
                "  out {}  {:<36} {:<4} {:?}  {:?}",
                o.index,
                o.name,
                o.dtype.name(),
                o.shape,
                o.role
            );
        }
        if let Some(ops) = &e.ops {
            println!("  ops {}", ops.join(" "));
        }
    }
    println!(
        "\ncatalog: {} items, published {} .. {}",
        cat.len(),
        days.first().map_or("-", String::as_str),
        days.last().map_or("-", String::as_str)
    );
    println!("topics ({}):", m.topics.len());
    for (t, n) in m.topics.iter().zip(&topic_counts) {
        println!("  {:<14} {:<14} {n:>5} items", t.id, t.label);
    }
    println!(
        "defaults: k {}, diversity {}, exploration {}",
        m.defaults.k, m.defaults.diversity, m.defaults.exploration
    );
    Ok(ExitCode::SUCCESS)
}

/// `attune validate BUNDLE`: every problem, exit 1 if any.
pub fn validate(dir: &Path, key: Option<[u8; 32]>) -> Result<ExitCode> {
    let manifest = std::fs::read(dir.join("manifest.json"))
        .with_context(|| format!("reading {}", dir.join("manifest.json").display()))?;
    // Without a pinned key, check against manifest.pub when the bundle has one: it
    // proves the signature matches the manifest, though it is no trust anchor.
    let (key, source) = match key {
        Some(k) => (Some(k), "the given key"),
        None => match std::fs::read_to_string(dir.join("manifest.pub")) {
            Ok(hex) => (
                Some(parse_public_key(&hex).map_err(|e| err(&e))?),
                "manifest.pub (not a trust anchor)",
            ),
            Err(_) => (None, ""),
        },
    };
    match Bundle::check(
        &manifest,
        reader(dir),
        &LoadOptions {
            public_key: key,
            lazy: false,
            allow_test_keys: true,
            ..LoadOptions::default()
        },
    ) {
        Ok(b) => {
            println!("{}: valid", dir.display());
            if b.signature_verified() {
                println!("  signature verified with {source}");
                if key.is_some_and(|k| attune::is_published_test_key(&k)) {
                    println!(
                        "  warning: that key is a published RFC 8032 test key; anyone can sign with it, so apps refuse it outside development"
                    );
                }
            } else {
                println!("  not signature-checked (no key given and no manifest.pub)");
            }
            println!(
                "  catalog: {} items, {} topics",
                b.catalog().len(),
                b.num_topics()
            );
            for m in b.models() {
                println!(
                    "  model {}: inputs and outputs match the manifest; plan prepared",
                    m.entry().id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            println!("{}: INVALID ({} problem(s))", dir.display(), errors.len());
            for e in &errors {
                println!("  [{}] {e}", e.code());
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Options of `attune rank`.
pub struct RankArgs {
    pub bundle: PathBuf,
    pub profile: Option<PathBuf>,
    pub request: Option<PathBuf>,
    pub k: Option<usize>,
    pub candidates: Option<String>,
    pub model: Option<String>,
    pub diversity: Option<f64>,
    pub exploration: Option<f64>,
    pub seed: Option<u64>,
    pub include_seen: bool,
    pub key: Option<[u8; 32]>,
    pub json: bool,
}

fn read_profile(path: Option<&Path>) -> Result<Profile> {
    match path {
        None => Ok(Profile::new()),
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Profile::from_json(&bytes).map_err(|e| anyhow!("{}: [{}] {e}", p.display(), e.code()))
        }
    }
}

fn build_request(a: &RankArgs) -> Result<RankRequest> {
    let mut req: RankRequest = match &a.request {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a rank request", p.display()))?
        }
        None => RankRequest::default(),
    };
    if a.k.is_some() {
        req.k = a.k;
    }
    if let Some(c) = &a.candidates {
        req.candidates = Some(
            c.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        );
    }
    if a.model.is_some() {
        req.model = a.model.clone();
    }
    if a.diversity.is_some() {
        req.diversity = a.diversity;
    }
    if a.exploration.is_some() {
        req.exploration = a.exploration;
    }
    if let Some(s) = a.seed {
        req.seed = s;
    }
    req.include_seen |= a.include_seen;
    Ok(req)
}

/// `attune rank BUNDLE --profile P`.
pub fn rank_cmd(a: &RankArgs) -> Result<ExitCode> {
    let bundle = load(&a.bundle, a.key, false)?;
    let profile = read_profile(a.profile.as_deref())?;
    let req = build_request(a)?;
    let r = rank(&bundle, &profile, &req).map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let prefs: Vec<String> = r.inputs.preferences.keys().cloned().collect();
    println!(
        "model {}: history {} item(s), preferences [{}], {} eligible of {} candidates",
        r.model,
        r.inputs.history.len(),
        prefs.join(", "),
        r.counts.eligible,
        r.counts.candidates
    );
    for it in &r.items {
        let why: Vec<String> = it.reasons.iter().map(|x| x.text()).collect();
        println!(
            "{:>3}. {:<48} {:>7.4}  {}",
            it.rank,
            it.title,
            it.score,
            why.join("; ")
        );
    }
    if !r.inputs.unknown_items.is_empty() {
        println!(
            "({} profile item id(s) unknown to this catalog were kept but not used)",
            r.inputs.unknown_items.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `attune eval BUNDLE --events FILE`.
pub fn eval_cmd(
    dir: &Path,
    events: &Path,
    track: &str,
    expect: Option<&Path>,
    rankings: Option<&Path>,
    tolerance: f64,
    as_json: bool,
) -> Result<ExitCode> {
    let bundle = load(dir, None, false)?;
    let csv =
        std::fs::read_to_string(events).with_context(|| format!("reading {}", events.display()))?;
    let t =
        crate::eval::parse_events(&csv, track).map_err(|e| anyhow!("{}: {e}", events.display()))?;
    let t0 = Instant::now();
    let (rows, notes) = crate::eval::evaluate(&bundle, &t, &crate::eval::EvalOptions::default())
        .map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let secs = t0.elapsed().as_secs_f64();
    for n in &notes {
        eprintln!("note: {n}");
    }
    let mut ok = true;
    let expected: Option<serde_json::Value> = match expect {
        Some(p) => Some(serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )?),
        None => None,
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"track": track, "rows": rows, "seconds": secs}))?
        );
    } else {
        println!(
            "track {track}: {} users, {secs:.1} s",
            rows.first().map_or(0, |r| r.users)
        );
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "model", "map", "ndcg", "precision", "recall", "hit_rate", "map@k", "coverage"
        );
        for r in &rows {
            let m = &r.mean;
            println!(
                "{:<16} {:>9.6} {:>9.6} {:>9.6} {:>9.6} {:>9.6} {:>9.6} {:>9.6}",
                r.model, m.map, m.ndcg, m.precision, m.recall, m.hit_rate, m.map_at_k, r.coverage
            );
        }
    }
    if let Some(exp) = &expected {
        let list = exp
            .pointer(&format!("/results/{track}"))
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        let mut compared = 0;
        for r in &rows {
            let Some(e) = list.iter().find(|e| e["model"] == r.model.as_str()) else {
                println!("{}: no expected row", r.model);
                continue;
            };
            let ours = serde_json::to_value(r)?;
            let mut worst = (0.0f64, String::new());
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
                "head10_share",
            ] {
                if let (Some(a), Some(b)) = (ours[key].as_f64(), e[key].as_f64()) {
                    if (a - b).abs() > worst.0 {
                        worst = ((a - b).abs(), key.to_string());
                    }
                }
            }
            compared += 1;
            let pass = worst.0 <= tolerance;
            ok &= pass;
            println!(
                "{:<16} vs Python: max |diff| {:.2e} ({}) {}",
                r.model,
                worst.0,
                if worst.1.is_empty() { "-" } else { &worst.1 },
                if pass { "ok" } else { "FAIL" }
            );
        }
        if compared == 0 {
            println!("nothing compared");
            ok = false;
        }
    }
    if let Some(dir) = rankings {
        for r in &rows {
            let f = dir.join(format!("{track}__{}.csv", r.model));
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let theirs = crate::eval::parse_rankings(&text);
            let same = r
                .top_ids
                .iter()
                .filter(|(u, l)| theirs.get(u) == Some(l))
                .count();
            println!(
                "{:<16} identical top-10 lists: {same} of {} users",
                r.model,
                r.top_ids.len()
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.9))
}

/// The request `bench` times: the whole catalog, k 10, two business rules, diversity,
/// exploration and leave-one-out reasons.
pub fn bench_request(bundle: &Bundle) -> RankRequest {
    let cat = bundle.catalog();
    let topic = bundle
        .manifest()
        .topics
        .first()
        .map(|t| t.id.clone())
        .into_iter()
        .collect();
    RankRequest {
        k: Some(10),
        diversity: Some(0.3),
        exploration: Some(0.1),
        seed: 7,
        rules: vec![
            attune::Rule::Boost {
                items: vec![cat.id(0).to_string()],
                topics: vec![],
                weight: 0.2,
            },
            attune::Rule::Bury {
                items: vec![],
                topics: topic,
                weight: 0.1,
            },
        ],
        ..Default::default()
    }
}

/// `attune bench BUNDLE`.
pub fn bench(
    dir: &Path,
    profile: Option<&Path>,
    runs: usize,
    warmup: usize,
    as_json: bool,
) -> Result<ExitCode> {
    let manifest = std::fs::read(dir.join("manifest.json"))?;
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            Ok((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path())?,
            ))
        })
        .collect::<Result<_>>()?;
    let fetch = |p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| "missing".to_string())
    };
    let key = std::fs::read_to_string(dir.join("manifest.pub"))
        .ok()
        .map(|h| parse_public_key(&h))
        .transpose()
        .map_err(|e| err(&e))?;
    // Load = verify + parse + contract checks; prepare = optimizing plans and the prior.
    let t0 = Instant::now();
    let lazy = Bundle::load(
        &manifest,
        fetch,
        &LoadOptions {
            public_key: key,
            lazy: true,
            allow_test_keys: true,
            ..LoadOptions::default()
        },
    )
    .map_err(|e| err(&e))?;
    let load_us = t0.elapsed().as_secs_f64() * 1e6;
    drop(lazy);
    let t1 = Instant::now();
    let bundle = Bundle::load(
        &manifest,
        fetch,
        &LoadOptions {
            public_key: key,
            lazy: false,
            allow_test_keys: true,
            ..LoadOptions::default()
        },
    )
    .map_err(|e| err(&e))?;
    let full_us = t1.elapsed().as_secs_f64() * 1e6;
    let profile = read_profile(profile)?;
    let mut out = vec![];
    for (name, req) in [
        (
            "rank full catalog, k 10, rules + diversity + exploration + reasons",
            bench_request(&bundle),
        ),
        (
            "rank full catalog, k 10, pure model order, no reasons",
            RankRequest {
                k: Some(10),
                explain_history: Some(0),
                ..Default::default()
            },
        ),
    ] {
        for _ in 0..warmup {
            rank(&bundle, &profile, &req).map_err(|e| anyhow!("[{}] {e}", e.code()))?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            let r = rank(&bundle, &profile, &req).map_err(|e| anyhow!("[{}] {e}", e.code()))?;
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r);
        }
        let (p50, p90) = percentiles(times);
        out.push((name, p50, p90));
    }
    if as_json {
        let v = json!({
            "bundle": dir.display().to_string(), "load_us": load_us, "load_and_prepare_us": full_us, "runs": runs,
            "rank": out.iter().map(|(n, p50, p90)| json!({"case": n, "p50_us": p50, "p90_us": p90})).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        println!(
            "{}  (profile: {} events)",
            dir.display(),
            profile.events.len()
        );
        println!("  load (verify + parse + contract)     {load_us:>10.1} µs");
        println!("  load + prepare plans + prior         {full_us:>10.1} µs");
        for (n, p50, p90) in out {
            println!("  {n}\n      p50 {p50:>8.1} µs   p90 {p90:>8.1} µs   ({runs} runs)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn case_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    if v.is_empty() {
        bail!("no *.json cases in {}", dir.display());
    }
    Ok(v)
}

/// What another target wrote for one golden case (`attune golden-check --actual`): its
/// `Ranking` JSON, or the error it raised.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ActualRanking {
    Error { error: ActualError },
    Ranking(Box<attune::Ranking>),
}

#[derive(serde::Deserialize)]
struct ActualError {
    code: String,
    message: String,
}

/// `attune golden-check DIR [--update | --actual OUT]`: bundle paths are relative to
/// `root`. With `actual`, OUT/<case file name> holds another target's result for each
/// case (a missing one fails): its items are judged against the expectation and the
/// rest of its ranking against this build's own.
pub fn golden_check(
    dir: &Path,
    root: &Path,
    update: bool,
    actual: Option<&Path>,
) -> Result<ExitCode> {
    let (mut passed, mut failed) = (0, 0);
    let mut bundles: Vec<(String, Bundle)> = vec![];
    for f in case_files(dir)? {
        let text = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
        let mut case: crate::golden::Case = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a golden case", f.display()))?;
        if !bundles.iter().any(|(p, _)| *p == case.bundle) {
            bundles.push((
                case.bundle.clone(),
                load(&root.join(&case.bundle), None, false)?,
            ));
        }
        let bundle = &bundles
            .iter()
            .find(|(p, _)| *p == case.bundle)
            .expect("loaded")
            .1;
        let native = rank(bundle, &case.profile, &case.request)
            .map_err(|e| anyhow!("{}: [{}] {e}", f.display(), e.code()))?;
        if update {
            case.expect = crate::golden::expected(&native);
            std::fs::write(&f, serde_json::to_string_pretty(&case)? + "\n")?;
            println!("WROTE {}", f.display());
            passed += 1;
            continue;
        }
        let diffs = match actual {
            None => crate::golden::compare(&case.expect, &native),
            // Another target: its items against the expectation, and the rest of its
            // ranking against this build's.
            Some(out) => match read_actual(&out.join(f.file_name().unwrap_or_default())) {
                Ok(got) => {
                    let mut d = crate::golden::compare(&case.expect, &got);
                    d.extend(crate::golden::compare_context(&native, &got));
                    d
                }
                Err(e) => vec![format!("{e:#}")],
            },
        };
        if diffs.is_empty() {
            passed += 1;
            println!("PASS {}", f.display());
        } else {
            failed += 1;
            println!("FAIL {}", f.display());
            for d in diffs {
                println!("  {d}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_actual(path: &Path) -> Result<attune::Ranking> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: neither a ranking nor an error", path.display()))?
    {
        ActualRanking::Ranking(r) => Ok(*r),
        ActualRanking::Error { error } => bail!("[{}] {}", error.code, error.message),
    }
}
