//! Parser for one tegrastats line.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::rail::Rail;

/// One CPU core's state: `6%@102` (load %, MHz) or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuCore {
    /// Load in percent; `None` when the core is off.
    pub load_pct: Option<f64>,
    /// Clock in MHz, when printed.
    pub freq_mhz: Option<u32>,
}

impl CpuCore {
    /// False for a core printed as `off`.
    pub fn online(&self) -> bool {
        self.load_pct.is_some()
    }
}

/// A temperature sensor reading such as `CPU@33.5C`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    /// Sensor name (`CPU`, `GPU`, `thermal`, `tj`, ...).
    pub name: String,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// A power rail such as `POM_5V_IN 2840/2953` or `VDD_IN 5000mW/5000mW`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RailPower {
    /// Rail name as printed.
    pub name: String,
    /// Rail kind derived from the name ([`Rail::from_label`]).
    pub rail: Rail,
    /// Instantaneous power in mW.
    pub current_mw: f64,
    /// tegrastats' running average in mW.
    pub average_mw: f64,
}

/// Everything recognised on one tegrastats line. Fields that were not printed are `None` / empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TegrastatsSample {
    /// Leading timestamp (`MM-DD-YYYY HH:MM:SS`, as printed by newer tegrastats, or ISO-8601).
    pub timestamp: Option<NaiveDateTime>,
    /// RAM used, MB.
    pub ram_used_mb: Option<u64>,
    /// RAM total, MB.
    pub ram_total_mb: Option<u64>,
    /// Swap used, MB.
    pub swap_used_mb: Option<u64>,
    /// Swap total, MB.
    pub swap_total_mb: Option<u64>,
    /// Per-core CPU state, in core order.
    pub cpus: Vec<CpuCore>,
    /// Memory controller load, %.
    pub emc_load_pct: Option<f64>,
    /// Memory controller clock, MHz.
    pub emc_freq_mhz: Option<u32>,
    /// GPU load (`GR3D_FREQ`), %.
    pub gpu_load_pct: Option<f64>,
    /// GPU clock, MHz (first value when several are bracketed).
    pub gpu_freq_mhz: Option<u32>,
    /// Temperatures, in printed order. Sentinel values of -256 °C (sensor offline) are dropped.
    pub temperatures: Vec<Temperature>,
    /// Power rails, in printed order.
    pub rails: Vec<RailPower>,
}

impl TegrastatsSample {
    /// Temperature of the named sensor, °C.
    pub fn temperature(&self, name: &str) -> Option<f64> {
        self.temperatures.iter().find(|t| t.name == name).map(|t| t.celsius)
    }

    /// The named rail.
    pub fn rail(&self, name: &str) -> Option<&RailPower> {
        self.rails.iter().find(|r| r.name == name)
    }

    /// Mean load over online cores, %.
    pub fn cpu_mean_load_pct(&self) -> Option<f64> {
        let loads: Vec<f64> = self.cpus.iter().filter_map(|c| c.load_pct).collect();
        (!loads.is_empty()).then(|| loads.iter().sum::<f64>() / loads.len() as f64)
    }

    fn is_empty(&self) -> bool {
        self.ram_total_mb.is_none()
            && self.cpus.is_empty()
            && self.gpu_load_pct.is_none()
            && self.temperatures.is_empty()
            && self.rails.is_empty()
    }
}

/// `2077/3964MB` → (2077, 3964).
fn used_total_mb(tok: &str) -> Option<(u64, u64)> {
    let (a, b) = tok.strip_suffix("MB")?.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// `99%@921`, `0%@[305,305]`, `0%` → (load, freq).
fn load_at_freq(tok: &str) -> Option<(f64, Option<u32>)> {
    let (load, freq) = match tok.split_once('@') {
        Some((l, f)) => (l, Some(f)),
        None => (tok, None),
    };
    let load: f64 = load.strip_suffix('%')?.parse().ok().filter(|v: &f64| v.is_finite())?;
    let freq = freq.and_then(|f| f.trim_matches(|c| c == '[' || c == ']').split(',').next()?.parse().ok());
    Some((load, freq))
}

/// `[6%@102,off,...]` → cores.
fn cpu_list(tok: &str) -> Option<Vec<CpuCore>> {
    let inner = tok.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split(',')
        .map(|c| {
            if c == "off" {
                Some(CpuCore { load_pct: None, freq_mhz: None })
            } else {
                let (load, freq) = load_at_freq(c)?;
                Some(CpuCore { load_pct: Some(load), freq_mhz: freq })
            }
        })
        .collect()
}

/// `CPU@33.5C` → temperature.
fn temperature(tok: &str) -> Option<Temperature> {
    let (name, value) = tok.split_once('@')?;
    let celsius: f64 = value.strip_suffix('C')?.parse().ok().filter(|v: &f64| v.is_finite())?;
    (!name.is_empty()).then(|| Temperature { name: name.to_string(), celsius })
}

/// `2840/2953` or `5000mW/5000mW` → (current, average).
fn rail_values(tok: &str) -> Option<(f64, f64)> {
    let (a, b) = tok.split_once('/')?;
    let num = |s: &str| -> Option<f64> {
        let s = s.strip_suffix("mW").unwrap_or(s);
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            return None;
        }
        s.parse().ok()
    };
    Some((num(a)?, num(b)?))
}

