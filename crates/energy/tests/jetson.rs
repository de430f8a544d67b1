//! The predictor on the shared Jetson Nano measurements (~11,800 CNNs in 8 architecture
//! families): structure-only, one whole family held out at a time. Prints the per-family table.

use infergate_energy::evaluate::{leave_one_family_out, mean, table};
use infergate_energy::{read_files, Measurement, Mode};
use infergate_learn::Params;
use std::path::PathBuf;

fn jetson_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/edge/jetson_nano");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    files
}

#[test]
fn held_out_families_structure_only_meet_the_targets() {
    let (rows, reports) = read_files(&jetson_files(), "jetson_nano").unwrap();
    let skipped: usize = reports.iter().map(|r| r.missing_measurement + r.malformed).sum();
    println!("{} rows read, {skipped} skipped (no latency or power)", rows.len());
    assert_eq!(reports.len(), 8);
    assert_eq!(rows.len() + skipped, 11_844, "every row is read or counted");
    assert_eq!(skipped, 1_661);
    let refs: Vec<&Measurement> = rows.iter().collect();
    let parts = leave_one_family_out("jetson_nano", Mode::Structure, &refs, &Params::default()).unwrap();
    println!("{}", table(&parts));
    let e = mean(&parts, |p| Some(p.energy)).unwrap();
    assert!(e.mape <= 0.12, "energy MAPE {:.1} % over held-out families (target ≤ 12 %)", e.mape * 100.0);
    assert!(e.r2 >= 0.9, "mean R² {:.3} (target ≥ 0.9)", e.r2);
    assert!(
        (0.85..=0.95).contains(&e.interval_coverage),
        "90 % intervals cover {:.1} % of held-out rows (target 85–95 %)",
        e.interval_coverage * 100.0
    );
}

/// A new device: one family stands in for it, with only a few of its rows measured. The
/// physics prior (fitted on the other families) is calibrated by those measurements and
/// scored on the family's other rows; predictions get better as measurements arrive.
#[test]
fn a_new_device_is_calibrated_by_its_first_measurements() {
    use infergate_energy::DevicePrior;
    let (rows, _) = read_files(&jetson_files(), "jetson_nano").unwrap();
    let mut families: Vec<&str> = rows.iter().map(|m| m.family.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    let mape = |p: &DevicePrior, test: &[&Measurement]| {
        test.iter().map(|m| (p.energy_mwh(m.features.macs) - m.energy_mwh).abs() / m.energy_mwh).sum::<f64>()
            / test.len() as f64
    };
    let mut by_k = [0.0f64; 3];
    println!("{:<26} {:>9} {:>9} {:>9}", "new device (family)", "3 meas.", "10 meas.", "30 meas.");
    for f in &families {
        let (family, others): (Vec<&Measurement>, Vec<&Measurement>) = rows.iter().partition(|m| m.family == *f);
        let reference = DevicePrior::fit("reference", &others).unwrap();
        let mut line = [0.0f64; 3];
        // Five draws: rows spread over the family (every n-th, from five offsets).
        for offset in 0..5 {
            for (slot, k) in [3usize, 10, 30].into_iter().enumerate() {
                let step = family.len() / k;
                let measured: Vec<&Measurement> = (0..k).map(|i| family[(offset + i * step) % family.len()]).collect();
                let rest: Vec<&Measurement> =
                    family.iter().copied().filter(|m| !measured.iter().any(|x| std::ptr::eq(*x, *m))).collect();
                let calibrated = reference.calibrated(f, &measured);
                line[slot] += mape(&calibrated, &rest) / 5.0;
            }
        }
        println!("{:<26} {:>8.1}% {:>8.1}% {:>8.1}%", f, line[0] * 100.0, line[1] * 100.0, line[2] * 100.0);
        for (t, v) in by_k.iter_mut().zip(line) {
            *t += v / families.len() as f64;
        }
    }
    println!("{:<26} {:>8.1}% {:>8.1}% {:>8.1}%", "mean", by_k[0] * 100.0, by_k[1] * 100.0, by_k[2] * 100.0);
    assert!(by_k[1] <= 0.25, "10 measurements: energy MAPE {:.1} % (useful: ≤ 25 %)", by_k[1] * 100.0);
    assert!(by_k[1] < by_k[0] && by_k[2] < by_k[1], "more measurements, better predictions: {by_k:?}");
}
