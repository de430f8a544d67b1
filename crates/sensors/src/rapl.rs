//! Intel RAPL energy counters from the powercap interface.
//!
//! Layout (under the sysfs root): `/sys/class/powercap/intel-rapl:N` for packages and
//! `intel-rapl:N:M` for their subzones (`core`, `uncore`, `dram`), each with `name`, `energy_uj`
//! (cumulative µJ) and `max_energy_range_uj` (the value after which `energy_uj` wraps to 0).
//! Subzones may appear either next to the packages (the real `/sys/class/powercap` lists them all)
//! or nested inside their package directory; both are found, each zone once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::rail::Rail;
use crate::source::{PowerSource, Reading, SourceKind, Unavailable};
use crate::sysfs::{entries_with_prefix, read_trimmed, read_u64, under};

/// Source name used for RAPL zones.
pub const NAME: &str = "rapl";

/// One RAPL zone (package or subzone) as a [`PowerSource`] of kind [`SourceKind::Counter`].
#[derive(Debug, Clone)]
pub struct RaplSource {
    zone: String,
    label: String,
    rail: Rail,
    energy_path: PathBuf,
    range_uj: Option<u64>,
}

impl RaplSource {
    /// Zone id, e.g. `intel-rapl:0:1`.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Wrap-around range in µJ (`max_energy_range_uj`), if readable.
    pub fn range_uj(&self) -> Option<u64> {
        self.range_uj
    }

    /// Path of the `energy_uj` file.
    pub fn energy_path(&self) -> &Path {
        &self.energy_path
    }
}

impl PowerSource for RaplSource {
    fn name(&self) -> &str {
        NAME
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn rail(&self) -> Rail {
        self.rail.clone()
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Counter
    }
    fn read(&mut self) -> Result<Reading> {
        let uj = read_u64(&self.energy_path, "energy_uj")?;
        Ok(Reading::Energy { uj, range_uj: self.range_uj })
    }
}

/// Find every RAPL zone under `sysfs_root`.
///
/// Zones whose `energy_uj` can be read become sources; zones that exist but cannot be read (most
/// often permission denied: recent kernels make `energy_uj` root-only) are returned as
/// [`Unavailable`] with the reason. A missing powercap directory gives two empty lists.
pub fn discover(sysfs_root: &Path) -> (Vec<RaplSource>, Vec<Unavailable>) {
    let base = under(sysfs_root, "/sys/class/powercap");
    // zone id -> directory; BTreeMap for a stable order, natural order restored below.
    let mut dirs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (id, dir) in entries_with_prefix(&base, "intel-rapl:") {
        for (sub_id, sub_dir) in entries_with_prefix(&dir, "intel-rapl:") {
            dirs.entry(sub_id).or_insert(sub_dir);
        }
        dirs.entry(id).or_insert(dir);
    }
    let mut ids: Vec<&String> = dirs.keys().collect();
    ids.sort_by_key(|id| id.split(':').skip(1).map(|n| n.parse::<u64>().unwrap_or(u64::MAX)).collect::<Vec<_>>());

    let zone_name = |dir: &Path| read_trimmed(&dir.join("name")).ok().filter(|n| !n.is_empty());
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    for id in ids {
        let dir = &dirs[id];
        let name = zone_name(dir);
        let rail = name.as_deref().map(Rail::from_rapl_name).unwrap_or_else(|| Rail::Other(id.clone()));
        let own = name.clone().unwrap_or_else(|| id.clone());
        // Subzone `intel-rapl:P:S` is labelled `<package name>/<own name>`.
        let label = match id.rsplit_once(':') {
            Some((parent, _)) if parent.matches(':').count() >= 1 => {
                let parent_name = dirs.get(parent).and_then(|d| zone_name(d)).unwrap_or_else(|| parent.to_string());
                format!("{parent_name}/{own}")
            }
            _ => own,
        };
        let range_uj = read_u64(&dir.join("max_energy_range_uj"), "max_energy_range_uj").ok().filter(|r| *r > 0);
        let mut source = RaplSource { zone: id.clone(), label, rail, energy_path: dir.join("energy_uj"), range_uj };
        match source.read() {
            Ok(_) => sources.push(source),
            Err(e) => unavailable.push(Unavailable {
                name: NAME.into(),
                label: source.label,
                rail: source.rail,
                reason: e.to_string(),
            }),
        }
    }
    (sources, unavailable)
}
