//! Drawing a chart with plotters' SVG backend, following the layout rules
//! of [`super`].

use super::layout::{Layout, Rect};
use super::model::*;
use mpmt_schema::Backend;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::PathBuf;

const FONT: &str = "sans-serif";
/// A conservative width of one character of the sans-serif font, as a
/// fraction of its size (the browser check measures the real one).
const CHAR_W: f64 = 0.62;
const MARGIN: i32 = 12;
const TITLE_H: i32 = 30;
const LEGEND_ROW: i32 = 20;
const LEGEND_FONT: i32 = 12;
const FOOTER_H: i32 = 22;

fn text_w(s: &str, size: i32) -> i32 {
    (s.chars().count() as f64 * size as f64 * CHAR_W).ceil() as i32
}

fn style(size: i32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v))
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

/// One legend entry's mark.
#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Line(Style, u32),
    Box(Hue),
    Cross,
    Whisker,
}

fn legend_items(c: &Chart) -> Vec<(String, Mark)> {
    let mut items: Vec<(String, Mark)> = Vec::new();
    let mut push = |name: &str, m: Mark| {
        if !items.iter().any(|(n, _)| n == name) {
            items.push((name.to_string(), m));
        }
    };
    let (mut thin, mut modes, mut marks, mut whiskers) = (false, false, false, false);
    for p in &c.panels {
        match p {
            Panel::Lines(l) => {
                for s in &l.series {
                    push(&s.name, Mark::Line(s.style, 2));
                    thin |= !s.thin.is_empty();
                    modes |= s.points.iter().any(|p| p.1.modes.is_some());
                    whiskers |= s.points.iter().any(|p| p.1.hi > p.1.lo);
                }
                for (name, _) in &l.hlines {
                    push(
                        name,
                        Mark::Line(Style::backend(Backend::Thread).dashed(Dash::Dashed), 1)
                            .with_hue(Hue::Reference),
                    );
                }
                marks |= !l.marks.is_empty();
            }
            Panel::Bars(b) => {
                for s in &b.series {
                    if s.vals.iter().any(|v| v.is_some()) {
                        push(&s.name, Mark::Box(s.hue));
                    }
                    modes |= s.vals.iter().flatten().any(|v| v.modes.is_some());
                    whiskers |= s.vals.iter().flatten().any(|v| v.hi > v.lo);
                }
            }
            Panel::Heatmap(h) => {
                if let Some((lo, hi)) = heat_range(&c.panels) {
                    push(
                        &format!("fastest: {}", fmt_unit(h.unit, lo)),
                        Mark::Box(Hue::Heat(0)),
                    );
                    push(
                        &format!("slowest: {}", fmt_unit(h.unit, hi)),
                        Mark::Box(Hue::Heat(1000)),
                    );
                }
            }
            Panel::Empty { .. } => {}
        }
    }
    let grey = |d: Dash| Style {
        hue: Hue::Reference,
        dash: d,
    };
    for (d, label) in &c.dash_labels {
        push(label, Mark::Line(grey(*d), 2));
    }
    if thin {
        if let Some(t) = &c.thin_label {
            push(t, Mark::Line(grey(Dash::Solid), 1));
        }
    }
    if whiskers {
        push("95 % CI", Mark::Whisker);
    }
    if modes {
        push("the two modes of a bimodal case", Mark::Cross);
    }
    if marks {
        push(
            "cache sizes (L1d, L2, L3)",
            Mark::Line(grey(Dash::Dotted), 1),
        );
    }
    items
}

impl Mark {
    fn with_hue(self, h: Hue) -> Mark {
        match self {
            Mark::Line(s, w) => Mark::Line(Style { hue: h, ..s }, w),
            m => m,
        }
    }
}

/// Where each legend entry goes: (x, y) of its mark's left centre, rows
/// wrapped to `width`. Returns the positions and the legend's height.
fn legend_layout(items: &[(String, Mark)], x0: i32, width: i32) -> (Vec<(i32, i32)>, i32) {
    let mut pos = Vec::new();
    let (mut x, mut row) = (x0, 0);
    for (label, _) in items {
        let w = 30 + text_w(label, LEGEND_FONT) + 18;
        if x > x0 && x + w > x0 + width {
            x = x0;
            row += 1;
        }
        pos.push((x, row * LEGEND_ROW + LEGEND_ROW / 2));
        x += w;
    }
    let rows = if items.is_empty() { 0 } else { row + 1 };
    (pos, rows * LEGEND_ROW)
}

