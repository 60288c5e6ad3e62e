//! Attune for browsers and web views: a thin wasm-bindgen layer over the `attune` crate.
//!
//! Everything that crosses the boundary is either bytes (bundle files, model tensors) or
//! JSON text in the same wire format as the Rust types' serde form and the Worker's
//! HTTP API, so a request and its result are identical on every target. The npm package
//! (`pkg/`) wraps these classes in a typed, promise-based API; they are not meant to be
//! used directly, but they are documented because they are public exports.
//!
//! Errors are thrown as JS `Error` objects with `name = "AttuneError"` and a stable
//! machine `code` (`E_BUNDLE_INTEGRITY`, `E_PROFILE_CORRUPT`, `E_RANK_INVALID`, …).
//! Objects own wasm memory: call `free()` (or use `using` with `Symbol.dispose`) when
//! done; a finalizer frees them eventually otherwise.
//!
//! A panic (a bug) traps the instance: stable Rust aborts on panic in wasm32. The panic
//! hook prints the message to the console and keeps it for [`take_panic_message`];
//! the npm package then rejects the call with `E_PANIC` and replaces the instance
//! (`__wbg_reset_state`, from wasm-bindgen's `--experimental-reset-state-function`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use attune::{Bundle, LoadOptions, MaxAge, Profile, RankRequest};
use attune_tflite::{DType, Model, Tensor};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A JS `Error` with `name = "AttuneError"` and a machine-readable `code`.
fn error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("AttuneError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

fn json<T: Serialize>(v: &T) -> Result<String, JsValue> {
    serde_json::to_string(v).map_err(|e| error("E_INTERNAL", &e.to_string()))
}

/// Parses JSON text from JS into a request/event type; serde's message names the field.
fn parse<T: serde::de::DeserializeOwned>(code: &str, what: &str, text: &str) -> Result<T, JsValue> {
    serde_json::from_str(text).map_err(|e| error(code, &format!("{what}: {e}")))
}

// wasm-ld wraps every export of a module that never calls `__wasm_call_ctors` itself in
// a call to it ("command" style), so tract's operator registrations (`inventory`) would
// run again on every call into the module, including the allocation helpers the JS glue
// calls per argument: 15 µs of fixed cost per model run in Chromium instead of 5. Calling
// it once from the start function makes wasm-ld leave the exports alone.
#[cfg(target_arch = "wasm32")]
extern "C" {
    fn __wasm_call_ctors();
}

/// Runs the static constructors once, when the glue instantiates the module, and
/// installs the panic hook.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
#[allow(unsafe_code)]
pub fn start() {
    // SAFETY: the linker-generated constructor list; the start function runs exactly
    // once per instance, before any other export is called.
    unsafe { __wasm_call_ctors() }
    std::panic::set_hook(Box::new(panic_hook));
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Set by [`inject_panic`]: the next `WasmBundle.rank` panics.
static PANIC_ARMED: AtomicBool = AtomicBool::new(false);

#[cfg(target_arch = "wasm32")]
fn panic_hook(info: &std::panic::PanicHookInfo<'_>) {
    console_error_panic_hook::hook(info);
    // `try_with`/`try_borrow_mut`: a hook must never panic itself.
    let _ = LAST_PANIC.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            *p = Some(info.to_string());
        }
    });
}

/// The last panic's message (once), for the error the package raises after a trap.
/// Called on the trapped instance just before it is replaced: it only reads a
/// thread-local the hook wrote.
#[wasm_bindgen(js_name = takePanicMessage)]
pub fn take_panic_message() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow_mut().take())
}

/// Test hook, not part of the package's API: makes the next `WasmBundle.rank` panic,
/// so that the browser tests can prove a panic is reported as `E_PANIC` and that the
/// package recovers on a fresh instance (docs/security.md). Reachable only through the
/// raw wasm-bindgen glue, which the package does not export.
#[wasm_bindgen(js_name = __attuneInjectPanic)]
pub fn inject_panic() {
    PANIC_ARMED.store(true, Ordering::SeqCst);
}

/// Trust options from JS (`loadBundle`'s `allowTestKey`, `name`, the rollback floor
/// and `maxAgeMs`), in the crate's terms.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct TrustOptions {
    allow_test_keys: bool,
    expected_name: Option<String>,
    min_version: Option<String>,
    max_age_ms: Option<f64>,
    now_ms: Option<f64>,
}

