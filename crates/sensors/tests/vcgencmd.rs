use infergate_sensors::parse_pmic_read_adc;

/// Output in the format of `vcgencmd pmic_read_adc` on a Raspberry Pi 5 (values written for this
/// test).
const SAMPLE: &str = "   3V7_WL_SW_A current(0)=0.10000000A
   3V3_SYS_A current(1)=0.05000000A
   VDD_CORE_A current(7)=2.04360000A
   3V7_WL_SW_V volt(8)=3.70000000V
   3V3_SYS_V volt(9)=3.30000000V
   VDD_CORE_V volt(15)=0.88470000V
   EXT5V_V volt(24)=5.12000000V
   BATT_V volt(25)=0.00000000V
";

#[test]
fn pmic_total_is_sum_of_v_times_i() {
    let r = parse_pmic_read_adc(SAMPLE);
    assert_eq!(r.skipped_lines, 0);
    assert_eq!(r.rails.len(), 5);
    let core = r.rails.iter().find(|x| x.name == "VDD_CORE").unwrap();
    assert_eq!(core.current_a, Some(2.0436));
    assert_eq!(core.volt_v, Some(0.8847));
    // EXT5V and BATT have no current: left out.
    assert_eq!(r.rails.iter().find(|x| x.name == "EXT5V").unwrap().power_w(), None);
    // 3.7 × 0.1 + 3.3 × 0.05 + 0.8847 × 2.0436 = 0.37 + 0.165 + 1.80797292 W.
    let expected_mw = (0.37 + 0.165 + 0.8847 * 2.0436) * 1000.0;
    assert!((r.total_power_mw().unwrap() - expected_mw).abs() < 1e-9);
}

#[test]
fn garbage_is_counted_not_fatal() {
    let r = parse_pmic_read_adc("error=2 error_msg=\"Command not registered\"\nVDD_CORE_A current(7)=xA\n\n\u{0}\u{1}");
    assert!(r.rails.is_empty());
    assert_eq!(r.skipped_lines, 3);
    assert_eq!(r.total_power_mw(), None);
    // Only a voltage: no power.
    assert_eq!(parse_pmic_read_adc("  EXT5V_V volt(24)=5.1V").total_power_mw(), None);
}
