//! Small helpers for reading sysfs / procfs files under a configurable root.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Result, SensorError};

/// Default root for every reader: the real file system.
pub const DEFAULT_ROOT: &str = "/";

/// Join an absolute system path (e.g. `/sys/class/hwmon`) under `root`.
///
/// `under(Path::new("/tmp/fake"), "/sys/class/hwmon")` is `/tmp/fake/sys/class/hwmon`.
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Read a whole file as UTF-8 (lossy), classifying I/O errors.
pub fn read_string(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| SensorError::from_io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Read a file and trim surrounding whitespace (sysfs values end with a newline).
pub fn read_trimmed(path: &Path) -> Result<String> {
    Ok(read_string(path)?.trim().to_string())
}

/// Read an unsigned integer from a one-value sysfs file.
pub fn read_u64(path: &Path, what: &'static str) -> Result<u64> {
    let text = read_trimmed(path)?;
    text.parse::<u64>().map_err(|_| SensorError::parse(what, path.display().to_string(), &text))
}

/// Read a (possibly negative or fractional) number from a one-value sysfs file.
pub fn read_f64(path: &Path, what: &'static str) -> Result<f64> {
    let text = read_trimmed(path)?;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(SensorError::parse(what, path.display().to_string(), &text)),
    }
}

/// Entries of `dir` whose file name starts with `prefix`, sorted by name with numeric suffixes in
/// natural order (`hwmon2` before `hwmon10`). A missing or unreadable directory gives an empty list.
pub fn entries_with_prefix(dir: &Path, prefix: &str) -> Vec<(String, PathBuf)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix).then(|| (name, e.path()))
        })
        .collect();
    out.sort_by_key(|a| natural_key(&a.0));
    out
}

/// Sort key splitting a name into text and number runs so that `x2 < x10`.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                parts.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            text.push(c);
        }
    }
    parts.push((text, if digits.is_empty() { 0 } else { digits.parse().unwrap_or(u64::MAX) }));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_joins_absolute_paths() {
        assert_eq!(under(Path::new("/tmp/x"), "/sys/class"), PathBuf::from("/tmp/x/sys/class"));
        assert_eq!(under(Path::new("/"), "/proc/stat"), PathBuf::from("/proc/stat"));
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["hwmon10", "hwmon2", "hwmon1"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["hwmon1", "hwmon2", "hwmon10"]);
    }

    #[test]
    fn missing_file_is_not_found() {
        let err = read_trimmed(Path::new("/definitely/not/here")).unwrap_err();
        assert!(matches!(err, SensorError::NotFound { .. }), "{err}");
    }
}
