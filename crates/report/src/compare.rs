//! Comparing two runs (typically from two machines): the environment diff
//! first, then every record matched by its case key with the ratio B/A of
//! the medians and both 95 % CIs. A change counts only when the two CIs do
//! not overlap *and* the medians differ by more than the noise threshold of
//! the case's kind ([`default_threshold`], calibrated from A/A runs: the
//! same binary run twice on an idle machine; `--threshold` overrides it):
//! rounds make CIs honest, but two runs still land workers and pages
//! differently, and a regression check must not cry wolf.

use crate::fmt_value;
use mpmt_schema::{Placement, Record, Results, Workload};
use plotters::prelude::*;
use std::path::Path;

pub struct Row<'a> {
    pub key: String,
    pub a: &'a Record,
    pub b: &'a Record,
    pub ratio: f64,
    /// The noise threshold applied (a fraction: 0.1 = 10 %).
    pub threshold: f64,
    /// The CIs do not overlap and the change exceeds the threshold.
    pub changed: bool,
}

/// The default noise threshold of a case: the relative difference between
/// two medians that A/A runs on a 2-vCPU VM stayed under for 19 cases in
/// 20 (see the README's calibration; `mpmt selftest aa` measures it
/// anew). Blocking hand-offs across CPUs wait for the hypervisor to wake
/// a vCPU and vary most between runs; on one CPU they repeat closely.
pub fn default_threshold(w: Workload, p: Placement) -> f64 {
    let one_cpu = p == Placement::SameCpu;
    match w {
        Workload::CtxSwitch | Workload::Latency | Workload::Bandwidth if one_cpu => 0.10,
        Workload::CtxSwitch | Workload::Latency | Workload::Bandwidth => 0.30,
        Workload::DataParallel => 0.35,
        Workload::Counter => 0.30,
        Workload::Create => 0.15,
    }
}

/// How much two medians differ, symmetric in A and B: 0.25 whether B is
/// 1.25 × A or A is 1.25 × B.
pub fn relative_change(ratio: f64) -> f64 {
    if ratio > 0.0 && ratio.is_finite() {
        ratio.max(1.0 / ratio) - 1.0
    } else if ratio.is_nan() {
        0.0
    } else {
        f64::INFINITY
    }
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

/// Matches `a` and `b` record by record; `threshold` (a fraction)
/// replaces every case's default.
pub fn compare<'a>(a: &'a Results, b: &'a Results, threshold: Option<f64>) -> Comparison<'a> {
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
            Some(rb) => {
                let ratio = rb.stats.median / ra.stats.median;
                let threshold =
                    threshold.unwrap_or_else(|| default_threshold(ra.workload, ra.placement));
                let disjoint = rb.stats.ci95_low > ra.stats.ci95_high
                    || rb.stats.ci95_high < ra.stats.ci95_low;
                rows.push(Row {
                    ratio,
                    threshold,
                    changed: disjoint && relative_change(ratio) > threshold,
                    key,
                    a: ra,
                    b: rb,
                })
            }
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

/// An A/A comparison's verdict: per kind of case (workload and whether on
/// one CPU), how many cases were flagged and the relative change 19 in 20
/// stayed under, against the threshold in force.
pub fn aa_summary(c: &Comparison) -> String {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &c.rows {
        let kind = format!(
            "{} {}",
            r.a.workload,
            if r.a.placement == Placement::SameCpu {
                "same-cpu"
            } else {
                "other placements"
            }
        );
        by.entry(kind).or_default().push(r);
    }
    let flagged = c.rows.iter().filter(|r| r.changed).count();
    let rate = flagged as f64 / c.rows.len().max(1) as f64;
    let mut s = format!(
        "# mpmt selftest aa\n\nTwo identical runs: {flagged} of {} cases flagged as changed ({:.1} %; a regression check needs at most 5 %).\n\n| kind | cases | flagged | change 19 in 20 stayed under | threshold |\n|---|---|---|---|---|\n",
        c.rows.len(),
        100.0 * rate
    );
    for (kind, rows) in &by {
        let mut ch: Vec<f64> = rows
            .iter()
            .map(|r| relative_change(r.ratio))
            .filter(|x| x.is_finite())
            .collect();
        ch.sort_by(f64::total_cmp);
        let p95 = mpmt_schema::stats::quantile_sorted(&ch, 0.95);
        s += &format!(
            "| {kind} | {} | {} | {:.1} % | {:.0} % |\n",
            rows.len(),
            rows.iter().filter(|r| r.changed).count(),
            100.0 * p95,
            100.0 * rows[0].threshold
        );
    }
    s += &format!(
        "\nVerdict: {}\n",
        if rate <= 0.05 {
            "the thresholds hold on this machine."
        } else {
            "too many false alarms on this machine: raise `compare --threshold` to the changes above, or find what disturbs the runs (see the warnings in each run's report)."
        }
    );
    s
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
        "\n## Records\n\n{} matched, {changed} changed beyond the noise (95 % CIs do not overlap and the medians differ by more than the case's threshold), {} only in A, {} only in B.\n\n",
        c.rows.len(),
        c.only_a.len(),
        c.only_b.len()
    );
    s += "| case | A median | A 95 % CI | B median | B 95 % CI | B/A | threshold | |\n|---|---|---|---|---|---|---|---|\n";
    for r in &c.rows {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | ±{:.0} % | {} |\n",
            r.key,
            fmt_value(r.a.stats.median, r.a.unit),
            ci(r.a),
            fmt_value(r.b.stats.median, r.b.unit),
            ci(r.b),
            fmt_ratio(r.ratio),
            100.0 * r.threshold,
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
                "B / A, median per case (red: changed beyond the noise)",
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
    use super::*;

    #[test]
    fn change_is_symmetric_and_defined_for_zeros() {
        assert!((relative_change(1.25) - 0.25).abs() < 1e-12);
        assert!((relative_change(0.8) - 0.25).abs() < 1e-12);
        assert_eq!(relative_change(f64::NAN), 0.0);
        assert_eq!(relative_change(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn ratios_never_print_nan_or_inf() {
        assert_eq!(fmt_ratio(f64::NAN), "same (0 / 0)");
        assert_eq!(fmt_ratio(f64::INFINITY), "new (A is 0)");
        assert_eq!(fmt_ratio(1.23456), "1.235");
    }
}
