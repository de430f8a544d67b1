//! An evaluation as people and the dashboard see it: the text table, the JSON document, the
//! charts, and the directory they are stored in.

use anyhow::{Context, Result};
use infergate_charts::{Chart, Plot, Series};
use infergate_place::evaluate::{Evaluation, StrategySummary};
use serde_json::json;
use std::path::Path;

/// The table: one line per strategy.
pub fn table(summaries: &[StrategySummary]) -> String {
    let mut out = format!(
        "{:<12} {:>11} {:>11} {:>11} {:>11} {:>13} {:>8} {:>9} {:>9}\n",
        "strategy", "requests", "mean ms", "p95 ms", "p99 ms", "cost USD", "regret", "over SLO", "errors"
    );
    for s in summaries {
        out += &format!(
            "{:<12} {:>11} {:>11.1} {:>11.1} {:>11.1} {:>13.2} {:>7.1}% {:>8.2}% {:>9}\n",
            s.name.as_str(),
            s.requests,
            s.mean_ms,
            s.p95_ms,
            s.p99_ms,
            s.cost_usd,
            s.regret * 100.0,
            s.slo_violation_rate * 100.0,
            s.errors
        );
    }
    out
}

/// The JSON document (`--json`, and `summary.json` in the results directory).
pub fn document(e: &Evaluation, input: &str, history_windows: usize) -> serde_json::Value {
    json!({
        "strategies": e.summaries(),
        "functions": e.functions,
        "windows_scored": e.windows_scored,
        "history_windows": history_windows,
        "input": input,
        "classifier_confusion": e.totals_of(infergate_place::evaluate::StrategyName::Classifier).map(|_| json!({
            "rows": "oracle keeps no task (lambda) or some (ecs)",
            "ecs": {"ecs": e.confusion[0][0], "lambda": e.confusion[0][1]},
            "lambda": {"ecs": e.confusion[1][0], "lambda": e.confusion[1][1]},
        })),
    })
}

/// The charts: latency CDF per strategy, cost vs p95, and the classifier's confusion matrix
/// and feature importance when a classifier ran (`importance`: feature, share).
pub fn charts(e: &Evaluation, importance: Option<&[(String, f64)]>) -> Vec<(&'static str, Chart)> {
    let series = e
        .totals
        .iter()
        .map(|(name, t)| {
            let cdf = t.latency.cdf();
            // At most ~400 points per line: every k-th bucket, always the last.
            let step = (cdf.len() / 400).max(1);
            let mut points: Vec<(f64, f64)> = cdf.iter().step_by(step).copied().collect();
            if let Some(last) = cdf.last() {
                if points.last() != Some(last) {
                    points.push(*last);
                }
            }
            Series { name: name.as_str().into(), points }
        })
        .collect();
    let mut out = vec![
        (
            "latency_cdf",
            Chart {
                title: "Latency CDF per strategy".into(),
                x_label: "latency (ms, log scale)".into(),
                y_label: "share of requests".into(),
                plot: Plot::Lines { series, log_x: true },
            },
        ),
        (
            "cost_vs_p95",
            Chart {
                title: "Cost vs p95 latency".into(),
                x_label: "p95 latency (ms)".into(),
                y_label: "total cost (USD)".into(),
                plot: Plot::Points {
                    points: e.summaries().iter().map(|s| (s.name.as_str().to_string(), s.p95_ms, s.cost_usd)).collect(),
                },
            },
        ),
    ];
    if e.totals_of(infergate_place::evaluate::StrategyName::Classifier).is_some() {
        out.push((
            "confusion",
            Chart {
                title: "Classifier vs oracle, per window".into(),
                x_label: "classifier said".into(),
                y_label: "oracle chose".into(),
                plot: Plot::Matrix {
                    rows: vec!["ecs".into(), "lambda".into()],
                    columns: vec!["ecs".into(), "lambda".into()],
                    values: e.confusion.iter().map(|r| r.iter().map(|&v| v as f64).collect()).collect(),
                },
            },
        ));
    }
    if let Some(importance) = importance {
        out.push((
            "feature_importance",
            Chart {
                title: "Classifier feature importance".into(),
                x_label: "share of importance".into(),
                y_label: "feature".into(),
                plot: Plot::Bars { bars: importance.to_vec() },
            },
        ));
    }
    out
}

/// Writes `summary.json`, `table.txt` and every chart as SVG and PNG into `dir`.
pub fn write(dir: &Path, document: &serde_json::Value, table: &str, charts: &[(&str, Chart)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join("summary.json"), serde_json::to_vec_pretty(document)?)?;
    std::fs::write(dir.join("table.txt"), table)?;
    for (name, chart) in charts {
        std::fs::write(dir.join(format!("{name}.svg")), chart.svg()?)?;
        chart.write_png(&dir.join(format!("{name}.png")))?;
    }
    Ok(())
}
