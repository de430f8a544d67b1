//! `infergate devices add|rotate|revoke|list`: the edge devices the controller manages, on the
//! data directory (no server needed; a running server sees a change on the device's next call).
//! A device's token is shown once; only its SHA-256 is kept.

use crate::config::Config;
use anyhow::{bail, Result};
use clap::Subcommand;
use infergate_energy::device::valid_device;
use infergate_gateway::auth::token::{generate_device_token, token_sha256};
use infergate_store::fleet::{Device, NewDevice};

/// `infergate devices …`
#[derive(Subcommand, Debug)]
pub enum DevicesCommand {
    /// Add a device and print its token (shown only this once) for `infergate agent --token`.
    Add {
        /// Its id (letters, digits, `_`, `-`, `.`).
        id: String,
        /// Its type: the energy predictor's device name (jetson_nano_2gb, raspberry_pi5, …).
        #[arg(long = "type")]
        device_type: String,
        /// Print JSON (the device and its `token`).
        #[arg(long)]
        json: bool,
    },
    /// Issue a new token for a device (the old one stops working; a revoked device is restored).
    Rotate {
        /// The device.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device's token: its agent can no longer connect.
    Revoke {
        /// The device.
        id: String,
    },
    /// List devices (never their tokens).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn checked(what: &str, value: &str) -> Result<()> {
    if !valid_device(value) {
        bail!("{what} {value:?}: use letters, digits, `_`, `-` and `.` (at most 128, not starting with `.`)");
    }
    Ok(())
}

fn show_token(device: &Device, token: &str, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(device)?;
        v["token"] = token.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "device {} ({}); token (shown only this once; Infergate keeps only its SHA-256):",
            device.id, device.device_type
        );
        println!("{token}");
        println!(
            "run on the device: infergate agent --controller URL --device-id {} --token TOKEN --device-type {}",
            device.id, device.device_type
        );
    }
    Ok(())
}

/// Runs a `devices` subcommand.
pub async fn run(config: Config, cmd: DevicesCommand) -> Result<()> {
    let store = config.server.open_store().await?;
    match cmd {
        DevicesCommand::Add { id, device_type, json } => {
            checked("device id", &id)?;
            checked("device type", &device_type)?;
            let token = generate_device_token()?;
            let device =
                store.insert_device(&NewDevice { id, device_type, token_sha256: token_sha256(&token) }).await?;
            show_token(&device, &token, json)?;
        }
        DevicesCommand::Rotate { id, json } => {
            let token = generate_device_token()?;
            let device = store.rotate_device_token(&id, &token_sha256(&token)).await?;
            show_token(&device, &token, json)?;
        }
        DevicesCommand::Revoke { id } => {
            let device = store.revoke_device(&id).await?;
            println!("revoked device {} at {}", device.id, device.revoked_at.as_deref().unwrap_or("?"));
        }
        DevicesCommand::List { json } => {
            let devices = store.list_devices().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices)?);
            } else if devices.is_empty() {
                println!("no devices (infergate devices add ID --type TYPE)");
            } else {
                println!("{:<20} {:<18} {:<26} {:<26} REVOKED", "ID", "TYPE", "LAST HEARTBEAT", "AGENT");
                for d in devices {
                    println!(
                        "{:<20} {:<18} {:<26} {:<26} {}",
                        d.id,
                        d.device_type,
                        d.last_heartbeat_at.as_deref().unwrap_or("never"),
                        d.agent_url.as_deref().unwrap_or(""),
                        d.revoked_at.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}
