//! The SVG chart of the scaling curves: one panel per curve, stacked, its legend in a strip of its
//! own beneath the plot (so it covers no line), whole-numbered axes for whole quantities.

use crate::report::Curve;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of the chart, pixels.
const WIDTH: u32 = 900;
/// Height of one panel's plot, pixels.
const PLOT_HEIGHT: u32 = 380;
/// Height of one legend entry, pixels.
const LEGEND_ROW: u32 = 22;
/// Left edge of the legend's entries, pixels (under the plot, past the y labels).
const LEGEND_LEFT: i32 = 100;

/// The curves as one SVG document.
pub fn render(curves: &[Curve]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let legend_rows = curves.iter().map(|c| c.series.len()).max().unwrap_or(0) as u32;
        let panel_height = PLOT_HEIGHT + LEGEND_ROW * legend_rows + LEGEND_ROW / 2;
        let panels = curves.len().max(1);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, panel_height * panels as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels, 1));
        for (curve, area) in curves.iter().zip(&areas) {
            let (plot, legend) = area.split_vertically(PLOT_HEIGHT);
            panel(&plot, curve)?;
            draw_legend(&legend, curve)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One entry per line, its colour's stroke and its name, one under the other.
fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, curve: &Curve) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    for (i, series) in curve.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()].to_rgba();
        let y = (LEGEND_ROW * i as u32 + LEGEND_ROW / 2) as i32;
        area.draw(&PathElement::new(vec![(LEGEND_LEFT, y), (LEGEND_LEFT + 24, y)], colour.stroke_width(2)))
            .map_err(|e| err(&e))?;
        area.draw(&Circle::new((LEGEND_LEFT + 12, y), 3, colour.filled())).map_err(|e| err(&e))?;
        let style = ("sans-serif", 14).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(series.name.clone(), (LEGEND_LEFT + 34, y), style)).map_err(|e| err(&e))?;
    }
    Ok(())
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
/// are not drawn), and the range spans whole powers of ten around them.
fn range(values: impl Iterator<Item = f64>, log: bool, y: bool) -> (f64, f64) {
    let values = values.filter(|v| v.is_finite() && (!log || *v > 0.0));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
        (lo, hi)
    } else if y {
        let lo = 0.0f64.min(lo);
        (lo, hi + (hi - lo).max(1e-9) * 0.08)
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
    // A whole quantity gets as many labels as whole numbers in its range, so that the nice steps
    // plotters picks are whole too; any other label stays blank.
    let x_labels = match curve.whole_x {
        true => (x_range_width(curve) as usize + 1).clamp(2, MAX_X_LABELS),
        false => MAX_X_LABELS,
    };
    let x_label = |v: &f64| match curve.whole_x && v.fract().abs() > 1e-9 {
        true => String::new(),
        false => short(*v),
    };
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
        .x_labels(x_labels)
        .x_label_formatter(&x_label)
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
        chart.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2))).map_err(|e| err(&e))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(|e| err(&e))?;
    }
    Ok(())
}

/// The most labels on an x axis (plotters' default).
const MAX_X_LABELS: usize = 10;

/// How wide the curve's x data are (whole numbers between its first and last x).
fn x_range_width(curve: &Curve) -> f64 {
    let xs = curve.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).filter(|x| x.is_finite());
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if hi >= lo { (hi.floor() - lo.ceil()).max(0.0) } else { 0.0 }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Series;

    fn threads_curve() -> Curve {
        let line = |name: &str, k: f64| Series {
            name: name.into(),
            points: (1..=2).map(|t| (t as f64, k * t as f64)).collect(),
        };
        Curve {
            id: "t".into(),
            title: "runs per second vs worker threads".into(),
            x_label: "worker threads".into(),
            y_label: "runs per second".into(),
            log_x: false,
            log_y: false,
            whole_x: true,
            series: vec![line("measured", 1000.0), line("linear", 1100.0)],
        }
    }

    /// The texts of `svg`, with their y.
    fn texts(svg: &str) -> Vec<(String, f64)> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let y = t.split(" y=\"").nth(1).and_then(|r| r.split('"').next()).and_then(|v| v.parse().ok());
                let body = t.split('>').nth(1).unwrap_or_default().split('<').next().unwrap_or_default();
                (body.trim().to_string(), y.unwrap_or(f64::NAN))
            })
            .collect()
    }

    #[test]
    fn the_legend_lies_beneath_the_plot_and_whole_quantities_get_whole_ticks() {
        let svg = render(&[threads_curve()]).unwrap();
        let texts = texts(&svg);
        for name in ["measured", "linear"] {
            let (_, y) = texts.iter().find(|(t, _)| t == name).unwrap_or_else(|| panic!("legend entry {name}: {svg}"));
            assert!(*y > PLOT_HEIGHT as f64, "legend entry {name} at y {y} is inside the plot");
        }
        // The x axis's labels: 1 and 2 threads, never 1.5.
        let x_axis: Vec<&str> = texts.iter().map(|(t, _)| t.as_str()).filter(|t| t.parse::<f64>().is_ok()).collect();
        assert!(x_axis.contains(&"1") && x_axis.contains(&"2"), "{x_axis:?}");
        assert!(!x_axis.iter().any(|t| t.contains(".5")), "a fraction of a thread: {x_axis:?}");
    }
}
