//! Raspberry Pi 5 PMIC power through `vcgencmd pmic_read_adc`.
//!
//! The command prints one line per ADC channel, currents as `NAME_A current(N)=1.23A` and voltages
//! as `NAME_V volt(N)=0.88V`. A rail's power is V × I when both its `_V` and `_A` lines are present;
//! the total is the sum over such rails (rails with only a voltage, like `EXT5V_V`, are left out).
//! The sum covers the PMIC-supplied rails of the board, so it is reported as [`Rail::Module`].

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};
use crate::rail::Rail;
use crate::source::{PowerSource, Reading, SourceKind};

/// Source name used for the Raspberry Pi PMIC.
pub const NAME: &str = "vcgencmd";

/// One PMIC rail with whatever of current and voltage was reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PmicRail {
    /// Rail name without the `_A` / `_V` suffix, e.g. `VDD_CORE`.
    pub name: String,
    /// Current in amperes.
    pub current_a: Option<f64>,
    /// Voltage in volts.
    pub volt_v: Option<f64>,
}

impl PmicRail {
    /// V × I in watts, when both are known.
    pub fn power_w(&self) -> Option<f64> {
        Some(self.current_a? * self.volt_v?)
    }
}

/// Parsed `pmic_read_adc` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PmicReading {
    /// Rails in order of first appearance.
    pub rails: Vec<PmicRail>,
    /// Non-empty lines that could not be parsed.
    pub skipped_lines: usize,
}

impl PmicReading {
    /// Σ V × I over rails with both values, in milliwatts; `None` if no rail has both.
    pub fn total_power_mw(&self) -> Option<f64> {
        let powers: Vec<f64> = self.rails.iter().filter_map(PmicRail::power_w).collect();
        (!powers.is_empty()).then(|| powers.iter().sum::<f64>() * 1000.0)
    }
}

/// Parse one line like `   VDD_CORE_A current(7)=2.04360000A`: `(rail, is_current, value)`.
fn parse_line(line: &str) -> Option<(String, bool, f64)> {
    let (name, rest) = line.trim().split_once(char::is_whitespace)?;
    let (kind, value) = rest.trim().split_once('=')?;
    let (is_current, unit, suffix) = if kind.starts_with("current(") {
        (true, 'A', "_A")
    } else if kind.starts_with("volt(") {
        (false, 'V', "_V")
    } else {
        return None;
    };
    let value: f64 = value.trim().strip_suffix(unit)?.parse().ok().filter(|v: &f64| v.is_finite())?;
    let rail = name.strip_suffix(suffix).unwrap_or(name);
    Some((rail.to_string(), is_current, value))
}

/// Parse the full output of `vcgencmd pmic_read_adc`. Never panics; unparsable lines are counted.
pub fn parse_pmic_read_adc(text: &str) -> PmicReading {
    let mut out = PmicReading::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name, is_current, value)) = parse_line(line) else {
            out.skipped_lines += 1;
            continue;
        };
        let idx = match out.rails.iter().position(|r| r.name == name) {
            Some(i) => i,
            None => {
                out.rails.push(PmicRail { name, current_a: None, volt_v: None });
                out.rails.len() - 1
            }
        };
        if is_current {
            out.rails[idx].current_a = Some(value);
        } else {
            out.rails[idx].volt_v = Some(value);
        }
    }
    out
}

/// Find an executable called `name` in the directories of `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The Pi 5 PMIC total as a [`PowerSource`] of kind [`SourceKind::Sampled`]; each read runs the
/// command once.
#[derive(Debug, Clone)]
pub struct VcgencmdSource {
    program: PathBuf,
}

impl VcgencmdSource {
    /// Use the given `vcgencmd` executable.
    pub fn new(program: PathBuf) -> Self {
        Self { program }
    }

    /// Run `vcgencmd pmic_read_adc` and parse its output.
    pub fn read_pmic(&self) -> Result<PmicReading> {
        let command = format!("{} pmic_read_adc", self.program.display());
        let out = Command::new(&self.program)
            .arg("pmic_read_adc")
            .output()
            .map_err(|e| SensorError::Command { command: command.clone(), reason: e.to_string() })?;
        if !out.status.success() {
            let reason = format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
            return Err(SensorError::Command { command, reason });
        }
        Ok(parse_pmic_read_adc(&String::from_utf8_lossy(&out.stdout)))
    }
}

impl PowerSource for VcgencmdSource {
    fn name(&self) -> &str {
        NAME
    }
    fn label(&self) -> &str {
        "pmic_total"
    }
    fn rail(&self) -> Rail {
        Rail::Module
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Sampled
    }
    fn read(&mut self) -> Result<Reading> {
        let mw = self
            .read_pmic()?
            .total_power_mw()
            .ok_or_else(|| SensorError::Unavailable("pmic_read_adc reported no rail with both V and I".into()))?;
        Ok(Reading::Power { mw })
    }
}

/// `Some(source)` if `vcgencmd` is on `$PATH` and `pmic_read_adc` gives a usable total
/// (i.e. on a Raspberry Pi 5); `None` otherwise. The command is never run when not on `$PATH`.
pub fn discover() -> Option<VcgencmdSource> {
    let mut source = VcgencmdSource::new(find_on_path("vcgencmd")?);
    source.read().ok().map(|_| source)
}
