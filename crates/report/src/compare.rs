//! Comparing two runs (typically from two machines): the environment diff
//! first, then every record matched by its case key with the ratio B/A of
//! the medians and both 95 % CIs. A change counts only when the two CIs do
//! not overlap; anything else is within the noise.

use crate::fmt_value;
use mpmt_schema::{Record, Results};
use plotters::prelude::*;
use std::path::Path;

pub struct Row<'a> {
    pub key: String,
    pub a: &'a Record,
    pub b: &'a Record,
    pub ratio: f64,
    /// The CIs do not overlap.
    pub changed: bool,
}

pub struct Comparison<'a> {
    /// (field, A's value, B's value) for every differing env field.
    pub env_diff: Vec<(String, String, String)>,
    pub rows: Vec<Row<'a>>,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
}

fn flat(v: &serde_json::Value) -> Vec<(String, String)> {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string().trim_matches('"').to_string()))
            .collect(),
        _ => vec![],
    }
}

/// Matches `a` and `b` record by record.
pub fn compare<'a>(a: &'a Results, b: &'a Results) -> Comparison<'a> {
    let ea = flat(&serde_json::to_value(&a.env).unwrap_or_default());
    let eb = flat(&serde_json::to_value(&b.env).unwrap_or_default());
    let env_diff = ea
        .iter()
        .filter_map(|(k, va)| {
            let vb = eb
                .iter()
                .find(|(kb, _)| kb == k)
                .map(|x| x.1.clone())
                .unwrap_or_default();
            (va != &vb).then(|| (k.clone(), va.clone(), vb))
        })
        .collect();
    let mut rows = Vec::new();
    let mut only_a = Vec::new();
    for ra in &a.records {
        let key = ra.key();
        match b.records.iter().find(|rb| rb.key() == key) {
            Some(rb) => rows.push(Row {
                ratio: rb.stats.median / ra.stats.median,
                changed: rb.stats.ci95_low > ra.stats.ci95_high
                    || rb.stats.ci95_high < ra.stats.ci95_low,
                key,
                a: ra,
                b: rb,
            }),
            None => only_a.push(key),
        }
    }
    let only_b = b
        .records
        .iter()
        .map(|r| r.key())
        .filter(|k| !a.records.iter().any(|ra| &ra.key() == k))
        .collect();
    Comparison {
        env_diff,
        rows,
        only_a,
        only_b,
    }
}

fn ci(r: &Record) -> String {
    format!(
        "{} – {}",
        fmt_value(r.stats.ci95_low, r.unit),
        fmt_value(r.stats.ci95_high, r.unit)
    )
}

/// Markdown (also printed to the terminal).
pub fn markdown(c: &Comparison, a: &Results, b: &Results) -> String {
    let mut s = format!(
        "# mpmt compare: A = {} vs B = {}\n\n## Environment\n\n",
        a.run.id, b.run.id
    );
    if c.env_diff.is_empty() {
        s += "The recorded environments are identical.\n";
    } else {
        s += "| field | A | B |\n|---|---|---|\n";
        for (k, va, vb) in &c.env_diff {
            s += &format!("| {k} | {va} | {vb} |\n");
        }
    }
    let changed = c.rows.iter().filter(|r| r.changed).count();
    s += &format!(
        "\n## Records\n\n{} matched, {changed} changed beyond the noise (95 % CIs do not overlap), {} only in A, {} only in B.\n\n",
        c.rows.len(),
        c.only_a.len(),
        c.only_b.len()
    );
    s += "| case | A median | A 95 % CI | B median | B 95 % CI | B/A | |\n|---|---|---|---|---|---|---|\n";
    for r in &c.rows {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.key,
            fmt_value(r.a.stats.median, r.a.unit),
            ci(r.a),
            fmt_value(r.b.stats.median, r.b.unit),
            ci(r.b),
            fmt_ratio(r.ratio),
            if r.changed { "changed" } else { "within noise" }
        );
    }
    for (name, keys) in [("Only in A", &c.only_a), ("Only in B", &c.only_b)] {
        if !keys.is_empty() {
            s += &format!("\n## {name}\n\n");
            for k in keys {
                s += &format!("- {k}\n");
            }
        }
    }
    s
}

/// B/A per matched record as an SVG: one point per case, changed ones red.
pub fn svg(c: &Comparison, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = c.rows.len().max(1);
    let (mut lo, mut hi) = c
        .rows
        .iter()
        .map(|r| r.ratio)
        .filter(|x| x.is_finite() && *x > 0.0)
        .fold((1.0f64, 1.0f64), |(a, b), x| (a.min(x), b.max(x)));
    lo /= 1.3;
    hi *= 1.3;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(
                "B / A, median per case (red: CIs do not overlap)",
                ("sans-serif", 17),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, (lo..hi).log_scale())?;
        ch.configure_mesh()
            .x_desc("case (in results order)")
            .y_desc("ratio B / A")
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()?;
        ch.draw_series(LineSeries::new(
            vec![(0.0, 1.0), (n as f64, 1.0)],
            BLACK.mix(0.5),
        ))?
        .label("no change")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
        ch.draw_series(
            c.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.changed)
                .map(|(i, r)| Circle::new((i as f64 + 0.5, r.ratio), 3, BLUE.filled())),
        )?
        .label("within noise")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, BLUE.filled()));
        ch.draw_series(
            c.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.changed)
                .map(|(i, r)| Circle::new((i as f64 + 0.5, r.ratio), 4, RED.filled())),
        )?
        .label("changed")
        .legend(|(x, y)| Circle::new((x + 9, y), 4, RED.filled()));
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
        root.present()?;
    }
    crate::write_atomic(path, svg.as_bytes())?;
    Ok(())
}

/// B/A as a number, or what it is when it is not one: both zero (a
/// counter that lost no update in either run) is "same (0 / 0)"; a zero A
/// makes B "new (A is 0)". Never "NaN" or "inf".
pub fn fmt_ratio(r: f64) -> String {
    if r.is_nan() {
        "same (0 / 0)".into()
    } else if r.is_infinite() {
        "new (A is 0)".into()
    } else {
        format!("{r:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_ratio;

    #[test]
    fn ratios_never_print_nan_or_inf() {
        assert_eq!(fmt_ratio(f64::NAN), "same (0 / 0)");
        assert_eq!(fmt_ratio(f64::INFINITY), "new (A is 0)");
        assert_eq!(fmt_ratio(1.23456), "1.235");
    }
}
