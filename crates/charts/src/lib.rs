//! Charts drawn on the server with `plotters`, as SVG text or PNG files: the same code draws
//! the CLI's reports and the dashboard's charts, so they always agree.
//!
//! A [`Chart`] says what to draw (lines, labelled points, a matrix of counts, bars) and
//! [`Chart::svg`] / [`Chart::write_png`] draw it. Text uses the DejaVu Sans font embedded in
//! the binary (the `dejavu` crate), so PNGs look the same on a machine without fonts.

mod draw;

use std::path::Path;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The drawing backend failed (e.g. the PNG file could not be written).
    #[error("drawing the chart {title:?} failed: {message}")]
    Draw {
        /// The chart's title.
        title: String,
        /// What the backend said.
        message: String,
    },
}

/// One named line of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// Lines, one per series; `log_x` draws x on a logarithmic axis (x must be > 0).
    Lines {
        /// The lines.
        series: Vec<Series>,
        /// Logarithmic x axis.
        log_x: bool,
    },
    /// Labelled points.
    Points {
        /// (label, x, y).
        points: Vec<(String, f64, f64)>,
    },
    /// A matrix of counts with row and column labels (e.g. a confusion matrix).
    Matrix {
        /// Row labels, top to bottom.
        rows: Vec<String>,
        /// Column labels, left to right.
        columns: Vec<String>,
        /// `values[row][column]`.
        values: Vec<Vec<f64>>,
    },
    /// Horizontal bars, one per label, largest first as given.
    Bars {
        /// (label, value).
        bars: Vec<(String, f64)>,
    },
}

/// A chart: a title, axis descriptions and a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title drawn above the plot.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// The plot.
    pub plot: Plot,
}

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (800, 500);

impl Chart {
    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String, ChartError> {
        draw::fonts();
        let mut out = String::new();
        {
            let root = plotters::prelude::SVGBackend::with_string(&mut out, SIZE);
            draw::draw(self, root).map_err(|message| self.error(message))?;
        }
        Ok(out)
    }

    /// Writes the chart to `path` as a PNG image.
    pub fn write_png(&self, path: &Path) -> Result<(), ChartError> {
        draw::fonts();
        let root = plotters::prelude::BitMapBackend::new(path, SIZE);
        draw::draw(self, root).map_err(|message| self.error(message))
    }

    fn error(&self, message: String) -> ChartError {
        ChartError::Draw { title: self.title.clone(), message }
    }
}
