//! INA3221 power monitors exposed through iio by the `ina3221x` driver (Jetson Nano, TX1/TX2 and
//! Xavier on L4T 32).
//!
//! Layout: `/sys/bus/i2c/drivers/ina3221x/<bus-addr>/iio:deviceK/in_powerN_input` (mW) with the
//! rail name in `rail_name_N` (`POM_5V_IN`, `POM_5V_GPU`, `POM_5V_CPU`, ...).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::rail::Rail;
use crate::source::{PowerSource, Reading, SourceKind, Unavailable};
use crate::sysfs::{entries_with_prefix, read_f64, read_trimmed, under};

/// Source name used for iio INA3221 channels.
pub const NAME: &str = "iio";

/// One named iio power channel as a [`PowerSource`] of kind [`SourceKind::Sampled`].
#[derive(Debug, Clone)]
pub struct IioSource {
    label: String,
    rail: Rail,
    power_path: PathBuf,
}

impl IioSource {
    /// Path of the `in_powerN_input` file.
    pub fn power_path(&self) -> &Path {
        &self.power_path
    }

    /// Read the channel's power in mW.
    pub fn power_mw(&self) -> Result<f64> {
        read_f64(&self.power_path, "in_powerN_input (mW)")
    }
}

impl PowerSource for IioSource {
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

/// Find every named power channel of every `ina3221x` iio device under `sysfs_root`.
///
/// Channels without a `rail_name_N` are skipped; channels that cannot be read are returned as
/// [`Unavailable`] with the reason.
pub fn discover(sysfs_root: &Path) -> (Vec<IioSource>, Vec<Unavailable>) {
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    let driver = under(sysfs_root, "/sys/bus/i2c/drivers/ina3221x");
    for (_, dev) in entries_with_prefix(&driver, "") {
        for (_, iio) in entries_with_prefix(&dev, "iio:device") {
            for (file, power_path) in entries_with_prefix(&iio, "in_power") {
                let Some(n) = file.strip_prefix("in_power").and_then(|s| s.strip_suffix("_input")) else {
                    continue;
                };
                if n.parse::<u32>().is_err() {
                    continue;
                }
                let label = read_trimmed(&iio.join(format!("rail_name_{n}"))).unwrap_or_default();
                if label.is_empty() {
                    continue;
                }
                let source = IioSource { rail: Rail::from_label(&label), label, power_path };
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
    }
    (sources, unavailable)
}
