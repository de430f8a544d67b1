//! The route table: every endpoint once, with its handler and its documentation. The router
//! ([`crate::router`]) and the OpenAPI document at `/openapi.json` ([`openapi`]) are both
//! built from it, so neither can list a route the other lacks.

use crate::state::AppState;
use crate::{admin, alarms, classify, energy, fleet, history, invoke, keys, metrics, oip, placement, registry, stats};
use axum::http::Method;
use axum::routing::{delete, get, post, MethodRouter};
use axum::Json;
use serde_json::{json, Map, Value};

/// One operation (a method on a path), as documented.
#[derive(Debug, Clone)]
pub struct Op {
    /// HTTP method.
    pub method: Method,
    /// `operationId`.
    pub id: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// Query parameters: name and description.
    pub query: &'static [(&'static str, &'static str)],
    /// Accepted request body types (empty: no body).
    pub body: &'static [&'static str],
    /// The success status.
    pub ok: u16,
}

/// A path, its handler and its operations.
pub struct Endpoint {
    /// The path pattern, e.g. `/v1/inferences/{id}`.
    pub path: &'static str,
    /// The handler for every method in `ops`.
    pub handler: MethodRouter<AppState>,
    /// What each method does.
    pub ops: Vec<Op>,
}

/// An operation with no query parameters and no body.
pub const fn op(method: Method, id: &'static str, summary: &'static str, ok: u16) -> Op {
    Op { method, id, summary, query: &[], body: &[], ok }
}

const IMAGE_BODY: &[&str] = &["image/jpeg", "image/png", "image/webp", "multipart/form-data", "application/json"];

/// Every endpoint the gateway serves.
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    let mut all = vec![
        Endpoint {
            path: "/predict",
            handler: post(placement::predict_handler),
            ops: vec![Op {
                body: &["application/json"],
                ..op(
                    M::POST,
                    "predictPlatform",
                    "The seed's router: lambda or ecs for a workload, with confidence",
                    200,
                )
            }],
        },
        Endpoint {
            path: "/v1/route",
            handler: post(placement::route_handler),
            ops: vec![Op {
                body: &["application/json"],
                ..op(M::POST, "routeWorkload", "Each platform's predicted latency and cost, the decision and why", 200)
            }],
        },
        Endpoint {
            path: "/api/predict-energy",
            handler: post(energy::seed_handler),
            ops: vec![Op {
                body: &["application/json"],
                ..op(
                    M::POST,
                    "predictEnergySeed",
                    "The seed's energy API: energy per inference on a device, interval and category",
                    200,
                )
            }],
        },
        Endpoint {
            path: "/v1/energy/predict",
            handler: post(energy::predict_handler),
            ops: vec![Op {
                body: &["application/json"],
                ..op(
                    M::POST,
                    "predictEnergy",
                    "Energy and latency per inference of a registered model or raw features, per device",
                    200,
                )
            }],
        },
        Endpoint {
            path: "/v1/energy/devices",
            handler: get(energy::devices_handler),
            ops: vec![op(
                M::GET,
                "listEnergyDevices",
                "Devices with an energy predictor or prior, and what each is",
                200,
            )],
        },
        Endpoint {
            path: "/v1/invoke/{function}",
            handler: post(invoke::invoke_handler),
            ops: vec![Op {
                query: &[("mode", "placement for this request: hybrid, lambda or ecs (default: the function's)")],
                body: &["*/*"],
                ..op(
                    M::POST,
                    "invokeFunction",
                    "Forward a payload to the platform the placement chose; X-Routed-To, X-Cold-Start, cost",
                    200,
                )
            }],
        },
        Endpoint {
            path: "/v1/functions",
            handler: get(invoke::functions_handler),
            ops: vec![op(M::GET, "listFunctions", "Configured functions: placement, breakers, workers", 200)],
        },
        Endpoint {
            path: "/v1/invocations",
            handler: get(invoke::invocations_handler),
            ops: vec![Op {
                query: &[
                    ("function", "only this function"),
                    ("limit", "page size (1-1000, default 100)"),
                    ("offset", "rows to skip"),
                ],
                ..op(M::GET, "listInvocations", "Recorded invocations, oldest first, and counts per platform", 200)
            }],
        },
        Endpoint {
            path: "/v1/classify",
            handler: post(classify::classify_handler),
            ops: vec![Op {
                query: &[("model", "model name (default: the only or default model)"), ("top_k", "classes to list")],
                body: IMAGE_BODY,
                ..op(M::POST, "classify", "Classify an image (raw body, multipart `image` or JSON base64)", 200)
            }],
        },
        Endpoint {
            path: "/v1/inferences",
            handler: get(history::list_handler),
            ops: vec![Op {
                query: &[
                    ("label", "only this label"),
                    ("model", "only this model"),
                    ("since", "RFC 3339 or Unix seconds"),
                    ("limit", "page size"),
                    ("cursor", "next_cursor of the previous page"),
                ],
                ..op(M::GET, "listInferences", "The classification history, newest first", 200)
            }],
        },
        Endpoint {
            path: "/v1/inferences/{id}",
            handler: get(history::get_handler).delete(history::delete_handler),
            ops: vec![
                op(M::GET, "getInference", "One history record", 200),
                op(M::DELETE, "deleteInference", "Delete a record (and its image when no other record shows it)", 204),
            ],
        },
        Endpoint {
            path: "/v1/inferences/{id}/image",
            handler: get(history::image_handler),
            ops: vec![op(M::GET, "getInferenceImage", "The image of a record, as uploaded", 200)],
        },
        Endpoint {
            path: "/v1/stats",
            handler: get(stats::stats_handler),
            ops: vec![Op {
                query: &[("window_s", "window length in seconds (default 3600)")],
                ..op(M::GET, "stats", "Requests, cache hit rate, latency percentiles and cost over a window", 200)
            }],
        },
        Endpoint {
            path: "/v1/alarms",
            handler: get(alarms::list_handler),
            ops: vec![Op {
                query: &[("state", "open (default) or all")],
                ..op(M::GET, "listAlarms", "Alarms, newest first", 200)
            }],
        },
        Endpoint {
            path: "/v1/models",
            handler: get(registry::list_handler).post(admin::register_handler),
            ops: vec![
                op(M::GET, "listModels", "Registered model versions and their loaded instances", 200),
                Op {
                    body: &["application/json"],
                    ..op(M::POST, "registerModel", "Register a model version from a URL (SHA-256 verified)", 201)
                },
            ],
        },
        Endpoint {
            path: "/v1/models/{name}/warm",
            handler: post(admin::warm_handler),
            ops: vec![Op {
                query: &[("version", "version (default: the active one)"), ("count", "instances wanted (default 1)")],
                ..op(M::POST, "warmModel", "Load instances of a model version ahead of traffic", 200)
            }],
        },
        Endpoint {
            path: "/v1/models/{name}/activate",
            handler: post(admin::activate_handler),
            ops: vec![Op {
                body: &["application/json"],
                ..op(M::POST, "activateModel", "Load a version, then make it the active one", 200)
            }],
        },
        Endpoint {
            path: "/v1/models/{name}/rollback",
            handler: post(admin::rollback_handler),
            ops: vec![op(M::POST, "rollbackModel", "Make the previously active version active again", 200)],
        },
        Endpoint {
            path: "/v1/admin/keys",
            handler: get(keys::list_handler).post(keys::create_handler),
            ops: vec![
                op(M::GET, "listKeys", "API keys (never their tokens)", 200),
                Op {
                    body: &["application/json"],
                    ..op(M::POST, "createKey", "Create an API key (token shown once)", 201)
                },
            ],
        },
        Endpoint {
            path: "/v1/admin/keys/{id}",
            handler: delete(keys::revoke_handler),
            ops: vec![op(M::DELETE, "revokeKey", "Revoke an API key", 200)],
        },
        Endpoint {
            path: "/metrics",
            handler: get(metrics::metrics_handler),
            ops: vec![op(M::GET, "metrics", "Prometheus metrics (OpenMetrics on request)", 200)],
        },
        Endpoint {
            path: "/openapi.json",
            handler: get(openapi_handler),
            ops: vec![op(M::GET, "openapi", "This document", 200)],
        },
    ];
    all.extend(oip::endpoints());
    all.extend(fleet::endpoints());
    all.extend(crate::charts::endpoints());
    all.extend(crate::evaluation::endpoints());
    all
}