fn load_options(
    public_key_hex: Option<String>,
    options_json: Option<String>,
) -> Result<LoadOptions, JsValue> {
    let public_key = match public_key_hex {
        Some(h) => Some(attune::parse_public_key(&h).map_err(|e| error(e.code(), &e.to_string()))?),
        None => None,
    };
    let t: TrustOptions = match options_json {
        Some(text) => parse("E_INTERNAL", "load options", &text)?,
        None => TrustOptions::default(),
    };
    let max_age = match (t.max_age_ms, t.now_ms) {
        (None, _) => None,
        (Some(age), Some(now)) if age.is_finite() && now.is_finite() && age >= 0.0 => {
            Some(MaxAge {
                now_ms: now as i64,
                max_age_ms: age as i64,
            })
        }
        _ => {
            return Err(error(
                "E_INTERNAL",
                "load options: max_age_ms needs a finite now_ms and a non-negative age",
            ))
        }
    };
    Ok(LoadOptions {
        public_key,
        lazy: false,
        allow_test_keys: t.allow_test_keys,
        expected_name: t.expected_name,
        min_version: t.min_version,
        max_age,
    })
}

/// Checks `manifest.json` before anything it lists is fetched: size, key policy,
/// signature (with a pinned key; `signature` is `manifest.sig`), structure, path rules,
/// expected name, rollback floor and age. Returns the files to download as JSON:
/// `{name, version, created, hash, signature_verified, files: [{file, sha256, bytes}]}`.
#[wasm_bindgen(js_name = verifyManifest)]
pub fn verify_manifest(
    manifest: &[u8],
    signature: Option<Vec<u8>>,
    public_key_hex: Option<String>,
    options_json: Option<String>,
) -> Result<String, JsValue> {
    let opts = load_options(public_key_hex, options_json)?;
    let v = attune::verify_manifest(manifest, signature.as_deref(), &opts)
        .map_err(|e| error(e.code(), &e.to_string()))?;
    json(&v)
}

/// The runtime's version (the crate version, same for the Rust crates and npm package).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The display text of a reason (`Reason` JSON, as in a ranking's `reasons`): the
/// library's sentence, so every target shows the same words. `displayTitle` replaces
/// the catalog title of a history reason's item (an app's display form of it).
#[wasm_bindgen(js_name = reasonText)]
pub fn reason_text(reason_json: &str, display_title: Option<String>) -> Result<String, JsValue> {
    let reason: attune::Reason = parse("E_RANK_INVALID", "reason", reason_json)?;
    Ok(reason.text_with_title(display_title.as_deref()))
}

/// A loaded, verified bundle with its models prepared.
#[wasm_bindgen]
pub struct WasmBundle {
    inner: Bundle,
    info: String,
}

#[derive(Serialize)]
struct ModelInfo<'a> {
    id: &'a str,
    task: attune::manifest::Task,
    precision: &'a str,
    sha256: &'a str,
    bytes: u64,
    scores_catalog: bool,
    history_len: usize,
}

#[derive(Serialize)]
struct BundleInfo<'a> {
    name: &'a str,
    version: &'a str,
    /// sha256 of the exact manifest bytes: identifies the bundle content.
    hash: String,
    signature_verified: bool,
    num_items: usize,
    default_model: &'a str,
    models: Vec<ModelInfo<'a>>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[wasm_bindgen]
impl WasmBundle {
    /// Loads a bundle from its files: a `Map` from path (`manifest.json`,
    /// `catalog.json`, model files, `manifest.sig`) to `Uint8Array`. With
    /// `publicKeyHex` (64 hex digits) the manifest signature must verify. `optionsJson`
    /// holds the trust options of [`verifyManifest`](verify_manifest).
    pub fn load(
        files: &js_sys::Map,
        public_key_hex: Option<String>,
        options_json: Option<String>,
    ) -> Result<WasmBundle, JsValue> {
        let get = |path: &str| -> Option<Vec<u8>> {
            let v = files.get(&JsValue::from_str(path));
            v.dyn_ref::<js_sys::Uint8Array>().map(|a| a.to_vec())
        };
        let manifest = get("manifest.json").ok_or_else(|| {
            error(
                "E_BUNDLE_MISSING_FILE",
                "bundle file manifest.json: not among the files given",
            )
        })?;
        let opts = load_options(public_key_hex, options_json)?;
        let inner = Bundle::load(
            &manifest,
            |p| get(p).ok_or_else(|| "not among the files given".to_string()),
            &opts,
        )
        .map_err(|e| error(e.code(), &e.to_string()))?;
        let m = inner.manifest();
        let info = json(&BundleInfo {
            name: &m.name,
            version: &m.version,
            hash: sha256_hex(inner.manifest_bytes()),
            signature_verified: inner.signature_verified(),
            num_items: inner.catalog().len(),
            default_model: m.default_model_id(),
            models: inner
                .models()
                .iter()
                .map(|bm| ModelInfo {
                    id: &bm.entry().id,
                    task: bm.task(),
                    precision: &bm.entry().precision,
                    sha256: &bm.entry().sha256,
                    bytes: bm.entry().bytes,
                    scores_catalog: bm.scores_catalog(),
                    history_len: bm.history_len(),
                })
                .collect(),
        })?;
        Ok(WasmBundle { inner, info })
    }

