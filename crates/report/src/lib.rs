//! mpmt-report: turns results into things people read. Reads result records
//! only; never measures. This first part renders the terminal summary table
//! and `results.csv`.

use mpmt_core::schema::{Record, Results};
use mpmt_core::units::{fmt_bytes, fmt_count, fmt_ns, fmt_rate};
use std::path::Path;

pub mod charts;
pub mod claims;
pub mod compare;
pub mod html;

/// Draws every chart the results have data for and writes index.html into
/// `dir`. Returns the files written. Reads the results only; never measures.
pub fn render(results: &Results, dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    use anyhow::Context;
    // Derived values (speedups) are recomputed from the records themselves.
    let mut derived = results.clone();
    mpmt_core::dataparallel::annotate_speedups(&mut derived.records);
    let results = &derived;
    let charts = charts::all(results);
    let mut files = Vec::new();
    for c in &charts {
        let f = charts::draw(c, dir).map_err(|e| anyhow::anyhow!("drawing {}: {e}", c.file))?;
        files.push(f);
    }
    let claims = claims::all(results);
    let index = dir.join("index.html");
    std::fs::write(&index, html::page(results, &charts, &claims))
        .with_context(|| format!("cannot write {}", index.display()))?;
    files.push(index);
    Ok(files)
}

/// The median with its unit, as a person reads it.
pub fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "ns" => fmt_ns(v),
        "bytes/s" => fmt_rate(v),
        "bytes" => fmt_bytes(v.max(0.0) as u64),
        u => format!("{v:.3} {u}"),
    }
}

