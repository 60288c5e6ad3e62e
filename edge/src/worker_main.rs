//! The Worker shell: routes, auth, bundle source and cache, responses, logs. Compiled
//! for wasm32 only; everything that can be decided without the runtime is in `api`,
//! `auth` and `config`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use attune::{Bundle, LoadOptions};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{event, Context, Env, Headers, Method, Request, Response};

use crate::api::{self, ApiError};
use crate::auth;
use crate::config::{Config, Source};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`. On Cloudflare the clock only advances across I/O (a
    /// Spectre mitigation), so durations measured inside one CPU-bound step can read
    /// lower than the real time; see edge/README.md.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn perf_now() -> f64;

    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);

    /// Defined by `js/entry.mjs`: fails every in-flight request with a 500 and
    /// schedules a fresh wasm instance. `catch`: a missing hook must not throw
    /// through the panic hook.
    #[wasm_bindgen(catch, js_namespace = globalThis, js_name = __attunePanic)]
    fn notify_panic(message: &str) -> Result<(), wasm_bindgen::JsValue>;
}

/// Chains a hook after the `worker` crate's (which logs the panic): with
/// `panic = "abort"` on wasm32 (stable Rust has no unwinding there) the instance traps
/// right after the hook, and the future of every request in flight would never
/// settle. The entry module turns this notice into 500 `E_PANIC` responses and a
/// fresh instance. Installed on the first request of each instance, after `worker`'s
/// start function has installed its own hook.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let _ = notify_panic(&info.to_string());
        }));
    });
}

/// A bundle prepared for ranking, shared by every request of the isolate.
struct Loaded {
    bundle: Bundle,
    sha256: String,
    source: Source,
}

/// Per-isolate state. Requests of one isolate interleave at every `await`.
#[derive(Default)]
struct State {
    current: Option<Rc<Loaded>>,
    /// `perf_now()` of the last look at the source's manifest.
    checked_at: Option<f64>,
    /// sha256 of the manifest being loaded, while a load is in flight.
    loading: Option<String>,
    /// The outcome of the last load, for the requests that waited for it.
    last: Option<(String, Result<Rc<Loaded>, ApiError>)>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

fn log(fields: &[(&str, Value)]) {
    let mut m: BTreeMap<&str, Value> = fields.iter().cloned().collect();
    m.insert("ts", json!(js_sys::Date::now() as i64));
    console_log(&api::log_line(&m));
}

fn source_err(msg: String) -> ApiError {
    ApiError::new("E_BUNDLE_SOURCE", msg)
}

/// Reads one file of the bundle from the configured source; `None` when absent.
async fn read_file(env: &Env, cfg: &Config, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let key = format!("{}{}", cfg.prefix, name);
    match cfg.source {
        Source::Assets => {
            let assets = env
                .assets("ASSETS")
                .map_err(|e| source_err(format!("binding ASSETS: {e}")))?;
            // The host is ignored by the assets binding; only the path matters.
            let mut resp = assets
                .fetch(format!("https://assets.invalid/{key}"), None)
                .await
                .map_err(|e| source_err(format!("assets {key}: {e}")))?;
            match resp.status_code() {
                200 => Ok(Some(
                    resp.bytes()
                        .await
                        .map_err(|e| source_err(format!("assets {key}: {e}")))?,
                )),
                404 => Ok(None),
                s => Err(source_err(format!("assets {key}: HTTP {s}"))),
            }
        }
        Source::R2 => {
            let bucket = env
                .bucket("BUNDLE_R2")
                .map_err(|e| source_err(format!("binding BUNDLE_R2: {e}")))?;
            let obj = bucket
                .get(key.clone())
                .execute()
                .await
                .map_err(|e| source_err(format!("r2 {key}: {e}")))?;
            let Some(obj) = obj else { return Ok(None) };
            let Some(body) = obj.body() else {
                return Ok(None);
            };
            Ok(Some(
                body.bytes()
                    .await
                    .map_err(|e| source_err(format!("r2 {key}: {e}")))?,
            ))
        }
        Source::Kv => {
            let kv = env
                .kv("BUNDLE_KV")
                .map_err(|e| source_err(format!("binding BUNDLE_KV: {e}")))?;
            kv.get(&key)
                .bytes()
                .await
                .map_err(|e| source_err(format!("kv {key}: {e}")))
        }
    }
}

async fn read_required(env: &Env, cfg: &Config, name: &str) -> Result<Vec<u8>, ApiError> {
    read_file(env, cfg, name).await?.ok_or_else(|| {
        ApiError::new(
            "E_BUNDLE_MISSING_FILE",
            format!(
                "{}{name} is not in the {} source",
                cfg.prefix,
                cfg.source.name()
            ),
        )
    })
}

/// The trust policy for loading a bundle: the pinned key, the expected name and, when
/// a bundle is already in service, its version as the rollback floor.
fn load_options(cfg: &Config, floor: Option<String>) -> LoadOptions {
    LoadOptions {
        public_key: cfg.public_key,
        lazy: false,
        allow_test_keys: cfg.allow_test_key,
        expected_name: cfg.bundle_name.clone(),
        min_version: floor,
        max_age: None,
    }
}

/// Fetches, verifies and prepares the bundle whose manifest is `manifest`. The
/// signature, the name and the rollback floor are checked before any other file is
/// read (loading rule 1), so a replayed or foreign manifest costs one small read.
async fn load(
    env: Env,
    cfg: Config,
    manifest: Vec<u8>,
    floor: Option<String>,
) -> Result<Rc<Loaded>, ApiError> {
    let t0 = perf_now();
    let opts = load_options(&cfg, floor);
    let mut files = BTreeMap::new();
    let sig = match &cfg.public_key {
        Some(_) => Some(
            read_file(&env, &cfg, "manifest.sig")
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        "E_BUNDLE_SIGNATURE",
                        "manifest.sig is missing and a key is pinned",
                    )
                })?,
        ),
        None => None,
    };
    let verified = attune::verify_manifest(&manifest, sig.as_deref(), &opts)?;
    if let Some(sig) = sig {
        files.insert("manifest.sig".to_string(), sig);
    }
    let names: Vec<String> = verified.files.into_iter().map(|f| f.file).collect();
    let fetched =
        futures_util::future::try_join_all(names.iter().map(|n| read_required(&env, &cfg, n)))
            .await?;
    files.extend(names.into_iter().zip(fetched));
    let sha256 = verified.hash;
    files.insert("manifest.json".to_string(), manifest);
    let fetched_at = perf_now();
    let bundle = Bundle::from_files(&files, &opts)?;
    let m = bundle.manifest();
    if !bundle.signature_verified() {
        // Allowed by ATTUNE_ALLOW_UNSIGNED only; said on every load so that it is seen.
        log(&[
            ("level", json!("warn")),
            ("msg", json!("bundle_unsigned")),
            ("bundle", json!(format!("{}@{}", m.name, m.version))),
            (
                "detail",
                json!("no ATTUNE_BUNDLE_PUBLIC_KEY: this bundle's files are not authenticated"),
            ),
        ]);
    }
    log(&[
        ("msg", json!("bundle_loaded")),
        ("bundle", json!(format!("{}@{}", m.name, m.version))),
        ("hash", json!(sha256)),
        ("signature_verified", json!(bundle.signature_verified())),
        ("source", json!(cfg.source.name())),
        ("fetch_ms", json!(fetched_at - t0)),
        ("prepare_ms", json!(perf_now() - fetched_at)),
    ]);
    Ok(Rc::new(Loaded {
        bundle,
        sha256,
        source: cfg.source,
    }))
}

/// Clears the in-flight mark when the loading request ends, even if it is cancelled
/// (client gone), so a waiting request can take over.
struct LeadGuard;

impl Drop for LeadGuard {
    fn drop(&mut self) {
        STATE.with(|s| s.borrow_mut().loading = None);
    }
}

/// Loads the bundle once for all concurrent requests: the first request loads it in
/// its own context, the others poll the shared state on a short timer.
///
/// Not a shared future: Workers forbid one request from touching I/O objects (an R2
/// body stream) created by another, and a shared future is driven by whichever
/// request polls it. A timer wakes each waiting request in its own context.
async fn load_shared(
    env: &Env,
    cfg: &Config,
    manifest: Vec<u8>,
    floor: Option<String>,
) -> Result<Rc<Loaded>, ApiError> {
    enum Step {
        Lead,
        Wait,
        Done(Result<Rc<Loaded>, ApiError>),
    }
    let sha = api::sha256_hex(&manifest);
    let mut waited = false;
    loop {
        let step = STATE.with(|s| {
            let mut s = s.borrow_mut();
            if s.loading.is_some() {
                return Step::Wait;
            }
            if waited {
                if let Some((done, r)) = &s.last {
                    if *done == sha {
                        return Step::Done(r.clone());
                    }
                }
            }
            s.loading = Some(sha.clone());
            Step::Lead
        });
        match step {
            Step::Lead => {
                let _lead = LeadGuard;
                let r = load(env.clone(), cfg.clone(), manifest, floor).await;
                STATE.with(|s| {
                    let mut s = s.borrow_mut();
                    if let Ok(l) = &r {
                        s.current = Some(l.clone());
                    }
                    s.last = Some((sha, r.clone()));
                });
                return r;
            }
            Step::Wait => {
                waited = true;
                worker::Delay::from(std::time::Duration::from_millis(5)).await;
            }
            Step::Done(r) => return r,
        }
    }
}

/// The bundle to rank with, and how long this request spent loading it (0 = reused).
///
/// A loaded bundle is reused for `check_seconds`; then one request re-reads the
/// manifest (a few KB) and, if its sha256 changed, loads the new bundle while the
/// other requests keep using the old one. A new bundle that fails to load (half
/// uploaded, bad signature) is logged and the old one stays in service.
async fn bundle(env: &Env, cfg: &Config) -> Result<(Rc<Loaded>, f64), ApiError> {
    let now = perf_now();
    let (current, due) = STATE.with(|s| {
        let mut s = s.borrow_mut();
        let due = match (&s.current, s.checked_at) {
            (Some(_), Some(t)) => now - t >= cfg.check_seconds * 1000.0,
            _ => true,
        };
        if due && s.current.is_some() {
            // Claim the check so concurrent requests do not all re-read the manifest.
            s.checked_at = Some(now);
        }
        (s.current.clone(), due)
    });
    if let (Some(cur), false) = (&current, due) {
        return Ok((cur.clone(), 0.0));
    }
    let manifest = match read_required(env, cfg, "manifest.json").await {
        Ok(m) => m,
        Err(e) => {
            return match current {
                Some(cur) => {
                    log_bundle_error("bundle_check_failed", &e);
                    Ok((cur, 0.0))
                }
                None => Err(e),
            }
        }
    };
    if let Some(cur) = &current {
        if api::sha256_hex(&manifest) == cur.sha256 {
            return Ok((cur.clone(), 0.0));
        }
    }
    let t0 = perf_now();
    // The bundle in service is the floor: an older (replayed) manifest is refused and
    // the current bundle stays. A fresh isolate has no floor; see docs/security.md.
    let floor = current
        .as_ref()
        .map(|c| c.bundle.manifest().version.clone());
    match load_shared(env, cfg, manifest, floor).await {
        Ok(l) => {
            STATE.with(|s| s.borrow_mut().checked_at = Some(perf_now()));
            Ok((l, perf_now() - t0))
        }
        Err(e) => match current {
            Some(cur) => {
                log_bundle_error("bundle_update_failed", &e);
                Ok((cur, 0.0))
            }
            None => {
                log_bundle_error("bundle_load_failed", &e);
                Err(e)
            }
        },
    }
}

fn log_bundle_error(msg: &str, e: &ApiError) {
    log(&[
        ("level", json!("error")),
        ("msg", json!(msg)),
        ("code", json!(e.code)),
        // Bundle messages name files and hashes, never user data.
        ("detail", json!(e.message)),
    ]);
}

/// What a route produced.
struct Reply {
    status: u16,
    body: Vec<u8>,
    code: Option<&'static str>,
    timing: Vec<(&'static str, f64, String)>,
    bundle: Option<String>,
    extra: Vec<(&'static str, Value)>,
}

impl Reply {
    fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            body: body.into(),
            code: None,
            timing: vec![],
            bundle: None,
            extra: vec![],
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        let mut r = Reply::json(e.status(), e.body());
        r.code = Some(e.code);
        r
    }
}

/// Reads a body up to the limit, refusing early on a declared `Content-Length`.
async fn read_body(req: &mut Request, max: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            "E_BODY_TOO_LARGE",
            format!("request body larger than {max} bytes"),
        )
    };
    if let Ok(Some(len)) = req.headers().get("Content-Length") {
        if len.trim().parse::<u64>().map_or(true, |n| n > max as u64) {
            return Err(too_large());
        }
    }
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(vec![]),
    };
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new("E_BODY_READ", format!("reading the body: {e}")))?;
        if out.len() + chunk.len() > max {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

async fn route(mut req: Request, env: &Env) -> Reply {
    let method = req.method();
    let path = req.path();
    if path == "/healthz" {
        return match method {
            Method::Get | Method::Head => Reply::json(200, r#"{"status":"ok"}"#),
            _ => ApiError::new("E_METHOD_NOT_ALLOWED", "use GET").into(),
        };
    }
    let known = matches!(path.as_str(), "/v1/rank" | "/v1/bundle" | "/v1/_fault");
    if !known {
        return ApiError::new("E_NOT_FOUND", "no such route").into();
    }
    let keys = auth::parse_keys(
        env.secret("ATTUNE_API_KEYS")
            .ok()
            .map(|s| s.to_string())
            .as_deref(),
    );
    if keys.is_empty() {
        log(&[
            ("level", json!("error")),
            (
                "msg",
                json!("no API keys configured (secret ATTUNE_API_KEYS)"),
            ),
        ]);
    }
    if !auth::authorized(header(&req, "Authorization").as_deref(), &keys) {
        return ApiError::unauthorized().into();
    }
    let cfg = match Config::from_vars(|k| env.var(k).ok().map(|v| v.to_string())) {
        Ok(c) => c,
        Err(e) => {
            log_bundle_error("config_invalid", &e);
            return e.into();
        }
    };
    match (path.as_str(), method) {
        ("/v1/bundle", Method::Get) => match bundle(env, &cfg).await {
            Ok((l, load_ms)) => {
                let mut r = Reply::json(
                    200,
                    api::bundle_info(
                        &l.bundle,
                        &l.sha256,
                        l.source.name(),
                        // Pages of 64 KiB: the isolate's whole linear memory (bundle,
                        // prepared plans, allocator slack).
                        core::arch::wasm32::memory_size(0) as u64 * 65536,
                    ),
                );
                r.timing.push(("bundle", load_ms, load_desc(load_ms)));
                r.bundle = Some(bundle_name(&l));
                r
            }
            Err(e) => e.into(),
        },
        ("/v1/rank", Method::Post) => rank(&mut req, env, &cfg).await,
        ("/v1/_fault", Method::Post) if cfg.fault_injection => {
            // Tests only (ATTUNE_FAULT_INJECTION=1): a real panic inside the handler,
            // to prove it becomes a 500 with a code and that the isolate recovers.
            let kind = req
                .url()
                .map(|u| u.query().unwrap_or("").to_string())
                .unwrap_or_default();
            if kind == "panic" {
                panic!("injected panic (ATTUNE_FAULT_INJECTION)");
            }
            ApiError::new("E_INTERNAL", "injected failure").into()
        }
        ("/v1/_fault", _) => ApiError::new("E_NOT_FOUND", "no such route").into(),
        _ => ApiError::new("E_METHOD_NOT_ALLOWED", "method not allowed on this route").into(),
    }
}

fn load_desc(ms: f64) -> String {
    if ms > 0.0 {
        "loaded".into()
    } else {
        "reused".into()
    }
}

fn bundle_name(l: &Loaded) -> String {
    let m = l.bundle.manifest();
    format!("{}@{}", m.name, m.version)
}

async fn rank(req: &mut Request, env: &Env, cfg: &Config) -> Reply {
    if let Some(ct) = header(req, "Content-Type") {
        if !ct.to_ascii_lowercase().contains("json") {
            return ApiError::new("E_UNSUPPORTED_MEDIA_TYPE", "send application/json").into();
        }
    }
    let body = match read_body(req, cfg.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    // Bad input is refused before the bundle is touched: a 4xx does not depend on
    // whether a bundle is loaded, and costs no bundle I/O.
    let t_parse = perf_now();
    let call = match api::parse_rank_body(&body, &cfg.limits) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let parse_ms = perf_now() - t_parse;
    let (loaded, load_ms) = match bundle(env, cfg).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let t_rank = perf_now();
    let result = api::rank_json(&loaded.bundle, &call, &cfg.limits);
    let t_end = perf_now();
    let mut reply = match result {
        Ok((json, stats)) => {
            let mut r = Reply::json(200, json);
            r.timing
                .push(("rank", t_end - t_rank, format!("model {}", stats.model)));
            r.extra = vec![
                ("candidates", json!(stats.candidates)),
                ("returned", json!(stats.returned)),
                ("model_runs", json!(stats.work.model_runs)),
                ("item_ops", json!(stats.work.item_ops)),
            ];
            r
        }
        Err(e) => e.into(),
    };
    reply
        .timing
        .insert(0, ("bundle", load_ms, load_desc(load_ms)));
    reply.timing.insert(1, ("parse", parse_ms, String::new()));
    reply.bundle = Some(bundle_name(&loaded));
    reply
}

fn cors_headers(h: &mut Headers, allow: &str) -> worker::Result<()> {
    h.set("Access-Control-Allow-Origin", allow)?;
    h.set(
        "Access-Control-Expose-Headers",
        "Server-Timing, Attune-Bundle",
    )?;
    h.set("Timing-Allow-Origin", allow)?;
    if allow != "*" {
        h.append("Vary", "Origin")?;
    }
    Ok(())
}

fn respond(
    reply: &Reply,
    origin: Option<&str>,
    cfg_cors: &crate::config::Cors,
    total: f64,
) -> worker::Result<Response> {
    let mut h = Headers::new();
    h.set("Content-Type", "application/json; charset=utf-8")?;
    h.set("Cache-Control", "no-store")?;
    h.set("X-Content-Type-Options", "nosniff")?;
    let mut timing: Vec<(&str, f64, &str)> = reply
        .timing
        .iter()
        .map(|(n, d, s)| (*n, *d, s.as_str()))
        .collect();
    timing.push(("total", total, ""));
    h.set("Server-Timing", &api::server_timing(&timing))?;
    if let Some(b) = &reply.bundle {
        h.set("Attune-Bundle", b)?;
    }
    if let Some(allow) = cfg_cors.allow(origin) {
        cors_headers(&mut h, &allow)?;
    }
    Ok(Response::from_bytes(reply.body.clone())?
        .with_status(reply.status)
        .with_headers(h))
}

fn preflight(origin: Option<&str>, cors: &crate::config::Cors) -> worker::Result<Response> {
    let mut h = Headers::new();
    if let Some(allow) = cors.allow(origin) {
        cors_headers(&mut h, &allow)?;
        h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
        h.set(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type",
        )?;
        h.set("Access-Control-Max-Age", "600")?;
    }
    Ok(Response::empty()?.with_status(204).with_headers(h))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    install_panic_hook();
    let started = perf_now();
    let method = req.method();
    let path = req.path();
    let origin = header(&req, "Origin");
    // CORS needs only the vars; a broken config still answers preflights without CORS.
    let cors = Config::from_vars(|k| env.var(k).ok().map(|v| v.to_string()))
        .map(|c| c.cors)
        .unwrap_or_default();
    if method == Method::Options {
        return preflight(origin.as_deref(), &cors);
    }
    let reply = route(req, &env).await;
    let total = perf_now() - started;
    let mut fields: Vec<(&str, Value)> = vec![
        (
            "level",
            json!(if reply.status >= 500 { "error" } else { "info" }),
        ),
        ("msg", json!("request")),
        ("method", json!(method.to_string())),
        // Only known routes are logged by name; anything else could carry user data.
        (
            "route",
            json!(match path.as_str() {
                "/v1/rank" | "/v1/bundle" | "/healthz" | "/v1/_fault" => path.as_str(),
                _ => "other",
            }),
        ),
        ("status", json!(reply.status)),
        ("ms", json!(total)),
    ];
    if let Some(c) = reply.code {
        fields.push(("code", json!(c)));
    }
    if let Some(b) = &reply.bundle {
        fields.push(("bundle", json!(b)));
    }
    for (n, d, _) in &reply.timing {
        let key = match *n {
            "bundle" => "bundle_ms",
            "parse" => "parse_ms",
            _ => "rank_ms",
        };
        fields.push((key, json!(d)));
    }
    fields.extend(reply.extra.iter().cloned());
    log(&fields);
    respond(&reply, origin.as_deref(), &cors, total)
}
