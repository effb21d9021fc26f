//! Charts: one SVG per question, drawn with plotters' SVG backend from
//! result records alone. Two primitives (a line chart with log axes, error
//! bars, dashed series, shaded areas and floor lines; a grouped bar chart
//! with CI whiskers) and one builder per question. A builder returns None
//! when the run holds no data for its question: the chart is left out, not
//! drawn empty.

use mpmt_core::schema::{Record, Results};
use mpmt_core::units::{fmt_bytes, fmt_count, fmt_ns};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A value with its 95 % CI.
#[derive(Debug, Clone, Copy)]
pub struct Val {
    pub mid: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Val {
    fn of(r: &Record) -> Val {
        Val {
            mid: r.stats.median,
            lo: r.stats.ci95_low,
            hi: r.stats.ci95_high,
        }
    }

    fn plain(v: f64) -> Val {
        Val {
            mid: v,
            lo: v,
            hi: v,
        }
    }
}

/// How an axis shows values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
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
fn fmt_unit(u: Unit, v: f64) -> String {
    match u {
        Unit::Ns => fmt_ns(v),
        Unit::Bytes => si(v, "B"),
        Unit::BytesPerS => format!("{:.1} GB/s", v / 1e9),
        Unit::Count => si(v, ""),
        Unit::Ratio => format!("{v:.2}"),
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
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal reference lines (name, y).
    pub hlines: Vec<(String, f64)>,
}

pub struct Bars {
    pub title: String,
    pub y_desc: String,
    pub y_unit: Unit,
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

type DynErr = Box<dyn std::error::Error>;

fn color(i: usize) -> RGBColor {
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
    {
        let root = SVGBackend::new(&path, (w, 470)).into_drawing_area();
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
    Ok(path)
}

// ---- data selection helpers ----

fn of<'a>(res: &'a Results, workload: &str, metric: &str) -> Vec<&'a Record> {
    res.records
        .iter()
        .filter(|r| r.workload == workload && r.metric == metric)
        .collect()
}

fn uniq<T: PartialEq + Clone>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// The records of one backend/channel, as points ordered by size.
fn by_size(recs: &[&&Record], b: &str, c: &str, val: impl Fn(&Record) -> Val) -> Vec<(f64, Val)> {
    let mut mine: Vec<&&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.backend == b && r.channel == c)
        .collect();
    mine.sort_by_key(|r| r.size_bytes);
    mine.iter().map(|r| (r.size_bytes as f64, val(r))).collect()
}

fn placements(recs: &[&Record]) -> Vec<String> {
    uniq(recs.iter().map(|r| r.placement.clone()))
}

// ---- the eight questions ----

/// 1. Switch cost by backend × channel × placement.
pub fn switch_cost(res: &Results) -> Option<Chart> {
    let recs: Vec<&Record> = of(res, "ctx-switch", "switch")
        .into_iter()
        .filter(|r| r.workers == 2 && r.working_set_bytes == 0)
        .collect();
    if recs.is_empty() {
        return None;
    }
    let backends = uniq(recs.iter().map(|r| r.backend.clone()));
    let panels = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&&Record> = recs.iter().filter(|r| r.placement == p).collect();
            let groups = uniq(here.iter().map(|r| r.channel.clone()));
            let series = backends
                .iter()
                .map(|b| {
                    let vals = groups
                        .iter()
                        .map(|g| {
                            here.iter()
                                .find(|r| &r.backend == b && &r.channel == g)
                                .map(|r| Val::of(r))
                        })
                        .collect();
                    (b.clone(), vals)
                })
                .collect();
            Panel::Bars(Bars {
                title: p.to_string(),
                y_desc: "ns per switch (overhead subtracted)".into(),
                y_unit: Unit::Ns,
                log_y: false,
                groups,
                series,
            })
        })
        .collect();
    let tf = |b: &str| {
        recs.iter()
            .find(|r| r.backend == b && r.channel == "pipe" && r.placement == "same-cpu")
            .map(|r| r.stats.median)
    };
    let reading = match (tf("thread"), tf("fork")) {
        (Some(t), Some(f)) => format!(
            "Each bar is the median cost of one switch in a 2-worker token ring, with the single-process overhead subtracted and the 95 % CI as a whisker. On one CPU over pipes a process switch costs {} against {} for a thread ({:.2}×); across CPUs the cost is dominated by waking the other CPU.",
            fmt_ns(f), fmt_ns(t), f / t
        ),
        _ => "Each bar is the median cost of one switch in a 2-worker token ring, with the single-process overhead subtracted and the 95 % CI as a whisker. Compare bars within a group (same channel) to see what the kind of worker costs.".into(),
    };
    Some(Chart {
        file: "switch-cost.svg",
        title: "Context-switch cost by backend, channel and placement".into(),
        reading,
        panels,
    })
}