fn stroke(s: Style, width: u32) -> ShapeStyle {
    s.hue.rgb().stroke_width(width)
}

/// Draws a polyline with a dash pattern on the root (absolute pixels).
fn draw_path(
    root: &DrawingArea<SVGBackend, Shift>,
    pts: Vec<(i32, i32)>,
    s: Style,
    width: u32,
) -> Result<(), DynErr> {
    let st = stroke(s, width);
    match s.dash {
        Dash::Solid => root.draw(&PathElement::new(pts, st))?,
        Dash::Dashed => root.draw(&DashedPathElement::new(pts, 7, 4, st))?,
        Dash::Dotted => root.draw(&DashedPathElement::new(pts, 2, 3, st))?,
        Dash::LongDash => root.draw(&DashedPathElement::new(pts, 14, 4, st))?,
    }
    Ok(())
}

fn draw_legend(
    root: &DrawingArea<SVGBackend, Shift>,
    items: &[(String, Mark)],
    pos: &[(i32, i32)],
    top: i32,
) -> Result<(), DynErr> {
    for ((label, mark), &(x, y)) in items.iter().zip(pos) {
        let y = top + y;
        match *mark {
            Mark::Line(s, w) => draw_path(root, vec![(x, y), (x + 24, y)], s, w)?,
            Mark::Box(h) => root.draw(&Rectangle::new(
                [(x + 4, y - 6), (x + 20, y + 6)],
                h.rgb().filled(),
            ))?,
            Mark::Cross => {
                root.draw(&Cross::new((x + 12, y), 5, BLACK.stroke_width(2)))?;
            }
            Mark::Whisker => {
                let st = BLACK.stroke_width(1);
                root.draw(&PathElement::new(
                    vec![(x + 12, y - 7), (x + 12, y + 7)],
                    st,
                ))?;
                root.draw(&PathElement::new(vec![(x + 8, y - 7), (x + 16, y - 7)], st))?;
                root.draw(&PathElement::new(vec![(x + 8, y + 7), (x + 16, y + 7)], st))?;
            }
        }
        root.draw(&Text::new(
            label.clone(),
            (x + 30, y),
            style(LEGEND_FONT, HPos::Left, VPos::Center),
        ))?;
    }
    Ok(())
}

/// Axes shared by the line panels of a chart.
struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
    /// Where a zero on a log x axis is drawn.
    zero_x: Option<f64>,
}

fn ranges(panels: &[&Lines]) -> Ranges {
    let log_x = panels.first().is_some_and(|l| l.log_x);
    let log_y = panels.first().is_some_and(|l| l.log_y);
    let xs = || {
        panels
            .iter()
            .flat_map(|l| l.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)))
    };
    let has_zero = log_x && xs().any(|x| x == 0.0);
    let zero_x =
        has_zero.then(|| xs().filter(|&x| x > 0.0).fold(f64::MAX, f64::min).min(1e18) / 4.0);
    let (mut x0, x1) = range(
        xs().map(|x| if x == 0.0 { zero_x.unwrap_or(x) } else { x }),
        log_x,
    );
    if let Some(z) = zero_x {
        x0 = x0.min(z / 1.6);
    }
    // The axis fits every median, companion and reference line; a CI
    // whisker widens it only up to twice the largest median (and down to
    // half the smallest), so one wild round cannot squash every line
    // (whiskers past the axis are clipped at it).
    let mids = || {
        panels.iter().flat_map(|l| {
            l.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1.mid))
                .filter(|m| m.is_finite())
        })
    };
    let (lo_mid, hi_mid) = mids().fold((f64::MAX, f64::MIN), |(a, b), m| (a.min(m), b.max(m)));
    let ys = panels.iter().flat_map(|l| {
        l.series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .flat_map(|p| [p.1.lo.max(lo_mid / 2.0), p.1.mid, p.1.hi.min(2.0 * hi_mid)])
                    .chain(s.thin.iter().map(|t| t.1))
            })
            .chain(l.hlines.iter().map(|h| h.1))
    });
    Ranges {
        x: (x0, x1),
        y: range(ys, log_y),
        zero_x,
    }
}