/// `GET /openapi.json`.
pub async fn openapi_handler() -> Json<Value> {
    Json(openapi())
}

/// The OpenAPI 3.1 document of [`endpoints`]. Each operation's security follows the access
/// table ([`crate::auth::rules`]): public operations need no key.
pub fn openapi() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let error_response =
        json!({ "description": "a JSON error", "content": { "application/json": { "schema": error } } });
    let mut paths = Map::new();
    for e in endpoints() {
        let mut item = Map::new();
        for o in &e.ops {
            let access = crate::auth::rules::required_access(&o.method, e.path, false);
            let mut parameters: Vec<Value> = path_params(e.path)
                .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
                .collect();
            parameters.extend(o.query.iter().map(|(name, description)| {
                json!({ "name": name, "in": "query", "required": false, "description": description,
                        "schema": { "type": "string" } })
            }));
            let mut operation = json!({
                "operationId": o.id,
                "summary": o.summary,
                "parameters": parameters,
                "responses": {
                    o.ok.to_string(): { "description": "success" },
                    "4XX": error_response,
                    "5XX": error_response,
                },
                "x-access": format!("{access:?}").to_lowercase(),
            });
            if access == crate::auth::rules::Access::Public {
                operation["security"] = json!([]);
            }
            if !o.body.is_empty() {
                let content: Map<String, Value> = o.body.iter().map(|t| (t.to_string(), json!({}))).collect();
                operation["requestBody"] = json!({ "required": true, "content": content });
            }
            item.insert(o.method.as_str().to_lowercase(), operation);
        }
        paths.insert(e.path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Infergate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Serves ML models over HTTP. Errors are JSON {error, code}. Send an API key as \
                            `Authorization: Bearer` or `X-API-Key` unless the operation is public.",
        },
        "security": [{ "bearer": [] }, { "apiKey": [] }],
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "code"],
                    "properties": { "error": { "type": "string" }, "code": { "type": "string" } },
                },
            },
        },
        "paths": paths,
    })
}

/// The `{name}` segments of a path pattern.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_path_and_operation_id_is_unique_and_documented() {
        let all = endpoints();
        let paths: HashSet<_> = all.iter().map(|e| e.path).collect();
        assert_eq!(paths.len(), all.len(), "a path is listed twice");
        let ids: Vec<_> = all.iter().flat_map(|e| e.ops.iter().map(|o| o.id)).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an operationId is used twice");
        assert!(all.iter().all(|e| !e.ops.is_empty()), "every path has an operation");
        let doc = openapi();
        assert_eq!(doc["paths"].as_object().unwrap().len(), all.len());
        assert_eq!(doc["paths"]["/v2/health/live"]["get"]["security"], json!([]));
        assert_eq!(doc["paths"]["/v1/classify"]["post"]["x-access"], "client");
        assert_eq!(doc["paths"]["/v1/models/{name}/activate"]["post"]["x-access"], "admin");
        assert_eq!(
            path_params("/v2/models/{model}/versions/{version}/infer").collect::<Vec<_>>(),
            ["model", "version"]
        );
    }
}
