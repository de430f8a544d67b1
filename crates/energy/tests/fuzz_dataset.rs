//! Property tests ("fuzzing" on stable Rust) for the measurement CSV reader: for arbitrary
//! bytes and for files with the known columns and mutated values it never panics, accounts
//! for every row (read, missing a measurement, or malformed), and every measurement it
//! returns is finite and positive. `PROPTEST_CASES` overrides the case count.

use infergate_energy::dataset::{read_file, ReadReport};
use proptest::prelude::*;
use std::path::Path;

const JETSON: &[&str] = &[
    "Model Name",
    "Layers",
    "Total Parameters",
    "Total MACs",
    "Network Type",
    "Input Size",
    "Avrg_POM_5V_IN",
    "average_latency(ms)",
    "device",
];
const SEED: &[&str] = &[
    "model",
    "params_m",
    "gflops",
    "gmacs",
    "size_mb",
    "latency_avg_s",
    "throughput_iter_per_s",
    "energy_avg_mwh",
    "power_avg_mw",
    "device",
    "energy_source",
    "layers",
    "input_size",
    "filters_max",
    "kernel_mean",
    "kernel_max",
    "depthwise",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u32..5000).prop_map(|n| n.to_string()),
        2 => any::<f64>().prop_map(|f| f.to_string()),
        2 => prop::sample::select(vec![
            "", "0", "-1", "NaN", "inf", "1e300", "1e308", "1.7e308", "1e-320", "5e-324", "dws", "DWS", "std",
            "convnet_L5_F256_K3x3_W55_DWS", "\"a,b\"", "\"", "٣", "😀",
        ])
        .prop_map(String::from),
        1 => "\\PC{0,6}",
    ]
}

fn csv_text(columns: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        4 => Just(columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
        1 => prop::collection::vec(
            prop_oneof![8 => prop::sample::select(columns.to_vec()).prop_map(String::from), 1 => "\\PC{0,5}"],
            0..columns.len() + 2,
        ),
    ];
    let rows = prop::collection::vec(prop::collection::vec(field(), 0..columns.len() + 2), 0..8);
    (header, rows, prop::option::of((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()))).prop_map(
        |(header, rows, mutation)| {
            let mut text = header.join(",");
            for r in rows {
                text.push('\n');
                text.push_str(&r.join(","));
            }
            let mut bytes = text.into_bytes();
            if let Some((at, byte, truncate)) = mutation.filter(|_| !bytes.is_empty()) {
                let i = at.index(bytes.len());
                if truncate {
                    bytes.truncate(i);
                } else {
                    bytes[i] = byte;
                }
            }
            bytes
        },
    )
}

fn records(path: &Path) -> usize {
    csv::ReaderBuilder::new().flexible(true).from_path(path).map_or(0, |mut r| r.records().count())
}

fn check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dws_2__fuzz.csv");
    std::fs::write(&path, bytes).unwrap();
    let Ok((rows, report)) = read_file(&path, "fuzz_device") else { return };
    let ReadReport { rows: read, missing_measurement, malformed } = report;
    assert_eq!(read, rows.len());
    assert_eq!(read + missing_measurement + malformed, records(&path), "every row is accounted for");
    let positive = |v: f64| v.is_finite() && v > 0.0;
    for m in &rows {
        assert!(positive(m.features.macs) && positive(m.features.params), "{m:?}");
        assert!(positive(m.latency_ms) && positive(m.energy_mwh) && positive(m.power_mw), "{m:?}");
        assert_eq!(m.family, "dws_2");
        assert!(!m.device.is_empty());
    }
}

proptest! {
    #[test]
    fn jetson_schema(bytes in csv_text(JETSON)) {
        check(&bytes);
    }

    #[test]
    fn seed_schema(bytes in csv_text(SEED)) {
        check(&bytes);
    }

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }
}

/// Found by `jetson_schema`: a subnormal latency times the power underflowed to an energy of
/// 0 mWh, and a row was returned with a zero (unusable) truth.
#[test]
fn regression_energy_underflow_is_skipped() {
    let text = "Model Name,Total Parameters,Total MACs,Avrg_POM_5V_IN,average_latency(ms)\nm,2897,1e-121,664,1e-320\n";
    check(text.as_bytes());
}

/// Found by `seed_schema`: values finite in the file overflowed once scaled (gmacs × 10⁹,
/// latency_avg_s × 10³, energy ÷ latency for the power), and rows came back infinite.
#[test]
fn regression_scaled_overflow_is_skipped() {
    for row in [
        "m,1,0,1e300,0,0.01,0,1,100,d",
        "m,1e303,0,1,0,0.01,0,1,100,d",
        "m,1,0,1,0,1e306,0,1,100,d",
        "m,1,0,1,0,1e-300,0,1e300,,d",
    ] {
        let text = format!("{}\n{row}\n", SEED[..10].join(","));
        check(text.as_bytes());
    }
}
