mod common;

use common::FakeRoot;
use infergate_sensors::{hwmon, iio, PowerSource, Rail, Reading};

fn mw(r: Reading) -> f64 {
    match r {
        Reading::Power { mw } => mw,
        other => panic!("expected power, got {other:?}"),
    }
}

fn orin_ina3221(root: &FakeRoot, hw: &str) {
    let d = format!("/sys/class/hwmon/{hw}");
    root.write(&format!("{d}/name"), "ina3221\n");
    for (n, label, mv, ma) in [(1, "VDD_IN", 5072, 1024), (2, "VDD_CPU_GPU_CV", 5080, 96), (3, "VDD_SOC", 5080, 272)] {
        root.write(&format!("{d}/in{n}_label"), &format!("{label}\n"));
        root.write(&format!("{d}/in{n}_input"), &format!("{mv}\n"));
        root.write(&format!("{d}/curr{n}_input"), &format!("{ma}\n"));
    }
    // Pseudo channel and shunt voltages without labels: ignored.
    root.write(&format!("{d}/in7_label"), "sum of shunt voltages\n");
    root.write(&format!("{d}/in7_input"), "12\n");
    root.write(&format!("{d}/in4_input"), "3\n");
}

#[test]
fn hwmon_ina3221_labelled_channels() {
    let root = FakeRoot::new();
    orin_ina3221(&root, "hwmon1");
    // Another hwmon chip: ignored.
    root.write("/sys/class/hwmon/hwmon0/name", "cpu_thermal\n");
    root.write("/sys/class/hwmon/hwmon0/in1_label", "VDD_IN\n");

    let (sources, unavailable) = hwmon::discover(root.path());
    assert!(unavailable.is_empty());
    let got: Vec<(&str, Rail)> = sources.iter().map(|s| (s.label(), s.rail())).collect();
    assert_eq!(
        got,
        vec![("VDD_IN", Rail::BoardInput), ("VDD_CPU_GPU_CV", Rail::Gpu), ("VDD_SOC", Rail::Other("VDD_SOC".into()))]
    );
    let mut s = sources;
    assert_eq!(s[0].name(), "hwmon:ina3221");
    // 5072 mV × 1024 mA = 5193.728 mW.
    assert!((mw(s[0].read().unwrap()) - 5193.728).abs() < 1e-9);
    assert!((mw(s[2].read().unwrap()) - 1381.76).abs() < 1e-9);
}

#[test]
fn hwmon_power_input_layout_and_unreadable_channel() {
    let root = FakeRoot::new();
    let d = "/sys/class/hwmon/hwmon3";
    root.write(&format!("{d}/name"), "ina3221\n");
    root.write(&format!("{d}/in1_label"), "VDD_IN\n");
    root.write(&format!("{d}/power1_input"), "4500000\n"); // µW
    root.write(&format!("{d}/in2_label"), "VDD_GPU_SOC\n");
    root.write(&format!("{d}/in2_input"), "5000\n");
    root.write(&format!("{d}/curr2_input"), "garbage\n");
    root.write(&format!("{d}/in3_label"), "NC\n");
    let (mut sources, unavailable) = hwmon::discover(root.path());
    assert_eq!(sources.len(), 1);
    assert_eq!(mw(sources[0].read().unwrap()), 4500.0);
    assert_eq!(unavailable.len(), 1);
    assert_eq!(unavailable[0].label, "VDD_GPU_SOC");
    assert_eq!(unavailable[0].rail, Rail::Gpu);
    assert!(unavailable[0].reason.contains("currN_input"), "{}", unavailable[0].reason);

    // A value that disappears later is an error at read time, not zero.
    std::fs::remove_file(root.at(&format!("{d}/power1_input"))).unwrap();
    assert!(sources[0].read().is_err());
}

#[test]
fn iio_nano_rails() {
    let root = FakeRoot::new();
    let d = "/sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0";
    for (n, name, p) in [(0, "POM_5V_IN", 2840), (1, "POM_5V_GPU", 480), (2, "POM_5V_CPU", 1190)] {
        root.write(&format!("{d}/rail_name_{n}"), &format!("{name}\n"));
        root.write(&format!("{d}/in_power{n}_input"), &format!("{p}\n"));
        root.write(&format!("{d}/in_current{n}_input"), "1\n");
    }
    root.write(&format!("{d}/in_power7_input"), "5\n"); // no rail name: skipped
    root.write("/sys/bus/i2c/drivers/ina3221x/bind", "");

    let (mut sources, unavailable) = iio::discover(root.path());
    assert!(unavailable.is_empty());
    let got: Vec<(&str, Rail)> = sources.iter().map(|s| (s.label(), s.rail())).collect();
    assert_eq!(got, vec![("POM_5V_IN", Rail::BoardInput), ("POM_5V_GPU", Rail::Gpu), ("POM_5V_CPU", Rail::Cpu)]);
    assert_eq!(sources[0].name(), "iio");
    assert_eq!(mw(sources[0].read().unwrap()), 2840.0);
    assert_eq!(mw(sources[2].read().unwrap()), 1190.0);
}

#[test]
fn nothing_present() {
    let root = FakeRoot::new();
    assert!(hwmon::discover(root.path()).0.is_empty());
    assert!(iio::discover(root.path()).0.is_empty());
}

#[test]
fn discover_on_an_empty_tree_finds_nothing() {
    let root = FakeRoot::new();
    let d = infergate_sensors::discover_with(&infergate_sensors::DiscoverOptions::files_only(root.path()));
    assert!(d.sources.is_empty() && d.unavailable.is_empty());
}