fn size_col(r: &Record) -> String {
    match r.workload.as_str() {
        "ctx-switch" if r.working_set_bytes > 0 => format!("ws {}", fmt_bytes(r.working_set_bytes)),
        "ctx-switch" => "-".into(),
        "data-parallel" => format!("{} el", fmt_count(r.size_bytes / 8)),
        "counter" => format!("×{}", fmt_count(r.checks.increments.unwrap_or(0))),
        "spawn" => format!("heap {}", fmt_bytes(r.size_bytes)),
        _ => fmt_bytes(r.size_bytes),
    }
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

/// A fixed-width table, one row per record.
pub fn summary_table(records: &[Record]) -> String {
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
        "p99",
        "vol/invol sw",
        "notes",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in records {
        let s = &r.stats;
        let mut notes = Vec::new();
        if let Some(o) = r.checks.overhead_ns {
            notes.push(format!("overhead {}", fmt_ns(o)));
        }
        if let Some(f) = r.checks.fraction_of_memcpy {
            notes.push(format!("{:.0}% of memcpy", f * 100.0));
        }
        if let (Some(c), Some(t)) = (r.checks.compute_ns, r.checks.teardown_ns) {
            notes.push(format!(
                "setup {} / compute {} / teardown {}",
                fmt_ns(r.setup_ns as f64),
                fmt_ns(c),
                fmt_ns(t)
            ));
        }
        if let Some(x) = r.checks.speedup {
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
            r.workload.clone(),
            r.backend.clone(),
            r.channel.clone(),
            r.variant.clone().unwrap_or_else(|| "-".into()),
            r.placement.clone(),
            r.workers.to_string(),
            size_col(r),
            fmt_value(s.median, &r.unit),
            format!(
                "{} – {}",
                fmt_value(s.ci95_low, &r.unit),
                fmt_value(s.ci95_high, &r.unit)
            ),
            if matches!(r.metric.as_str(), "bandwidth" | "pss") {
                "-".into()
            } else {
                fmt_value(s.p99, &r.unit)
            },
            switches_col(r),
            notes.join("; "),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
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
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// data-parallel: for each process variant and worker count, the smallest
/// array (elements) at which its setup no longer exceeds its compute, and
/// the smallest at which it is within 10 % of threads' wall time. None where
/// the sweep never got there.
pub fn crossovers(records: &[Record]) -> Vec<(String, u32, Option<u64>, Option<u64>)> {
    let dp: Vec<&Record> = records
        .iter()
        .filter(|r| r.workload == "data-parallel")
        .collect();
    let mut keys: Vec<(String, u32)> = dp
        .iter()
        .filter(|r| r.backend != "thread")
        .map(|r| (r.variant.clone().unwrap_or_default(), r.workers))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(v, w)| {
            let mut mine: Vec<&&Record> = dp
                .iter()
                .filter(|r| r.variant.as_deref() == Some(v.as_str()) && r.workers == w)
                .collect();
            mine.sort_by_key(|r| r.size_bytes);
            let setup_ok = mine
                .iter()
                .find(|r| (r.setup_ns as f64) <= r.checks.compute_ns.unwrap_or(f64::INFINITY))
                .map(|r| r.size_bytes / 8);
            let vs_threads = mine
                .iter()
                .find(|r| {
                    dp.iter().any(|t| {
                        t.backend == "thread"
                            && t.workers == w
                            && t.size_bytes == r.size_bytes
                            && t.placement == r.placement
                            && r.stats.median <= 1.1 * t.stats.median
                    })
                })
                .map(|r| r.size_bytes / 8);
            (v, w, setup_ok, vs_threads)
        })
        .collect()
}

/// Lines describing [`crossovers`], for the terminal.
pub fn crossover_text(records: &[Record]) -> String {
    let mut out = String::new();
    for (v, w, setup, threads) in crossovers(records) {
        let f = |x: Option<u64>| {
            x.map(|e| format!("{} elements", fmt_count(e)))
                .unwrap_or_else(|| "not within the sweep".into())
        };
        out += &format!(
            "data-parallel {v} w={w}: setup stops dominating at {}; within 10% of threads at {}\n",
            f(setup),
            f(threads)
        );
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

type Column = (&'static str, fn(&Record) -> String);

/// results.csv's columns, in order, each with how to read it off a record.
pub const CSV: [Column; 46] = [
    ("workload", |r| r.workload.clone()),
    ("backend", |r| r.backend.clone()),
    ("channel", |r| r.channel.clone()),
    ("variant", |r| r.variant.clone().unwrap_or_default()),
    ("placement", |r| r.placement.clone()),
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
    ("metric", |r| r.metric.clone()),
    ("unit", |r| r.unit.clone()),
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
    ("elements", |r| opt(r.checks.elements)),
    ("elements_verified", |r| opt(r.checks.elements_verified)),
    ("compute_ns", |r| opt(r.checks.compute_ns)),
    ("teardown_ns", |r| opt(r.checks.teardown_ns)),
    ("elements_per_s", |r| opt(r.checks.elements_per_s)),
    ("speedup", |r| opt(r.checks.speedup)),
    ("expected_value", |r| opt(r.checks.expected_value)),
    ("final_value", |r| opt(r.checks.final_value)),
    ("lost_updates", |r| opt(r.checks.lost_updates)),
    ("lost_updates_max", |r| opt(r.checks.lost_updates_max)),
    ("increments", |r| opt(r.checks.increments)),
    ("rss_bytes", |r| opt(r.checks.rss_bytes)),
    ("parent_rss_bytes", |r| opt(r.checks.parent_rss_bytes)),
    ("warnings", |r| r.warnings.join("; ")),
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

/// Reads and checks a results.json.
pub fn load_results(path: &Path) -> anyhow::Result<Results> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let version = v.get("schema_version").and_then(|x| x.as_u64());
    if version != Some(mpmt_core::schema::SCHEMA_VERSION as u64) {
        anyhow::bail!(
            "{} has schema_version {}, but this mpmt reads version {}",
            path.display(),
            version
                .map(|x| x.to_string())
                .unwrap_or_else(|| "(missing)".into()),
            mpmt_core::schema::SCHEMA_VERSION
        );
    }
    serde_json::from_value(v)
        .with_context(|| format!("{} does not match the results schema", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_core::schema::Checks;
    use mpmt_core::stats::summarize;

    fn rec() -> Record {
        Record {
            workload: "latency".into(),
            backend: "fork".into(),
            channel: "pipe".into(),
            variant: None,
            placement: "same-cpu".into(),
            cpus: vec![Some(0), Some(0)],
            workers: 2,
            size_bytes: 8,
            working_set_bytes: 0,
            metric: "rtt".into(),
            unit: "ns".into(),
            ops_per_sample: 1,
            samples: 3,
            stats: summarize(&[4000.0, 4100.0, 4200.0]),
            setup_ns: 250_000,
            checks: Checks {
                payload_verified: Some(true),
                ..Default::default()
            },
            warnings: vec!["noisy: a, b".into()],
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
