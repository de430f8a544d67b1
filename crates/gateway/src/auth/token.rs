//! API key tokens: making them, hashing them, finding them in a request, checking them.
//!
//! A token is `ig_` followed by 256 random bits in unpadded base64url (46 characters in
//! all). Only its SHA-256 is stored. A presented token is looked up by its digest and then
//! compared with the stored digest in constant time.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use infergate_store::{ApiKey, Store, StoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every token starts with (so a leaked one is easy to recognise and grep for).
pub const TOKEN_PREFIX: &str = "ig_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// The header that carries a token as an alternative to `Authorization: Bearer`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Why the credentials of a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// `Authorization` uses another scheme and there is no `X-API-Key`.
    #[error("unsupported Authorization scheme: send `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN`")]
    Scheme,
    /// A header holds something that is not text.
    #[error("the {0} header is not valid text")]
    NotText(&'static str),
    /// `Authorization: Bearer` and `X-API-Key` carry different tokens.
    #[error("Authorization and X-API-Key carry different tokens: send one")]
    Conflict,
}

/// What every edge device's token starts with (an agent's credential, never an API key).
pub const DEVICE_TOKEN_PREFIX: &str = "igd_";

fn random_token(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A fresh API key token from the operating system's random source.
pub fn generate_token() -> Result<String, getrandom::Error> {
    random_token(TOKEN_PREFIX)
}

/// A fresh edge device token (`igd_` and 256 random bits).
pub fn generate_device_token() -> Result<String, getrandom::Error> {
    random_token(DEVICE_TOKEN_PREFIX)
}

/// Whether `presented` is the token whose stored SHA-256 (lowercase hex) is `stored_sha256`,
/// compared in constant time.
pub fn token_matches(presented: &str, stored_sha256: &str) -> bool {
    let stored = hex::decode(stored_sha256).unwrap_or_default();
    stored.as_slice().ct_eq(token_digest(presented).as_slice()).into()
}

/// A fresh key id: `k_` and 12 random hex digits (an id is not a secret; it names a key in
/// listings, revocations and history records).
pub fn generate_key_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)?;
    Ok(format!("k_{}", hex::encode(bytes)))
}

/// The SHA-256 of a token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The SHA-256 of a token in lowercase hex, as stored.
pub fn token_sha256(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// Whether `token` has the shape of an API key token we issue (checked before any database lookup).
pub fn is_well_formed(token: &str) -> bool {
    well_formed(token, TOKEN_PREFIX)
}

/// Whether `token` has the shape of a device token we issue.
pub fn is_well_formed_device_token(token: &str) -> bool {
    well_formed(token, DEVICE_TOKEN_PREFIX)
}

fn well_formed(token: &str, prefix: &str) -> bool {
    token
        .strip_prefix(prefix)
        .and_then(|rest| URL_SAFE_NO_PAD.decode(rest).ok())
        .is_some_and(|bytes| bytes.len() == TOKEN_BYTES)
}

/// The token a request presents, from `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN`;
/// `None` when it presents none.
pub fn presented_token(headers: &HeaderMap) -> Result<Option<&str>, CredentialsError> {
    let text = |name: &'static str| {
        headers.get(name).map(|v| v.to_str().map(str::trim).map_err(|_| CredentialsError::NotText(name))).transpose()
    };
    let bearer = match text(AUTHORIZATION.as_str())? {
        None => None,
        Some(value) if value.eq_ignore_ascii_case("bearer") => Some(""),
        Some(value) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
            // Another scheme (e.g. Basic, from a proxy) is fine when X-API-Key carries the token.
            _ if headers.contains_key(API_KEY_HEADER) => None,
            _ => return Err(CredentialsError::Scheme),
        },
    };
    let api_key = text(API_KEY_HEADER)?;
    match (bearer, api_key) {
        (Some(a), Some(b)) if a != b => Err(CredentialsError::Conflict),
        (Some(t), _) | (None, Some(t)) => Ok(Some(t)),
        (None, None) => Ok(None),
    }
}

