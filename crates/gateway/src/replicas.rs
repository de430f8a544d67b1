//! This gateway among its replicas: every `infergate serve` on the same database says it is
//! alive every [`HEARTBEAT`], and counts the others, so that limits meant for the whole
//! service (a key's requests per second) are shared out instead of multiplied.
//!
//! What replicas share lives in the database and the object store (registry and model files,
//! keys, history, the answer cache, devices, deployments, alarms). What each keeps to itself,
//! by design: loaded model instances and their batch queues (a replica serves what it loaded;
//! another loads its own copy from the shared file), the token buckets of the rate limits (each
//! enforces its share of the key's rate: within a tolerance that depends on how evenly the
//! load balancer spreads a key's requests), the Prometheus metrics (scraped per replica), the
//! latency alarm's measurement (each replica raises and clears its own), and the registry cache
//! (refreshed every second).

use crate::state::AppState;
use std::time::Duration;

/// How often a replica says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// A replica not heard from for this many heartbeats is not counted any more.
pub const MISSED_BEATS: u32 = 3;

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One heartbeat: records this replica as alive and updates the live count; returns it.
pub async fn beat(state: &AppState, address: &str) -> Result<u64, infergate_store::StoreError> {
    let now = chrono::Utc::now();
    let since = now - chrono::Duration::from_std(HEARTBEAT * MISSED_BEATS).unwrap_or_default();
    let live = state.store().replica_heartbeat(state.replica_id(), address, &rfc3339(now), &rfc3339(since)).await?;
    state.set_live_replicas(live);
    Ok(live)
}

/// Beats every [`HEARTBEAT`] until the task is dropped; a failed beat keeps the last count.
pub async fn heartbeat(state: AppState, address: String) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = 0;
    loop {
        tick.tick().await;
        match beat(&state, &address).await {
            Ok(live) if live != last => {
                tracing::info!(replica = state.replica_id(), live, "gateway replicas on this database: {live}");
                last = live;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("replica heartbeat failed (keeping the last count, {last}): {e}"),
        }
    }
}

/// Removes this replica's row on a clean shutdown (and rows gone stale long ago).
pub async fn leave(state: &AppState) {
    let stale = chrono::Utc::now() - chrono::Duration::hours(1);
    if let Err(e) = state.store().remove_replica(state.replica_id(), &rfc3339(stale)).await {
        tracing::warn!("cannot remove this replica from the database: {e}");
    }
}

/// The ids of the replicas alive now (for clearing the alarms of replicas that are gone).
pub async fn live_ids(state: &AppState) -> Result<Vec<String>, infergate_store::StoreError> {
    let since = chrono::Utc::now() - chrono::Duration::from_std(HEARTBEAT * MISSED_BEATS).unwrap_or_default();
    Ok(state.store().live_replicas(&rfc3339(since)).await?.into_iter().map(|r| r.id).collect())
}
