//! The catalog: app item ids ↔ model indices, titles, topics, publication dates and
//! metadata, checked against the manifest once at load.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::BundleError;
use crate::manifest::CatalogDoc;

/// A validated catalog. Model index `i` is position `i` of every array.
#[derive(Debug, Clone)]
pub struct Catalog {
    ids: Vec<String>,
    titles: Vec<String>,
    topics: Vec<Vec<u16>>,
    /// Days since 1970-01-01 of `published`, when present and parseable.
    published_day: Vec<Option<i64>>,
    published: Vec<Option<String>>,
    image_urls: Option<Vec<Option<String>>>,
    metadata: Vec<Option<Map<String, Value>>>,
    index: HashMap<String, u32>,
}

/// Longest accepted image URL, in bytes.
pub const MAX_IMAGE_URL_BYTES: usize = 2048;

/// What is wrong with a catalog `image_urls` entry, or `None`. Apps put these straight
/// into `<img src>`, so only two forms are accepted: an absolute `https:` URL with a
/// host and no credentials, or a path on the app's own origin (`/img/1.jpg`, not
/// `//host/…`). Every character must be printable ASCII that needs no escaping in a
/// URL, so no whitespace, quotes, angle brackets or backslashes (which URL parsers
/// strip, or treat as separators, differently). No `javascript:`, `data:`, `http:` or
/// other schemes: they run code, carry unbounded payloads, or leak the user's feed in
/// clear text.
pub fn image_url_problem(url: &str) -> Option<&'static str> {
    if url.is_empty() || url.len() > MAX_IMAGE_URL_BYTES {
        return Some("is empty or longer than 2048 bytes");
    }
    let clean = url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b));
    if !clean {
        return Some("has a character a URL must escape");
    }
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("https://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.contains('@') {
            return Some("is an https URL without a host, or with credentials");
        }
        return None;
    }
    if url.starts_with('/') && !url.starts_with("//") {
        return None;
    }
    Some("is neither an https URL nor a path on the app's origin")
}

fn cat_err(msg: impl Into<String>) -> BundleError {
    BundleError::Catalog(msg.into())
}

impl Catalog {
    /// Parses and checks `catalog.json` against the manifest's item and topic counts.
    pub fn parse(
        bytes: &[u8],
        num_items: usize,
        num_topics: usize,
    ) -> Result<Catalog, BundleError> {
        let doc: CatalogDoc =
            serde_json::from_slice(bytes).map_err(|e| cat_err(format!("catalog.json: {e}")))?;
        if doc.format != "attune-catalog" || doc.format_version != 1 {
            return Err(BundleError::Version(format!(
                "catalog format {:?} version {}; this runtime reads attune-catalog 1",
                doc.format, doc.format_version
            )));
        }
        let n = doc.num_items;
        if n != num_items {
            return Err(cat_err(format!(
                "catalog has num_items {n}, the manifest says {num_items}"
            )));
        }
        let lens = [
            ("ids", doc.ids.len()),
            ("titles", doc.titles.len()),
            ("topics", doc.topics.len()),
            ("published", doc.published.as_ref().map_or(n, Vec::len)),
            ("image_urls", doc.image_urls.as_ref().map_or(n, Vec::len)),
            ("metadata", doc.metadata.as_ref().map_or(n, Vec::len)),
        ];
        for (name, len) in lens {
            if len != n {
                return Err(cat_err(format!(
                    "{name} has {len} entries, num_items is {n}"
                )));
            }
        }
        if n > u32::MAX as usize {
            return Err(cat_err("too many items"));
        }
        let mut index = HashMap::with_capacity(n);
        for (i, id) in doc.ids.iter().enumerate() {
            if id.is_empty() {
                return Err(cat_err(format!("item {i} has an empty id")));
            }
            if index.insert(id.clone(), i as u32).is_some() {
                return Err(cat_err(format!("item id {id:?} appears twice")));
            }
        }
        let mut topics = Vec::with_capacity(n);
        for (i, ts) in doc.topics.iter().enumerate() {
            let mut v = Vec::with_capacity(ts.len());
            for &t in ts {
                if t >= num_topics || t > u16::MAX as usize {
                    return Err(cat_err(format!(
                        "item {:?} has topic index {t}, the manifest has {num_topics} topics",
                        doc.ids[i]
                    )));
                }
                v.push(t as u16);
            }
            v.sort_unstable();
            v.dedup();
            topics.push(v);
        }
        if let Some(urls) = &doc.image_urls {
            for (i, u) in urls.iter().enumerate() {
                if let Some(why) = u.as_deref().and_then(image_url_problem) {
                    return Err(cat_err(format!("item {:?}: image URL {why}", doc.ids[i])));
                }
            }
        }
        let published = doc.published.unwrap_or_else(|| vec![None; n]);
        let published_day = published
            .iter()
            .map(|p| p.as_deref().and_then(parse_day))
            .collect();
        Ok(Catalog {
            ids: doc.ids,
            titles: doc.titles,
            topics,
            published_day,
            published,
            image_urls: doc.image_urls,
            metadata: doc.metadata.unwrap_or_else(|| vec![None; n]),
            index,
        })
    }

