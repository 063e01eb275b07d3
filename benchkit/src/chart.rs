//! The SVG chart of the scaling curves: one panel per curve, stacked, each line with its legend.

use crate::report::Curve;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// Width of the chart, pixels.
const WIDTH: u32 = 900;
/// Height of one panel, pixels.
const PANEL_HEIGHT: u32 = 380;

/// The curves as one SVG document.
pub fn render(curves: &[Curve]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let panels = curves.len().max(1);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, PANEL_HEIGHT * panels as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels, 1));
        for (curve, area) in curves.iter().zip(&areas) {
            panel(area, curve)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Line colours: distinct on white and for the common colour-vision deficiencies (Okabe-Ito).
const COLOURS: [RGBColor; 7] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// The range of `values` with a margin. On a log scale only positive values count (the others
/// are not drawn), and the range spans whole powers of ten around them. The value axis (`y`)
/// gets headroom above the data for the legend.
fn range(values: impl Iterator<Item = f64>, log: bool, y: bool) -> (f64, f64) {
    let values = values.filter(|v| v.is_finite() && (!log || *v > 0.0));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(hi.log10().ceil() + if y { 1.0 } else { 0.0 }).max(lo * 10.0);
        (lo, hi)
    } else if y {
        let lo = 0.0f64.min(lo);
        (lo, hi + (hi - lo).max(1e-9) * 0.45)
    } else {
        let pad = ((hi - lo) * 0.08).max(0.5);
        (lo - pad, hi + pad)
    }
}

fn panel(area: &DrawingArea<SVGBackend<'_>, Shift>, curve: &Curve) -> Result<(), String> {
    let points = || curve.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = range(points().map(|p| p.0), curve.log_x, false);
    let (y0, y1) = range(points().map(|p| p.1), curve.log_y, true);
    match (curve.log_x, curve.log_y) {
        (true, true) => draw(area, curve, (x0..x1).log_scale(), (y0..y1).log_scale()),
        (true, false) => draw(area, curve, (x0..x1).log_scale(), y0..y1),
        (false, true) => draw(area, curve, x0..x1, (y0..y1).log_scale()),
        (false, false) => draw(area, curve, x0..x1, y0..y1),
    }
}

fn draw<X, Y>(area: &DrawingArea<SVGBackend<'_>, Shift>, curve: &Curve, x: X, y: Y) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&curve.title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(curve.x_label.as_str())
        .y_desc(curve.y_label.as_str())
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .draw()
        .map_err(|e| err(&e))?;
    let drawable =
        |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!curve.log_x || x > 0.0) && (!curve.log_y || y > 0.0);
    for (i, series) in curve.series.iter().enumerate() {
        let points: Vec<(f64, f64)> = series.points.iter().copied().filter(drawable).collect();
        if points.is_empty() {
            continue;
        }
        let colour = COLOURS[i % COLOURS.len()].to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(series.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    Ok(())
}

/// `1k`, `2.5M`, `0.3`.
fn short(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if x.fract().abs() < 1e-9 { format!("{x:.0}") } else { format!("{x:.1}") };
    format!("{text}{suffix}")
}
