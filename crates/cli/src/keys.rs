//! `infergate keys create|list|revoke`: API keys, on the data directory (no server needed;
//! a running server sees a new or revoked key on its next request).

use crate::config::Config;
use anyhow::{bail, Result};
use clap::Subcommand;
use infergate_core::Role;
use infergate_gateway::keys::{issue_key, KeyRequest};
use infergate_store::ApiKey;

/// `infergate keys …`
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key and print its token (shown only this once).
    Create {
        /// `admin` (everything) or `client` (classify, inference, its own history).
        #[arg(long)]
        role: Role,
        /// A name for people, e.g. who holds the key.
        #[arg(long)]
        name: Option<String>,
        /// Requests per second for this key (0: unlimited); default: the role's `[limits]` rate.
        #[arg(long)]
        rate: Option<f64>,
        /// Requests at once after being idle; default: --rate rounded up, else the role's burst.
        #[arg(long)]
        burst: Option<u32>,
        /// Print JSON (the key and its `token`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their tokens).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once, also in a running server.
    Revoke {
        /// The key's id (`k_…`, see `infergate keys list`).
        id: String,
    },
}

/// Runs a `keys` subcommand.
pub async fn run(config: Config, cmd: KeysCommand) -> Result<()> {
    let store = config.server.open_store().await?;
    match cmd {
        KeysCommand::Create { role, name, rate, burst, json } => {
            let issued = issue_key(&store, KeyRequest { role, name, rate_per_s: rate, burst }).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&issued)?);
                return Ok(());
            }
            let key = &issued.key;
            println!("created {} key {}{}, rate limit {}", key.role, key.id, name_text(key), rate_text(key, &config));
            println!("token (shown only this once; Infergate keeps only its SHA-256):");
            println!("{}", issued.token);
            println!("send it as `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN`");
        }
        KeysCommand::List { json } => {
            let keys = store.list_api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("no API keys (infergate keys create --role admin|client)");
            } else {
                print_table(&keys, &config);
            }
        }
        KeysCommand::Revoke { id } => {
            let before = store.api_key(&id).await?;
            let Some(key) = store.revoke_api_key(&id).await? else {
                bail!("no API key {id:?} (see `infergate keys list`)");
            };
            let at = key.revoked_at.as_deref().unwrap_or("?");
            if before.is_some_and(|k| k.is_revoked()) {
                println!("{}{} was already revoked at {at}", key.id, name_text(&key));
            } else {
                println!("revoked {} key {}{} at {at}", key.role, key.id, name_text(&key));
            }
        }
    }
    Ok(())
}

fn name_text(key: &ApiKey) -> String {
    key.name.as_deref().map(|n| format!(" ({n:?})")).unwrap_or_default()
}

/// The key's effective limit, saying where it comes from.
fn rate_text(key: &ApiKey, config: &Config) -> String {
    let rate = config.limits.rate_for(key.role, key.rate_per_s, key.burst);
    let source = if key.rate_per_s.is_some() || key.burst.is_some() { "set on the key" } else { "the role's" };
    if rate.is_unlimited() {
        format!("unlimited ({source})")
    } else {
        format!("{}/s, burst {} ({source})", rate.per_s(), rate.burst())
    }
}

fn print_table(keys: &[ApiKey], config: &Config) {
    println!("{:<16} {:<6} {:<20} {:<24} {:<24} {:<24} LIMIT", "ID", "ROLE", "NAME", "CREATED", "LAST USED", "REVOKED");
    for k in keys {
        let name: String = k.name.as_deref().unwrap_or("").chars().take(20).collect();
        println!(
            "{:<16} {:<6} {:<20} {:<24} {:<24} {:<24} {}",
            k.id,
            k.role.to_string(),
            name,
            k.created_at,
            k.last_used_at.as_deref().unwrap_or("never"),
            k.revoked_at.as_deref().unwrap_or(""),
            rate_text(k, config)
        );
    }
}
