//! Who may command the agent: whoever presents the device token, or its SHA-256 in lowercase hex
//! (what the controller keeps, and so sends), as `Authorization: Bearer …`. Both are compared in
//! constant time with the token's digest; the token's format does not matter.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The SHA-256 of a token in lowercase hex (how the controller stores it and authenticates to
/// the agent).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing credentials: send `Authorization: Bearer <device token>`")]
    Missing,
    /// Another scheme than Bearer, or not text.
    #[error("unsupported Authorization header: send `Authorization: Bearer <device token>`")]
    Scheme,
    /// A token that is neither the device token nor its hash.
    #[error("invalid device token")]
    Wrong,
}

/// Checks presented credentials against the device token.
#[derive(Clone)]
pub struct TokenCheck {
    digest: [u8; 32],
}

impl std::fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCheck(..)")
    }
}

impl TokenCheck {
    /// Accepts `token` and its SHA-256.
    pub fn new(token: &str) -> Self {
        TokenCheck { digest: Sha256::digest(token.as_bytes()).into() }
    }

    /// Whether `presented` is the token or its SHA-256 (hex), in constant time with respect to
    /// the token.
    pub fn accepts(&self, presented: &str) -> bool {
        let as_token: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut as_hash = [0u8; 32];
        let is_hex = Choice::from(u8::from(hex::decode_to_slice(presented, &mut as_hash).is_ok()));
        let token_ok = as_token.ct_eq(&self.digest);
        let hash_ok = as_hash.ct_eq(&self.digest) & is_hex;
        (token_ok | hash_ok).into()
    }

    /// Checks the `Authorization: Bearer` header of a request.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let value = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let text = value.to_str().map_err(|_| AuthError::Scheme)?.trim();
        let (scheme, credentials) = text.split_once(' ').ok_or(AuthError::Scheme)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Scheme);
        }
        if self.accepts(credentials.trim()) {
            Ok(())
        } else {
            Err(AuthError::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn token_or_its_hash() {
        let token = "igd_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let check = TokenCheck::new(token);
        let hash = token_sha256(token);
        assert_eq!(hash.len(), 64);
        assert!(check.accepts(token));
        assert!(check.accepts(&hash));
        assert!(check.check(&headers(Some(&format!("Bearer {token}")))).is_ok());
        assert!(check.check(&headers(Some(&format!("bearer {hash}")))).is_ok());
        // Any format: the agent does not care what a token looks like.
        assert!(TokenCheck::new("plain secret").accepts("plain secret"));
    }

    #[test]
    fn wrong_or_missing_is_refused() {
        let token = "igd_secret";
        let check = TokenCheck::new(token);
        assert_eq!(check.check(&headers(None)), Err(AuthError::Missing));
        assert_eq!(check.check(&headers(Some(token))), Err(AuthError::Scheme));
        assert_eq!(check.check(&headers(Some(&format!("Basic {token}")))), Err(AuthError::Scheme));
        assert_eq!(check.check(&headers(Some("Bearer igd_secreT"))), Err(AuthError::Wrong));
        assert_eq!(check.check(&headers(Some("Bearer "))), Err(AuthError::Scheme));
        // The hash of the hash, a truncated hash and the hash of another token are refused.
        let hash = token_sha256(token);
        assert!(!check.accepts(&token_sha256(&hash)));
        assert!(!check.accepts(&hash[..63]));
        assert!(!check.accepts(&token_sha256("igd_other")));
        assert!(!check.accepts(""));
    }
}
