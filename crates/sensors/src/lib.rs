//! Power, energy and device telemetry for Infergate's benchmark (`infergate bench`, which reports
//! energy per inference) and its edge agent. It finds and reads the power sensors a machine really
//! has — Intel RAPL counters, INA3221 monitors on Jetson boards (hwmon and iio), NVIDIA GPUs through
//! NVML (feature `nvml`), the Raspberry Pi 5 PMIC via `vcgencmd` — imports offline logs (tegrastats,
//! external USB meter CSVs), integrates power into energy over a measured interval, and reads
//! CPU, memory, disk and temperature telemetry. Numbers are honest: a sensor that is missing or
//! unreadable is reported as such (`None` plus a reason), never estimated or replaced by zero.
//! Every reader of `/sys` or `/proc` takes a root directory (`/` in production) so that tests run
//! on fake trees.
//!
//! Units: energy in millijoules (mJ; counters in µJ), power in milliwatts (mW), time in seconds.
//!
//! ```no_run
//! use std::path::Path;
//! use infergate_sensors::EnergyMeter;
//!
//! let meter = EnergyMeter::discover(Path::new("/"));
//! let (_, results) = meter.measure(|| { /* run inferences */ });
//! if let Some(m) = infergate_sensors::primary(&results) {
//!     println!("{} {}: {:?} mJ", m.source, m.label, m.energy_mj);
//! }
//! ```

#![warn(missing_docs)]

pub mod discover;
pub mod energy_meter;
pub mod error;
pub mod hwmon;
pub mod iio;
pub mod measurement;
pub mod meter_csv;
#[cfg(feature = "nvml")]
pub mod nvml;
pub mod rail;
pub mod rapl;
pub mod series;
pub mod source;
pub mod sysfs;
pub mod tegrastats;
pub mod telemetry;
pub mod vcgencmd;

pub use discover::{discover, discover_all, discover_with, nvml_compiled, DiscoverOptions, Discovery};
pub use energy_meter::{EnergyMeter, RunningMeasurement, SourceInfo, DEFAULT_INTERVAL};
pub use error::{Result, SensorError};
pub use measurement::{baseline_mw_for, primary, Measurement};
pub use meter_csv::{parse_meter_csv, read_meter_csv, MeterLog, MeterSample};
pub use rail::Rail;
pub use series::{PowerSample, PowerSeries};
pub use source::{counter_delta, PowerSource, Reading, SourceKind, Unavailable};
pub use tegrastats::{parse_log as parse_tegrastats_log, TegrastatsLog, TegrastatsSample};
pub use vcgencmd::{parse_pmic_read_adc, PmicReading};
