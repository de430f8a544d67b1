//! Every plot kind renders to SVG (with its title and labels as text) and to a PNG file.

use infergate_charts::{Chart, Plot, Series};

fn charts() -> Vec<Chart> {
    vec![
        Chart {
            title: "Latency CDF".into(),
            x_label: "latency (ms)".into(),
            y_label: "share of requests".into(),
            plot: Plot::Lines {
                series: vec![
                    Series { name: "policy".into(), points: vec![(1.0, 0.1), (10.0, 0.5), (1000.0, 1.0)] },
                    Series { name: "oracle".into(), points: vec![(2.0, 0.2), (20.0, 0.9)] },
                ],
                log_x: true,
            },
        },
        Chart {
            title: "Cost vs p95".into(),
            x_label: "p95 (ms)".into(),
            y_label: "cost (USD)".into(),
            plot: Plot::Points { points: vec![("lambda_only".into(), 120.0, 9288.0), ("policy".into(), 90.0, 2608.0)] },
        },
        Chart {
            title: "Confusion".into(),
            x_label: "predicted".into(),
            y_label: "actual".into(),
            plot: Plot::Matrix {
                rows: vec!["ecs".into(), "lambda".into()],
                columns: vec!["ecs".into(), "lambda".into()],
                values: vec![vec![40.0, 3.0], vec![7.0, 50.0]],
            },
        },
        Chart {
            title: "Feature importance".into(),
            x_label: "share of gain".into(),
            y_label: "feature".into(),
            plot: Plot::Bars { bars: vec![("rate_per_s".into(), 0.6), ("memory_mb".into(), 0.4)] },
        },
        Chart {
            title: "Empty".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            plot: Plot::Lines { series: vec![], log_x: false },
        },
    ]
}

#[test]
fn every_plot_kind_renders_to_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    for (i, chart) in charts().iter().enumerate() {
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", chart.title);
        assert!(svg.contains(&chart.title), "the title is drawn as text");
        let path = dir.path().join(format!("{i}.png"));
        chart.write_png(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", chart.title);
    }
    let svg = charts()[2].svg().unwrap();
    assert!(svg.contains("\n40\n") && svg.contains("\nlambda\n"), "the matrix shows its counts and labels");
}

#[test]
fn an_unwritable_png_is_an_error_not_a_panic() {
    let err = charts()[0].write_png(std::path::Path::new("/nonexistent-dir/x.png")).unwrap_err();
    assert!(err.to_string().contains("Latency CDF"), "{err}");
}
