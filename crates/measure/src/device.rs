//! The device name recorded with each row.

use std::path::Path;

use crate::error::MeasureError;

/// Checks a device name: non-empty, only ASCII letters, digits, `_`, `.` and `-` (it goes into
/// CSV rows and file names, e.g. `<data dir>/energy/<device>.json`).
pub fn validate_device_name(name: &str) -> Result<(), MeasureError> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(MeasureError::DeviceName(name.to_string()))
    }
}

/// This machine's name from `<root>/etc/hostname`, with characters [`validate_device_name`]
/// refuses replaced by `-`; `local` when there is none.
pub fn default_device_name(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("etc/hostname")).unwrap_or_default();
    let name: String = text
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
        .collect();
    if name.is_empty() {
        "local".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["jetson_nano", "rpi5", "vm", "a.b-c_1"] {
            assert!(validate_device_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "two words", "a,b", "../x", "é"] {
            assert!(validate_device_name(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(default_device_name(dir.path()), "local");
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hostname"), "edge box 1\n").unwrap();
        assert_eq!(default_device_name(dir.path()), "edge-box-1");
    }
}
