//! Runs one model on this device and measures latency, throughput, telemetry and energy per
//! inference: the library behind `infergate bench`, and the inference loop the edge agent reuses.
//!
//! - [`input`]: a deterministic synthetic batch-1 input from the model's declared input shape.
//! - [`run`]: the loop — idle baseline, warm-up runs (not measured), then `runs` timed inferences
//!   with energy measured over exactly those runs ([`run_bench`], [`time_runs`]).
//! - [`stats`]: latency mean/min/max/p50/p95/std ([`LatencyStats`]).
//! - [`power`]: where power comes from — the sensors found on this machine, an external meter's
//!   CSV or a tegrastats log covering the runs ([`PowerInput`]).
//! - [`energy`]: energy per inference from those measurements, total and above the idle baseline
//!   ([`EnergyReport`]).
//! - [`telemetry`]: CPU use of this process, RSS and temperature around the runs.
//! - [`model`]: the model's static profile (parameters, FLOPs, MACs, size, structure features).
//! - [`row`]: one CSV row per benchmark in the seed's schema plus Infergate's columns, appended
//!   only to a file with the same header ([`BenchRow`], [`append_row`]).
//! - [`summary`]: the human-readable table.
//!
//! Numbers are honest: what could not be measured is `None` (an empty CSV field), never 0 or an
//! estimate; without a power sensor `energy_source` is `none`.
//!
//! Units: latency in ms, energy per inference in mWh (1 mWh = 3,600 mJ), power in mW, sizes in
//! MB (10^6 bytes).
//!
//! ```no_run
//! use infergate_measure::{run_bench, BenchConfig, Input, PowerInput};
//! # fn demo(backend: &dyn infergate_runtime::Backend) -> Result<(), infergate_measure::MeasureError> {
//! let input = Input::synthetic(backend.io(), 42)?;
//! let power = PowerInput::discover(None);
//! let report = run_bench(backend, &input, &BenchConfig::default(), &power)?;
//! println!("{:.2} ms, {:?} mWh per inference", report.latency_ms.mean_ms, report.energy.energy_total_mwh);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod device;
pub mod energy;
pub mod error;
pub mod input;
pub mod model;
pub mod power;
pub mod row;
pub mod run;
pub mod stats;
pub mod summary;
pub mod telemetry;

pub use device::{default_device_name, validate_device_name};
pub use energy::EnergyReport;
pub use error::MeasureError;
pub use input::Input;
pub use model::ModelInfo;
pub use power::PowerInput;
pub use row::{append_row, check_csv, BenchRow, HEADER};
pub use run::{run_bench, time_runs, BenchConfig, BenchReport, BenchResult};
pub use stats::LatencyStats;
pub use telemetry::Telemetry;
