//! Bad input never panics: truncated, mutated and random text through every parser.

use std::time::Duration;

use infergate_sensors::tegrastats::{parse_line, parse_log};
use infergate_sensors::telemetry::parse_proc_stat;
use infergate_sensors::{parse_meter_csv, parse_pmic_read_adc};

const TEGRA: &str = "04-05-2023 10:15:30 RAM 2077/3964MB (lfb 98x4MB) SWAP 357/1982MB (cached 24MB) \
IRAM 0/252kB(lfb 252kB) CPU [6%@102,0%@102,off,1%@102] EMC_FREQ 10%@1600 GR3D_FREQ 99%@[921,921] APE 25 \
PLL@22.5C CPU@30C tj@-256C POM_5V_IN 6675/6675 VDD_IN 5000mW/4000mW";

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"RAMCPUGR3D_FREQPOM_5V_INVDD mW/%@[],.;:\t\n-0123456789eE+CAVxyz()\"'";
        (0..len)
            .map(|_| {
                let r = self.next();
                if r % 17 == 0 {
                    char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{fffd}')
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()] as char
                }
            })
            .collect()
    }
}

fn all_parsers(text: &str) {
    let _ = parse_line(text);
    let _ = parse_log(text, Duration::from_millis(100));
    let _ = parse_meter_csv(text);
    let _ = parse_pmic_read_adc(text);
    let _ = parse_proc_stat(text);
}

#[test]
fn truncated_lines() {
    for (i, _) in TEGRA.char_indices() {
        all_parsers(&TEGRA[..i]);
        all_parsers(&TEGRA[i..]);
    }
    let csv = "time,voltage,current\n0,5,1\n1,5,1\n";
    for (i, _) in csv.char_indices() {
        all_parsers(&csv[..i]);
    }
}

#[test]
fn random_text() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in 0..3000 {
        let len = (rng.next() % 200) as usize;
        let mut t = rng.text(len);
        if n % 3 == 0 {
            t = format!("time,voltage,current\n{t}");
        }
        all_parsers(&t);
    }
}

#[test]
fn garbage_lines_in_a_log_are_counted() {
    let text = format!("{TEGRA}\n%%%% garbage\n\u{0}\u{0}\n{TEGRA}\nhello\n");
    let log = parse_log(&text, Duration::from_secs(1));
    assert_eq!(log.samples.len(), 2);
    assert_eq!(log.skipped_lines, 3);
    // The full line parses all of its fields.
    let s = parse_line(TEGRA).unwrap();
    assert_eq!(s.cpus.len(), 4);
    assert!(!s.cpus[2].online());
    assert_eq!(s.temperature("tj"), None);
    assert_eq!(s.rails.len(), 2);
    assert_eq!(s.rail("VDD_IN").unwrap().average_mw, 4000.0);
}