/// The x values ticks go at: the measured ones (the drawing skips a label
/// that would touch the one before it).
fn x_ticks(l: &Lines) -> Vec<f64> {
    let mut xs: Vec<f64> = l
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs
}

fn draw_lines(
    root: &DrawingArea<SVGBackend, Shift>,
    cell: &DrawingArea<SVGBackend, Shift>,
    l: &Lines,
    r: &Ranges,
) -> Result<Rect, DynErr> {
    let ((x0, x1), (y0, y1)) = (r.x, r.y);
    let at = |x: f64| if x == 0.0 { r.zero_x.unwrap_or(x) } else { x };
    let mut b = ChartBuilder::on(cell);
    b.caption(&l.title, (FONT, 14))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(44)
        .y_label_area_size(74);
    let plot;
    macro_rules! body {
        ($chart:expr) => {{
            let mut ch = $chart;
            let yu = l.y_unit;
            let y_labels = y_label_count(yu, l.log_y, y0, y1);
            ch.configure_mesh()
                .x_desc(l.x_desc.as_str())
                .y_desc(l.y_desc.as_str())
                .x_labels(0)
                // A log axis still asks for one key point; ticks are drawn
                // below, at the measured values.
                .x_label_formatter(&|_| String::new())
                .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
                .y_labels(y_labels)
                .disable_x_mesh()
                .y_label_formatter(&|v| fmt_unit(yu, *v))
                .light_line_style(WHITE.mix(0.0))
                .label_style((FONT, 11))
                .axis_desc_style((FONT, 12))
                .draw()?;
            let (px, py) = ch.plotting_area().get_pixel_range();
            plot = Rect(px.start, py.start, px.end, py.end);
            let inside = |x: f64, y: f64| {
                x.is_finite()
                    && y.is_finite()
                    && (!l.log_y || y > 0.0)
                    && y >= y0 * (1.0 - 1e-9)
                    && y <= y1 * (1.0 + 1e-9)
            };
            let clamp = |y: f64| y.clamp(y0, y1);
            // Ticks at the measured x values, with light grid lines.
            let mut last_right = i32::MIN;
            for x in x_ticks(l) {
                let (tx, ty) = ch.backend_coord(&(at(x), y0));
                let label = if x == 0.0 {
                    "0".to_string()
                } else {
                    fmt_tick(l.x_unit, x)
                };
                let w = text_w(&label, 11);
                if tx - w / 2 < last_right + 6 {
                    continue;
                }
                last_right = tx + w / 2;
                root.draw(&PathElement::new(
                    vec![(tx, plot.1), (tx, plot.3)],
                    BLACK.mix(0.08),
                ))?;
                root.draw(&PathElement::new(vec![(tx, ty), (tx, ty + 5)], BLACK))?;
                root.draw(&Text::new(
                    label,
                    (tx, ty + 7),
                    style(11, HPos::Center, VPos::Top),
                ))?;
            }
            if let Some(z) = r.zero_x {
                // The zero slot is not on the log scale: a break mark
                // between it and the first measured value.
                let (zx, zy) = ch.backend_coord(&(z * 2.0, y0));
                for dx in [-3, 3] {
                    root.draw(&PathElement::new(
                        vec![(zx + dx - 3, zy + 5), (zx + dx + 3, zy - 5)],
                        BLACK.stroke_width(1),
                    ))?;
                }
            }
            for (label, x) in &l.marks {
                if *x <= x0 || *x >= x1 {
                    continue;
                }
                let (mx, _) = ch.backend_coord(&(*x, y0));
                draw_path(
                    root,
                    vec![(mx, plot.1), (mx, plot.3)],
                    Style {
                        hue: Hue::Reference,
                        dash: Dash::Dotted,
                    },
                    1,
                )?;
                root.draw(&Text::new(
                    label.clone(),
                    (mx + 3, plot.1 + 2),
                    style(10, HPos::Left, VPos::Top).color(&Hue::Reference.rgb()),
                ))?;
            }
            for (_, y) in &l.hlines {
                if inside(x0, *y) {
                    let a = ch.backend_coord(&(x0, *y));
                    let b = ch.backend_coord(&(x1, *y));
                    draw_path(
                        root,
                        vec![a, b],
                        Style {
                            hue: Hue::Reference,
                            dash: Dash::Dashed,
                        },
                        1,
                    )?;
                }
            }
            for s in &l.series {
                let col = s.style.hue.rgb();
                let px: Vec<(i32, i32)> = s
                    .points
                    .iter()
                    .filter(|p| inside(at(p.0), p.1.mid))
                    .map(|p| ch.backend_coord(&(at(p.0), p.1.mid)))
                    .collect();
                let thin: Vec<(i32, i32)> = s
                    .thin
                    .iter()
                    .filter(|p| inside(at(p.0), p.1))
                    .map(|p| ch.backend_coord(&(at(p.0), p.1)))
                    .collect();
                if thin.len() > 1 {
                    draw_path(root, thin.clone(), s.style, 1)?;
                }
                for p in &thin {
                    root.draw(&Circle::new(*p, 2, col.stroke_width(1)))?;
                }
                if px.len() > 1 {
                    draw_path(root, px.clone(), s.style, 2)?;
                }
                for p in &px {
                    root.draw(&Circle::new(*p, 3, col.filled()))?;
                }
                for p in s.points.iter().filter(|p| inside(at(p.0), p.1.mid)) {
                    let x = at(p.0);
                    if p.1.hi > p.1.lo {
                        ch.draw_series(std::iter::once(ErrorBar::new_vertical(
                            x,
                            clamp(p.1.lo),
                            p.1.mid,
                            clamp(p.1.hi),
                            col,
                            6,
                        )))?;
                    }
                    for m in p.1.modes.into_iter().flatten().filter(|m| inside(x, *m)) {
                        root.draw(&Cross::new(
                            ch.backend_coord(&(x, m)),
                            5,
                            col.stroke_width(2),
                        ))?;
                    }
                }
            }
        }};
    }
    match (l.log_x, l.log_y) {
        (true, true) => body!(b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?),
        (true, false) => body!(b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => body!(b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (false, false) => body!(b.build_cartesian_2d(x0..x1, y0..y1)?),
    }
    Ok(plot)
}

/// A linear bar axis where one bar dwarfs the rest: the axis top is set
/// by the others, and taller bars are cut there with their value written.
/// Returns (axis top, cut level), or None when every bar fits.
fn bar_cut(b: &Bars) -> Option<(f64, f64)> {
    if b.log_y {
        return None;
    }
    let mut mids: Vec<f64> = b
        .series
        .iter()
        .flat_map(|s| s.vals.iter().flatten().map(|v| v.mid))
        .filter(|v| v.is_finite())
        .collect();
    mids.sort_by(|a, b| b.total_cmp(a));
    // Scanning down from the tallest bar, the first one more than 3 × the
    // next marks a gap: the bars above it are cut, the next sets the axis.
    // Cutting is for a few outliers, never for half the bars or more.
    let gap = mids
        .windows(2)
        .position(|w| w[1] > 0.0 && w[0] > 3.0 * w[1])?;
    if 2 * (gap + 1) >= mids.len() {
        return None;
    }
    let keep = mids[gap + 1];
    let hi = b
        .series
        .iter()
        .flat_map(|s| s.vals.iter().flatten())
        .filter(|v| v.mid <= keep)
        .map(|v| v.hi.max(v.mid))
        .fold(keep, f64::max);
    let cut = hi * 1.1;
    Some((cut * 1.18, cut))
}

fn draw_bars(
    root: &DrawingArea<SVGBackend, Shift>,
    cell: &DrawingArea<SVGBackend, Shift>,
    c: &Bars,
) -> Result<Rect, DynErr> {
    let n = c.groups.len().max(1);
    let shown: Vec<&BarSeries> = c
        .series
        .iter()
        .filter(|s| s.vals.iter().any(|v| v.is_some()))
        .collect();
    let ns = shown.len().max(1);
    let cut = if c.stacked { None } else { bar_cut(c) };
    let (y0, y1) = match cut {
        Some((top, _)) => (0.0, top),
        None if c.stacked => range(
            (0..n).map(|g| {
                shown
                    .iter()
                    .filter_map(|s| s.vals.get(g).copied().flatten())
                    .map(|v| v.mid.max(0.0))
                    .sum::<f64>()
            }),
            c.log_y,
        ),
        None => range(
            shown
                .iter()
                .flat_map(|s| s.vals.iter().flatten().flat_map(|v| [v.lo, v.mid, v.hi])),
            c.log_y,
        ),
    };
    let mut b = ChartBuilder::on(cell);
    b.caption(&c.title, (FONT, 14))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(34)
        .y_label_area_size(74);
    let plot;
    macro_rules! body {
        ($chart:expr) => {{
            let mut ch = $chart;
            let yu = c.y_unit;
            let y_labels = y_label_count(yu, c.log_y, y0, y1);
            ch.configure_mesh()
                .y_desc(c.y_desc.as_str())
                .x_labels(0)
                .y_labels(y_labels)
                .y_label_formatter(&|v| fmt_unit(yu, *v))
                .disable_x_mesh()
                .light_line_style(WHITE.mix(0.0))
                .label_style((FONT, 11))
                .axis_desc_style((FONT, 12))
                .draw()?;
            let (px, py) = ch.plotting_area().get_pixel_range();
            plot = Rect(px.start, py.start, px.end, py.end);
            let w = 0.8 / ns as f64;
            let floor = if c.log_y { y0 } else { 0.0f64.max(y0) };
            if c.stacked {
                for g in 0..n {
                    let mut at = floor;
                    for s in &shown {
                        let Some(v) = s.vals.get(g).copied().flatten() else {
                            continue;
                        };
                        if !v.mid.is_finite() || v.mid <= 0.0 {
                            continue;
                        }
                        let top = (at + v.mid).min(y1);
                        ch.draw_series(std::iter::once(Rectangle::new(
                            [(g as f64 + 0.2, at), (g as f64 + 0.8, top)],
                            s.hue.rgb().filled(),
                        )))?;
                        at = top;
                    }
                }
            }
            for (si, s) in shown.iter().enumerate().filter(|_| !c.stacked) {
                let col = s.hue.rgb();
                for (g, v) in s.vals.iter().enumerate() {
                    let Some(v) = v else { continue };
                    if !v.mid.is_finite() || (c.log_y && v.mid <= 0.0) {
                        continue;
                    }
                    let x = g as f64 + 0.1 + si as f64 * w;
                    let xm = x + w * 0.46;
                    let top = match cut {
                        Some((_, lvl)) if v.mid > lvl => lvl,
                        _ => v.mid.min(y1),
                    };
                    ch.draw_series(std::iter::once(Rectangle::new(
                        [(x, floor), (x + w * 0.92, top.max(floor))],
                        col.filled(),
                    )))?;
                    if top < v.mid {
                        // Cut: a white break across the bar near its top
                        // and the value above it.
                        let (lx, ly) = ch.backend_coord(&(x, top));
                        let (rx, _) = ch.backend_coord(&(x + w * 0.92, top));
                        for dy in [8, 14] {
                            root.draw(&PathElement::new(
                                vec![(lx - 2, ly + dy + 3), (rx + 2, ly + dy - 3)],
                                WHITE.stroke_width(3),
                            ))?;
                        }
                        let (tx, ty) = ch.backend_coord(&(xm, top));
                        root.draw(&Text::new(
                            fmt_unit(yu, v.mid),
                            (tx, ty - 3),
                            style(11, HPos::Center, VPos::Bottom),
                        ))?;
                        continue;
                    }
                    if v.hi > v.lo {
                        ch.draw_series(std::iter::once(ErrorBar::new_vertical(
                            xm,
                            v.lo.clamp(floor, y1),
                            v.mid,
                            v.hi.clamp(floor, y1),
                            BLACK.mix(0.8),
                            5,
                        )))?;
                    }
                    for m in v
                        .modes
                        .into_iter()
                        .flatten()
                        .filter(|m| *m > floor && *m < y1)
                    {
                        ch.draw_series(std::iter::once(Cross::new(
                            (xm, m),
                            5,
                            BLACK.stroke_width(2),
                        )))?;
                    }
                }
            }
            for (g, name) in c.groups.iter().enumerate() {
                let (tx, ty) = ch.backend_coord(&(g as f64 + 0.5, y0));
                root.draw(&Text::new(
                    name.clone(),
                    (tx, ty + 6),
                    style(12, HPos::Center, VPos::Top),
                ))?;
            }
        }};
    }
    let xr = 0.0..n as f64;
    if c.log_y {
        body!(b.build_cartesian_2d(xr, (y0..y1).log_scale())?)
    } else {
        body!(b.build_cartesian_2d(xr, y0..y1)?)
    }
    Ok(plot)
}

/// The lowest and highest value over every heatmap of a chart.
fn heat_range(panels: &[Panel]) -> Option<(f64, f64)> {
    let v: Vec<f64> = panels
        .iter()
        .filter_map(|p| match p {
            Panel::Heatmap(h) => Some(h),
            _ => None,
        })
        .flat_map(|h| h.cells.iter().flatten().flatten().copied())
        .filter(|x| x.is_finite())
        .collect();
    let lo = v.iter().copied().reduce(f64::min)?;
    let hi = v.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// Draws a heatmap into its grid cell; returns the grid's rectangle.
fn draw_heatmap(
    root: &DrawingArea<SVGBackend, Shift>,
    (x0, y0, w, h): (i32, i32, i32, i32),
    hm: &Heatmap,
    (lo, hi): (f64, f64),
) -> Result<Rect, DynErr> {
    let n = hm.labels.len().max(1) as i32;
    // Cells carry bare numbers in one unit per panel (named in its
    // title), so they fit a small cell.
    let own_hi = hm
        .cells
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (div, unit) = match hm.unit {
        Axis::Ns if own_hi >= 1e6 => (1e6, "ms"),
        Axis::Ns if own_hi >= 1e3 => (1e3, "µs"),
        Axis::Ns => (1.0, "ns"),
        _ => (1.0, ""),
    };
    let title = if unit.is_empty() {
        hm.title.clone()
    } else {
        format!("{} (cells in {unit})", hm.title)
    };
    root.draw(&Text::new(
        title,
        (x0 + w / 2, y0 + 8),
        style(14, HPos::Center, VPos::Top),
    ))?;
    let (left, top) = (x0 + 86, y0 + 58);
    let side = (w - 86 - 16).min(h - 58 - 16).max(n * 8);
    let cs = side / n;
    let grid = Rect(left, top, left + cs * n, top + cs * n);
    root.draw(&Text::new(
        hm.col_desc.clone(),
        (left + cs * n / 2, y0 + 28),
        style(12, HPos::Center, VPos::Top),
    ))?;
    root.draw(&Text::new(
        hm.row_desc.clone(),
        (x0 + 4, top + cs * n / 2),
        style(12, HPos::Left, VPos::Center),
    ))?;
    let label_every = ((14 * n) / (cs * n).max(1)).max(1) as usize;
    for (i, l) in hm.labels.iter().enumerate().step_by(label_every) {
        let c = i as i32 * cs + cs / 2;
        root.draw(&Text::new(
            l.clone(),
            (left + c, top - 4),
            style(11, HPos::Center, VPos::Bottom),
        ))?;
        root.draw(&Text::new(
            l.clone(),
            (left - 6, top + c),
            style(11, HPos::Right, VPos::Center),
        ))?;
    }
    // A log scale when every value is positive: a spinning and a blocking
    // channel differ a hundredfold, and each should show its own spread.
    let log = lo > 0.0;
    let scale = |v: f64| if log { v.ln() } else { v };
    let span = (scale(hi) - scale(lo)).max(f64::MIN_POSITIVE);
    for (r, row) in hm.cells.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (x, y) = (left + c as i32 * cs, top + r as i32 * cs);
            let Some(v) = v.filter(|v| v.is_finite()) else {
                root.draw(&Rectangle::new(
                    [(x, y), (x + cs, y + cs)],
                    RGBColor(240, 240, 240).filled(),
                ))?;
                continue;
            };
            let t = (scale(v) - scale(lo)) / span;
            root.draw(&Rectangle::new(
                [(x, y), (x + cs, y + cs)],
                heat(t).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cs, y + cs)],
                WHITE.stroke_width(1),
            ))?;
            let x_ = v / div;
            let label = if x_ >= 100.0 {
                format!("{x_:.0}")
            } else {
                format!("{x_:.1}")
            };
            if text_w(&label, 10) + 4 <= cs && cs >= 16 {
                let ink = if t > 0.5 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    label,
                    (x + cs / 2, y + cs / 2),
                    style(10, HPos::Center, VPos::Center).color(&ink),
                ))?;
            }
        }
    }
    Ok(grid)
}