/// 2. Switch cost vs working set.
pub fn switch_vs_working_set(res: &Results) -> Option<Chart> {
    let all: Vec<&Record> = of(res, "ctx-switch", "switch")
        .into_iter()
        .filter(|r| r.workers == 2 && r.placement == "same-cpu")
        .collect();
    // One channel (pipe if measured), one line per backend: the question
    // is thread vs process, not channel vs channel.
    let channel = all
        .iter()
        .find(|r| r.channel == "pipe")
        .or(all.first())
        .map(|r| r.channel.clone())?;
    let recs: Vec<&Record> = all.into_iter().filter(|r| r.channel == channel).collect();
    let sets = uniq(recs.iter().map(|r| r.working_set_bytes));
    if sets.len() < 2 {
        return None;
    }
    let keys = uniq(recs.iter().map(|r| (r.backend.clone(), r.channel.clone())));
    let series = keys
        .iter()
        .enumerate()
        .map(|(i, (b, c))| {
            let mut pts: Vec<(f64, Val)> = recs
                .iter()
                .filter(|r| &r.backend == b && &r.channel == c)
                .map(|r| ((r.working_set_bytes.max(1024)) as f64, Val::of(r)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: format!("{b} / {c}"),
                points: pts,
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    Some(Chart {
        file: "switch-vs-working-set.svg",
        title: "Switch cost vs working set (same CPU)".into(),
        reading: "Each worker sums its own private buffer before passing the token; the x axis is that buffer's size (0 is drawn at 1 KiB) and the y axis the switch cost minus the same work done without switching. If processes lost their caches at a switch and threads kept theirs, the process lines would rise above the thread lines as the working set grows.".into(),
        panels: vec![Panel::Lines(Lines {
            title: format!("same-cpu, {channel}"),
            x_desc: "working set per worker".into(),
            y_desc: "ns per switch".into(),
            x_unit: Unit::Bytes,
            y_unit: Unit::Ns,
            log_x: true,
            log_y: false,
            series,
            hlines: vec![],
        })],
    })
}

/// 3. RTT vs message size, median and p99.
pub fn rtt_vs_size(res: &Results) -> Option<Chart> {
    let recs = of(res, "latency", "rtt");
    if recs.is_empty() {
        return None;
    }
    let panels: Vec<Panel> = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&&Record> = recs.iter().filter(|r| r.placement == p).collect();
            let keys = uniq(here.iter().map(|r| (r.backend.clone(), r.channel.clone())));
            let mut series = Vec::new();
            for (i, (b, c)) in keys.iter().enumerate() {
                series.push(Series {
                    name: format!("{b} / {c} median"),
                    points: by_size(&here, b, c, Val::of),
                    dashed: false,
                    shade: false,
                    color: i,
                });
                series.push(Series {
                    name: format!("{b} / {c} p99"),
                    points: by_size(&here, b, c, |r| Val::plain(r.stats.p99)),
                    dashed: true,
                    shade: false,
                    color: i,
                });
            }
            Panel::Lines(Lines {
                title: p,
                x_desc: "message size".into(),
                y_desc: "round trip".into(),
                x_unit: Unit::Bytes,
                y_unit: Unit::Ns,
                log_x: true,
                log_y: true,
                series,
                hlines: vec![],
            })
        })
        .collect();
    Some(Chart {
        file: "rtt-vs-size.svg",
        title: "Round-trip latency vs message size".into(),
        reading: "Solid lines are the median round trip of a verified message, dashed lines the 99th percentile, both on log–log axes. Flat left parts are the fixed cost of a hand-off (wake-up, switch, syscalls); where a line bends upward, copying the payload starts to dominate.".into(),
        panels,
    })
}

/// 4. Bandwidth vs chunk size with the memcpy floor.
pub fn bandwidth(res: &Results) -> Option<Chart> {
    let recs = of(res, "bandwidth", "bandwidth");
    if recs.is_empty() {
        return None;
    }
    let floor = res.floors.memcpy_bytes_per_s.as_ref().map(|f| f.value);
    let panels = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&&Record> = recs.iter().filter(|r| r.placement == p).collect();
            let keys = uniq(here.iter().map(|r| (r.backend.clone(), r.channel.clone())));
            let series = keys
                .iter()
                .enumerate()
                .map(|(i, (b, c))| Series {
                    name: format!("{b} / {c}"),
                    points: by_size(&here, b, c, Val::of),
                    dashed: false,
                    shade: false,
                    color: i,
                })
                .collect();
            Panel::Lines(Lines {
                title: p,
                x_desc: "chunk size".into(),
                y_desc: "bytes per second".into(),
                x_unit: Unit::Bytes,
                y_unit: Unit::BytesPerS,
                log_x: true,
                log_y: true,
                series,
                hlines: floor
                    .map(|f| vec![("memcpy floor".to_string(), f)])
                    .unwrap_or_default(),
            })
        })
        .collect();
    Some(Chart {
        file: "bandwidth.svg",
        title: "One-way bandwidth vs chunk size".into(),
        reading: "Each line is the median rate of a stream of chunks written by one worker and verified by the other; the dashed black line is this machine's memcpy rate measured in the same run. Shared memory can reach the floor because the payload is written and read in place; pipes and sockets copy it twice through the kernel.".into(),
        panels,
    })
}

