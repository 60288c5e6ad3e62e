//! The Worker's settings, read from `[vars]` and secrets through a lookup function so
//! that parsing is tested natively. Every setting has a safe default except the bundle
//! source, which must be chosen explicitly in `wrangler.toml`.

use crate::api::ApiError;

/// Request limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body, bytes (`ATTUNE_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Most candidates in one request (`ATTUNE_MAX_CANDIDATES`).
    pub max_candidates: usize,
    /// Largest k (`ATTUNE_MAX_K`).
    pub max_k: usize,
    /// Most profile events in one request (`ATTUNE_MAX_EVENTS`).
    pub max_events: usize,
}

impl Default for Limits {
    /// Sized for the Workers free plan's 10 ms CPU budget: parsing 256 KiB of JSON and
    /// ranking 5,000 candidates each cost a few ms (BENCHMARKS.md, "Edge").
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_candidates: 5_000,
            max_k: 200,
            max_events: 2_000,
        }
    }
}

/// Where the bundle comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Static assets deployed with the Worker (binding `ASSETS`).
    Assets,
    /// An R2 bucket (binding `BUNDLE_R2`).
    R2,
    /// A KV namespace (binding `BUNDLE_KV`).
    Kv,
}

impl Source {
    /// The name used in `ATTUNE_BUNDLE_SOURCE` and in `GET /v1/bundle`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Assets => "assets",
            Source::R2 => "r2",
            Source::Kv => "kv",
        }
    }
}

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cors {
    /// No CORS headers: browsers on other origins cannot read responses.
    #[default]
    Off,
    /// Any origin.
    Any,
    /// These exact origins (`https://app.example.com`).
    Origins(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        match (self, origin) {
            (Cors::Off, _) | (_, None) => None,
            (Cors::Any, Some(_)) => Some("*".into()),
            (Cors::Origins(list), Some(o)) => list.iter().any(|x| x == o).then(|| o.to_string()),
        }
    }
}

/// All settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Bundle source.
    pub source: Source,
    /// Key prefix of the bundle's files in the source (`movielens-100k/sequence/`).
    pub prefix: String,
    /// Pinned ed25519 key: when set, `manifest.sig` must verify.
    pub public_key: Option<[u8; 32]>,
    /// Seconds between checks of the source's `manifest.json` for a new bundle (0 =
    /// every request).
    pub check_seconds: f64,
    /// Request limits.
    pub limits: Limits,
    /// CORS.
    pub cors: Cors,
    /// Enables `POST /v1/_fault` (tests only: proves a panic becomes a 500).
    pub fault_injection: bool,
}

fn config_err(msg: String) -> ApiError {
    ApiError::new("E_CONFIG", msg)
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, ApiError> {
    match get(name) {
        None => Ok(default),
        Some(s) if s.trim().is_empty() => Ok(default),
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| config_err(format!("{name} = {s:?} is not a number"))),
    }
}

