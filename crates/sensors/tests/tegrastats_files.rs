//! The real tegrastats samples in the shared data folder (not copied into the repository).

use std::path::PathBuf;
use std::time::Duration;

use infergate_sensors::tegrastats::{parse_line, read_log};
use infergate_sensors::Rail;

fn data_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/edge/tegrastats/");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("note: {} not present; skipping the tegrastats sample tests", d.display());
        None
    }
}

const L2: &str = "stats_convnet_L2_F1024_K2x2_W50_mode0_60.txt";
const L3: &str = "stats_convnet_L3_F512_K3x3_W90_mode0_60.txt";

/// Instantaneous value of a rail, found independently of the crate's parser.
fn rail_by_hand(line: &str, rail: &str) -> f64 {
    let toks: Vec<&str> = line.split(' ').collect();
    let i = toks.iter().position(|t| *t == rail).unwrap();
    toks[i + 1].split('/').next().unwrap().parse().unwrap()
}

#[test]
fn first_and_thirtieth_lines_of_l2() {
    let Some(dir) = data_dir() else { return };
    let log = read_log(&dir.join(L2), Duration::from_secs(1)).unwrap();
    assert_eq!(log.samples.len(), 59);
    assert_eq!(log.skipped_lines, 0);
    assert!(!log.timed_from_timestamps);
    assert_eq!(log.rail_names(), vec!["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]);
    assert_eq!(log.board_input_rail(), Some("POM_5V_IN"));

    // Line 1: RAM 2077/3964MB ... CPU [6%@102,0%@102,1%@102,1%@102] EMC_FREQ 10%@1600 GR3D_FREQ 99%@921
    // ... PLL@22.5C CPU@30C PMIC@50C GPU@27C AO@38C thermal@27.5C POM_5V_IN 6675/6675 POM_5V_GPU 4714/4714
    // POM_5V_CPU 121/121
    let s = &log.samples[0];
    assert_eq!((s.ram_used_mb, s.ram_total_mb), (Some(2077), Some(3964)));
    assert_eq!((s.swap_used_mb, s.swap_total_mb), (Some(357), Some(1982)));
    let loads: Vec<Option<f64>> = s.cpus.iter().map(|c| c.load_pct).collect();
    assert_eq!(loads, vec![Some(6.0), Some(0.0), Some(1.0), Some(1.0)]);
    assert!(s.cpus.iter().all(|c| c.freq_mhz == Some(102)));
    assert_eq!((s.emc_load_pct, s.emc_freq_mhz), (Some(10.0), Some(1600)));
    assert_eq!((s.gpu_load_pct, s.gpu_freq_mhz), (Some(99.0), Some(921)));
    assert_eq!(s.temperature("PLL"), Some(22.5));
    assert_eq!(s.temperature("CPU"), Some(30.0));
    assert_eq!(s.temperature("thermal"), Some(27.5));
    assert_eq!(s.temperatures.len(), 6);
    let vin = s.rail("POM_5V_IN").unwrap();
    assert_eq!((vin.current_mw, vin.average_mw, vin.rail.clone()), (6675.0, 6675.0, Rail::BoardInput));
    assert_eq!(s.rail("POM_5V_GPU").unwrap().current_mw, 4714.0);
    assert_eq!(s.rail("POM_5V_CPU").unwrap().rail, Rail::Cpu);

    // Line 30: ... CPU [3%@102,4%@102,6%@102,2%@102] ... GPU@27.5C ... POM_5V_IN 5916/6250 POM_5V_GPU 3938/4132
    let s = &log.samples[29];
    assert_eq!(s.cpus[2].load_pct, Some(6.0));
    assert_eq!(s.temperature("GPU"), Some(27.5));
    assert_eq!(s.rail("POM_5V_IN").map(|r| (r.current_mw, r.average_mw)), Some((5916.0, 6250.0)));
    assert_eq!(s.rail("POM_5V_GPU").map(|r| (r.current_mw, r.average_mw)), Some((3938.0, 4132.0)));
}

#[test]
fn last_line_of_l3_and_gpu_idle() {
    let Some(dir) = data_dir() else { return };
    let text = std::fs::read_to_string(dir.join(L3)).unwrap();
    // Last line: ... CPU [3%@1479,6%@1479,0%@1479,7%@1479] ... GR3D_FREQ 0%@921 ... CPU@31.5C ...
    // POM_5V_IN 3595/7459 POM_5V_GPU 1142/4679 POM_5V_CPU 676/134
    let s = parse_line(text.lines().last().unwrap()).unwrap();
    assert_eq!(s.cpus[3].load_pct, Some(7.0));
    assert_eq!(s.cpus[0].freq_mhz, Some(1479));
    assert_eq!(s.gpu_load_pct, Some(0.0));
    assert_eq!(s.temperature("CPU"), Some(31.5));
    assert_eq!(s.rail("POM_5V_IN").map(|r| (r.current_mw, r.average_mw)), Some((3595.0, 7459.0)));
    assert_eq!(s.rail("POM_5V_CPU").map(|r| (r.current_mw, r.average_mw)), Some((676.0, 134.0)));
}

#[test]
fn energy_over_each_log_matches_hand_integration() {
    let Some(dir) = data_dir() else { return };
    for file in [L2, L3] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let dt = 0.5;
        let log = read_log(&dir.join(file), Duration::from_millis(500)).unwrap();
        for rail in ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"] {
            let p: Vec<f64> = text.lines().map(|l| rail_by_hand(l, rail)).collect();
            let expected: f64 = p.windows(2).map(|w| dt * (w[0] + w[1]) / 2.0).sum();
            let got = log.energy_mj(rail).unwrap();
            assert!((got - expected).abs() < 1e-6, "{file} {rail}: {got} vs {expected}");
            let m = log.measurement(rail);
            assert_eq!(m.samples, 59);
            assert!((m.duration_s - 29.0).abs() < 1e-12);
            assert!((m.mean_power_mw.unwrap() - expected / 29.0).abs() < 1e-6);
        }
        // Board input is above the GPU rail on every line, so also in energy.
        assert!(log.energy_mj("POM_5V_IN").unwrap() > log.energy_mj("POM_5V_GPU").unwrap());
    }
}
