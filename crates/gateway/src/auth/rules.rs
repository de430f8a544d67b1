//! Who may call which route: one table, first match wins, admin-only when nothing matches.
//!
//! Adding a route means adding a line to [`RULES`] (unless admin-only suits it). Patterns are
//! paths where `{name}` matches one segment and a final `*` matches one or more segments.

use axum::http::Method;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone, without a key.
    Public,
    /// A client or admin key.
    Client,
    /// An admin key.
    Admin,
}

/// A rule's requirement: fixed, or depending on a setting.
#[derive(Debug, Clone, Copy)]
enum Need {
    Always(Access),
    /// Public unless `[server] metrics_require_key`, then any key.
    Metrics,
}

/// Methods a rule applies to. `GET` covers `HEAD`.
#[derive(Debug, Clone, Copy)]
enum Methods {
    Any,
    Get,
    Post,
    Delete,
}

impl Methods {
    fn matches(self, method: &Method) -> bool {
        match self {
            Methods::Any => true,
            Methods::Get => method == Method::GET || method == Method::HEAD,
            Methods::Post => method == Method::POST,
            Methods::Delete => method == Method::DELETE,
        }
    }
}

use Access::{Admin, Client, Public};
use Methods::{Any, Delete, Get, Post};
use Need::{Always, Metrics};

/// The access table, in order; the first rule whose method and pattern match decides.
const RULES: &[(Methods, &str, Need)] = &[
    (Any, "/v2/health/live", Always(Public)),
    (Any, "/v2/health/ready", Always(Public)),
    (Any, "/metrics", Metrics),
    (Get, "/openapi.json", Always(Public)),
    // The dashboard's sign-in page and its static assets.
    (Get, "/", Always(Public)),
    (Get, "/assets/*", Always(Public)),
    (Any, "/v1/admin", Always(Admin)),
    (Any, "/v1/admin/*", Always(Admin)),
    (Post, "/v1/models/{name}/warm", Always(Admin)),
    (Post, "/v1/models/{name}/activate", Always(Admin)),
    (Post, "/v1/models/{name}/rollback", Always(Admin)),
    (Get, "/v1/stats", Always(Admin)),
    (Get, "/v1/alarms", Always(Admin)),
    (Delete, "/v1/inferences", Always(Admin)),
    (Delete, "/v1/inferences/*", Always(Admin)),
    (Any, "/v1/classify", Always(Client)),
    (Post, "/predict", Always(Client)),
    (Post, "/v1/route", Always(Client)),
    (Post, "/api/predict-energy", Always(Client)),
    (Post, "/v1/energy/predict", Always(Client)),
    (Get, "/v1/energy/devices", Always(Client)),
    (Post, "/v1/invoke/{function}", Always(Client)),
    (Get, "/v1/functions", Always(Client)),
    (Get, "/v1/invocations", Always(Admin)),
    (Any, "/v1/inferences", Always(Client)),
    (Any, "/v1/inferences/*", Always(Client)),
    (Get, "/v1/models", Always(Client)),
    // Agents authenticate with their device token in the handlers (not an API key).
    (Any, "/v1/agent/*", Always(Public)),
    (Any, "/v1/devices", Always(Admin)),
    (Any, "/v1/devices/*", Always(Admin)),
    (Any, "/v1/deployments", Always(Admin)),
    (Any, "/v1/deployments/*", Always(Admin)),
    (Any, "/v2", Always(Client)),
    (Any, "/v2/models/*", Always(Client)),
];

/// What `method path` needs; `metrics_require_key` is `[server] metrics_require_key`.
pub fn required_access(method: &Method, path: &str, metrics_require_key: bool) -> Access {
    let need = RULES
        .iter()
        .find(|(methods, pattern, _)| methods.matches(method) && path_matches(pattern, path))
        .map_or(Always(Admin), |&(_, _, need)| need);
    match need {
        Always(access) => access,
        Metrics if metrics_require_key => Client,
        Metrics => Public,
    }
}

/// Whether `path` matches `pattern` (`{x}`: one segment; a final `*`: one or more).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some("*"), Some(segment)) => return !segment.is_empty() || got.next().is_some(),
            (Some(w), Some(g)) if w == g || (w.starts_with('{') && w.ends_with('}') && !g.is_empty()) => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(method: Method, path: &str) -> Access {
        required_access(&method, path, false)
    }

    #[test]
    fn the_table_decides() {
        for path in ["/v2/health/live", "/v2/health/ready", "/metrics", "/", "/assets/app.js", "/assets/css/a.css"] {
            assert_eq!(need(Method::GET, path), Public, "{path}");
        }
        assert_eq!(required_access(&Method::GET, "/metrics", true), Client);
        assert_eq!(need(Method::HEAD, "/assets/app.js"), Public);
        // Agents present device tokens, checked by the fleet's handlers; the fleet is admins'.
        for path in ["/v1/agent/heartbeat", "/v1/agent/telemetry", "/v1/agent/artifacts/m/1"] {
            assert_eq!(need(Method::POST, path), Public, "{path}");
        }
        for path in ["/v1/devices", "/v1/devices/d1/telemetry", "/v1/deployments", "/v1/deployments/plan"] {
            assert_eq!(need(Method::GET, path), Admin, "{path}");
        }
        for (method, path) in [
            (Method::POST, "/v1/classify"),
            (Method::GET, "/v1/inferences"),
            (Method::GET, "/v1/inferences/0190-aa"),
            (Method::GET, "/v1/inferences/0190-aa/image"),
            (Method::GET, "/v1/models"),
            (Method::GET, "/v2"),
            (Method::GET, "/v2/models/m"),
            (Method::GET, "/v2/models/m/versions/1/ready"),
            (Method::POST, "/v2/models/m/infer"),
            (Method::POST, "/api/predict-energy"),
            (Method::POST, "/v1/energy/predict"),
            (Method::GET, "/v1/energy/devices"),
        ] {
            assert_eq!(need(method.clone(), path), Client, "{method} {path}");
        }
        for (method, path) in [
            (Method::POST, "/v1/models/m/warm"),
            (Method::POST, "/v1/models/m/activate"),
            (Method::POST, "/v1/models/m/rollback"),
            (Method::GET, "/v1/stats"),
            (Method::GET, "/v1/alarms"),
            (Method::POST, "/v1/models"),
            (Method::GET, "/v1/admin"),
            (Method::POST, "/v1/admin/keys"),
            (Method::DELETE, "/v1/admin/keys/k_1"),
            (Method::DELETE, "/v1/inferences"),
            (Method::DELETE, "/v1/inferences/0190-aa"),
            (Method::GET, "/no/such/route"),
            (Method::POST, "/"),
            (Method::GET, "/assets"),
            (Method::GET, "/assets/"),
            (Method::GET, "/v1/models/m"),
        ] {
            assert_eq!(need(method.clone(), path), Admin, "{method} {path}");
        }
    }

    #[test]
    fn patterns() {
        assert!(path_matches("/a/{x}/c", "/a/b/c"));
        assert!(!path_matches("/a/{x}/c", "/a//c"));
        assert!(!path_matches("/a/{x}/c", "/a/b/c/d"));
        assert!(path_matches("/a/*", "/a/b"));
        assert!(path_matches("/a/*", "/a/b/c"));
        assert!(path_matches("/a/*", "/a//c"));
        assert!(!path_matches("/a/*", "/a"));
        assert!(!path_matches("/a/*", "/a/"));
        assert!(!path_matches("/a", "/a/"));
        assert!(!path_matches("/ab", "/a"));
    }
}
