//! NVML (feature `nvml`). Without a GPU or without libnvidia-ml nothing is found, which is fine;
//! with one, readings must be plausible.
#![cfg(feature = "nvml")]

use infergate_sensors::{nvml, PowerSource, Rail, Reading};

#[test]
fn gpus_read_plausible_values_when_present() {
    let (sources, unavailable) = nvml::discover();
    eprintln!("nvml: {} GPU source(s), {} unavailable", sources.len(), unavailable.len());
    for mut s in sources {
        assert_eq!(s.name(), "nvml");
        assert_eq!(s.rail(), Rail::Gpu);
        match s.read().unwrap() {
            Reading::Energy { uj, range_uj } => {
                assert!(uj > 0);
                assert_eq!(range_uj, None);
            }
            Reading::Power { mw } => assert!(mw > 0.0 && mw < 2_000_000.0),
        }
        // Board power may be unsupported on a GPU that has an energy counter; if given, it is sane.
        if let Ok(p) = s.power_mw() {
            assert!(p > 0.0 && p < 2_000_000.0, "{p} mW");
        }
    }
}