    /// Name, version, manifest hash, signature status, item count and models, as JSON.
    #[wasm_bindgen(js_name = infoJson)]
    pub fn info_json(&self) -> String {
        self.info.clone()
    }

    /// The catalog as `catalog.json`'s document, serialized from what the engine
    /// verified and validated: the only source of the titles, topics and images an app
    /// shows.
    #[wasm_bindgen(js_name = catalogJson)]
    pub fn catalog_json(&self) -> Result<String, JsValue> {
        json(&self.inner.catalog().to_doc())
    }

    /// The exact manifest bytes the engine verified (their sha256 is `hash`): the
    /// package parses these, never bytes it downloaded itself.
    #[wasm_bindgen(js_name = manifestBytes)]
    pub fn manifest_bytes(&self) -> Vec<u8> {
        self.inner.manifest_bytes().to_vec()
    }

    /// Ranks for a profile. `requestJson` is a `RankRequest` (snake_case fields, unknown
    /// fields refused); the result is a `Ranking` as JSON.
    pub fn rank(&self, profile: &WasmProfile, request_json: &str) -> Result<String, JsValue> {
        if PANIC_ARMED.swap(false, Ordering::SeqCst) {
            panic!("injected panic (__attuneInjectPanic, a test hook)");
        }
        let req: RankRequest = parse("E_RANK_INVALID", "rank request", request_json)?;
        let r = attune::rank(&self.inner, &profile.inner, &req)
            .map_err(|e| error(e.code(), &e.to_string()))?;
        json(&r)
    }
}

/// The user's on-device state. Persisting it is the caller's job (the npm package
/// keeps `toJson()` in IndexedDB).
#[wasm_bindgen]
pub struct WasmProfile {
    inner: Profile,
}

impl Default for WasmProfile {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WasmProfile {
    /// An empty profile.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmProfile {
        WasmProfile {
            inner: Profile::new(),
        }
    }

