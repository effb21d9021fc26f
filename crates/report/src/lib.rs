//! mpmt-report: turns results into things people read — the terminal
//! summary, `results.csv`, one SVG per question (`charts/`, one file each,
//! drawn through `draw`), the claims (`claims/`, one file each), index.html
//! and comparisons. It reads `mpmt-schema` records only: it never measures
//! and links nothing that forks, maps or talks IPC. Derived figures
//! (speedups, crossovers) are computed here, in `derive`.

use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{Metric, Record, Results};
use std::path::Path;

pub mod charts;
pub mod claims;
pub mod compare;
pub mod derive;
pub mod draw;
pub mod export;
pub mod headline;
pub mod html;
pub mod ledger;
pub mod outdir;
pub mod readings;

pub use derive::{crossover_text, crossovers};

/// What `render` wrote and found.
pub struct Rendered {
    /// The charts, then index.html.
    pub files: Vec<std::path::PathBuf>,
    /// Every claim with its verdict.
    pub claims: Vec<claims::Claim>,
    /// The chart files drawn (those the run had data for).
    pub charts: Vec<String>,
}

impl Rendered {
    /// The verdict table for the terminal (see [`verdict_text`]).
    pub fn verdicts(&self, dir: &Path, measured_only: bool) -> String {
        verdict_text(&self.claims, &self.charts, dir, measured_only)
    }
}

/// Draws every chart the results have data for and writes index.html into
/// `dir`. Reads the results only; never measures.
pub fn render(results: &Results, dir: &OutDir) -> anyhow::Result<Rendered> {
    use anyhow::Context;
    let derived = derive::with_speedups(results);
    let results = &derived;
    let charts = charts::all(results);
    let mut files = Vec::new();
    for c in &charts {
        let f = charts::draw(c, dir).map_err(|e| anyhow::anyhow!("drawing {}: {e}", c.file))?;
        files.push(f);
    }
    let claims = claims::all(results);
    let index = dir.join("index.html");
    dir.write_atomic(
        "index.html",
        html::page(results, &charts, &claims).as_bytes(),
    )
    .with_context(|| format!("cannot write {}", index.display()))?;
    files.push(index);
    Ok(Rendered {
        files,
        claims,
        charts: charts.iter().map(|c| c.file.to_string()).collect(),
    })
}

pub use outdir::{write_atomic, OutDir};

pub use mpmt_schema::units::fmt_value;

fn size_col(r: &Record) -> String {
    (readings::of(r.workload).size)(r)
}

fn switches_col(r: &Record) -> String {
    match (
        r.checks.voluntary_switches_per_op,
        r.checks.involuntary_switches_per_op,
    ) {
        (Some(v), Some(i)) => format!("{v:.2}/{i:.2}"),
        _ => "-".into(),
    }
}

/// The verdict table for the terminal: per claim its verdict, the claim,
/// the one number behind it and the chart that shows it (a path under
/// `dir` when the chart was drawn). `measured_only` leaves out the claims
/// the run had no data for (a one-question `mpmt run`).
pub fn verdict_text(
    claims: &[claims::Claim],
    charts: &[String],
    dir: &Path,
    measured_only: bool,
) -> String {
    let shown: Vec<&claims::Claim> = claims
        .iter()
        .filter(|c| !measured_only || c.verdict != claims::Verdict::NotMeasured)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let w = shown
        .iter()
        .map(|c| c.verdict.word().len())
        .max()
        .unwrap_or(0);
    let pad = " ".repeat(w + 4);
    let line = |c: &claims::Claim, factor: String| {
        let mut s = format!("  {:<w$}  {}\n", c.verdict.word(), c.statement);
        if c.verdict != claims::Verdict::NotMeasured {
            let f = match factor.is_empty() {
                true => String::new(),
                false => format!("{factor}: "),
            };
            s += &format!("{pad}{f}{}\n", c.headline);
        }
        if let Some(f) = c.chart().filter(|f| charts.iter().any(|d| d == f)) {
            s += &format!("{pad}chart: {}\n", dir.join(f).display());
        }
        s
    };
    let mut s = String::from(
        "Claims vs measurements, as a ledger (verdict, claim, how many times one side pays the other and the number behind it, its chart):\n",
    );
    let (all, unmeasured) = ledger::entries(claims);
    for col in ledger::Column::ALL {
        let here = ledger::column(&all, col);
        if here.is_empty() {
            continue;
        }
        s += &format!("{}:\n", col.heading());
        for e in here {
            s += &line(e.claim, ledger::factor_text(e));
        }
    }
    if !measured_only && !unmeasured.is_empty() {
        s += "not measured in this run:\n";
        for c in unmeasured {
            s += &line(c, String::new());
        }
    }
    let said = ledger::advice(&all);
    if !said.is_empty() {
        s += "What this means here:\n";
        for a in said {
            s += &format!("- {a}\n");
        }
    }
    s
}

