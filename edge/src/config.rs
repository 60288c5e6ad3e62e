//! The Worker's settings, read from `[vars]` and secrets through a lookup function so
//! that parsing is tested natively. Every setting has a safe default except the bundle
//! source, which must be chosen explicitly in `wrangler.toml`.

use crate::api::ApiError;

/// Request limits: every input that scales a request's CPU time has one, because the
/// Worker cannot interrupt running wasm (its deadline only answers late).
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
    /// Most history items explained by leave-one-out re-scoring, each a full model
    /// run (`ATTUNE_MAX_EXPLAIN_HISTORY`); a request that leaves `explain_history` out
    /// gets the crate's default of 3, or this limit if lower.
    pub max_explain_history: usize,
    /// Most business rules (`ATTUNE_MAX_RULES`).
    pub max_rules: usize,
    /// Most item and topic ids across all rules (`ATTUNE_MAX_RULE_ENTRIES`).
    pub max_rule_entries: usize,
    /// Most metadata conditions in the filter (`ATTUNE_MAX_FILTERS`).
    pub max_filters: usize,
    /// Most values across the metadata conditions (`equals` and `one_of`),
    /// (`ATTUNE_MAX_FILTER_VALUES`): object and array values are compared one by one.
    pub max_filter_values: usize,
    /// Most entries across the profile's control and onboarding lists (muted, boosted
    /// and picked topics, blocked and "less like this" items, …) (`ATTUNE_MAX_CONTROLS`).
    pub max_controls: usize,
}

impl Default for Limits {
    /// Typical requests cost 2–4 ms of the Workers free plan's 10 ms CPU budget; the
    /// worst request these limits allow (every limit reached at once) stays within the
    /// work budget of [`Limits::work_budget`] and measured 12–15 ms on workerd locally
    /// (BENCHMARKS.md, "Edge"). A deployment that must never pass 10 ms on the Free plan
    /// sets the tighter limits edge/README.md gives (about 7 ms at worst).
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_candidates: 5_000,
            max_k: 200,
            max_events: 2_000,
            max_explain_history: 3,
            max_rules: 100,
            max_rule_entries: 5_000,
            max_filters: 8,
            max_filter_values: 100,
            max_controls: 500,
        }
    }
}

