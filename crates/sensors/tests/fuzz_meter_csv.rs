//! Property tests ("fuzzing" on stable Rust) for the power-meter CSV reader: for arbitrary
//! text and for logs with the known columns and mutated values it never panics, and a parsed
//! log's samples are finite and in time order, every data row read or skipped.
//! `PROPTEST_CASES` overrides the case count.

use infergate_sensors::meter_csv::parse_meter_csv;
use proptest::prelude::*;

fn header() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "timestamp",
        "time(ms)",
        "t",
        "elapsed [us]",
        "Time",
        "datetime",
        "voltage",
        "voltage (mV)",
        "V",
        "vbus",
        "current_mA",
        "I",
        "curr",
        "ibus",
        "power",
        "energy",
        "D+",
        "\u{feff}time",
        "",
        "volt(µs)",
        "time_",
    ])
    .prop_map(String::from)
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..100_000).prop_map(|n| (n as f64 / 100.0).to_string()),
        2 => any::<f64>().prop_map(|f| f.to_string()),
        1 => prop::sample::select(vec![
            "", "NaN", "inf", "-1", "1e308", "1e400", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.5",
            "2024-13-45T99:99:99", "9999-12-31T23:59:59+14:00", "\"1,5\"", "1,5", "٣", "😀",
        ])
        .prop_map(String::from),
        1 => "\\PC{0,6}",
    ]
}

fn log_text() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(vec![",", ";", "\t"]);
    (sep, prop::collection::vec(header(), 0..6), prop::collection::vec(prop::collection::vec(field(), 0..7), 0..10))
        .prop_map(|(sep, header, rows)| {
            let mut text = header.join(sep);
            for r in rows {
                text.push('\n');
                text.push_str(&r.join(sep));
            }
            text
        })
}

fn check(text: &str) {
    let Ok(log) = parse_meter_csv(text) else { return };
    assert!(log.samples.windows(2).all(|w| w[0].t_s <= w[1].t_s), "samples in time order");
    for s in &log.samples {
        assert!(s.t_s.is_finite() && s.voltage_v.is_finite() && s.current_a.is_finite(), "{s:?}");
    }
    if let Some(e) = log.energy_mwh() {
        assert!(!e.is_nan(), "energy of a finite log is a number");
    }
}

proptest! {
    #[test]
    fn structured_logs(text in log_text()) {
        check(&text);
    }

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }
}
