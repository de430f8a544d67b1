//! NVIDIA GPUs through NVML (cargo feature `nvml`; `libnvidia-ml.so` is loaded at run time).
//!
//! Each GPU is one source labelled `GPU <index> <name>`, rail [`Rail::Gpu`]. When the GPU has a
//! total energy counter (`nvmlDeviceGetTotalEnergyConsumption`, mJ, Volta and newer) it is used as
//! a counter; otherwise board power (`nvmlDeviceGetPowerUsage`, mW) is sampled.

use std::sync::Arc;

use nvml_wrapper::Nvml;

use crate::error::{Result, SensorError};
use crate::rail::Rail;
use crate::source::{PowerSource, Reading, SourceKind, Unavailable};

/// Source name used for NVML GPUs.
pub const NAME: &str = "nvml";

/// One GPU as a [`PowerSource`].
pub struct NvmlSource {
    nvml: Arc<Nvml>,
    index: u32,
    label: String,
    kind: SourceKind,
}

fn nvml_err(what: &str, e: impl std::fmt::Display) -> SensorError {
    SensorError::Unavailable(format!("NVML {what}: {e}"))
}

impl NvmlSource {
    /// GPU index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Board power in mW (`power_usage()`).
    pub fn power_mw(&self) -> Result<f64> {
        let dev = self.nvml.device_by_index(self.index).map_err(|e| nvml_err("device", e))?;
        Ok(f64::from(dev.power_usage().map_err(|e| nvml_err("power_usage", e))?))
    }

    /// Energy since the driver was loaded, in mJ (`total_energy_consumption()`).
    pub fn total_energy_mj(&self) -> Result<u64> {
        let dev = self.nvml.device_by_index(self.index).map_err(|e| nvml_err("device", e))?;
        dev.total_energy_consumption().map_err(|e| nvml_err("total_energy_consumption", e))
    }
}

impl PowerSource for NvmlSource {
    fn name(&self) -> &str {
        NAME
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn rail(&self) -> Rail {
        Rail::Gpu
    }
    fn kind(&self) -> SourceKind {
        self.kind
    }
    fn read(&mut self) -> Result<Reading> {
        match self.kind {
            SourceKind::Counter => {
                Ok(Reading::Energy { uj: self.total_energy_mj()?.saturating_mul(1000), range_uj: None })
            }
            SourceKind::Sampled => Ok(Reading::Power { mw: self.power_mw()? }),
        }
    }
}

/// Every GPU NVML can see. No NVML library or no GPU gives empty lists; a GPU with neither an
/// energy counter nor a power reading is listed as unavailable.
pub fn discover() -> (Vec<NvmlSource>, Vec<Unavailable>) {
    let Ok(nvml) = Nvml::init() else {
        return (Vec::new(), Vec::new());
    };
    let nvml = Arc::new(nvml);
    let count = nvml.device_count().unwrap_or(0);
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    for index in 0..count {
        let name = nvml.device_by_index(index).and_then(|d| d.name()).unwrap_or_else(|_| "unknown".into());
        let label = format!("GPU {index} {name}");
        let mut s = NvmlSource { nvml: Arc::clone(&nvml), index, label, kind: SourceKind::Counter };
        if s.total_energy_mj().is_ok() {
            sources.push(s);
            continue;
        }
        s.kind = SourceKind::Sampled;
        match s.power_mw() {
            Ok(_) => sources.push(s),
            Err(e) => unavailable.push(Unavailable {
                name: NAME.into(),
                label: s.label,
                rail: Rail::Gpu,
                reason: e.to_string(),
            }),
        }
    }
    (sources, unavailable)
}