/// Panel size on a grid of `columns`.
fn panel_size(columns: usize) -> (i32, i32) {
    match columns {
        1 => (780, 440),
        2 => (600, 400),
        3 => (440, 360),
        _ => (340, 290),
    }
}

/// Draws `chart` as an SVG string, and says where its plots and legend
/// went.
pub fn render_svg(chart: &Chart) -> Result<(String, Layout), DynErr> {
    let columns = chart.columns.clamp(1, chart.panels.len().max(1));
    let rows = chart.panels.len().div_ceil(columns).max(1) as i32;
    let (pw, ph) = panel_size(columns);
    let width = pw * columns as i32 + 2 * MARGIN;
    let items = legend_items(chart);
    let (pos, legend_h) = legend_layout(&items, MARGIN + 6, width - 2 * MARGIN - 12);
    let legend_top = MARGIN + TITLE_H;
    let grid_top = legend_top + legend_h + 10;
    let height = grid_top + rows * ph + FOOTER_H + MARGIN;
    let lines: Vec<&Lines> = chart
        .panels
        .iter()
        .filter_map(|p| match p {
            Panel::Lines(l) => Some(l),
            _ => None,
        })
        .collect();
    let shared = chart.shared_axes.then(|| ranges(&lines));
    let mut layout = Layout::default();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            chart.title.clone(),
            (width / 2, MARGIN),
            style(18, HPos::Center, VPos::Top),
        ))?;
        draw_legend(&root, &items, &pos, legend_top)?;
        if !items.is_empty() {
            let right = items
                .iter()
                .zip(&pos)
                .map(|((l, _), p)| p.0 + 30 + text_w(l, LEGEND_FONT))
                .max()
                .unwrap_or(0);
            layout.legend = Some(Rect(MARGIN, legend_top, right + 4, legend_top + legend_h));
        }
        for (i, p) in chart.panels.iter().enumerate() {
            let (col, row) = ((i % columns) as i32, (i / columns) as i32);
            let cell = root.clone().shrink(
                (MARGIN + col * pw, grid_top + row * ph),
                (pw as u32, ph as u32),
            );
            match p {
                Panel::Lines(l) => {
                    let own;
                    let r = match &shared {
                        Some(r) => r,
                        None => {
                            own = ranges(&[l]);
                            &own
                        }
                    };
                    layout.plots.push(draw_lines(&root, &cell, l, r)?);
                    layout.series.push(
                        l.series
                            .iter()
                            .filter(|s| s.style.hue != Hue::Reference)
                            .count(),
                    );
                }
                Panel::Bars(b) => {
                    layout.plots.push(draw_bars(&root, &cell, b)?);
                    layout.series.push(
                        b.series
                            .iter()
                            .filter(|s| s.vals.iter().any(|v| v.is_some()))
                            .count(),
                    );
                }
                Panel::Heatmap(hm) => {
                    let range = heat_range(&chart.panels).unwrap_or((0.0, 1.0));
                    layout.plots.push(draw_heatmap(
                        &root,
                        (MARGIN + col * pw, grid_top + row * ph, pw, ph),
                        hm,
                        range,
                    )?);
                    layout.series.push(1);
                }
                Panel::Empty { title, why } => {
                    let (cx, cy) = (MARGIN + col * pw + pw / 2, grid_top + row * ph);
                    root.draw(&Text::new(
                        title.clone(),
                        (cx, cy + 8),
                        style(14, HPos::Center, VPos::Top),
                    ))?;
                    root.draw(&Text::new(
                        why.clone(),
                        (cx, cy + ph / 2),
                        style(12, HPos::Center, VPos::Center).color(&Hue::Reference.rgb()),
                    ))?;
                }
            }
        }
        root.draw(&Text::new(
            chart.footer.clone(),
            (MARGIN, height - MARGIN),
            style(11, HPos::Left, VPos::Bottom).color(&Hue::Reference.rgb()),
        ))?;
        root.present()?;
    }
    let attrs = format!(
        "<svg data-plots=\"{}\" data-legend=\"{}\" data-series=\"{}\" data-max-series=\"{MAX_SERIES}\" ",
        layout
            .plots
            .iter()
            .map(Rect::attr)
            .collect::<Vec<_>>()
            .join(";"),
        layout.legend.map(|r| r.attr()).unwrap_or_default(),
        layout
            .series
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(";")
    );
    Ok((svg.replacen("<svg ", &attrs, 1), layout))
}

