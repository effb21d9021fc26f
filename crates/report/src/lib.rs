//! mpmt-report: turns results into things people read. Reads result records
//! only; never measures. This first part renders the terminal summary table
//! and `results.csv`.

use mpmt_core::schema::{Record, Results};
use mpmt_core::units::{fmt_bytes, fmt_ns, fmt_rate};
use std::path::Path;

/// The median with its unit, as a person reads it.
pub fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "ns" => fmt_ns(v),
        "bytes/s" => fmt_rate(v),
        u => format!("{v:.3} {u}"),
    }
}

fn size_col(r: &Record) -> String {
    if r.workload == "ctx-switch" {
        if r.working_set_bytes > 0 {
            format!("ws {}", fmt_bytes(r.working_set_bytes))
        } else {
            "-".into()
        }
    } else {
        fmt_bytes(r.size_bytes)
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
        if !r.warnings.is_empty() {
            notes.push(format!("{} warning(s)", r.warnings.len()));
        }
        rows.push(vec![
            r.workload.clone(),
            r.backend.clone(),
            r.channel.clone(),
            r.placement.clone(),
            r.workers.to_string(),
            size_col(r),
            fmt_value(s.median, &r.unit),
            format!(
                "{} – {}",
                fmt_value(s.ci95_low, &r.unit),
                fmt_value(s.ci95_high, &r.unit)
            ),
            if r.metric == "bandwidth" {
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

/// Column names of results.csv, in order.
pub const CSV_COLUMNS: [&str; 32] = [
    "workload",
    "backend",
    "channel",
    "placement",
    "cpus",
    "workers",
    "size_bytes",
    "working_set_bytes",
    "metric",
    "unit",
    "ops_per_sample",
    "samples",
    "min",
    "median",
    "mean",
    "p90",
    "p99",
    "p999",
    "max",
    "stddev",
    "cv",
    "ci95_low",
    "ci95_high",
    "setup_ns",
    "payload_verified",
    "messages_verified",
    "voluntary_switches_per_op",
    "involuntary_switches_per_op",
    "overhead_ns",
    "hop_ns",
    "fraction_of_memcpy",
    "warnings",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// results.csv as a string: one row per record.
pub fn csv_string(records: &[Record]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    for r in records {
        let s = &r.stats;
        let cpus = r
            .cpus
            .iter()
            .map(|c| c.map(|x| x.to_string()).unwrap_or_else(|| "-".into()))
            .collect::<Vec<_>>()
            .join(" ");
        let c = &r.checks;
        w.write_record([
            r.workload.clone(),
            r.backend.clone(),
            r.channel.clone(),
            r.placement.clone(),
            cpus,
            r.workers.to_string(),
            r.size_bytes.to_string(),
            r.working_set_bytes.to_string(),
            r.metric.clone(),
            r.unit.clone(),
            r.ops_per_sample.to_string(),
            r.samples.to_string(),
            s.min.to_string(),
            s.median.to_string(),
            s.mean.to_string(),
            s.p90.to_string(),
            s.p99.to_string(),
            s.p999.to_string(),
            s.max.to_string(),
            s.stddev.to_string(),
            s.cv.to_string(),
            s.ci95_low.to_string(),
            s.ci95_high.to_string(),
            r.setup_ns.to_string(),
            opt(c.payload_verified),
            opt(c.messages_verified),
            opt(c.voluntary_switches_per_op),
            opt(c.involuntary_switches_per_op),
            opt(c.overhead_ns),
            opt(c.hop_ns),
            opt(c.fraction_of_memcpy),
            r.warnings.join("; "),
        ])?;
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
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("latency,fork,pipe,same-cpu,0 0,2,8,0,rtt,ns,1,3,4000,4100,"),
            "{row}"
        );
        assert!(row.ends_with("\"noisy: a, b\""), "{row}");
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn table_shows_each_record() {
        let t = summary_table(&[rec(), rec()]);
        assert_eq!(t.lines().count(), 4);
        assert!(t.contains("4.10 µs"), "{t}");
        assert!(t.contains("1 warning(s)"), "{t}");
    }
}
