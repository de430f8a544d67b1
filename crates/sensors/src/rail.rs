//! Which power rail a reading belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The power rail a source measures.
///
/// Serialised in snake_case: `"board_input"`, `"module"`, `"cpu"`, `"gpu"`, `"package"`, and
/// `{"other": "dram"}` for anything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rail {
    /// Everything the board draws at its input (e.g. Jetson `VDD_IN` / `POM_5V_IN`, a USB meter).
    BoardInput,
    /// A compute module or SoC as a whole, without carrier peripherals (e.g. the sum of the
    /// Raspberry Pi 5 PMIC rails).
    Module,
    /// CPU cores (RAPL `core`, Jetson `POM_5V_CPU` / `VDD_CPU_CV`).
    Cpu,
    /// GPU (NVML board power, Jetson `POM_5V_GPU`, `VDD_GPU_SOC`, `VDD_CPU_GPU_CV`).
    Gpu,
    /// A whole CPU package (RAPL `package-N`).
    Package,
    /// Any other rail, named by its source (`dram`, `VDD_SOC`, ...).
    Other(String),
}

impl Rail {
    /// Map a Jetson / INA3221 rail label to a rail.
    ///
    /// Input rails (`VDD_IN`, `POM_5V_IN`, `VIN`, `VIN_SYS_5V0`) are [`Rail::BoardInput`]; labels
    /// mentioning the GPU are [`Rail::Gpu`] (this includes the combined `VDD_CPU_GPU_CV` rail of
    /// Orin / Xavier NX, which carries the GPU load); labels mentioning the CPU are [`Rail::Cpu`];
    /// everything else (e.g. `VDD_SOC`) is kept verbatim as [`Rail::Other`].
    pub fn from_label(label: &str) -> Rail {
        let up = label.trim().to_ascii_uppercase();
        match up.as_str() {
            "VDD_IN" | "POM_5V_IN" | "VIN" | "VIN_SYS_5V0" | "VDD_5V_IN" | "POM_IN" => Rail::BoardInput,
            _ if up.contains("GPU") => Rail::Gpu,
            _ if up.contains("CPU") => Rail::Cpu,
            _ => Rail::Other(label.trim().to_string()),
        }
    }

    /// Map an Intel RAPL zone name (`package-0`, `core`, `uncore`, `dram`, `psys`) to a rail.
    pub fn from_rapl_name(name: &str) -> Rail {
        let name = name.trim();
        if name.starts_with("package") {
            Rail::Package
        } else if name == "core" {
            Rail::Cpu
        } else {
            Rail::Other(name.to_string())
        }
    }

    /// Preference when one number must stand for the whole machine: lower is better
    /// (board input, then module, package, GPU, CPU, other).
    pub fn whole_system_rank(&self) -> u8 {
        match self {
            Rail::BoardInput => 0,
            Rail::Module => 1,
            Rail::Package => 2,
            Rail::Gpu => 3,
            Rail::Cpu => 4,
            Rail::Other(_) => 5,
        }
    }
}

impl fmt::Display for Rail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rail::BoardInput => f.write_str("board_input"),
            Rail::Module => f.write_str("module"),
            Rail::Cpu => f.write_str("cpu"),
            Rail::Gpu => f.write_str("gpu"),
            Rail::Package => f.write_str("package"),
            Rail::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Rail::from_label("VDD_IN"), Rail::BoardInput);
        assert_eq!(Rail::from_label("POM_5V_IN"), Rail::BoardInput);
        assert_eq!(Rail::from_label("POM_5V_GPU"), Rail::Gpu);
        assert_eq!(Rail::from_label("POM_5V_CPU"), Rail::Cpu);
        assert_eq!(Rail::from_label("VDD_CPU_GPU_CV"), Rail::Gpu);
        assert_eq!(Rail::from_label("VDD_CPU_CV"), Rail::Cpu);
        assert_eq!(Rail::from_label("VDD_SOC"), Rail::Other("VDD_SOC".into()));
    }

    #[test]
    fn rapl_names() {
        assert_eq!(Rail::from_rapl_name("package-1"), Rail::Package);
        assert_eq!(Rail::from_rapl_name("core"), Rail::Cpu);
        assert_eq!(Rail::from_rapl_name("dram"), Rail::Other("dram".into()));
    }
}
