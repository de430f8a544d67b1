//! Finding the power and energy sources present on this machine.

use std::path::{Path, PathBuf};

use crate::source::{PowerSource, Unavailable};
use crate::sysfs::DEFAULT_ROOT;
use crate::{hwmon, iio, rapl, vcgencmd};

/// What to probe.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Root of the file system holding `/sys` (default `/`).
    pub sysfs_root: PathBuf,
    /// Probe NVML (only has an effect when built with the `nvml` feature).
    pub nvml: bool,
    /// Run `vcgencmd pmic_read_adc` if `vcgencmd` is on `$PATH`.
    pub vcgencmd: bool,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self::new(Path::new(DEFAULT_ROOT))
    }
}

impl DiscoverOptions {
    /// Probe everything, reading files under `sysfs_root`.
    pub fn new(sysfs_root: &Path) -> Self {
        DiscoverOptions { sysfs_root: sysfs_root.to_path_buf(), nvml: true, vcgencmd: true }
    }

    /// Only the file-based sources under `sysfs_root` (RAPL, hwmon, iio): no NVML, no commands.
    /// This is what tests on fake trees use.
    pub fn files_only(sysfs_root: &Path) -> Self {
        DiscoverOptions { sysfs_root: sysfs_root.to_path_buf(), nvml: false, vcgencmd: false }
    }
}

/// Readable sources, plus the ones found but unreadable (with the reason).
#[derive(Default)]
pub struct Discovery {
    /// Sources that answered a first read.
    pub sources: Vec<Box<dyn PowerSource>>,
    /// Sources that exist but cannot be read (e.g. RAPL without root).
    pub unavailable: Vec<Unavailable>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.sources.iter().map(|s| format!("{}:{}", s.name(), s.label())).collect();
        f.debug_struct("Discovery").field("sources", &names).field("unavailable", &self.unavailable).finish()
    }
}

fn push<S: PowerSource + 'static>(d: &mut Discovery, (sources, unavailable): (Vec<S>, Vec<Unavailable>)) {
    d.sources.extend(sources.into_iter().map(|s| Box::new(s) as Box<dyn PowerSource>));
    d.unavailable.extend(unavailable);
}

/// Probe according to `options`: RAPL, hwmon INA3221, iio INA3221, then NVML (feature `nvml`)
/// and `vcgencmd`.
pub fn discover_with(options: &DiscoverOptions) -> Discovery {
    let root = options.sysfs_root.as_path();
    let mut d = Discovery::default();
    push(&mut d, rapl::discover(root));
    push(&mut d, hwmon::discover(root));
    push(&mut d, iio::discover(root));
    #[cfg(feature = "nvml")]
    if options.nvml {
        push(&mut d, crate::nvml::discover());
    }
    if options.vcgencmd {
        if let Some(s) = vcgencmd::discover() {
            d.sources.push(Box::new(s));
        }
    }
    d
}

/// Readable and unreadable sources under `sysfs_root`, probing NVML and `vcgencmd` too.
pub fn discover_all(sysfs_root: &Path) -> Discovery {
    discover_with(&DiscoverOptions::new(sysfs_root))
}

/// The readable sources under `sysfs_root` (plus NVML and `vcgencmd` when present).
/// Use [`discover_all`] to also learn which sources exist but cannot be read, and why.
pub fn discover(sysfs_root: &Path) -> Vec<Box<dyn PowerSource>> {
    discover_all(sysfs_root).sources
}

/// True when the crate was built with the `nvml` feature.
pub const fn nvml_compiled() -> bool {
    cfg!(feature = "nvml")
}
