//! Comparing runs (typically one per machine): the environment
//! differences first, then the headline figures side by side, then every
//! record matched by its case key against a baseline run, with the ratio
//! of the medians and both 95 % CIs. A change counts only when the two CIs do
//! not overlap *and* the medians differ by more than the noise threshold of
//! the case's kind ([`default_threshold`], calibrated from A/A runs: the
//! same binary run twice on an idle machine; `--threshold` overrides it):
//! rounds make CIs honest, but two runs still land workers and pages
//! differently, and a regression check must not cry wolf.

use crate::fmt_value;
use mpmt_schema::{Placement, Record, Results, Workload};

pub struct Row<'a> {
    pub key: String,
    pub a: &'a Record,
    pub b: &'a Record,
    pub ratio: f64,
    /// The noise threshold applied (a fraction: 0.1 = 10 %).
    pub threshold: f64,
    /// The CIs do not overlap and the change exceeds the threshold.
    pub changed: bool,
    /// Why the two records measure different things, if they do (never
    /// `changed` then).
    pub incomparable: Option<&'static str>,
}

/// Why records `a` and `b` of one case cannot be compared, if they
/// cannot: a bandwidth timed per write (schema 5 or older) against one
/// timed per window.
pub fn incomparable(a: &Record, b: &Record) -> Option<&'static str> {
    let per_write = |r: &Record| {
        r.warnings
            .iter()
            .any(|w| w.kind == mpmt_schema::WarningKind::PerWrite)
    };
    (per_write(a) != per_write(b)).then_some(
        "not comparable: one side timed single writes (schema 5 or older), the other whole windows",
    )
}

/// The default noise threshold of a case: its workload's (see
/// [`crate::readings`]).
pub fn default_threshold(w: Workload, p: Placement) -> f64 {
    crate::readings::noise(w, p)
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
                let why = incomparable(ra, rb);
                rows.push(Row {
                    ratio,
                    threshold,
                    changed: why.is_none() && disjoint && relative_change(ratio) > threshold,
                    incomparable: why,
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

/// True when `b` is worse than `a` by the ratio `b / a` of their
/// medians: slower for times, less for rates, more for memory.
pub fn is_worse(r: &Record, ratio: f64) -> bool {
    if r.unit == mpmt_schema::Unit::BytesPerS {
        ratio < 1.0
    } else {
        ratio > 1.0
    }
}

/// Two or more runs side by side, each against one baseline.
pub struct Multi<'a> {
    pub runs: Vec<&'a Results>,
    pub baseline: usize,
    /// Per run, its comparison with the baseline (None for the baseline).
    pub pairs: Vec<Option<Comparison<'a>>>,
    /// (field, value per run) for every env field that differs.
    pub env_diff: Vec<(String, Vec<String>)>,
}

/// A regression `--fail-above` acts on: a case slower (or, for a rate,
/// lower) than the baseline beyond both the noise and the threshold.
pub struct Regression {
    pub run: String,
    pub key: String,
    pub ratio: f64,
}

/// Compares every run with `runs[baseline]`; `threshold` (a fraction)
/// replaces every case's noise threshold.
pub fn compare_many<'a>(
    runs: Vec<&'a Results>,
    baseline: usize,
    threshold: Option<f64>,
) -> Multi<'a> {
    let envs: Vec<Vec<(String, String)>> = runs
        .iter()
        .map(|r| flat(&serde_json::to_value(&r.env).unwrap_or_default()))
        .collect();
    let mut env_diff = Vec::new();
    for (k, _) in &envs[0] {
        let vals: Vec<String> = envs
            .iter()
            .map(|e| {
                e.iter()
                    .find(|(kk, _)| kk == k)
                    .map(|x| x.1.clone())
                    .unwrap_or_default()
            })
            .collect();
        if vals.iter().any(|v| v != &vals[0]) {
            env_diff.push((k.clone(), vals));
        }
    }
    let pairs = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (i != baseline).then(|| compare(runs[baseline], r, threshold)))
        .collect();
    Multi {
        runs,
        baseline,
        pairs,
        env_diff,
    }
}

