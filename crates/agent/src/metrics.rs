//! The numbers of an inference run, with the seed's semantics: `latest_mwh` is the last
//! inference's energy, `avg_mwh` the mean of the last 40, `history` the last 40, and the budget is
//! compared with the run's cumulative total (`total > budget` stops the run).

use std::collections::VecDeque;

use infergate_core::fleet::EnergyMetrics;

/// Per-inference energies kept in `history` (and averaged in `avg_mwh`).
pub const HISTORY: usize = 40;

/// Where a run's energy numbers come from.
#[derive(Debug, Clone, PartialEq)]
pub enum EnergySourceLabel {
    /// A sensor, by its source name (`rapl`, `hwmon:ina3221`, `iio`, `nvml`, `vcgencmd`).
    Sensor(String),
    /// The controller's predicted mWh per inference (no sensor on the device).
    Estimate,
    /// Neither: no energy is reported and no budget can apply.
    None,
}

impl EnergySourceLabel {
    /// The wire name: the sensor's name, `estimate` or `none`.
    pub fn name(&self) -> &str {
        match self {
            EnergySourceLabel::Sensor(s) => s,
            EnergySourceLabel::Estimate => "estimate",
            EnergySourceLabel::None => "none",
        }
    }
}

/// Energy of one run against its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyTracker {
    budget_mwh: Option<f64>,
    source: Option<EnergySourceLabel>,
    history: VecDeque<f64>,
    latest: Option<f64>,
    total: f64,
    count: u64,
    over: bool,
}

impl EnergyTracker {
    /// Nothing recorded yet, with this budget (as the seed: a budget of 0 or none is no budget).
    pub fn new(budget_mwh: Option<f64>) -> Self {
        EnergyTracker {
            budget_mwh: budget_mwh.filter(|b| b.is_finite()),
            source: None,
            history: VecDeque::with_capacity(HISTORY),
            latest: None,
            total: 0.0,
            count: 0,
            over: false,
        }
    }

    /// A fresh run's tracker: same budget, nothing recorded, numbers from `source`.
    pub fn start_run(&mut self, source: EnergySourceLabel) {
        *self = EnergyTracker { source: Some(source), ..EnergyTracker::new(self.budget_mwh) };
    }

    /// The budget, mWh.
    pub fn budget_mwh(&self) -> Option<f64> {
        self.budget_mwh
    }

    /// Whether the budget is enforced: a positive budget (the seed treats 0 as none).
    pub fn budget_applies(&self) -> bool {
        self.budget_mwh.is_some_and(|b| b > 0.0)
    }

    /// Records one inference's energy; true when the run's total now exceeds the budget.
    pub fn record(&mut self, mwh: f64) -> bool {
        if !mwh.is_finite() || mwh < 0.0 {
            return self.over;
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(mwh);
        self.latest = Some(mwh);
        self.total += mwh;
        self.count += 1;
        if let Some(budget) = self.budget_mwh.filter(|_| self.budget_applies()) {
            if self.total > budget {
                self.over = true;
            }
        }
        self.over
    }

    /// Whether the total exceeded the budget.
    pub fn over_budget(&self) -> bool {
        self.over
    }

    /// The run's total, mWh (`None` before the first value).
    pub fn total_mwh(&self) -> Option<f64> {
        (self.count > 0).then_some(self.total)
    }

    /// Inferences with an energy value.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The source label's wire name, once a run started.
    pub fn source_name(&self) -> Option<&str> {
        self.source.as_ref().map(EnergySourceLabel::name)
    }

    /// Why there are no numbers: no sensor and no estimate (the budget cannot apply either).
    pub fn note(&self) -> Option<String> {
        if self.source != Some(EnergySourceLabel::None) {
            return None;
        }
        let what = "no energy sensor on this device and no predicted energy per inference in the deployment: energy \
                    is not measured";
        Some(match self.budget_mwh.filter(|_| self.budget_applies()) {
            Some(b) => format!("{what}, so the budget of {b} mWh cannot apply"),
            None => what.to_string(),
        })
    }

    /// The seed's `energy_metrics`, plus the total and the source.
    pub fn to_wire(&self) -> EnergyMetrics {
        let avg = (!self.history.is_empty()).then(|| self.history.iter().sum::<f64>() / self.history.len() as f64);
        let status = if self.over {
            "over_budget"
        } else if self.count > 0 {
            "ok"
        } else {
            "no_data"
        };
        EnergyMetrics {
            budget_mwh: self.budget_mwh,
            latest_mwh: self.latest,
            avg_mwh: avg,
            status: status.into(),
            history: self.history.iter().copied().collect(),
            total_mwh: self.total_mwh(),
            energy_source: self.source_name().map(str::to_string),
            note: self.note(),
        }
    }
}

/// The state of the current (or last) inference run, shared by the loop thread, the HTTP API
/// and telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStats {
    /// Whether the loop runs.
    pub active: bool,
    /// The controller's run number of the run (`None`: started by a seed client).
    pub run: Option<i64>,
    /// Iterations asked for.
    pub iterations: u64,
    /// Iterations done.
    pub iterations_done: u64,
    /// Why the run ended.
    pub run_ended: Option<String>,
    /// Energy against the budget.
    pub energy: EnergyTracker,
    /// Latency sum and count since the last telemetry sample.
    latency_sum_ms: f64,
    latency_count: u64,
}