    /// Reads a stored profile (migrating older format versions). A profile that cannot
    /// be read throws `E_PROFILE_CORRUPT` or `E_PROFILE_VERSION`; it is never reset.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<WasmProfile, JsValue> {
        Profile::from_json(text.as_bytes())
            .map(|inner| WasmProfile { inner })
            .map_err(|e| error(e.code(), &e.to_string()))
    }

    /// Compact JSON for storage.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Everything the profile holds, as pretty JSON (the user's data export).
    #[wasm_bindgen(js_name = exportJson)]
    pub fn export_json(&self) -> String {
        self.inner.export_json()
    }

    /// Records an event (`{"item": "…", "ts": ms, "type": "view" | "rating", …}`).
    /// Throws `E_PROFILE_INVALID` and leaves the profile unchanged on a bad event.
    pub fn track(&mut self, event_json: &str) -> Result<(), JsValue> {
        let ev: attune::Event = parse("E_PROFILE_INVALID", "event", event_json)?;
        self.inner
            .record(ev)
            .map_err(|e| error(e.code(), &e.to_string()))
    }

    /// Replaces the onboarding answers (`{picked_topics, rejected_topics, liked_items}`).
    #[wasm_bindgen(js_name = setOnboarding)]
    pub fn set_onboarding(&mut self, json_text: &str) -> Result<(), JsValue> {
        self.inner.onboarding = parse("E_PROFILE_INVALID", "onboarding", json_text)?;
        Ok(())
    }

    /// Replaces the controls (muted/boosted topics, blocked items, "less like this",
    /// exploration and diversity preferences); values are checked first.
    #[wasm_bindgen(js_name = setControls)]
    pub fn set_controls(&mut self, json_text: &str) -> Result<(), JsValue> {
        let c: attune::profile::Controls = parse("E_PROFILE_INVALID", "controls", json_text)?;
        let mut next = self.inner.clone();
        next.controls = c;
        let (e, d) = (next.controls.exploration, next.controls.diversity);
        next.set_exploration(e)
            .and_then(|()| next.set_diversity(d))
            .map_err(|e| error(e.code(), &e.to_string()))?;
        self.inner = next;
        Ok(())
    }

    /// Replaces the settings (affinity half-life, minimum dwell, retention limits).
    #[wasm_bindgen(js_name = setSettings)]
    pub fn set_settings(&mut self, json_text: &str) -> Result<(), JsValue> {
        let s: attune::profile::Settings = parse("E_PROFILE_INVALID", "settings", json_text)?;
        if s.affinity_half_life_ms <= 0 {
            return Err(error(
                "E_PROFILE_INVALID",
                "settings: affinity_half_life_ms must be > 0",
            ));
        }
        self.inner.settings = s;
        Ok(())
    }

    /// Applies the retention limits at `nowMs`; returns how many events were removed.
    #[wasm_bindgen(js_name = applyRetention)]
    pub fn apply_retention(&mut self, now_ms: f64) -> Result<u32, JsValue> {
        if !now_ms.is_finite() {
            return Err(error("E_PROFILE_INVALID", "now is not a finite number"));
        }
        Ok(self.inner.apply_retention(now_ms as i64) as u32)
    }

    /// Number of stored events.
    #[wasm_bindgen(js_name = eventCount)]
    pub fn event_count(&self) -> u32 {
        self.inner.events.len() as u32
    }

    /// Deletes everything: events, onboarding answers, controls and settings.
    #[wasm_bindgen(js_name = deleteAll)]
    pub fn delete_all(&mut self) {
        self.inner.delete_all();
    }
}

/// A raw TFLite model on the engine, for apps that run their own models and for
/// benchmarks. Inputs and outputs are typed arrays in row-major order.
#[wasm_bindgen]
pub struct WasmModel {
    inner: Model,
}

#[derive(Serialize)]
struct TensorInfo<'a> {
    name: &'a str,
    dtype: &'static str,
    shape: &'a [usize],
    signature: &'a [i64],
}

fn tensor_info(t: &attune_tflite::TensorDesc) -> TensorInfo<'_> {
    TensorInfo {
        name: &t.name,
        dtype: t.dtype.name(),
        shape: &t.shape,
        signature: &t.signature,
    }
}

fn model_error(e: attune_tflite::ModelError) -> JsValue {
    error(e.code(), &e.to_string())
}

/// Copies a JS typed array into a tensor of the model's declared dtype.
fn to_tensor(dtype: DType, shape: &[usize], v: &JsValue, index: usize) -> Result<Tensor, JsValue> {
    let bad = |what: &str| error("E_INVALID_INPUT", &format!("input {index}: {what}"));
    let n: usize = shape.iter().product();
    macro_rules! take {
        ($arr:ty, $t:ty) => {{
            let a = v
                .dyn_ref::<$arr>()
                .ok_or_else(|| bad(concat!("expected a ", stringify!($arr))))?;
            if a.length() as usize != n {
                return Err(bad(&format!("{} values for shape {shape:?}", a.length())));
            }
            Tensor::from_shape::<$t>(shape, &a.to_vec()).map_err(|e| bad(&e.to_string()))
        }};
    }
    match dtype {
        DType::F32 => take!(js_sys::Float32Array, f32),
        DType::F64 => take!(js_sys::Float64Array, f64),
        DType::I32 => take!(js_sys::Int32Array, i32),
        DType::I64 => take!(js_sys::BigInt64Array, i64),
        DType::I16 => take!(js_sys::Int16Array, i16),
        DType::I8 => take!(js_sys::Int8Array, i8),
        DType::U8 => take!(js_sys::Uint8Array, u8),
        DType::Bool => {
            let a = v
                .dyn_ref::<js_sys::Uint8Array>()
                .ok_or_else(|| bad("expected a Uint8Array of 0/1 for a bool tensor"))?;
            let b: Vec<bool> = a.to_vec().into_iter().map(|x| x != 0).collect();
            Tensor::from_shape::<bool>(shape, &b).map_err(|e| bad(&e.to_string()))
        }
        other => Err(bad(&format!(
            "dtype {} is not supported as an input",
            other.name()
        ))),
    }
}

