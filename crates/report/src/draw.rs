//! The drawing module every chart shares: two primitives drawn with
//! plotters' SVG backend (a line chart with log axes, error bars, dashed
//! series, shaded areas and floor lines; a grouped bar chart with CI
//! whiskers), the chart description they draw from, and the helpers that
//! pick records out of a run. It never measures.

use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Channel, Metric, Placement, Record, Results, Workload};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A value with its 95 % CI.
#[derive(Debug, Clone, Copy)]
pub struct Val {
    pub mid: f64,
    pub lo: f64,
    pub hi: f64,
    /// The medians of the groups a bimodal record's rounds fall into (each
    /// drawn as a cross beside the median, which lies between them).
    pub modes: Option<[f64; 2]>,
}

impl Val {
    pub fn of(r: &Record) -> Val {
        Val {
            mid: r.stats.median,
            lo: r.stats.ci95_low,
            hi: r.stats.ci95_high,
            modes: match r.modes.as_slice() {
                [a, b] => Some([a.median, b.median]),
                _ => None,
            },
        }
    }

    pub fn plain(v: f64) -> Val {
        Val {
            mid: v,
            lo: v,
            hi: v,
            modes: None,
        }
    }
}

/// How an axis shows values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    Ns,
    Bytes,
    BytesPerS,
    Count,
    Ratio,
}

/// Decimal SI: axis ticks fall on powers of ten, which read badly in
/// binary units (976.6K); tables keep binary units.
fn si(v: f64, unit: &str) -> String {
    let (d, p) = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(d, _)| v.abs() >= *d)
        .unwrap_or((1.0, ""));
    let x = v / d;
    let n = if (x - x.round()).abs() < 1e-6 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    };
    format!("{n} {p}{unit}").trim_end().to_string()
}

/// An axis tick label.
fn fmt_unit(u: Axis, v: f64) -> String {
    match u {
        Axis::Ns => fmt_ns(v),
        Axis::Bytes => si(v, "B"),
        Axis::BytesPerS => format!("{:.1} GB/s", v / 1e9),
        Axis::Count => si(v, ""),
        Axis::Ratio => format!("{v:.2}"),
    }
}

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, Val)>,
    pub dashed: bool,
    /// Shade the area under this series (down to the axis floor).
    pub shade: bool,
    pub color: usize,
}

pub struct Lines {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_unit: Axis,
    pub y_unit: Axis,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal reference lines (name, y).
    pub hlines: Vec<(String, f64)>,
}

pub struct Bars {
    pub title: String,
    pub y_desc: String,
    pub y_unit: Axis,
    pub log_y: bool,
    pub groups: Vec<String>,
    /// (series name, one value per group).
    pub series: Vec<(String, Vec<Option<Val>>)>,
}

pub enum Panel {
    Lines(Lines),
    Bars(Bars),
}

/// A chart: a title over one or more panels side by side.
pub struct Chart {
    pub file: &'static str,
    pub title: String,
    /// Two sentences telling what the chart shows and how it reads here.
    pub reading: String,
    pub panels: Vec<Panel>,
}

pub type DynErr = Box<dyn std::error::Error>;

pub fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

fn range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let v: Vec<f64> = vals
        .filter(|x| x.is_finite() && (!log || *x > 0.0))
        .collect();
    let (mut lo, mut hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    if v.is_empty() {
        return (1.0, 10.0);
    }
    if log {
        lo /= 1.6;
        hi *= 1.6;
    } else {
        let pad = (hi - lo).abs().max(hi.abs() * 0.05).max(1e-9) * 0.08;
        lo = if lo >= 0.0 { 0.0 } else { lo - pad };
        hi += pad;
    }
    if lo >= hi {
        hi = lo + 1.0;
    }
    (lo, hi)
}