fn dp_w(recs: &[&Record]) -> Option<u32> {
    // The worker count closest to 2 (the question's W), else the largest.
    let ws = uniq(recs.iter().map(|r| r.workers));
    ws.iter()
        .copied()
        .find(|&w| w == 2)
        .or_else(|| ws.iter().copied().max())
}

/// 5. Data-parallel time vs array size, setup shaded.
pub fn dp_time(res: &Results) -> Option<Chart> {
    let recs = of(res, "data-parallel", "wall");
    let w = dp_w(&recs)?;
    let here: Vec<&&Record> = recs.iter().filter(|r| r.workers == w).collect();
    if uniq(here.iter().map(|r| r.size_bytes)).len() < 2 {
        return None;
    }
    let variants = uniq(here.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let mut series = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let mut mine: Vec<&&&Record> = here
            .iter()
            .filter(|r| r.variant.as_deref() == Some(v.as_str()))
            .collect();
        mine.sort_by_key(|r| r.size_bytes);
        series.push(Series {
            name: format!("{v} wall"),
            points: mine
                .iter()
                .map(|r| ((r.size_bytes / 8) as f64, Val::of(r)))
                .collect(),
            dashed: false,
            shade: false,
            color: i,
        });
        series.push(Series {
            name: format!("{v} setup"),
            points: mine
                .iter()
                .map(|r| ((r.size_bytes / 8) as f64, Val::plain(r.setup_ns as f64)))
                .collect(),
            dashed: true,
            shade: true,
            color: i,
        });
    }
    Some(Chart {
        file: "data-parallel-time.svg",
        title: format!("Doubling an array across {w} workers: time vs array size"),
        reading: "Solid lines are the median wall time of a verified run; the dashed line and shaded area under it are the part spent in setup (creating workers, mapping, copying in). Where a process variant's shading reaches its wall line, setup dominates; the array size where the solid lines meet is where processes stop losing to threads.".into(),
        panels: vec![Panel::Lines(Lines {
            title: format!("{w} workers"),
            x_desc: "elements (u64)".into(),
            y_desc: "time".into(),
            x_unit: Unit::Count,
            y_unit: Unit::Ns,
            log_x: true,
            log_y: true,
            series,
            hlines: vec![],
        })],
    })
}