/// Why a stream beats memcpy of its own chunk size, when it does: across
/// CPUs the writer's pass and the reader's pass run at once, each a single
/// write or read stream, where a copy reads and writes on one CPU.
pub fn above_memcpy(r: &Record) -> Option<&'static str> {
    let f = r.checks.fraction_of_memcpy?;
    (f > 1.0).then_some(match r.placement {
        mpmt_schema::Placement::SameCpu => {
            "above memcpy: the chunk stays in cache between the writer and the reader"
        }
        _ => "above memcpy: writer and reader each make one pass, in parallel on two CPUs, where a copy reads and writes on one",
    })
}

/// How a stream reads against memcpy of its chunk size done once per
/// pass its path makes: "39% of 2 memcpys", or "at the memcpy floor" when
/// above it within the two intervals.
pub fn memcpy_note(r: &Record) -> Option<String> {
    let f = r.checks.fraction_of_memcpy?;
    if r.checks.at_memcpy_floor == Some(true) {
        return Some("at the memcpy floor (within its interval)".into());
    }
    Some(match r.checks.memcpy_copies.unwrap_or(1) {
        1 => format!("{:.0}% of memcpy", f * 100.0),
        k => format!("{:.0}% of {k} memcpys", f * 100.0),
    })
}

/// How a small message's round trip between two CPUs reads against the
/// cache-line round trip measured beside each of its rounds: "1.14× the
/// line's 102 ns".
pub fn line_floor_note(r: &Record) -> Option<String> {
    let (f, x) = (r.checks.line_floor_ns?, r.checks.line_floor_ratio?);
    Some(format!("{x:.2}× the line's {} beside it", fmt_ns(f)))
}

/// "bimodal: 6.0 ms (3 rounds) / 11.0 ms (3 rounds)" when a record's
/// rounds fall into separate groups.
pub fn modes_text(r: &Record) -> Option<String> {
    (!r.modes.is_empty()).then(|| {
        let parts: Vec<String> = r
            .modes
            .iter()
            .map(|m| format!("{} ({} rounds)", fmt_value(m.median, r.unit), m.rounds))
            .collect();
        format!("bimodal: {}", parts.join(" / "))
    })
}

