//! What a chart is: panels of lines, grouped bars or a heat map, their
//! series, values with CIs, axes and styles (a backend's colour is the
//! same on every chart).

use mpmt_schema::units::{fmt_bytes, fmt_count, fmt_ns};
use mpmt_schema::{Backend, Record};
use plotters::prelude::*;

/// Most measured series one panel may draw.
pub const MAX_SERIES: usize = 6;

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

/// Decimal SI for y ticks: plotters puts log ticks on powers of ten,
/// which read badly in binary units (976.6K). X ticks, placed at the
/// measured values, use binary units.
pub(crate) fn si(v: f64, unit: &str) -> String {
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

/// A y tick label. A count axis labels whole numbers only.
pub(crate) fn fmt_unit(u: Axis, v: f64) -> String {
    match u {
        Axis::Ns => fmt_ns(v),
        Axis::Bytes => si(v, "B"),
        Axis::BytesPerS => format!("{:.1} GB/s", v / 1e9),
        Axis::Count if (v - v.round()).abs() > 1e-9 => String::new(),
        Axis::Count => si(v, ""),
        Axis::Ratio => format!("{v:.2}"),
    }
}

/// An x tick label at a measured value.
pub(crate) fn fmt_tick(u: Axis, v: f64) -> String {
    match u {
        Axis::Bytes => fmt_bytes(v.round() as u64),
        Axis::Count => fmt_count(v.round() as u64),
        _ => fmt_unit(u, v),
    }
}

/// Whose colour a series wears: the backend's (the same on every chart),
/// another run's (compare), or the grey of a reference line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hue {
    Backend(Backend),
    /// A lighter tint of a backend's colour: a second bar of one backend.
    Tint(Backend),
    /// The i-th of several runs.
    Run(usize),
    Reference,
    /// A heatmap's colour at a fraction of its scale (per mille).
    Heat(u16),
}

impl Hue {
    pub fn rgb(self) -> RGBColor {
        // Okabe–Ito: told apart with the common colour-vision deficiencies.
        const RUNS: [RGBColor; 6] = [
            RGBColor(0, 114, 178),
            RGBColor(213, 94, 0),
            RGBColor(0, 158, 115),
            RGBColor(204, 121, 167),
            RGBColor(230, 159, 0),
            RGBColor(86, 180, 233),
        ];
        match self {
            Hue::Backend(Backend::Thread) => RUNS[0],
            Hue::Backend(Backend::Fork) => RUNS[1],
            Hue::Backend(Backend::Spawn) => RUNS[2],
            Hue::Tint(b) => {
                let RGBColor(r, g, bl) = Hue::Backend(b).rgb();
                let t = |c: u8| c + (255 - c) / 2;
                RGBColor(t(r), t(g), t(bl))
            }
            Hue::Run(i) => RUNS[i % RUNS.len()],
            Hue::Reference => RGBColor(110, 110, 110),
            Hue::Heat(t) => heat(t as f64 / 1000.0),
        }
    }
}

/// A line's dash pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    LongDash,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub hue: Hue,
    pub dash: Dash,
}

impl Style {
    pub fn backend(b: Backend) -> Style {
        Style {
            hue: Hue::Backend(b),
            dash: Dash::Solid,
        }
    }

    pub fn dashed(self, dash: Dash) -> Style {
        Style { dash, ..self }
    }
}

pub struct Series {
    /// The legend's label; series of one name share one legend entry.
    pub name: String,
    pub style: Style,
    pub points: Vec<(f64, Val)>,
    /// A thin companion line in the series' colour (p99, or the setup
    /// part); the chart's `thin_label` says what it is.
    pub thin: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, style: Style, points: Vec<(f64, Val)>) -> Series {
        Series {
            name: name.into(),
            style,
            points,
            thin: vec![],
        }
    }
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
    /// Horizontal reference lines (legend name, y).
    pub hlines: Vec<(String, f64)>,
    /// Vertical marks on the x axis (short label, x): cache sizes.
    pub marks: Vec<(String, f64)>,
}

impl Lines {
    pub fn new(title: impl Into<String>, x: (&str, Axis, bool), y: (&str, Axis, bool)) -> Lines {
        Lines {
            title: title.into(),
            x_desc: x.0.into(),
            y_desc: y.0.into(),
            x_unit: x.1,
            y_unit: y.1,
            log_x: x.2,
            log_y: y.2,
            series: vec![],
            hlines: vec![],
            marks: vec![],
        }
    }
}

impl Lines {
    /// Marks the cache sizes that fall within the measured x values, ends
    /// included (a mark off the drawn axis would only be a legend entry
    /// with nothing behind it). Call once the series are in.
    pub fn mark_caches(&mut self, marks: &[(String, f64)]) {
        let xs = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .filter(|x| *x > 0.0)
        };
        let (lo, hi) = (xs().fold(f64::MAX, f64::min), xs().fold(0.0, f64::max));
        self.marks = marks
            .iter()
            .filter(|(_, x)| *x >= lo && *x <= hi)
            .cloned()
            .collect();
    }
}

pub struct BarSeries {
    pub name: String,
    pub hue: Hue,
    /// One value per group.
    pub vals: Vec<Option<Val>>,
}

pub struct Bars {
    pub title: String,
    pub y_desc: String,
    pub y_unit: Axis,
    pub log_y: bool,
    /// One bar per group, the series stacked in order from the axis up
    /// (parts of one whole; no CIs drawn).
    pub stacked: bool,
    pub groups: Vec<String>,
    pub series: Vec<BarSeries>,
}

/// A grid of values, rows and columns over the same labels (CPU pairs:
/// `cells[from][to]`); colour from light (lowest value of the chart) to
/// dark (highest), the value written in each cell that has room.
pub struct Heatmap {
    pub title: String,
    pub row_desc: String,
    pub col_desc: String,
    pub labels: Vec<String>,
    pub cells: Vec<Vec<Option<f64>>>,
    pub unit: Axis,
}

/// The heatmap colour of `t` in 0..=1: light yellow to dark blue.
pub fn heat(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b) = ((255.0, 247.0, 188.0), (8.0, 64.0, 129.0));
    let l = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(l(a.0, b.0), l(a.1, b.1), l(a.2, b.2))
}

pub enum Panel {
    Lines(Lines),
    Bars(Bars),
    Heatmap(Heatmap),
    /// A cell of the grid with nothing measured: says why.
    Empty {
        title: String,
        why: String,
    },
}

/// A chart: a title, one legend, panels on a grid, a footer.
pub struct Chart {
    pub file: &'static str,
    pub title: String,
    /// Two sentences telling what the chart shows and how it reads here.
    pub reading: String,
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Line panels share both axes (small multiples compare by position).
    pub shared_axes: bool,
    /// What the thin companion lines are, for the legend.
    pub thin_label: Option<String>,
    /// What each dash means where it is not part of a series' name.
    pub dash_labels: Vec<(Dash, String)>,
    /// The run and the machine, under the panels.
    pub footer: String,
}

impl Chart {
    pub fn new(file: &'static str, title: impl Into<String>, panels: Vec<Panel>) -> Chart {
        let columns = panels.len().clamp(1, 4);
        Chart {
            file,
            title: title.into(),
            reading: String::new(),
            panels,
            columns,
            shared_axes: false,
            thin_label: None,
            dash_labels: vec![],
            footer: String::new(),
        }
    }
}

pub type DynErr = Box<dyn std::error::Error>;