fn is_rail_name(tok: &str) -> bool {
    tok.len() > 1
        && tok.starts_with(|c: char| c.is_ascii_uppercase())
        && tok.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// Leading timestamp: `MM-DD-YYYY HH:MM:SS` (two tokens), `YYYY-MM-DD HH:MM:SS` (two tokens) or
/// ISO-8601 `YYYY-MM-DDTHH:MM:SS[.f]` (one token). Returns the time and how many tokens it used.
fn timestamp(tokens: &[&str]) -> Option<(NaiveDateTime, usize)> {
    let first = *tokens.first()?;
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(first, fmt) {
            return Some((t, 1));
        }
    }
    let two = format!("{first} {}", tokens.get(1)?);
    for fmt in ["%m-%d-%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&two, fmt) {
            return Some((t, 2));
        }
    }
    None
}

/// Parse one tegrastats line. `None` when nothing on the line is recognised (garbage, blank).
///
/// Unknown fields (`APE 25`, `VIC_FREQ 729`, `MTS fg 0% bg 0%`, ...) are ignored; a field whose
/// value is malformed is left unset rather than guessed.
pub fn parse_line(line: &str) -> Option<TegrastatsSample> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut s = TegrastatsSample::default();
    let mut i = 0;
    if let Some((t, used)) = timestamp(&tokens) {
        s.timestamp = Some(t);
        i = used;
    }
    while i < tokens.len() {
        let tok = tokens[i];
        let next = tokens.get(i + 1).copied().unwrap_or("");
        let mut consumed_next = true;
        match tok {
            "RAM" => {
                if let Some((u, t)) = used_total_mb(next) {
                    (s.ram_used_mb, s.ram_total_mb) = (Some(u), Some(t));
                }
            }
            "SWAP" => {
                if let Some((u, t)) = used_total_mb(next) {
                    (s.swap_used_mb, s.swap_total_mb) = (Some(u), Some(t));
                }
            }
            "CPU" if next.starts_with('[') => s.cpus = cpu_list(next).unwrap_or_default(),
            "EMC_FREQ" => {
                if let Some((l, f)) = load_at_freq(next) {
                    (s.emc_load_pct, s.emc_freq_mhz) = (Some(l), f);
                }
            }
            "GR3D_FREQ" => {
                if let Some((l, f)) = load_at_freq(next) {
                    (s.gpu_load_pct, s.gpu_freq_mhz) = (Some(l), f);
                }
            }
            _ if tok.contains('@') => {
                consumed_next = false;
                if let Some(t) = temperature(tok).filter(|t| t.celsius > -256.0) {
                    s.temperatures.push(t);
                }
            }
            _ if is_rail_name(tok) && rail_values(next).is_some() => {
                let (cur, avg) = rail_values(next).unwrap_or_default();
                s.rails.push(RailPower {
                    name: tok.to_string(),
                    rail: Rail::from_label(tok),
                    current_mw: cur,
                    average_mw: avg,
                });
            }
            _ => consumed_next = false,
        }
        i += if consumed_next { 2 } else { 1 };
    }
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orin_style_line() {
        let line = "04-05-2023 10:15:30 RAM 2277/7620MB (lfb 1x4MB) SWAP 0/3810MB (cached 0MB) \
                    CPU [1%@729,0%@729,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 12%@[305,305] VIC_FREQ 729 \
                    APE 174 CV0@-256C CPU@46.406C tj@46.718C VDD_IN 4480mW/4470mW \
                    VDD_CPU_GPU_CV 482mW/482mW VDD_SOC 1365mW/1365mW";
        let s = parse_line(line).unwrap();
        assert_eq!(s.timestamp.unwrap().to_string(), "2023-04-05 10:15:30");
        assert_eq!((s.ram_used_mb, s.ram_total_mb), (Some(2277), Some(7620)));
        assert_eq!(s.cpus.len(), 4);
        assert!(!s.cpus[2].online());
        assert_eq!(s.gpu_load_pct, Some(12.0));
        assert_eq!(s.gpu_freq_mhz, Some(305));
        assert_eq!(s.temperature("CV0"), None);
        assert_eq!(s.temperature("tj"), Some(46.718));
        assert_eq!(s.rail("VDD_IN").unwrap().current_mw, 4480.0);
        assert_eq!(s.rail("VDD_IN").unwrap().average_mw, 4470.0);
        assert_eq!(s.rail("VDD_IN").unwrap().rail, Rail::BoardInput);
        assert_eq!(s.rails.len(), 3);
    }

    #[test]
    fn garbage() {
        assert!(parse_line("").is_none());
        assert!(parse_line("hello world 12/34").is_none());
        assert!(parse_line("RAM x/yMB CPU [garbage GR3D_FREQ %@").is_none());
        assert!(parse_line("@@@ @C 1@ POM_5V_IN 1/").is_none());
    }
}