/// The summary's rows, header first: one per record, the cells the
/// terminal table and the Markdown export share.
pub fn summary_rows(records: &[Record]) -> Vec<Vec<String>> {
    let speedups = derive::speedups(records);
    let header = [
        "workload",
        "backend",
        "channel",
        "variant",
        "placement",
        "n",
        "size",
        "median",
        "95% CI",
        "rounds",
        "p99",
        "vol/invol sw",
        "notes",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in records {
        let s = &r.stats;
        let mut notes = Vec::new();
        if let Some(m) = modes_text(r) {
            notes.push(m);
        }
        if let Some(o) = r.checks.overhead_ns {
            notes.push(format!("overhead {}", fmt_ns(o)));
        }
        notes.extend(line_floor_note(r));
        if let Some(n) = memcpy_note(r) {
            notes.push(n);
            if let Some(why) = above_memcpy(r) {
                notes.push(why.into());
            }
        }
        if let (Some(c), Some(t)) = (r.checks.compute_ns, r.checks.teardown_ns) {
            notes.push(format!(
                "setup {} / compute {} / teardown {}",
                fmt_ns(r.setup_ns as f64),
                fmt_ns(c),
                fmt_ns(t)
            ));
        }
        if let Some(x) = speedups.get(&r.key()) {
            notes.push(format!("speedup {x:.2}×"));
        }
        if let (Some(l), Some(e)) = (r.checks.lost_updates, r.checks.expected_value) {
            notes.push(format!("lost {l:.0} of {e}"));
        }
        if let Some(rss) = r.checks.rss_bytes {
            notes.push(format!("rss {}", fmt_bytes(rss as u64)));
        }
        if let Some(rss) = r.checks.parent_rss_bytes {
            notes.push(format!("parent rss {}", fmt_bytes(rss)));
        }
        if !r.warnings.is_empty() {
            notes.push(format!("{} warning(s)", r.warnings.len()));
        }
        rows.push(vec![
            r.workload.to_string(),
            r.backend.to_string(),
            draw::channel_name(r.channel).to_string(),
            r.variant.map(|v| v.name()).unwrap_or_else(|| "-".into()),
            r.placement.to_string(),
            r.workers.to_string(),
            size_col(r),
            fmt_value(s.median, r.unit),
            format!(
                "{} – {}",
                fmt_value(s.ci95_low, r.unit),
                fmt_value(s.ci95_high, r.unit)
            ),
            r.rounds.to_string(),
            if matches!(r.metric, Metric::Bandwidth | Metric::Pss) {
                "-".into()
            } else {
                fmt_value(s.p99, r.unit)
            },
            switches_col(r),
            notes.join("; "),
        ]);
    }
    rows
}

/// A fixed-width table, one row per record.
pub fn summary_table(records: &[Record]) -> String {
    let rows = summary_rows(records);
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (cols - 1)));
            out.push('\n');
        }
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