/// Draws `chart` into `dir/chart.file`.
pub fn draw(chart: &Chart, dir: &crate::OutDir) -> Result<PathBuf, DynErr> {
    let (svg, _) = render_svg(chart)?;
    dir.write_atomic(chart.file, svg.as_bytes())?;
    Ok(dir.join(chart.file))
}

/// Labels on a y axis from `y0` to `y1`: one per whole count on a short
/// linear count axis (2 to 8), else 8.
fn y_label_count(unit: Axis, log: bool, y0: f64, y1: f64) -> usize {
    if unit == Axis::Count && !log {
        ((y1 - y0).floor() as usize + 1).clamp(2, 8)
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::check_layout;
    use super::*;

    fn bars(vals: &[f64]) -> Bars {
        Bars {
            title: "t".into(),
            y_desc: "y".into(),
            y_unit: Axis::Ns,
            log_y: false,
            stacked: false,
            groups: vals.iter().map(|v| v.to_string()).collect(),
            series: vec![BarSeries {
                name: "s".into(),
                hue: Hue::Reference,
                vals: vals.iter().map(|v| Some(Val::plain(*v))).collect(),
            }],
        }
    }

    #[test]
    fn a_dwarfing_bar_is_cut_and_the_rest_set_the_axis() {
        assert!(bar_cut(&bars(&[1.0, 2.0, 3.0])).is_none());
        let (top, cut) = bar_cut(&bars(&[1.0, 2.0, 30.0])).unwrap();
        assert!(
            cut > 2.0 && cut < 3.0 && top > cut && top < 30.0,
            "{top} {cut}"
        );
        // Two dwarfing bars: the axis follows the rest.
        let (top, _) = bar_cut(&bars(&[1.0, 1.5, 1.2, 40.0, 50.0])).unwrap();
        assert!(top < 2.5, "{top}");
        // Most bars far above one: nothing is cut (the axis would be empty).
        assert!(bar_cut(&bars(&[1.0, 40.0, 50.0])).is_none());
        // Half high, half low: that contrast is the point, so no cut.
        assert!(bar_cut(&bars(&[1.4, 1.4, 0.3, 0.3])).is_none());
    }

    #[test]
    fn rects_overlap_only_when_they_share_area() {
        let a = Rect(0, 0, 10, 10);
        assert!(a.overlaps(&Rect(5, 5, 20, 20)));
        assert!(!a.overlaps(&Rect(10, 0, 20, 10)), "touching edges");
        assert!(!a.overlaps(&Rect(0, 11, 10, 20)));
    }

    fn svg_with(plots: &str, legend: &str, series: &str) -> String {
        format!("<svg data-plots=\"{plots}\" data-legend=\"{legend}\" data-series=\"{series}\" data-max-series=\"6\" width=\"800\" height=\"600\" viewBox=\"0 0 800 600\"></svg>")
    }

    #[test]
    fn the_layout_check_fails_on_each_fault() {
        assert_eq!(
            check_layout(&svg_with(
                "10,100,390,500;410,100,790,500",
                "12,40,700,80",
                "3;6"
            )),
            Ok(())
        );
        let e = check_layout(&svg_with("10,100,390,500", "12,40,700,120", "3")).unwrap_err();
        assert!(
            e.contains("the legend") && e.contains("overlaps plot 0"),
            "{e}"
        );
        let e = check_layout(&svg_with("10,100,390,500;380,100,790,500", "", "3;3")).unwrap_err();
        assert!(e.contains("plot 0") && e.contains("overlaps plot 1"), "{e}");
        let e = check_layout(&svg_with("10,100,390,700", "", "3")).unwrap_err();
        assert!(e.contains("leaves the 800×600 image"), "{e}");
        let e = check_layout(&svg_with("10,100,390,500", "", "7")).unwrap_err();
        assert!(e.contains("draws 7 series, more than 6"), "{e}");
        assert!(check_layout("<svg width=\"1\" height=\"1\"></svg>")
            .unwrap_err()
            .contains("no data-plots"));
    }

    #[test]
    fn count_ticks_are_whole_numbers() {
        assert_eq!(fmt_unit(Axis::Count, 0.5), "");
        assert_eq!(fmt_unit(Axis::Count, 2.0), "2");
        assert_eq!(fmt_tick(Axis::Count, 4.0), "4");
        assert_eq!(fmt_tick(Axis::Bytes, 4096.0), "4K");
    }
}
