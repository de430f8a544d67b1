//! The CSV file: header written once, rows appended in one write, another file's header refused.

use std::path::PathBuf;

use infergate_measure::energy::EnergyReport;
use infergate_measure::row::header_line;
use infergate_measure::{
    append_row, check_csv, BenchReport, BenchResult, BenchRow, LatencyStats, MeasureError, ModelInfo, Telemetry, HEADER,
};

/// A result as a benchmark without a power sensor leaves it.
fn result(device: &str) -> BenchResult {
    let model = ModelInfo::new(&PathBuf::from("/models/tiny-net.onnx"), 2_500_000, None, Some("unsupported op".into()));
    let report = BenchReport {
        runs: 4,
        warmup: 1,
        input_shape: vec![1, 3, 8, 8],
        latency_ms: LatencyStats::of_ms(&[2.0, 4.0, 6.0, 8.0]).unwrap(),
        wall_s: 0.02,
        throughput_iter_per_s: 200.0,
        telemetry: Telemetry { cpu_percent: Some(99.5), rss_mb: Some(120.25), ..Telemetry::default() },
        energy: EnergyReport::none(vec!["Intel RAPL".into()], vec![]),
        measured_at: "2026-11-23T10:00:00.000Z".into(),
    };
    BenchResult { model, device: device.into(), runtime: "tract".into(), report }
}

fn read_rows(path: &std::path::Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    (header, r.records().map(|x| x.unwrap()).collect())
}

#[test]
fn header_then_rows_with_empty_unknowns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("energy/new/bench.csv");
    append_row(&path, &BenchRow::from(&result("vm"))).unwrap();
    append_row(&path, &BenchRow::from(&result("rpi5"))).unwrap();
    let (header, rows) = read_rows(&path);
    assert_eq!(header, HEADER);
    // The seed's schema first.
    assert_eq!(
        &header[..10],
        [
            "model",
            "params_m",
            "gflops",
            "gmacs",
            "size_mb",
            "latency_avg_s",
            "throughput_iter_per_s",
            "energy_avg_mwh",
            "power_avg_mw",
            "device"
        ]
    );
    assert_eq!(rows.len(), 2);
    fn col<'a>(row: &'a csv::StringRecord, name: &str) -> &'a str {
        row.get(HEADER.iter().position(|h| *h == name).unwrap()).unwrap()
    }
    let row = &rows[0];
    assert_eq!(col(row, "model"), "tiny-net");
    assert_eq!(col(row, "size_mb"), "2.5");
    assert_eq!(col(row, "latency_avg_s"), "0.005");
    assert_eq!(col(row, "latency_p50_ms"), "4.0");
    assert_eq!(col(row, "energy_source"), "none");
    for empty in ["params_m", "energy_avg_mwh", "energy_dynamic_mwh", "power_avg_mw", "rail", "temperature_c", "layers"]
    {
        assert_eq!(col(row, empty), "", "{empty} must be empty, not a made-up number");
    }
    assert_eq!(col(row, "cpu_percent"), "99.5");
    assert_eq!(col(&rows[1], "device"), "rpi5");
    // The header is written once.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches("model,params_m").count(), 1);
    assert_eq!(text.lines().next().unwrap(), header_line());
}

#[test]
fn a_file_without_final_newline_or_empty_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    append_row(&empty, &BenchRow::from(&result("vm"))).unwrap();
    assert_eq!(read_rows(&empty).1.len(), 1);

    let cut = dir.path().join("cut.csv");
    let mut text = std::fs::read_to_string(&empty).unwrap();
    text.pop();
    std::fs::write(&cut, &text).unwrap();
    append_row(&cut, &BenchRow::from(&result("vm2"))).unwrap();
    let rows = read_rows(&cut).1;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get(9), Some("vm2"));
}

#[test]
fn another_header_is_refused_and_the_file_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.csv");
    let seed =
        "model,params_m,gflops,gmacs,size_mb,latency_avg_s,throughput_iter_per_s,energy_avg_mwh,power_avg_mw,device\n\
                mobilenet,3.5,0.6,0.3,14,0.02,50,0.01,1800,jetson\n";
    std::fs::write(&path, seed).unwrap();
    let err = check_csv(&path).unwrap_err();
    assert!(matches!(err, MeasureError::CsvHeader { .. }));
    let msg = err.to_string();
    assert!(msg.contains("seed.csv") && msg.contains("--csv"), "{msg}");
    assert!(append_row(&path, &BenchRow::from(&result("vm"))).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), seed);
    // A missing file is fine to write.
    check_csv(&dir.path().join("missing.csv")).unwrap();
}
