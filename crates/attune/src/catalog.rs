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
    metadata: Vec<Option<Map<String, Value>>>,
    index: HashMap<String, u32>,
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
            metadata: doc.metadata.unwrap_or_else(|| vec![None; n]),
            index,
        })
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
    fn civil_days() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01"), Some(11_017));
        assert_eq!(parse_day("1995-01-01T12:00:00Z"), Some(9_131));
        assert_eq!(parse_day("1995-13-01"), None);
        assert_eq!(parse_day("95-01-01"), None);
    }
}
