//! INA3221 power monitors exposed through hwmon (Jetson Orin, Xavier NX / AGX on recent L4T).
//!
//! Layout: `/sys/class/hwmon/hwmonK/name` is `ina3221`; for each channel N with a label
//! `inN_label` (e.g. `VDD_IN`), the bus voltage is `inN_input` (mV) and the current
//! `currN_input` (mA), so power (mW) = mV × mA / 1000. Older drivers expose `powerN_input` (µW)
//! directly; when present it is used as is. Unlabelled channels, `NC` channels and the
//! "sum of shunt voltages" pseudo channel are skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::rail::Rail;
use crate::source::{PowerSource, Reading, SourceKind, Unavailable};
use crate::sysfs::{entries_with_prefix, read_f64, read_trimmed, under};

/// Source name used for INA3221 hwmon channels.
pub const NAME: &str = "hwmon:ina3221";

/// How a channel's power is obtained.
#[derive(Debug, Clone)]
enum Method {
    /// `powerN_input`, µW.
    PowerMicrowatts(PathBuf),
    /// `inN_input` (mV) × `currN_input` (mA).
    VoltsTimesAmps { mv: PathBuf, ma: PathBuf },
}

/// One labelled INA3221 channel as a [`PowerSource`] of kind [`SourceKind::Sampled`].
#[derive(Debug, Clone)]
pub struct HwmonSource {
    label: String,
    rail: Rail,
    dir: PathBuf,
    channel: u32,
    method: Method,
}

impl HwmonSource {
    /// The hwmon device directory (e.g. `/sys/class/hwmon/hwmon1`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Channel number N.
    pub fn channel(&self) -> u32 {
        self.channel
    }

    /// Read the channel's power in mW.
    pub fn power_mw(&self) -> Result<f64> {
        match &self.method {
            Method::PowerMicrowatts(p) => Ok(read_f64(p, "powerN_input (uW)")? / 1000.0),
            Method::VoltsTimesAmps { mv, ma } => {
                let mv = read_f64(mv, "inN_input (mV)")?;
                let ma = read_f64(ma, "currN_input (mA)")?;
                Ok(mv * ma / 1000.0)
            }
        }
    }
}

impl PowerSource for HwmonSource {
    fn name(&self) -> &str {
        NAME
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn rail(&self) -> Rail {
        self.rail.clone()
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Sampled
    }
    fn read(&mut self) -> Result<Reading> {
        Ok(Reading::Power { mw: self.power_mw()? })
    }
}

/// Channel number from a file name like `in3_label` / `power2_input`.
fn channel_of(file: &str, prefix: &str, suffix: &str) -> Option<u32> {
    file.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()
}

fn skip_label(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    l.is_empty() || l == "nc" || l.starts_with("sum of")
}

/// Find every labelled channel of every `ina3221` hwmon device under `sysfs_root`.
///
/// Channels that exist but cannot be read are returned as [`Unavailable`] with the reason.
pub fn discover(sysfs_root: &Path) -> (Vec<HwmonSource>, Vec<Unavailable>) {
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    for (_, dir) in entries_with_prefix(&under(sysfs_root, "/sys/class/hwmon"), "hwmon") {
        if read_trimmed(&dir.join("name")).ok().as_deref() != Some("ina3221") {
            continue;
        }
        let mut channels = BTreeSet::new();
        for (file, _) in entries_with_prefix(&dir, "") {
            if let Some(n) = channel_of(&file, "in", "_label").or_else(|| channel_of(&file, "power", "_input")) {
                channels.insert(n);
            }
        }
        for n in channels {
            let label = read_trimmed(&dir.join(format!("in{n}_label")))
                .or_else(|_| read_trimmed(&dir.join(format!("power{n}_label"))))
                .unwrap_or_default();
            if skip_label(&label) {
                continue;
            }
            let power = dir.join(format!("power{n}_input"));
            let (mv, ma) = (dir.join(format!("in{n}_input")), dir.join(format!("curr{n}_input")));
            let method = if power.exists() {
                Method::PowerMicrowatts(power)
            } else if mv.exists() && ma.exists() {
                Method::VoltsTimesAmps { mv, ma }
            } else {
                continue;
            };
            let source = HwmonSource { rail: Rail::from_label(&label), label, dir: dir.clone(), channel: n, method };
            match source.power_mw() {
                Ok(_) => sources.push(source),
                Err(e) => unavailable.push(Unavailable {
                    name: NAME.into(),
                    label: source.label,
                    rail: source.rail,
                    reason: e.to_string(),
                }),
            }
        }
    }
    (sources, unavailable)
}
