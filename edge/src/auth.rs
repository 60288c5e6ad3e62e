//! Bearer API keys, compared in constant time.
//!
//! Keys come from the Worker secret `ATTUNE_API_KEYS` (several keys separated by commas
//! or whitespace, so a key can be rotated without downtime). Both the presented token
//! and each key are hashed with sha256 first and the digests are compared with a
//! branch-free fold: the time taken depends neither on where the first differing byte
//! is nor on the keys' lengths, and every configured key is compared on every request.

use sha2::{Digest, Sha256};

/// The configured keys, parsed from the secret's value.
pub fn parse_keys(secret: Option<&str>) -> Vec<String> {
    secret
        .unwrap_or_default()
        .split([',', ' ', '\n', '\t', '\r'])
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

/// Equality of two digests without data-dependent branches.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // black_box keeps the optimizer from turning the fold back into an early exit.
    std::hint::black_box(diff) == 0
}

/// Whether an `Authorization` header carries one of the keys. `false` when no key is
/// configured: the API is never open by accident.
pub fn authorized(header: Option<&str>, keys: &[String]) -> bool {
    let token = header
        .and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .unwrap_or("");
    let presented = digest(token.as_bytes());
    let mut ok = false;
    for k in keys {
        // `|` rather than `||`: no short circuit, every key is compared.
        ok |= ct_eq(&presented, &digest(k.as_bytes()));
    }
    ok && !token.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_keys() {
        let keys = parse_keys(Some("key-one-0123456789, key-two-0123456789\n"));
        assert_eq!(keys.len(), 2);
        assert!(authorized(Some("Bearer key-one-0123456789"), &keys));
        assert!(authorized(Some("bearer   key-two-0123456789 "), &keys));
        assert!(!authorized(Some("Bearer key-one-012345678"), &keys));
        assert!(!authorized(Some("Bearer key-one-0123456789x"), &keys));
        assert!(!authorized(Some("Basic key-one-0123456789"), &keys));
        assert!(!authorized(Some("key-one-0123456789"), &keys));
        assert!(!authorized(Some("Bearer "), &keys));
        assert!(!authorized(None, &keys));
        // No keys configured: nothing is authorized, not even an empty token.
        assert!(!authorized(Some("Bearer x"), &[]));
        assert!(!authorized(Some("Bearer "), &parse_keys(Some(" , "))));
    }

    #[test]
    fn digest_compare() {
        let a = digest(b"a");
        let mut b = a;
        assert!(ct_eq(&a, &b));
        b[31] ^= 1;
        assert!(!ct_eq(&a, &b));
    }
}