    /// The catalog as `catalog.json`'s document, from the validated data: what the
    /// browser package shows (titles, topics, images) is what the engine checked.
    /// Topic lists come back sorted and without duplicates, as the ranker reads them.
    pub fn to_doc(&self) -> CatalogDoc {
        CatalogDoc {
            format: "attune-catalog".into(),
            format_version: 1,
            num_items: self.ids.len(),
            ids: self.ids.clone(),
            titles: self.titles.clone(),
            topics: self
                .topics
                .iter()
                .map(|ts| ts.iter().map(|t| usize::from(*t)).collect())
                .collect(),
            published: self
                .published
                .iter()
                .any(Option::is_some)
                .then(|| self.published.clone()),
            image_urls: self.image_urls.clone(),
            metadata: self
                .metadata
                .iter()
                .any(Option::is_some)
                .then(|| self.metadata.clone()),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the catalog has no items (never, for a loaded bundle).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Model index of an app item id.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// App id of a model index.
    pub fn id(&self, index: u32) -> &str {
        &self.ids[index as usize]
    }

    /// Title of a model index.
    pub fn title(&self, index: u32) -> &str {
        &self.titles[index as usize]
    }

    /// Topic indices of a model index, sorted.
    pub fn topics(&self, index: u32) -> &[u16] {
        &self.topics[index as usize]
    }

    /// `published` as written in the catalog.
    pub fn published(&self, index: u32) -> Option<&str> {
        self.published[index as usize].as_deref()
    }

    /// `published` as days since 1970-01-01.
    pub fn published_day(&self, index: u32) -> Option<i64> {
        self.published_day[index as usize]
    }

    /// The item's image URL, if any (checked by [`image_url_problem`]).
    pub fn image_url(&self, index: u32) -> Option<&str> {
        self.image_urls.as_ref()?[index as usize].as_deref()
    }

    /// The item's metadata object, if any.
    pub fn metadata(&self, index: u32) -> Option<&Map<String, Value>> {
        self.metadata[index as usize].as_ref()
    }
}

/// Days since 1970-01-01 of an ISO 8601 date (`YYYY-MM-DD`, optionally followed by a
/// time, which is ignored: freshness works in days).
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Howard Hinnant's `days_from_civil`: proleptic Gregorian date → days since the epoch.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_are_https_or_same_origin_paths() {
        for ok in [
            "https://img.example.com/p/1.jpg",
            "HTTPS://img.example.com/p/1.jpg?w=200&h=300",
            "https://img.example.com:8443/a%20b.png",
            "/posters/1.jpg",
        ] {
            assert_eq!(image_url_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "http://img.example.com/1.jpg",
            "//evil.example/1.jpg",
            "https://user:pw@img.example.com/1.jpg",
            "https://",
            "https:///x",
            " https://img.example.com/1.jpg",
            "https://img.example.com/1.jpg\"onerror=\"x",
            "https://img.example.com/\\..\\x",
            "/\\evil.example/x",
            "posters/1.jpg",
            "https://img.example.com/\u{e9}.jpg",
        ] {
            assert!(image_url_problem(bad).is_some(), "{bad}");
        }
        assert!(image_url_problem(&format!("/{}", "a".repeat(MAX_IMAGE_URL_BYTES))).is_some());
    }

    fn doc(image: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "format": "attune-catalog", "format_version": 1, "num_items": 2,
            "ids": ["a", "b"], "titles": ["A", "B"], "topics": [[1, 0, 1], []],
            "image_urls": image,
        }))
        .unwrap()
    }

    #[test]
    fn a_catalog_with_a_script_url_is_refused() {
        let e = Catalog::parse(&doc(serde_json::json!(["javascript:alert(1)", null])), 2, 2)
            .expect_err("javascript: URL");
        assert_eq!(e.code(), "E_BUNDLE_CATALOG");
        let c = Catalog::parse(
            &doc(serde_json::json!(["https://x.example/a.jpg", null])),
            2,
            2,
        )
        .unwrap();
        assert_eq!(c.image_url(0), Some("https://x.example/a.jpg"));
        assert_eq!(c.image_url(1), None);
        let d = c.to_doc();
        assert_eq!(d.topics, vec![vec![0, 1], vec![]]);
        assert_eq!(d.image_urls.as_ref().map(Vec::len), Some(2));
        assert!(d.published.is_none() && d.metadata.is_none());
    }

    #[test]
    fn civil_days() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01"), Some(11_017));
        assert_eq!(parse_day("1995-01-01T12:00:00Z"), Some(9_131));
        assert_eq!(parse_day("1995-13-01"), None);
        assert_eq!(parse_day("95-01-01"), None);
    }
}
