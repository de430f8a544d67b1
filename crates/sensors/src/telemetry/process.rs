//! CPU time of one process, from `/proc/<pid>/stat`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};
use crate::sysfs::{read_string, under};
use crate::telemetry::Pid;

/// CPU time a process has used since it started, all of its threads together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessCpu {
    /// Time in user mode, seconds (`utime`).
    pub user_s: f64,
    /// Time in kernel mode, seconds (`stime`).
    pub system_s: f64,
}

impl ProcessCpu {
    /// User + system seconds.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.system_s
    }
}

/// Parse the text of `/proc/<pid>/stat`, with `ticks_per_s` clock ticks per second (`USER_HZ`).
///
/// The command name (field 2) is in parentheses and may itself contain spaces and parentheses,
/// so the fields are counted from the last `)`.
pub fn parse_process_stat(text: &str, ticks_per_s: u64) -> Result<ProcessCpu> {
    let bad = || SensorError::parse("utime/stime", "/proc/<pid>/stat", text);
    let rest = text.rsplit_once(')').ok_or_else(bad)?.1;
    // After the command: state (field 3), ppid, ..., utime (field 14), stime (field 15).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or_else(bad);
    let (utime, stime) = (field(11)?, field(12)?);
    if ticks_per_s == 0 {
        return Err(SensorError::Unavailable("clock ticks per second is 0".into()));
    }
    let hz = ticks_per_s as f64;
    Ok(ProcessCpu { user_s: utime as f64 / hz, system_s: stime as f64 / hz })
}

/// The number of clock ticks per second `/proc` counts in (`sysconf(_SC_CLK_TCK)`).
#[cfg(unix)]
pub fn clock_ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second()
}

/// The number of clock ticks per second `/proc` counts in (100 off Unix, where `/proc` is absent).
#[cfg(not(unix))]
pub fn clock_ticks_per_second() -> u64 {
    100
}

/// CPU time of a process from `<root>/proc/<pid>/stat`.
pub fn read_process_cpu(root: &Path, pid: Pid) -> Result<ProcessCpu> {
    let rel = match pid {
        Pid::SelfProcess => "/proc/self/stat".to_string(),
        Pid::Id(id) => format!("/proc/{id}/stat"),
    };
    parse_process_stat(&read_string(&under(root, &rel))?, clock_ticks_per_second())
}

/// CPU use of a process between two reads `wall_s` seconds apart, in percent of one core
/// (as `top` shows it: a process keeping two cores busy is at 200 %). `None` when no time passed
/// or the counters went backwards.
pub fn process_cpu_pct(before: &ProcessCpu, after: &ProcessCpu, wall_s: f64) -> Option<f64> {
    let used = after.total_s() - before.total_s();
    (wall_s > 0.0 && used >= 0.0).then(|| 100.0 * used / wall_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_after_odd_names() {
        let line = "4242 (we ird) name)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 100 1000 200";
        let cpu = parse_process_stat(line, 100).unwrap();
        assert_eq!((cpu.user_s, cpu.system_s), (2.5, 0.5));
        assert_eq!(cpu.total_s(), 3.0);
        assert!(parse_process_stat("4242 (short) S 1 2", 100).is_err());
        assert!(parse_process_stat("no parenthesis", 100).is_err());
        assert!(parse_process_stat(line, 0).is_err());
    }

    #[test]
    fn percent_of_one_core() {
        let a = ProcessCpu { user_s: 1.0, system_s: 0.0 };
        let b = ProcessCpu { user_s: 2.5, system_s: 0.5 };
        assert_eq!(process_cpu_pct(&a, &b, 1.0), Some(200.0));
        assert_eq!(process_cpu_pct(&a, &b, 0.0), None);
        assert_eq!(process_cpu_pct(&b, &a, 1.0), None);
    }

    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            let cpu = read_process_cpu(Path::new("/"), Pid::SelfProcess).unwrap();
            assert!(cpu.total_s() >= 0.0);
        }
    }
}