fn from_tensor(t: &Tensor) -> Result<JsValue, JsValue> {
    use attune_tflite::DatumType as D;
    let bad = |e: String| error("E_RUNTIME", &e);
    let dt = t.datum_type();
    let t = t.try_as_plain_ram().map_err(|e| bad(e.to_string()))?;
    macro_rules! give {
        ($arr:ty, $t:ty) => {{
            let s = t.as_slice::<$t>().map_err(|e| bad(e.to_string()))?;
            Ok(<$arr>::from(s).into())
        }};
    }
    match dt {
        D::F32 => give!(js_sys::Float32Array, f32),
        D::F64 => give!(js_sys::Float64Array, f64),
        D::I32 => give!(js_sys::Int32Array, i32),
        D::I64 => give!(js_sys::BigInt64Array, i64),
        D::I16 => give!(js_sys::Int16Array, i16),
        D::I8 => give!(js_sys::Int8Array, i8),
        D::U8 => give!(js_sys::Uint8Array, u8),
        D::Bool => {
            let s = t.as_slice::<bool>().map_err(|e| bad(e.to_string()))?;
            let b: Vec<u8> = s.iter().map(|x| u8::from(*x)).collect();
            Ok(js_sys::Uint8Array::from(&b[..]).into())
        }
        other => Err(bad(format!("output dtype {other:?} has no typed array"))),
    }
}

#[wasm_bindgen]
impl WasmModel {
    /// Parses, validates and prepares a `.tflite` model. Unsupported operators are all
    /// listed in one `E_UNSUPPORTED_OP` error.
    pub fn load(bytes: &[u8]) -> Result<WasmModel, JsValue> {
        Model::load(bytes)
            .map(|inner| WasmModel { inner })
            .map_err(model_error)
    }

    /// Inputs as JSON: `[{name, dtype, shape, signature}]` (-1 in `signature` marks a
    /// dynamic dimension).
    #[wasm_bindgen(js_name = inputsJson)]
    pub fn inputs_json(&self) -> Result<String, JsValue> {
        json(
            &self
                .inner
                .inputs()
                .into_iter()
                .map(tensor_info)
                .collect::<Vec<_>>(),
        )
    }

    /// Outputs as JSON, like `inputsJson`.
    #[wasm_bindgen(js_name = outputsJson)]
    pub fn outputs_json(&self) -> Result<String, JsValue> {
        json(
            &self
                .inner
                .outputs()
                .into_iter()
                .map(tensor_info)
                .collect::<Vec<_>>(),
        )
    }

    /// Runs the model. `inputs` is an array of typed arrays, one per model input, of
    /// the input's dtype (`Float32Array` for f32, `Int32Array` for i32, `BigInt64Array`
    /// for i64, `Uint8Array` for u8 and bool, …). `shapes` (optional) gives each
    /// input's shape when a dimension is dynamic. Returns an array of typed arrays.
    pub fn run(
        &self,
        inputs: &js_sys::Array,
        shapes: Option<js_sys::Array>,
    ) -> Result<js_sys::Array, JsValue> {
        let decl = self.inner.inputs();
        if inputs.length() as usize != decl.len() {
            return Err(error(
                "E_INVALID_INPUT",
                &format!(
                    "{} inputs given, the model has {}",
                    inputs.length(),
                    decl.len()
                ),
            ));
        }
        let mut tensors = Vec::with_capacity(decl.len());
        for (i, d) in decl.iter().enumerate() {
            let shape: Vec<usize> = match shapes.as_ref().map(|s| s.get(i as u32)) {
                Some(s) if !s.is_undefined() && !s.is_null() => {
                    let arr: &js_sys::Array = s.dyn_ref().ok_or_else(|| {
                        error("E_INVALID_INPUT", &format!("shape {i} is not an array"))
                    })?;
                    arr.iter()
                        .map(|x| match x.as_f64() {
                            Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1e9 => Ok(f as usize),
                            _ => Err(error(
                                "E_INVALID_INPUT",
                                &format!("shape {i}: dimensions must be non-negative integers"),
                            )),
                        })
                        .collect::<Result<_, _>>()?
                }
                _ => d.shape.clone(),
            };
            tensors.push(to_tensor(d.dtype, &shape, &inputs.get(i as u32), i)?);
        }
        let out = self.inner.run(tensors).map_err(model_error)?;
        let arr = js_sys::Array::new();
        for t in &out {
            arr.push(&from_tensor(t)?);
        }
        Ok(arr)
    }
}
