//! Device telemetry on Linux: CPU utilisation (of the machine and of one process), process RSS,
//! memory and disk use, temperatures.
//!
//! Every reader takes the root under which `/proc` and `/sys` are found (`/` in production, a
//! temporary directory in tests).

mod cpu;
mod disk;
mod memory;
mod process;
mod thermal;

pub use cpu::{cpu_utilisation_pct, parse_proc_stat, read_cpu_stat, CpuStat, CpuTimes};
pub use disk::{disk_usage, DiskUsage};
pub use memory::{process_rss_bytes, read_meminfo, MemInfo, Pid};
pub use process::{clock_ticks_per_second, parse_process_stat, process_cpu_pct, read_process_cpu, ProcessCpu};
pub use thermal::{read_thermal_zones, ThermalZone};