/// The valid (unrevoked) key whose token is `token`, if any.
pub async fn verify(store: &Store, token: &str) -> Result<Option<ApiKey>, StoreError> {
    if !is_well_formed(token) {
        return Ok(None);
    }
    let digest = token_digest(token);
    // The lookup is by the digest of what the caller sent, which tells nothing about stored
    // tokens; the final comparison of the digests takes the same time wherever they differ.
    let Some(found) = store.api_key_by_token_hash(&hex::encode(digest)).await? else {
        return Ok(None);
    };
    let stored = hex::decode(&found.token_sha256).unwrap_or_default();
    let same: bool = stored.as_slice().ct_eq(digest.as_slice()).into();
    Ok((same && !found.key.is_revoked()).then_some(found.key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_are_random_prefixed_and_well_formed() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert!(a.starts_with("ig_") && is_well_formed(&a), "{a}");
        assert!(!is_well_formed(&a[..a.len() - 1]), "too short");
        assert!(!is_well_formed(&format!("{a}A")), "too long");
        assert!(!is_well_formed(&a.replacen("ig_", "xx_", 1)), "wrong prefix");
        assert!(!is_well_formed(&a.replace(&a[5..6], "+")), "not base64url");
        let d = generate_device_token().unwrap();
        assert!(d.starts_with("igd_") && is_well_formed_device_token(&d) && !is_well_formed(&d), "{d}");
        assert!(!is_well_formed_device_token(&a));
        assert!(token_matches(&d, &token_sha256(&d)) && !token_matches(&a, &token_sha256(&d)));
        assert!(!token_matches(&d, "not hex"));
        let id = generate_key_id().unwrap();
        assert!(id.starts_with("k_") && id.len() == 14, "{id}");
    }

    #[test]
    fn hashing_is_sha256_hex() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(token_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hex::encode(token_digest("abc")), token_sha256("abc"));
    }

    #[test]
    fn tokens_are_read_from_either_header() {
        assert_eq!(presented_token(&headers(&[])), Ok(None));
        assert_eq!(presented_token(&headers(&[("authorization", "Bearer ig_x")])), Ok(Some("ig_x")));
        assert_eq!(presented_token(&headers(&[("authorization", "bearer   ig_x ")])), Ok(Some("ig_x")));
        assert_eq!(presented_token(&headers(&[("x-api-key", " ig_y")])), Ok(Some("ig_y")));
        assert_eq!(
            presented_token(&headers(&[("authorization", "Bearer ig_x"), ("x-api-key", "ig_x")])),
            Ok(Some("ig_x"))
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "Bearer ig_x"), ("x-api-key", "ig_y")])),
            Err(CredentialsError::Conflict)
        );
        assert_eq!(presented_token(&headers(&[("authorization", "Basic dTpw")])), Err(CredentialsError::Scheme));
        assert_eq!(presented_token(&headers(&[("authorization", "ig_x")])), Err(CredentialsError::Scheme));
        assert_eq!(
            presented_token(&headers(&[("authorization", "Basic dTpw"), ("x-api-key", "ig_y")])),
            Ok(Some("ig_y")),
            "a proxy's own Authorization does not hide X-API-Key"
        );
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_bytes(b"ig_\xff").unwrap());
        assert_eq!(presented_token(&h), Err(CredentialsError::NotText("x-api-key")));
    }

    #[tokio::test]
    async fn verify_accepts_only_the_stored_unrevoked_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let token = generate_token().unwrap();
        let new = infergate_store::NewApiKey {
            id: "k_1".into(),
            name: None,
            role: infergate_core::Role::Client,
            token_sha256: token_sha256(&token),
            rate_per_s: None,
            burst: None,
        };
        store.insert_api_key(&new).await.unwrap();
        assert_eq!(verify(&store, &token).await.unwrap().unwrap().id, "k_1");
        assert!(verify(&store, &generate_token().unwrap()).await.unwrap().is_none());
        assert!(verify(&store, "ig_short").await.unwrap().is_none());
        store.revoke_api_key("k_1").await.unwrap();
        assert!(verify(&store, &token).await.unwrap().is_none(), "revoked");
    }
}