impl Config {
    /// Reads the settings from `[vars]` (`get` returns a var's string value).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config, ApiError> {
        let source = match get("ATTUNE_BUNDLE_SOURCE").as_deref().map(str::trim) {
            Some("assets") => Source::Assets,
            Some("r2") => Source::R2,
            Some("kv") => Source::Kv,
            other => {
                return Err(config_err(format!(
                    "ATTUNE_BUNDLE_SOURCE is {other:?}; set it to \"assets\", \"r2\" or \"kv\""
                )))
            }
        };
        let mut prefix = get("ATTUNE_BUNDLE_PREFIX").unwrap_or_default();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        if prefix.starts_with('/') || prefix.split('/').any(|p| p == "..") {
            return Err(config_err(format!(
                "ATTUNE_BUNDLE_PREFIX {prefix:?} must be relative, without \"..\""
            )));
        }
        let public_key = match get("ATTUNE_BUNDLE_PUBLIC_KEY") {
            Some(k) if !k.trim().is_empty() => Some(
                attune::parse_public_key(&k)
                    .map_err(|e| config_err(format!("ATTUNE_BUNDLE_PUBLIC_KEY: {e}")))?,
            ),
            _ => None,
        };
        let check_seconds: f64 = number(&get, "ATTUNE_BUNDLE_CHECK_SECONDS", 30.0)?;
        if !check_seconds.is_finite() || check_seconds < 0.0 {
            return Err(config_err(
                "ATTUNE_BUNDLE_CHECK_SECONDS must be >= 0".into(),
            ));
        }
        let d = Limits::default();
        let limits = Limits {
            max_body_bytes: number(&get, "ATTUNE_MAX_BODY_BYTES", d.max_body_bytes)?,
            max_candidates: number(&get, "ATTUNE_MAX_CANDIDATES", d.max_candidates)?,
            max_k: number(&get, "ATTUNE_MAX_K", d.max_k)?,
            max_events: number(&get, "ATTUNE_MAX_EVENTS", d.max_events)?,
        };
        // The crate's own hard caps still apply; a var cannot raise them.
        if limits.max_k > attune::MAX_K || limits.max_candidates > attune::MAX_CANDIDATES {
            return Err(config_err(format!(
                "ATTUNE_MAX_K <= {} and ATTUNE_MAX_CANDIDATES <= {}",
                attune::MAX_K,
                attune::MAX_CANDIDATES
            )));
        }
        let cors = match get("ATTUNE_CORS_ORIGINS").as_deref().map(str::trim) {
            None | Some("") => Cors::Off,
            Some("*") => Cors::Any,
            Some(list) => Cors::Origins(
                list.split([',', ' '])
                    .map(|s| s.trim().trim_end_matches('/').to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        };
        Ok(Config {
            source,
            prefix,
            public_key,
            check_seconds,
            limits,
            cors,
            fault_injection: get("ATTUNE_FAULT_INJECTION").as_deref() == Some("1"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ApiError> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = cfg(&[
            ("ATTUNE_BUNDLE_SOURCE", "r2"),
            ("ATTUNE_BUNDLE_PREFIX", "a/b"),
        ])
        .unwrap();
        assert_eq!(c.source, Source::R2);
        assert_eq!(c.prefix, "a/b/");
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.cors, Cors::Off);
        assert!(!c.fault_injection);
        let c = cfg(&[
            ("ATTUNE_BUNDLE_SOURCE", "kv"),
            ("ATTUNE_MAX_K", "50"),
            (
                "ATTUNE_CORS_ORIGINS",
                "https://a.example, https://b.example/",
            ),
            (
                "ATTUNE_BUNDLE_PUBLIC_KEY",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            ),
        ])
        .unwrap();
        assert_eq!(c.limits.max_k, 50);
        assert!(c.public_key.is_some());
        assert_eq!(
            c.cors.allow(Some("https://b.example")),
            Some("https://b.example".into())
        );
        assert_eq!(c.cors.allow(Some("https://evil.example")), None);
        assert_eq!(Cors::Any.allow(Some("x")), Some("*".into()));
        assert_eq!(Cors::Any.allow(None), None);
    }

    #[test]
    fn bad_settings_are_config_errors() {
        for bad in [
            vec![],
            vec![("ATTUNE_BUNDLE_SOURCE", "s3")],
            vec![("ATTUNE_BUNDLE_SOURCE", "kv"), ("ATTUNE_MAX_K", "many")],
            vec![("ATTUNE_BUNDLE_SOURCE", "kv"), ("ATTUNE_MAX_K", "5000")],
            vec![
                ("ATTUNE_BUNDLE_SOURCE", "kv"),
                ("ATTUNE_BUNDLE_PREFIX", "../x"),
            ],
            vec![
                ("ATTUNE_BUNDLE_SOURCE", "kv"),
                ("ATTUNE_BUNDLE_PUBLIC_KEY", "abc"),
            ],
            vec![
                ("ATTUNE_BUNDLE_SOURCE", "kv"),
                ("ATTUNE_BUNDLE_CHECK_SECONDS", "-1"),
            ],
        ] {
            let e = cfg(&bad).unwrap_err();
            assert_eq!(e.code, "E_CONFIG", "{bad:?}");
            assert_eq!(e.status(), 500);
        }
    }
}
