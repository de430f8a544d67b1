mod common;

use std::os::unix::fs::PermissionsExt;

use common::FakeRoot;
use infergate_sensors::{counter_delta, rapl, PowerSource, Rail, Reading, SensorError, SourceKind};

const RANGE: u64 = 262_143_328_850;

fn zone(root: &FakeRoot, id: &str, name: &str, energy: u64) {
    root.write(&format!("/sys/class/powercap/{id}/name"), &format!("{name}\n"));
    root.write(&format!("/sys/class/powercap/{id}/energy_uj"), &format!("{energy}\n"));
    root.write(&format!("/sys/class/powercap/{id}/max_energy_range_uj"), &format!("{RANGE}\n"));
}

fn energy(r: Reading) -> (u64, Option<u64>) {
    match r {
        Reading::Energy { uj, range_uj } => (uj, range_uj),
        other => panic!("expected energy, got {other:?}"),
    }
}

#[test]
fn zones_rails_and_labels() {
    let root = FakeRoot::new();
    zone(&root, "intel-rapl:0", "package-0", 1_000);
    zone(&root, "intel-rapl:0:0", "core", 2_000);
    zone(&root, "intel-rapl:0:1", "dram", 3_000);
    // Nested layout for the second package's subzone.
    zone(&root, "intel-rapl:1", "package-1", 4_000);
    zone(&root, "intel-rapl:1/intel-rapl:1:0", "core", 5_000);
    // Not RAPL zones.
    root.write("/sys/class/powercap/intel-rapl/enabled", "1\n");
    root.write("/sys/class/powercap/intel-rapl-mmio:0/energy_uj", "7\n");

    let (sources, unavailable) = rapl::discover(root.path());
    assert!(unavailable.is_empty(), "{unavailable:?}");
    let got: Vec<(String, Rail)> = sources.iter().map(|s| (s.label().to_string(), s.rail())).collect();
    assert_eq!(
        got,
        vec![
            ("package-0".to_string(), Rail::Package),
            ("package-0/core".to_string(), Rail::Cpu),
            ("package-0/dram".to_string(), Rail::Other("dram".into())),
            ("package-1".to_string(), Rail::Package),
            ("package-1/core".to_string(), Rail::Cpu),
        ]
    );
    assert!(sources.iter().all(|s| s.name() == "rapl" && s.kind() == SourceKind::Counter));
    assert_eq!(sources[0].range_uj(), Some(RANGE));
    let mut core1 = sources.into_iter().nth(4).unwrap();
    assert_eq!(energy(core1.read().unwrap()), (5_000, Some(RANGE)));
}

#[test]
fn wrap_around_between_two_reads() {
    let root = FakeRoot::new();
    zone(&root, "intel-rapl:0", "package-0", RANGE - 1_000);
    let (mut sources, _) = rapl::discover(root.path());
    let (a, range) = energy(sources[0].read().unwrap());
    root.write("/sys/class/powercap/intel-rapl:0/energy_uj", "500\n");
    let (b, _) = energy(sources[0].read().unwrap());
    assert_eq!((a, b), (RANGE - 1_000, 500));
    assert_eq!(counter_delta(a, b, range), Some(1_500));
}

#[test]
fn unreadable_zone_is_unavailable_with_reason() {
    let root = FakeRoot::new();
    zone(&root, "intel-rapl:0", "package-0", 10);
    // energy_uj that cannot be read as a file (a directory): fails for every user, root included.
    root.write("/sys/class/powercap/intel-rapl:1/name", "package-1\n");
    std::fs::create_dir_all(root.at("/sys/class/powercap/intel-rapl:1/energy_uj")).unwrap();
    let (sources, unavailable) = rapl::discover(root.path());
    assert_eq!(sources.len(), 1);
    assert_eq!(unavailable.len(), 1);
    assert_eq!(unavailable[0].label, "package-1");
    assert_eq!(unavailable[0].rail, Rail::Package);
    assert!(unavailable[0].reason.contains("energy_uj"), "{}", unavailable[0].reason);
}

#[test]
fn permission_denied_is_reported_not_zero() {
    let root = FakeRoot::new();
    zone(&root, "intel-rapl:0", "package-0", 123);
    let path = root.at("/sys/class/powercap/intel-rapl:0/energy_uj");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        // Running as root (CAP_DAC_OVERRIDE): mode 000 does not stop us. The classification is
        // still checked below on a synthetic error.
        eprintln!("note: running with DAC override; permission-denied file test not applicable");
    } else {
        let (sources, unavailable) = rapl::discover(root.path());
        assert!(sources.is_empty());
        assert!(unavailable[0].reason.starts_with("permission denied"), "{}", unavailable[0].reason);
    }
    let err = SensorError::from_io(&path, std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    assert!(err.is_permission_denied());
    assert!(err.to_string().starts_with("permission denied reading"), "{err}");
}

#[test]
fn missing_powercap_and_garbage_counter() {
    let root = FakeRoot::new();
    let (s, u) = rapl::discover(root.path());
    assert!(s.is_empty() && u.is_empty());

    zone(&root, "intel-rapl:0", "package-0", 1);
    root.write("/sys/class/powercap/intel-rapl:0/energy_uj", "not a number\n");
    let (s, u) = rapl::discover(root.path());
    assert!(s.is_empty());
    assert!(u[0].reason.contains("cannot parse energy_uj"), "{}", u[0].reason);
}
