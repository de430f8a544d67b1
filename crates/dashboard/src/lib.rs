//! The Infergate dashboard: one server-rendered page and its assets, embedded in the binary.
//!
//! [`router`] serves `GET /` (the page: sign-in form, tab list and one panel per tab, drawn
//! with `maud` at compile time) and `GET /assets/{file}` (the CSS and the small vanilla
//! JavaScript, compiled in with `include_str!`; nothing is fetched from anywhere else). The
//! page itself holds no data and needs no key: after sign-in the JavaScript keeps the API key
//! in `sessionStorage` (never in a URL) and calls the gateway's JSON API with
//! `Authorization: Bearer`. Charts are SVG drawn by the server with `infergate-charts` (the
//! same code as the CLI's reports) behind admin-keyed endpoints of the gateway; the page
//! shows them as images.
//!
//! Every answer carries a Content-Security-Policy that allows only this origin's scripts,
//! styles and connections (and `blob:` images for charts and thumbnails fetched with the key).

mod page;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The policy on every dashboard answer: this origin only; images may also be `blob:` URLs
/// (charts and thumbnails the page fetched with its key) or `data:`.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; img-src 'self' blob: data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An embedded file: its name under `/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every file under `/assets/`. The page loads the scripts in this order (core first).
const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../assets/app.css") },
    js("app.js", include_str!("../assets/app.js")),
    js("classify.js", include_str!("../assets/classify.js")),
    js("models.js", include_str!("../assets/models.js")),
    js("route.js", include_str!("../assets/route.js")),
    js("deployment.js", include_str!("../assets/deployment.js")),
    js("monitoring.js", include_str!("../assets/monitoring.js")),
    js("analytics.js", include_str!("../assets/analytics.js")),
];

const fn js(name: &'static str, body: &'static str) -> Asset {
    Asset { name, content_type: "text/javascript; charset=utf-8", body }
}

/// The names of the scripts the page loads, in order.
fn scripts() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().filter(|a| a.name.ends_with(".js")).map(|a| a.name)
}

/// The dashboard's routes: `GET /` and `GET /assets/{file}`, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/assets/{file}", get(asset))
}

/// `GET /`: the page.
pub async fn index() -> Response {
    let html = page::render(scripts()).into_string();
    with_headers(html, "text/html; charset=utf-8", "no-cache")
}

/// `GET /assets/{file}`: an embedded file, or 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        // Assets change only with the binary; revalidating keeps a new build's files fresh.
        Some(a) => with_headers(a.body.to_string(), a.content_type, "no-cache"),
        None => {
            let body = format!(r#"{{"error":"no dashboard asset {file:?}","code":"no_route"}}"#);
            let mut r = (StatusCode::NOT_FOUND, body).into_response();
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
    }
}

fn with_headers(body: String, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let app: Router = router();
        let resp = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let ct = resp.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_page_links_only_embedded_assets() {
        let (status, ct, html) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/html"));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<html lang="en">"#));
        // Every local reference resolves, and nothing points off this origin.
        for part in html.split(['"', '\'']).filter(|p| p.starts_with("/assets/")) {
            let (status, _, _) = get(part).await;
            assert_eq!(status, StatusCode::OK, "{part}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"), "no external URL");
        for a in ASSETS {
            assert!(!a.body.contains("http://") && !a.body.contains("https://"), "{} loads nothing from afar", a.name);
        }
    }

    #[tokio::test]
    async fn assets_have_types_and_unknown_ones_are_404() {
        let (status, ct, body) = get("/assets/app.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "text/javascript; charset=utf-8");
        assert!(body.contains("sessionStorage"));
        assert_eq!(get("/assets/app.css").await.1, "text/css; charset=utf-8");
        let (status, ct, body) = get("/assets/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(ct, "application/json");
        assert!(body.contains("no_route"));
    }

    #[tokio::test]
    async fn every_control_has_a_label() {
        let (_, _, html) = get("/").await;
        // Each input, select and textarea is named by a <label for=…> or aria-label.
        for tag in ["<input", "<select", "<textarea"] {
            for (i, _) in html.match_indices(tag) {
                let end = html[i..].find('>').unwrap() + i;
                let element = &html[i..end];
                if element.contains(r#"type="hidden""#) {
                    continue;
                }
                if element.contains("aria-label=") {
                    continue;
                }
                let id = element.split(r#"id=""#).nth(1).and_then(|s| s.split('"').next());
                let id = id.unwrap_or_else(|| panic!("{element} has no id and no aria-label"));
                assert!(html.contains(&format!(r#"for="{id}""#)), "{element} has no label");
            }
        }
    }
}