impl Limits {
    /// The most work a request within these limits can make the ranker do on a
    /// catalog of `num_items` whose items carry at most `max_item_topics` topics
    /// (`attune::Work`'s units): the stated budget the tests hold the worst allowed
    /// requests to. Per ranked item, the ranker compares each metadata condition and
    /// value, each of the item's topics, and each distinct "less like this" topic set;
    /// diversity re-ranking compares at most `2·5k` pairs per returned item; every
    /// explained history item is one more model run and one score per item.
    pub fn work_budget(&self, num_items: usize, max_item_topics: usize) -> attune::Work {
        let n = num_items.max(self.max_candidates) as u64;
        let k = self.max_k as u64;
        let runs = 1 + self.max_explain_history as u64;
        let per_item =
            (self.max_filters + self.max_filter_values + max_item_topics + self.max_controls)
                as u64;
        attune::Work {
            model_runs: runs,
            items_scored: runs * n,
            item_ops: n * per_item + 10 * k * k.max(10) + runs * n,
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
    /// Serve bundles without a pinned key (`ATTUNE_ALLOW_UNSIGNED=1`); every such load
    /// is logged as a warning. Without it and without a key, the config is refused.
    pub allow_unsigned: bool,
    /// Accept a published RFC 8032 test key as the pinned key (`ATTUNE_ALLOW_TEST_KEY=1`,
    /// development only: anyone can sign with it).
    pub allow_test_key: bool,
    /// The bundle name to serve (`ATTUNE_BUNDLE_NAME`); another bundle is refused.
    pub bundle_name: Option<String>,
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
        let flag = |name: &str| get(name).as_deref().map(str::trim) == Some("1");
        let allow_unsigned = flag("ATTUNE_ALLOW_UNSIGNED");
        let allow_test_key = flag("ATTUNE_ALLOW_TEST_KEY");
        match &public_key {
            None if !allow_unsigned => {
                return Err(config_err(
                    "no ATTUNE_BUNDLE_PUBLIC_KEY: pin your bundle publisher's ed25519 key \
                     (or set ATTUNE_ALLOW_UNSIGNED=1 to serve unsigned bundles)"
                        .into(),
                ))
            }
            Some(k) if attune::is_published_test_key(k) && !allow_test_key => {
                return Err(config_err(
                    "ATTUNE_BUNDLE_PUBLIC_KEY is a published RFC 8032 test key whose secret \
                     key anyone can read: pin your own key (ATTUNE_ALLOW_TEST_KEY=1 only in \
                     development)"
                        .into(),
                ))
            }
            _ => {}
        }
        let bundle_name = get("ATTUNE_BUNDLE_NAME")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
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
            max_explain_history: number(&get, "ATTUNE_MAX_EXPLAIN_HISTORY", d.max_explain_history)?,
            max_rules: number(&get, "ATTUNE_MAX_RULES", d.max_rules)?,
            max_rule_entries: number(&get, "ATTUNE_MAX_RULE_ENTRIES", d.max_rule_entries)?,
            max_filters: number(&get, "ATTUNE_MAX_FILTERS", d.max_filters)?,
            max_filter_values: number(&get, "ATTUNE_MAX_FILTER_VALUES", d.max_filter_values)?,
            max_controls: number(&get, "ATTUNE_MAX_CONTROLS", d.max_controls)?,
        };
        // The crate's own hard caps still apply; a var cannot raise them.
        let caps = [
            ("ATTUNE_MAX_K", limits.max_k, attune::MAX_K),
            (
                "ATTUNE_MAX_CANDIDATES",
                limits.max_candidates,
                attune::MAX_CANDIDATES,
            ),
            (
                "ATTUNE_MAX_EXPLAIN_HISTORY",
                limits.max_explain_history,
                attune::MAX_EXPLAIN_HISTORY,
            ),
            ("ATTUNE_MAX_RULES", limits.max_rules, attune::MAX_RULES),
            (
                "ATTUNE_MAX_RULE_ENTRIES",
                limits.max_rule_entries,
                attune::MAX_RULE_ENTRIES,
            ),
            (
                "ATTUNE_MAX_FILTERS",
                limits.max_filters,
                attune::MAX_METADATA_FILTERS,
            ),
            (
                "ATTUNE_MAX_FILTER_VALUES",
                limits.max_filter_values,
                attune::MAX_ONE_OF,
            ),
        ];
        for (name, value, cap) in caps {
            if value > cap {
                return Err(config_err(format!(
                    "{name} = {value}; the crate's cap is {cap}"
                )));
            }
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
            allow_unsigned,
            allow_test_key,
            bundle_name,
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
            ("ATTUNE_ALLOW_UNSIGNED", "1"),
        ])
        .unwrap();
        assert!(c.allow_unsigned && c.public_key.is_none());
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
            ("ATTUNE_ALLOW_TEST_KEY", "1"),
            ("ATTUNE_MAX_EXPLAIN_HISTORY", "0"),
            ("ATTUNE_BUNDLE_NAME", "movielens-100k-sequence"),
        ])
        .unwrap();
        assert_eq!(c.limits.max_k, 50);
        assert_eq!(c.limits.max_explain_history, 0);
        assert_eq!(c.bundle_name.as_deref(), Some("movielens-100k-sequence"));
        assert!(c.public_key.is_some() && !c.allow_unsigned);
        assert_eq!(
            c.cors.allow(Some("https://b.example")),
            Some("https://b.example".into())
        );
        assert_eq!(c.cors.allow(Some("https://evil.example")), None);
        assert_eq!(Cors::Any.allow(Some("x")), Some("*".into()));
        assert_eq!(Cors::Any.allow(None), None);
    }

    /// RFC 8032 TEST 1, the key the reference bundles are signed with.
    const TEST_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    /// Any key that is not a published test vector.
    const OWN_KEY: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

    /// No key ships in the committed configuration, and neither a missing key nor the
    /// published test key is accepted without an explicit development flag.
    #[test]
    fn no_default_key_and_no_test_key() {
        let toml = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wrangler.toml"),
        )
        .unwrap();
        for line in toml.lines().map(str::trim) {
            assert!(
                !line.starts_with("ATTUNE_BUNDLE_PUBLIC_KEY") && !line.starts_with("ATTUNE_ALLOW_"),
                "wrangler.toml: {line}"
            );
        }
        for key in attune::PUBLISHED_TEST_KEYS {
            assert!(
                !toml.contains(key),
                "wrangler.toml pins a published test key"
            );
        }
        let base = [("ATTUNE_BUNDLE_SOURCE", "r2")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            cfg(&v)
        };
        let e = with(&[]).unwrap_err();
        assert_eq!(e.code, "E_CONFIG");
        assert!(e.message.contains("ATTUNE_ALLOW_UNSIGNED"), "{}", e.message);
        for key in attune::PUBLISHED_TEST_KEYS {
            let e = cfg(&[
                ("ATTUNE_BUNDLE_SOURCE", "r2"),
                ("ATTUNE_BUNDLE_PUBLIC_KEY", key),
            ])
            .unwrap_err();
            assert!(e.message.contains("test key"), "{}", e.message);
        }
        // The unsigned flag does not let the test key through, nor the reverse.
        assert!(with(&[
            ("ATTUNE_BUNDLE_PUBLIC_KEY", TEST_KEY),
            ("ATTUNE_ALLOW_UNSIGNED", "1")
        ])
        .is_err());
        assert!(with(&[
            ("ATTUNE_BUNDLE_PUBLIC_KEY", TEST_KEY),
            ("ATTUNE_ALLOW_TEST_KEY", "1")
        ])
        .is_ok());
        assert!(with(&[("ATTUNE_BUNDLE_PUBLIC_KEY", OWN_KEY)]).is_ok());
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
                ("ATTUNE_ALLOW_UNSIGNED", "1"),
                ("ATTUNE_MAX_EXPLAIN_HISTORY", "21"),
            ],
            vec![
                ("ATTUNE_BUNDLE_SOURCE", "kv"),
                ("ATTUNE_ALLOW_UNSIGNED", "1"),
                ("ATTUNE_MAX_FILTER_VALUES", "1001"),
            ],
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
