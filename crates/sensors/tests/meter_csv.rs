use std::fmt::Write;

use infergate_sensors::{parse_meter_csv, read_meter_csv, Rail, SensorError};

#[test]
fn five_volts_one_amp_for_an_hour_is_5000_mwh() {
    let mut csv = String::from("Time(s),Voltage(V),Current(A),Power(W),Energy(Wh)\n");
    for t in (0..=3600).step_by(10) {
        writeln!(csv, "{t},5.0,1.0,5.0,{}", t as f64 * 5.0 / 3600.0).unwrap();
    }
    let log = parse_meter_csv(&csv).unwrap();
    assert_eq!(log.samples.len(), 361);
    assert_eq!(log.skipped_rows, 0);
    // 5 V × 1 A × 3600 s = 18 000 J = 18 000 000 mJ = 5 Wh = 5000 mWh.
    assert!((log.energy_mj().unwrap() - 18_000_000.0).abs() < 1e-6);
    assert!((log.energy_mwh().unwrap() - 5000.0).abs() < 1e-9);
    let m = log.measurement(Rail::BoardInput, None);
    assert_eq!(m.source, "meter");
    assert_eq!(m.mean_power_mw, Some(5000.0));
    assert_eq!(m.duration_s, 3600.0);
}

#[test]
fn trapezoid_by_hand_and_window() {
    // Power: 0 s 5 W, 1 s 10 W, 3 s 10 W, 4 s 0 W.
    let csv = "timestamp;current;voltage;extra\n0;1;5;x\n1;2;5;x\n3;2;5;x\n4;0;5;x\n";
    let log = parse_meter_csv(csv).unwrap();
    // (5+10)/2×1 + 10×2 + (10+0)/2×1 = 7.5 + 20 + 5 = 32.5 J.
    assert!((log.energy_mj().unwrap() - 32_500.0).abs() < 1e-9);
    // Window [0.5, 2]: P(0.5) = 7.5 W; (7.5+10)/2×0.5 + 10×1 = 4.375 + 10 = 14.375 J.
    let w = log.window(0.5, 2.0);
    assert!((w.energy_mj().unwrap() - 14_375.0).abs() < 1e-9);
    let m = log.measurement(Rail::Gpu, Some((3.0, 4.0)));
    assert!((m.energy_mj.unwrap() - 5_000.0).abs() < 1e-9);
    assert_eq!(m.rail, Rail::Gpu);
}

#[test]
fn malformed_rows_are_skipped_and_counted() {
    let csv = "\u{feff}Voltage,CURRENT,Time\n\
               5,1,0\n\
               5,abc,1\n\
               five,1,2\n\
               5\n\
               5,1,NaN\n\
               5,1,-1\n\
               \n\
               5,1,3,extra,columns\n";
    let log = parse_meter_csv(csv).unwrap();
    assert_eq!(log.samples.len(), 2);
    // abc, five, short row, NaN time, time going backwards.
    assert_eq!(log.skipped_rows, 5);
    assert_eq!(log.energy_mj(), Some(15_000.0));
}

#[test]
fn iso_timestamps_and_milli_units() {
    let csv = "time,vbus_mV,ibus_mA\n\
               2024-05-01T12:00:00Z,5000,1000\n\
               2024-05-01T12:00:01.5Z,5000,1000\n\
               2024-05-01 12:00:03,5000,1000\n";
    let log = parse_meter_csv(csv).unwrap();
    assert_eq!(log.skipped_rows, 0);
    assert_eq!(log.samples[0].voltage_v, 5.0);
    assert_eq!(log.samples[0].current_a, 1.0);
    let t0 = log.start_s().unwrap();
    assert_eq!(log.samples[2].t_s - t0, 3.0);
    assert!((log.energy_mj().unwrap() - 15_000.0).abs() < 1e-6);
    assert!((log.window(t0 + 1.0, t0 + 2.0).energy_mj().unwrap() - 5_000.0).abs() < 1e-6);
}

#[test]
fn missing_columns_and_files() {
    let err = parse_meter_csv("time,power\n0,5\n").unwrap_err();
    assert!(matches!(err, SensorError::Unavailable(ref m) if m.contains("voltage")), "{err}");
    assert!(parse_meter_csv("").is_err());
    assert!(matches!(read_meter_csv(std::path::Path::new("/no/such.csv")), Err(SensorError::NotFound { .. })));
    // Header only: a log without samples, hence no energy.
    let log = parse_meter_csv("t,v,i\n").unwrap();
    assert_eq!(log.energy_mj(), None);
    assert!(log.measurement(Rail::BoardInput, None).error.is_some());
}