impl RunStats {
    /// No run yet, with a budget.
    pub fn new(budget_mwh: Option<f64>) -> Self {
        RunStats {
            active: false,
            run: None,
            iterations: 0,
            iterations_done: 0,
            run_ended: None,
            energy: EnergyTracker::new(budget_mwh),
            latency_sum_ms: 0.0,
            latency_count: 0,
        }
    }

    /// A run starts.
    pub fn start(&mut self, run: Option<i64>, iterations: u64, source: EnergySourceLabel) {
        self.active = true;
        self.run = run;
        self.iterations = iterations;
        self.iterations_done = 0;
        self.run_ended = None;
        self.energy.start_run(source);
    }

    /// One inference took `latency_ms`.
    pub fn iteration(&mut self, latency_ms: f64) {
        self.iterations_done += 1;
        self.latency_sum_ms += latency_ms;
        self.latency_count += 1;
    }

    /// Mean latency and inferences since the last call (for a telemetry sample).
    pub fn take_latency(&mut self) -> (Option<f64>, u64) {
        let n = self.latency_count;
        let mean = (n > 0).then(|| self.latency_sum_ms / n as f64);
        self.latency_sum_ms = 0.0;
        self.latency_count = 0;
        (mean, n)
    }

    /// The run ended.
    pub fn end(&mut self, why: String) {
        self.active = false;
        self.run_ended = Some(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_and_history_over_the_last_40() {
        let mut t = EnergyTracker::new(None);
        assert_eq!(t.to_wire().status, "no_data");
        assert_eq!(t.to_wire().avg_mwh, None);
        for i in 1..=50 {
            assert!(!t.record(i as f64));
        }
        let w = t.to_wire();
        assert_eq!(w.history.len(), HISTORY);
        assert_eq!(w.history.first(), Some(&11.0));
        assert_eq!(w.history.last(), Some(&50.0));
        assert_eq!(w.latest_mwh, Some(50.0));
        // Mean of 11..=50.
        assert_eq!(w.avg_mwh, Some(30.5));
        assert_eq!(w.total_mwh, Some((1..=50).sum::<i32>() as f64));
        assert_eq!(w.status, "ok");
    }

    #[test]
    fn over_budget_when_the_total_exceeds_it() {
        let mut t = EnergyTracker::new(Some(1.0));
        t.start_run(EnergySourceLabel::Estimate);
        assert!(!t.record(0.4));
        assert!(!t.record(0.6), "a total equal to the budget is within it");
        assert!(t.record(0.01));
        let w = t.to_wire();
        assert_eq!(w.status, "over_budget");
        assert_eq!(w.energy_source.as_deref(), Some("estimate"));
        assert_eq!(w.budget_mwh, Some(1.0));
        // A new run starts within the budget again.
        t.start_run(EnergySourceLabel::Sensor("rapl".into()));
        assert_eq!(t.to_wire().status, "no_data");
        assert_eq!(t.to_wire().total_mwh, None);
        assert_eq!(t.budget_mwh(), Some(1.0));
        // As the seed: a budget of 0 is no budget.
        let mut free = EnergyTracker::new(Some(0.0));
        assert!(!free.budget_applies());
        assert!(!free.record(100.0));
        // Garbage values are not recorded.
        assert!(!free.record(f64::NAN) && !free.record(-1.0));
        assert_eq!(free.count(), 1);
    }

    #[test]
    fn run_stats_latency_since_last_sample() {
        let mut s = RunStats::new(None);
        s.start(Some(3), 10, EnergySourceLabel::None);
        s.iteration(2.0);
        s.iteration(4.0);
        assert_eq!(s.take_latency(), (Some(3.0), 2));
        assert_eq!(s.take_latency(), (None, 0));
        assert_eq!(s.iterations_done, 2);
        s.end("completed".into());
        assert!(!s.active);
        assert_eq!(s.energy.to_wire().energy_source.as_deref(), Some("none"));
        assert!(s.energy.note().unwrap().contains("not measured"));
        let mut budgeted = EnergyTracker::new(Some(2.0));
        assert_eq!(budgeted.note(), None);
        budgeted.start_run(EnergySourceLabel::None);
        assert!(budgeted.to_wire().note.unwrap().contains("budget of 2 mWh cannot apply"));
    }
}