/// 6. Data-parallel speedup vs workers with the ideal line.
pub fn dp_speedup(res: &Results) -> Option<Chart> {
    let recs = of(res, "data-parallel", "wall");
    let e = recs.iter().map(|r| r.size_bytes).max()?;
    let here: Vec<&&Record> = recs
        .iter()
        .filter(|r| r.size_bytes == e && r.checks.speedup.is_some())
        .collect();
    let ws = uniq(here.iter().map(|r| r.workers));
    if ws.len() < 2 {
        return None;
    }
    let variants = uniq(here.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let mut series: Vec<Series> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut mine: Vec<&&&Record> = here
                .iter()
                .filter(|r| r.variant.as_deref() == Some(v.as_str()))
                .collect();
            mine.sort_by_key(|r| r.workers);
            Series {
                name: v.clone(),
                points: mine
                    .iter()
                    .map(|r| {
                        (
                            r.workers as f64,
                            Val::plain(r.checks.speedup.unwrap_or(f64::NAN)),
                        )
                    })
                    .collect(),
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    let mut wmax: Vec<u32> = ws.clone();
    wmax.sort();
    series.push(Series {
        name: "ideal (speedup = workers)".into(),
        points: wmax
            .iter()
            .map(|&w| (w as f64, Val::plain(w as f64)))
            .collect(),
        dashed: true,
        shade: false,
        color: 98,
    });
    Some(Chart {
        file: "data-parallel-speedup.svg",
        title: format!("Speedup vs workers at {} elements", fmt_count(e / 8)),
        reading: format!(
            "Each line is wall time with one worker divided by wall time with W workers, for the largest array in the run ({} elements); the dashed line is perfect scaling. Lines far below it mean the work is bound by memory bandwidth or by setup, not by the number of workers.",
            fmt_count(e / 8)
        ),
        panels: vec![Panel::Lines(Lines {
            title: "speedup".into(),
            x_desc: "workers".into(),
            y_desc: "speedup over 1 worker".into(),
            x_unit: Unit::Count,
            y_unit: Unit::Ratio,
            log_x: false,
            log_y: false,
            series,
            hlines: vec![],
        })],
    })
}

/// 7. Counter: ns per increment and lost updates per mode × backend.
pub fn counter(res: &Results) -> Option<Chart> {
    let recs = of(res, "counter", "increment");
    if recs.is_empty() {
        return None;
    }
    let modes = uniq(recs.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let keys = uniq(
        recs.iter()
            .map(|r| (r.backend.clone(), r.placement.clone())),
    );
    let series_of = |f: &dyn Fn(&Record) -> Val,
                     groups: &[String],
                     by_mode: bool|
     -> Vec<(String, Vec<Option<Val>>)> {
        keys.iter()
            .map(|(b, p)| {
                let vals = groups
                    .iter()
                    .map(|g| {
                        recs.iter()
                            .find(|r| {
                                &r.backend == b
                                    && &r.placement == p
                                    && (!by_mode || r.variant.as_deref() == Some(g.as_str()))
                            })
                            .map(|r| f(r))
                    })
                    .collect();
                (format!("{b} {p}"), vals)
            })
            .collect()
    };
    let time = Bars {
        title: "time per increment".into(),
        y_desc: "ns per increment".into(),
        y_unit: Unit::Ns,
        log_y: true,
        groups: modes.clone(),
        series: series_of(&Val::of, &modes, true),
    };
    let racy: Vec<&&Record> = recs
        .iter()
        .filter(|r| r.variant.as_deref() == Some("racy"))
        .collect();
    let mut panels = vec![Panel::Bars(time)];
    if !racy.is_empty() {
        let groups = vec!["racy".to_string()];
        let series = keys
            .iter()
            .map(|(b, p)| {
                let v = racy
                    .iter()
                    .find(|r| &r.backend == b && &r.placement == p)
                    .map(|r| Val::plain(r.checks.lost_updates.unwrap_or(0.0)));
                (format!("{b} {p}"), vec![v])
            })
            .collect();
        panels.push(Panel::Bars(Bars {
            title: "lost updates (racy)".into(),
            y_desc: "updates lost".into(),
            y_unit: Unit::Count,
            log_y: false,
            groups,
            series,
        }));
    }
    let w = recs[0].workers;
    let k = recs[0].checks.increments.unwrap_or(0);
    Some(Chart {
        file: "counter.svg",
        title: format!("Shared counter: {w} workers × {} increments", fmt_count(k)),
        reading: "Left: median time per increment for each mode, one bar per backend and placement, with 95 % CI whiskers. Right: how many of the increments the racy mode lost; on one CPU workers take turns and lose an update only if preemption falls between the load and the store, across CPUs they really run at once and lose many, while every locked or atomic mode ends exact.".into(),
        panels,
    })
}

/// 8. Creation cost vs parent heap, and memory per worker.
pub fn creation(res: &Results) -> Option<Chart> {
    let create = of(res, "spawn", "create");
    if create.is_empty() {
        return None;
    }
    let methods = uniq(create.iter().map(|r| r.backend.clone()));
    let series = methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut mine: Vec<&&Record> = create.iter().filter(|r| &r.backend == m).collect();
            mine.sort_by_key(|r| r.size_bytes);
            Series {
                name: m.clone(),
                // x: what fork has to copy page tables for — the parent's
                // measured resident set (older runs: the heap it added).
                points: mine
                    .iter()
                    .map(|r| {
                        let x = r
                            .checks
                            .parent_rss_bytes
                            .unwrap_or(r.size_bytes)
                            .max(1 << 20);
                        (x as f64, Val::of(r))
                    })
                    .collect(),
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    let mut panels = vec![Panel::Lines(Lines {
        title: "create + join".into(),
        x_desc: "parent's resident set while creating".into(),
        y_desc: "time per worker".into(),
        x_unit: Unit::Bytes,
        y_unit: Unit::Ns,
        log_x: true,
        log_y: true,
        series,
        hlines: vec![],
    })];
    let mem = of(res, "spawn", "pss");
    if !mem.is_empty() {
        let heaps = uniq(mem.iter().map(|r| r.size_bytes));
        let groups: Vec<String> = heaps
            .iter()
            .map(|h| format!("heap {}", fmt_bytes(*h)))
            .collect();
        let series = methods
            .iter()
            .map(|m| {
                let vals = heaps
                    .iter()
                    .map(|h| {
                        mem.iter()
                            .find(|r| &r.backend == m && r.size_bytes == *h)
                            .map(|r| Val::of(r))
                    })
                    .collect();
                (m.clone(), vals)
            })
            .collect();
        panels.push(Panel::Bars(Bars {
            title: "memory per live worker (PSS)".into(),
            y_desc: "proportional set size".into(),
            y_unit: Unit::Bytes,
            log_y: false,
            groups,
            series,
        }));
    }
    Some(Chart {
        file: "creation.svg",
        title: "Creating a worker: time vs the parent's heap, and memory per worker".into(),
        reading: "Left: median time to create a worker, run an empty body and join or reap it, against the parent's measured resident set (its own memory plus the heap it was asked to hold); fork must copy the page tables of all of it, posix_spawn and threads do not. Right: proportional set size of each live worker, which charges pages shared copy-on-write a fraction each, so a forked child of a large parent costs its share of the parent's heap.".into(),
        panels,
    })
}

/// Every chart the results have data for.
pub fn all(res: &Results) -> Vec<Chart> {
    [
        switch_cost(res),
        switch_vs_working_set(res),
        rtt_vs_size(res),
        bandwidth(res),
        dp_time(res),
        dp_speedup(res),
        counter(res),
        creation(res),
    ]
    .into_iter()
    .flatten()
    .collect()
}