impl Multi<'_> {
    /// Cases that got worse than the baseline beyond their noise (CIs
    /// apart and past the case's threshold) and by more than `pct` per
    /// cent.
    pub fn regressions(&self, pct: f64) -> Vec<Regression> {
        let mut out = Vec::new();
        for (i, c) in self.pairs.iter().enumerate() {
            let Some(c) = c else { continue };
            for r in &c.rows {
                if r.changed && is_worse(r.a, r.ratio) && relative_change(r.ratio) > pct / 100.0 {
                    out.push(Regression {
                        run: self.runs[i].run.id.clone(),
                        key: r.key.clone(),
                        ratio: r.ratio,
                    });
                }
            }
        }
        out
    }

    /// "1", "2 (baseline)", … with each run's id.
    fn run_label(&self, i: usize) -> String {
        format!(
            "#{} {}{}",
            i + 1,
            self.runs[i].run.id,
            if i == self.baseline {
                " (baseline)"
            } else {
                ""
            }
        )
    }

    /// The side-by-side comparison as Markdown (also printed).
    pub fn markdown(&self) -> String {
        let base = self.runs[self.baseline];
        let mut s = format!(
            "# mpmt compare: {} runs, baseline {}\n\n| run | id | started | machine | records |\n|---|---|---|---|---|\n",
            self.runs.len(),
            base.run.id
        );
        for (i, r) in self.runs.iter().enumerate() {
            s += &format!(
                "| #{}{} | {} | {} | {}, {} CPUs | {} |\n",
                i + 1,
                if i == self.baseline {
                    " (baseline)"
                } else {
                    ""
                },
                r.run.id,
                r.run.start_time,
                r.env.cpu_model,
                r.env.online_cpus,
                r.records.len()
            );
        }
        s += "\n## Environment differences\n\n";
        let header = |s: &mut String, first: &str| {
            *s += &format!("| {first} |");
            for i in 0..self.runs.len() {
                *s += &format!(" #{} |", i + 1);
            }
            *s += "\n|---|";
            for _ in 0..self.runs.len() {
                *s += "---|";
            }
            *s += "\n";
        };
        if self.env_diff.is_empty() {
            s += "The recorded environments are identical.\n";
        } else {
            header(&mut s, "field");
            for (k, vals) in &self.env_diff {
                s += &format!("| {k} | {} |\n", vals.join(" | "));
            }
        }
        s += "\n## Headline figures\n\nMedian (95 % CI); for each run but the baseline, the ratio to the baseline.\n\n";
        header(&mut s, "figure");
        for (f, recs) in crate::headline::table(&self.runs) {
            s += &format!("| {} |", f.label);
            let base = recs[self.baseline];
            for (i, r) in recs.iter().enumerate() {
                s += &match r {
                    None => " — |".to_string(),
                    Some(r) => {
                        let ratio = match base {
                            Some(b) if i != self.baseline => {
                                format!(", {}×", fmt_ratio(r.stats.median / b.stats.median))
                            }
                            _ => String::new(),
                        };
                        format!(
                            " {} ({}){ratio} |",
                            fmt_value(r.stats.median, r.unit),
                            ci(r)
                        )
                    }
                };
            }
            s += "\n";
        }
        s += "\n## Every case against the baseline\n\nA case is `changed` only when its 95 % CI and the baseline's do not overlap and the medians differ by more than the case's noise threshold.\n\n";
        for (i, c) in self.pairs.iter().enumerate() {
            let Some(c) = c else { continue };
            let changed = c.rows.iter().filter(|r| r.changed).count();
            s += &format!(
                "### {} vs the baseline\n\n{} matched, {changed} changed beyond the noise, {} only in the baseline, {} only in #{}.\n\n",
                self.run_label(i),
                c.rows.len(),
                c.only_a.len(),
                c.only_b.len(),
                i + 1
            );
            s += "| case | baseline median | baseline 95 % CI | median | 95 % CI | ratio | threshold | |\n|---|---|---|---|---|---|---|---|\n";
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
                    match (r.changed, is_worse(r.a, r.ratio)) {
                        _ if r.incomparable.is_some() => r.incomparable.unwrap_or_default(),
                        (false, _) => "within noise",
                        (true, true) => "changed (worse)",
                        (true, false) => "changed (better)",
                    }
                );
            }
            for (name, keys) in [
                ("Only in the baseline", &c.only_a),
                ("Only in this run", &c.only_b),
            ] {
                if !keys.is_empty() {
                    s += &format!("\n{name}:\n\n");
                    for k in keys {
                        s += &format!("- {k}\n");
                    }
                }
            }
            s += "\n";
        }
        s
    }

    /// The headline figures as small multiples: a panel per figure, a
    /// bar per run (the baseline first in its own colour), 95 % CIs.
    pub fn chart(&self) -> crate::draw::Chart {
        use crate::draw::*;
        let shown: Vec<usize> = std::iter::once(self.baseline)
            .chain((0..self.runs.len()).filter(|&i| i != self.baseline))
            .take(MAX_SERIES)
            .collect();
        let panels = crate::headline::table(&self.runs)
            .into_iter()
            .map(|(f, recs)| {
                let unit = recs.iter().flatten().next().map(|r| r.unit);
                Panel::Bars(Bars {
                    title: f.label.to_string(),
                    y_desc: match unit {
                        Some(mpmt_schema::Unit::BytesPerS) => "bytes per second",
                        Some(mpmt_schema::Unit::Bytes) => "bytes",
                        _ => "time",
                    }
                    .into(),
                    y_unit: match unit {
                        Some(mpmt_schema::Unit::BytesPerS) => Axis::BytesPerS,
                        Some(mpmt_schema::Unit::Bytes) => Axis::Bytes,
                        _ => Axis::Ns,
                    },
                    log_y: false,
                    stacked: false,
                    groups: vec![String::new()],
                    series: shown
                        .iter()
                        .map(|&i| BarSeries {
                            name: self.run_label(i),
                            hue: Hue::Run(i),
                            vals: vec![recs[i].map(Val::of)],
                        })
                        .collect(),
                })
            })
            .collect();
        let mut c = Chart::new("compare.svg", "Headline figures, run by run", panels);
        c.columns = c.panels.len().clamp(1, 4);
        c.footer = format!(
            "mpmt compare · {}",
            shown
                .iter()
                .map(|&i| {
                    let r = self.runs[i];
                    format!("#{} = {} ({})", i + 1, r.run.id, r.env.cpu_model)
                })
                .collect::<Vec<_>>()
                .join(" · ")
        );
        if shown.len() < self.runs.len() {
            c.footer += &format!(
                " · {} more runs in compare.md",
                self.runs.len() - shown.len()
            );
        }
        c
    }
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