fn draw_lines(area: &DrawingArea<SVGBackend, Shift>, c: &Lines) -> Result<(), DynErr> {
    let xs = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| [p.1.lo, p.1.mid, p.1.hi]))
        .chain(c.hlines.iter().map(|h| h.1));
    let (x0, x1) = range(xs, c.log_x);
    let (y0, y1) = range(ys, c.log_y);
    let mut b = ChartBuilder::on(area);
    b.caption(&c.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(78);
    macro_rules! body {
        ($chart:expr) => {{
            let mut ch = $chart;
            let (xu, yu) = (c.x_unit, c.y_unit);
            ch.configure_mesh()
                .x_desc(c.x_desc.as_str())
                .y_desc(c.y_desc.as_str())
                .x_label_formatter(&|v| fmt_unit(xu, *v))
                .y_label_formatter(&|v| fmt_unit(yu, *v))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for s in &c.series {
                let col = color(s.color);
                let pts: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.1.mid)).collect();
                if s.shade {
                    ch.draw_series(AreaSeries::new(pts.clone(), y0, col.mix(0.15)))?;
                }
                let style = col.stroke_width(2);
                let drawn = if s.dashed {
                    ch.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))?
                } else {
                    ch.draw_series(LineSeries::new(pts.clone(), style))?
                };
                drawn.label(s.name.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
                ch.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())))?;
                ch.draw_series(s.points.iter().flat_map(|p| {
                    p.1.modes
                        .into_iter()
                        .flatten()
                        .map(move |m| Cross::new((p.0, m), 5, col.stroke_width(2)))
                }))?;
                ch.draw_series(
                    s.points
                        .iter()
                        .filter(|p| p.1.hi > p.1.lo)
                        .map(|p| ErrorBar::new_vertical(p.0, p.1.lo, p.1.mid, p.1.hi, col, 6)),
                )?;
            }
            for (i, (name, y)) in c.hlines.iter().enumerate() {
                let col = BLACK.mix(0.7);
                ch.draw_series(DashedLineSeries::new(
                    vec![(x0, *y), (x1, *y)],
                    3,
                    3,
                    col.stroke_width(1),
                ))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col));
                let _ = i;
            }
            ch.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 11))
                .draw()?;
        }};
    }
    match (c.log_x, c.log_y) {
        (true, true) => body!(b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?),
        (true, false) => body!(b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => body!(b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (false, false) => body!(b.build_cartesian_2d(x0..x1, y0..y1)?),
    }
    Ok(())
}

fn draw_bars(area: &DrawingArea<SVGBackend, Shift>, c: &Bars) -> Result<(), DynErr> {
    let n = c.groups.len().max(1);
    let ns = c.series.len().max(1);
    let ys = c
        .series
        .iter()
        .flat_map(|s| s.1.iter().flatten().flat_map(|v| [v.lo, v.mid, v.hi]));
    let (y0, y1) = range(ys, c.log_y);
    let mut b = ChartBuilder::on(area);
    b.caption(&c.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(78);
    macro_rules! body {
        ($chart:expr) => {{
            let mut ch = $chart;
            let yu = c.y_unit;
            ch.configure_mesh()
                .y_desc(c.y_desc.as_str())
                .x_labels(0)
                .x_label_formatter(&|_| String::new())
                .y_label_formatter(&|v| fmt_unit(yu, *v))
                .disable_x_mesh()
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            let w = 0.8 / ns as f64;
            for (si, (name, vals)) in c.series.iter().enumerate() {
                let col = color(si);
                let rects = vals.iter().enumerate().filter_map(|(g, v)| {
                    v.map(|v| {
                        let x = g as f64 + 0.1 + si as f64 * w;
                        Rectangle::new([(x, y0), (x + w * 0.92, v.mid.max(y0))], col.filled())
                    })
                });
                ch.draw_series(rects)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled())
                    });
                ch.draw_series(vals.iter().enumerate().filter_map(|(g, v)| {
                    v.filter(|v| v.hi > v.lo).map(|v| {
                        let x = g as f64 + 0.1 + (si as f64 + 0.46) * w;
                        ErrorBar::new_vertical(x, v.lo.max(y0), v.mid, v.hi, BLACK.mix(0.8), 5)
                    })
                }))?;
                // A bimodal record: a cross at each group's median.
                ch.draw_series(vals.iter().enumerate().flat_map(|(g, v)| {
                    let x = g as f64 + 0.1 + (si as f64 + 0.46) * w;
                    v.and_then(|v| v.modes)
                        .into_iter()
                        .flatten()
                        .map(move |m| Cross::new((x, m.max(y0)), 5, BLACK.stroke_width(2)))
                }))?;
            }
            // backend_coord is absolute; the panel draws relative to its
            // own corner.
            let (bx, by) = area.get_base_pixel();
            for (g, name) in c.groups.iter().enumerate() {
                let (px, py) = ch.backend_coord(&(g as f64 + 0.5, y0));
                area.draw(&Text::new(
                    name.clone(),
                    (px - bx - (name.len() as i32 * 3), py - by + 8),
                    ("sans-serif", 12),
                ))?;
            }
            ch.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 11))
                .draw()?;
        }};
    }
    let xr = 0.0..n as f64;
    if c.log_y {
        body!(b.build_cartesian_2d(xr, (y0..y1).log_scale())?)
    } else {
        body!(b.build_cartesian_2d(xr, y0..y1)?)
    }
    Ok(())
}

/// Draws `chart` into `dir/chart.file`.
pub fn draw(chart: &Chart, dir: &Path) -> Result<PathBuf, DynErr> {
    let path = dir.join(chart.file);
    let per = 620u32;
    let w = (per * chart.panels.len() as u32).max(per);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, 470)).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, chart.panels.len().max(1)));
        for (a, p) in areas.iter().zip(&chart.panels) {
            match p {
                Panel::Lines(l) => draw_lines(a, l)?,
                Panel::Bars(b) => draw_bars(a, b)?,
            }
        }
        root.present()?;
    }
    crate::write_atomic(&path, svg.as_bytes())?;
    Ok(path)
}

// ---- data selection helpers ----

/// The records of one workload and metric.
pub fn of(res: &Results, workload: Workload, metric: Metric) -> Vec<&Record> {
    res.records
        .iter()
        .filter(|r| r.workload == workload && r.metric == metric)
        .collect()
}

/// Distinct values, in first-seen order.
pub fn uniq<T: PartialEq + Clone>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// The records of one backend/channel, as points ordered by size.
pub fn by_size(
    recs: &[&&Record],
    b: Backend,
    c: Option<Channel>,
    val: impl Fn(&Record) -> Val,
) -> Vec<(f64, Val)> {
    let mut mine: Vec<&&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.backend == b && r.channel == c)
        .collect();
    mine.sort_by_key(|r| r.size_bytes);
    mine.iter().map(|r| (r.size_bytes as f64, val(r))).collect()
}

/// The placements among `recs`, in first-seen order.
pub fn placements(recs: &[&Record]) -> Vec<Placement> {
    uniq(recs.iter().map(|r| r.placement))
}

/// A record's channel name, or `-` where no channel carried the data.
pub fn chan(c: Option<Channel>) -> &'static str {
    c.map(|c| c.name()).unwrap_or("-")
}
