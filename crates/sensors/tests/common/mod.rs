//! Helpers to build fake sysfs / procfs trees in a temporary directory.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A fake root directory.
pub struct FakeRoot {
    pub dir: tempfile::TempDir,
}

impl FakeRoot {
    pub fn new() -> Self {
        FakeRoot { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Absolute path of `rel` (given as an absolute system path like `/sys/class/...`).
    pub fn at(&self, rel: &str) -> PathBuf {
        self.path().join(rel.trim_start_matches('/'))
    }

    /// Write `content` to `rel` atomically (write + rename), creating parent directories.
    pub fn write(&self, rel: &str, content: &str) {
        let p = self.at(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let tmp = p.with_extension("tmp~");
        fs::write(&tmp, content).unwrap();
        fs::rename(&tmp, &p).unwrap();
    }
}
