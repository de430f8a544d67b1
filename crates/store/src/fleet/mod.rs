//! The edge fleet the controller manages: [`devices`] (registry, hashed tokens, heartbeats,
//! desired inference state), [`deployments`] (every deployment asked for and the log of what
//! happened to it) and [`telemetry`] (samples the agents pushed, stored once each).

pub mod deployments;
pub mod devices;
pub mod telemetry;

pub use deployments::{Deployment, DeploymentEvent};
pub use devices::{Device, NewDevice};
pub use telemetry::TelemetrySample;
