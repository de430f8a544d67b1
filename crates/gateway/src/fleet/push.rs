//! Telling an agent at once: `POST {agent}/deploy`, `/inference/start`, `/inference/stop`, in
//! the background. The controller keeps only the SHA-256 of a device's token and presents that
//! hash (see [`infergate_core::fleet`]). A push that fails is logged and otherwise harmless:
//! the agent pulls the same desired state on its next heartbeat.

use crate::state::AppState;
use std::sync::OnceLock;

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

/// Pushes `body` to `path` on `device_id`'s agent, in the background.
pub fn push(state: &AppState, device_id: &str, path: &'static str, body: serde_json::Value) {
    let (state, device_id) = (state.clone(), device_id.to_string());
    tokio::spawn(async move {
        let found = match state.store().device_with_token(&device_id).await {
            Ok(found) => found,
            Err(e) => return tracing::warn!(device = %device_id, "push {path}: {e}"),
        };
        let Some((device, hash)) = found else { return };
        let Some(base) = device.agent_url.filter(|_| device.revoked_at.is_none()) else {
            return tracing::info!(device = %device_id, "push {path}: no agent address yet; it will pull on its heartbeat");
        };
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let sent = client().post(&url).bearer_auth(hash).json(&body).timeout(state.fleet().push_timeout).send().await;
        match sent {
            Ok(r) if r.status().is_success() => tracing::info!(device = %device_id, "pushed {path}"),
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                tracing::warn!(device = %device_id, %status, "push {path} answered: {text}");
            }
            Err(e) => {
                tracing::warn!(device = %device_id, "push {path} failed ({e}); the agent will pull on its heartbeat")
            }
        }
    });
}