type Column = (&'static str, fn(&Record) -> String);

/// results.csv's columns, in order, each with how to read it off a record.
pub const CSV: [Column; 61] = [
    ("workload", |r| r.workload.to_string()),
    ("backend", |r| r.backend.to_string()),
    ("channel", |r| opt(r.channel)),
    ("variant", |r| r.variant_name()),
    ("placement", |r| r.placement.to_string()),
    ("cpus", |r| {
        r.cpus
            .iter()
            .map(|c| c.map(|x| x.to_string()).unwrap_or_else(|| "-".into()))
            .collect::<Vec<_>>()
            .join(" ")
    }),
    ("workers", |r| r.workers.to_string()),
    ("size_bytes", |r| r.size_bytes.to_string()),
    ("working_set_bytes", |r| r.working_set_bytes.to_string()),
    ("metric", |r| r.metric.to_string()),
    ("unit", |r| r.unit.to_string()),
    ("ops_per_sample", |r| r.ops_per_sample.to_string()),
    ("samples", |r| r.samples.to_string()),
    ("min", |r| r.stats.min.to_string()),
    ("median", |r| r.stats.median.to_string()),
    ("mean", |r| r.stats.mean.to_string()),
    ("p90", |r| r.stats.p90.to_string()),
    ("p99", |r| r.stats.p99.to_string()),
    ("p999", |r| r.stats.p999.to_string()),
    ("max", |r| r.stats.max.to_string()),
    ("stddev", |r| r.stats.stddev.to_string()),
    ("cv", |r| r.stats.cv.to_string()),
    ("ci95_low", |r| r.stats.ci95_low.to_string()),
    ("ci95_high", |r| r.stats.ci95_high.to_string()),
    ("rounds", |r| r.rounds.to_string()),
    ("round_medians", |r| {
        r.round_medians
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }),
    ("modes", |r| modes_text(r).unwrap_or_default()),
    ("setup_ns", |r| r.setup_ns.to_string()),
    ("payload_verified", |r| opt(r.checks.payload_verified)),
    ("messages_verified", |r| opt(r.checks.messages_verified)),
    ("voluntary_switches_per_op", |r| {
        opt(r.checks.voluntary_switches_per_op)
    }),
    ("involuntary_switches_per_op", |r| {
        opt(r.checks.involuntary_switches_per_op)
    }),
    ("overhead_ns", |r| opt(r.checks.overhead_ns)),
    ("hop_ns", |r| opt(r.checks.hop_ns)),
    ("fraction_of_memcpy", |r| opt(r.checks.fraction_of_memcpy)),
    ("memcpy_bytes_per_s", |r| opt(r.checks.memcpy_bytes_per_s)),
    ("memcpy_copies", |r| opt(r.checks.memcpy_copies)),
    ("at_memcpy_floor", |r| opt(r.checks.at_memcpy_floor)),
    ("channel_capacity_bytes", |r| {
        opt(r.checks.channel_capacity_bytes)
    }),
    ("chunks_per_window", |r| opt(r.checks.chunks_per_window)),
    ("line_floor_ns", |r| opt(r.checks.line_floor_ns)),
    ("line_floor_ratio", |r| opt(r.checks.line_floor_ratio)),
    ("elements", |r| opt(r.checks.elements)),
    ("elements_verified", |r| opt(r.checks.elements_verified)),
    ("compute_ns", |r| opt(r.checks.compute_ns)),
    ("teardown_ns", |r| opt(r.checks.teardown_ns)),
    ("elements_per_s", |r| opt(r.checks.elements_per_s)),
    ("speedup", |r| opt(r.checks.speedup)),
    ("workers_reaped", |r| opt(r.checks.workers_reaped)),
    ("expected_value", |r| opt(r.checks.expected_value)),
    ("final_value", |r| opt(r.checks.final_value)),
    ("lost_updates", |r| opt(r.checks.lost_updates)),
    ("other_cpu_share", |r| opt(r.checks.other_cpu_share)),
    ("lost_updates_max", |r| opt(r.checks.lost_updates_max)),
    ("increments", |r| opt(r.checks.increments)),
    ("groups", |r| opt(r.checks.groups)),
    ("loops", |r| opt(r.checks.loops)),
    ("messages_per_s", |r| opt(r.checks.messages_per_s)),
    ("rss_bytes", |r| opt(r.checks.rss_bytes)),
    ("parent_rss_bytes", |r| opt(r.checks.parent_rss_bytes)),
    ("warnings", |r| {
        r.warnings
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }),
];

/// results.csv as a string: one row per record.
pub fn csv_string(records: &[Record]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV.iter().map(|c| c.0))?;
    for r in records {
        w.write_record(CSV.iter().map(|c| (c.1)(r)))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Reads a results.json of this version or an older readable one.
pub fn load_results(path: &Path) -> anyhow::Result<Results> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Results::from_json(&text).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_schema::{summarize, Backend, Channel, Checks, Placement, Unit};

    fn rec() -> Record {
        Record {
            workload: mpmt_schema::Workload::Latency,
            backend: Backend::Fork,
            channel: Some(Channel::Pipe),
            variant: None,
            placement: Placement::SameCpu,
            cpus: vec![Some(0), Some(0)],
            workers: 2,
            size_bytes: 8,
            working_set_bytes: 0,
            metric: Metric::Rtt,
            unit: Unit::Ns,
            ops_per_sample: 1,
            samples: 3,
            stats: summarize(&[4000.0, 4100.0, 4200.0]),
            rounds: 1,
            round_medians: vec![4100.0],
            modes: vec![],
            setup_ns: 250_000,
            checks: Checks {
                payload_verified: Some(true),
                ..Default::default()
            },
            warnings: vec![mpmt_schema::Warning::new(
                mpmt_schema::WarningKind::Noisy,
                "a, b",
            )],
            values: vec![],
        }
    }

    #[test]
    fn csv_has_header_and_quoted_warnings() {
        let s = csv_string(&[rec()]).unwrap();
        let mut lines = s.lines();
        let header: Vec<&str> = CSV.iter().map(|c| c.0).collect();
        assert_eq!(lines.next().unwrap(), header.join(","));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("latency,fork,pipe,,same-cpu,0 0,2,8,0,rtt,ns,1,3,4000,4100,"),
            "{row}"
        );
        assert!(row.ends_with("\"noisy: a, b\""), "{row}");
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn table_shows_each_record() {
        let t = summary_table(&[rec(), rec()]);
        assert_eq!(t.lines().count(), 4);
        assert!(t.lines().next().unwrap().contains("variant"));
        assert!(t.contains("4.10 µs"), "{t}");
        assert!(t.contains("1 warning(s)"), "{t}");
    }
}
