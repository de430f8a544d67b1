//! Temperatures from `/sys/class/thermal/thermal_zone*/{type,temp}`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::sysfs::{entries_with_prefix, read_f64, read_trimmed, under};

/// One thermal zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermalZone {
    /// Directory name, e.g. `thermal_zone0`.
    pub zone: String,
    /// The zone's `type` (`x86_pkg_temp`, `CPU-therm`, `cpu-thermal`, ...); empty if unreadable.
    pub kind: String,
    /// Temperature in °C (`temp` is in m°C); `None` when unreadable.
    pub celsius: Option<f64>,
    /// Why `celsius` is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every `thermal_zoneN` under `<root>/sys/class/thermal`, in zone order. A zone whose
/// temperature cannot be read (some firmware zones return an error) is listed with the reason.
pub fn read_thermal_zones(root: &Path) -> Vec<ThermalZone> {
    entries_with_prefix(&under(root, "/sys/class/thermal"), "thermal_zone")
        .into_iter()
        .map(|(zone, dir)| {
            let kind = read_trimmed(&dir.join("type")).unwrap_or_default();
            let (celsius, error) = match read_f64(&dir.join("temp"), "temp (m°C)") {
                Ok(m) => (Some(m / 1000.0), None),
                Err(e) => (None, Some(e.to_string())),
            };
            ThermalZone { zone, kind, celsius, error }
        })
        .collect()
}
