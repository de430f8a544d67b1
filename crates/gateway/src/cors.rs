//! CORS: which browser origins may call the gateway, from `[server] cors_origins`.
//!
//! No origins (the default): no CORS headers, so browsers only call from the gateway's own
//! origin. `"*"` allows every origin and is only ever used when configured explicitly.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Checks an origin: `*`, or `scheme://host[:port]` without a path, as browsers send it.
fn check_origin(origin: &str) -> Result<HeaderValue, String> {
    let bad = |why: &str| format!("cors_origins: {origin:?} {why} (e.g. \"https://app.example\" or \"*\")");
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') {
        return Err(bad("must be scheme://host[:port] with no path or trailing slash"));
    }
    HeaderValue::from_str(origin).map_err(|_| bad("is not a valid header value"))
}

/// The CORS layer for `origins`; `None` when the list is empty. Errors name the bad entry.
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err("cors_origins: \"*\" allows every origin and must be the only entry".into());
        }
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().map(|o| check_origin(o)).collect::<Result<Vec<_>, _>>()?)
    };
    let header = HeaderName::from_static;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                header(crate::auth::token::API_KEY_HEADER),
                header(crate::REQUEST_ID_HEADER),
                header("x-client-id"),
                header(crate::oip::wire::HEADER_LENGTH),
            ])
            .expose_headers([
                RETRY_AFTER,
                WWW_AUTHENTICATE,
                header(crate::REQUEST_ID_HEADER),
                header("x-cold-start"),
                header(crate::oip::wire::HEADER_LENGTH),
            ])
            .max_age(MAX_AGE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_are_checked() {
        assert!(layer(&[]).unwrap().is_none(), "no origins, no CORS");
        assert!(layer(&list(&["*"])).unwrap().is_some());
        assert!(layer(&list(&["https://app.example", "http://localhost:3000"])).unwrap().is_some());
        for bad in [
            list(&["*", "https://app.example"]),
            list(&["app.example"]),
            list(&["https://app.example/"]),
            list(&["https://app.example/path"]),
            list(&["https://"]),
            list(&["https://bad\nhost"]),
        ] {
            assert!(layer(&bad).is_err(), "{bad:?}");
        }
    }
}
