//! Device telemetry on Linux: CPU utilisation, process RSS, memory and disk use, temperatures.
//!
//! Every reader takes the root under which `/proc` and `/sys` are found (`/` in production, a
//! temporary directory in tests).

mod cpu;
mod disk;
mod memory;
mod thermal;

pub use cpu::{cpu_utilisation_pct, parse_proc_stat, read_cpu_stat, CpuStat, CpuTimes};
pub use disk::{disk_usage, DiskUsage};
pub use memory::{process_rss_bytes, read_meminfo, MemInfo, Pid};
pub use thermal::{read_thermal_zones, ThermalZone};
