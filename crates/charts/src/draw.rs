//! The plotters code behind [`Chart`]: one function per plot kind, generic over the backend.

use crate::{Chart, Plot, Series};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

/// Registers the embedded DejaVu Sans as plotters' "sans-serif" (once per process).
pub(crate) fn fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is valid TrueType shipped by the crate; a failure would only drop text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

type Area<'a, DB> = DrawingArea<DB, Shift>;

pub(crate) fn draw<DB: DrawingBackend>(chart: &Chart, backend: DB) -> Result<(), String> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    match &chart.plot {
        Plot::Lines { series, log_x } => lines(&root, chart, series, *log_x),
        Plot::Points { points } => scatter(&root, chart, points),
        Plot::Matrix { rows, columns, values } => matrix(&root, chart, rows, columns, values),
        Plot::Bars { bars } => bar_chart(&root, chart, bars),
    }
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The range of `values` with a little room on both sides (a unit range when empty or flat).
fn padded(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    // A flat range (one point, say) gets half its value each side, so small values stay readable.
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else if lo != 0.0 {
        lo.abs() * 0.5
    } else {
        0.5
    };
    (lo - pad)..(hi + pad)
}

fn lines<DB: DrawingBackend>(root: &Area<DB>, chart: &Chart, series: &[Series], log_x: bool) -> DrawResult<DB> {
    let tx = |x: f64| if log_x { x.max(1e-9).log10() } else { x };
    let xs = padded(series.iter().flat_map(|s| s.points.iter().map(|p| tx(p.0))));
    let ys = padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut c = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(xs, ys)?;
    let x_fmt = |v: &f64| if log_x { significant(10f64.powf(*v)) } else { format!("{v:.3}") };
    c.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&|v| trim(x_fmt(v)))
        .y_label_formatter(&|v| trim(format!("{v:.3}")))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        c.draw_series(LineSeries::new(s.points.iter().map(|&(x, y)| (tx(x), y)), color.stroke_width(2)))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        // A short series (one point draws no line) gets a marker on each point.
        if s.points.len() < 16 {
            c.draw_series(s.points.iter().map(|&(x, y)| Circle::new((tx(x), y), 3, color.filled())))?;
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
}

/// Three significant digits: 3.162 → "3.16", 316.2 → "316", 31623 → "31600".
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32;
    let scale = 10f64.powi(2 - digits);
    let rounded = (v * scale).round() / scale;
    trim(format!("{:.*}", (2 - digits).max(0) as usize, rounded))
}

/// "1.500" → "1.5", "2.000" → "2".
fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn scatter<DB: DrawingBackend>(root: &Area<DB>, chart: &Chart, points: &[(String, f64, f64)]) -> DrawResult<DB> {
    let xs = padded(points.iter().map(|p| p.1));
    let ys = padded(points.iter().map(|p| p.2));
    let mut c = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(xs, ys)?;
    c.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&|v| trim(format!("{v:.2}")))
        .y_label_formatter(&|v| trim(format!("{v:.2}")))
        .draw()?;
    for (i, (label, x, y)) in points.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        c.draw_series(std::iter::once(Circle::new((*x, *y), 6, color.filled())))?;
        c.draw_series(std::iter::once(Text::new(label.clone(), (*x, *y), ("sans-serif", 15).into_font())))?;
    }
    Ok(())
}

fn matrix<DB: DrawingBackend>(
    root: &Area<DB>,
    chart: &Chart,
    rows: &[String],
    columns: &[String],
    values: &[Vec<f64>],
) -> DrawResult<DB> {
    let (nr, nc) = (rows.len().max(1) as f64, columns.len().max(1) as f64);
    let mut c = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..nc, 0.0..nr)?;
    let col_label = |v: &f64| columns.get(v.floor() as usize).cloned().unwrap_or_default();
    let row_label = |v: &f64| rows.get((nr - v.ceil()).max(0.0) as usize).cloned().unwrap_or_default();
    c.configure_mesh()
        .disable_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(columns.len() * 2 + 1)
        .y_labels(rows.len() * 2 + 1)
        .x_label_formatter(&|v| if v.fract() == 0.5 { col_label(v) } else { String::new() })
        .y_label_formatter(&|v| if v.fract() == 0.5 { row_label(v) } else { String::new() })
        .draw()?;
    let max = values.iter().flatten().copied().fold(0.0, f64::max).max(1e-12);
    for (r, row) in values.iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            let (x, y) = (k as f64, nr - 1.0 - r as f64);
            let shade = (255.0 - 180.0 * (v / max)) as u8;
            c.draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                RGBColor(shade, shade, 255).filled(),
            )))?;
            c.draw_series(std::iter::once(Text::new(
                trim(format!("{v:.0}")),
                (x + 0.45, y + 0.5),
                ("sans-serif", 20).into_font(),
            )))?;
        }
    }
    Ok(())
}

fn bar_chart<DB: DrawingBackend>(root: &Area<DB>, chart: &Chart, bars: &[(String, f64)]) -> DrawResult<DB> {
    let n = bars.len().max(1) as f64;
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-12);
    let mut c = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..max * 1.1, 0.0..n)?;
    let label = |v: &f64| bars.get((n - v.ceil()).max(0.0) as usize).map(|b| b.0.clone()).unwrap_or_default();
    c.configure_mesh()
        .disable_y_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .y_labels(bars.len() * 2 + 1)
        .y_label_formatter(&|v| if v.fract() == 0.5 { label(v) } else { String::new() })
        .x_label_formatter(&|v| trim(format!("{v:.3}")))
        .draw()?;
    for (i, (_, v)) in bars.iter().enumerate() {
        let y = n - 1.0 - i as f64;
        c.draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], PALETTE[0].filled())))?;
    }
    Ok(())
}
