//! `mpmt export`: a run's records in formats other tools read. Markdown
//! (the headline figures, the verdicts, then every record, as in the
//! terminal table), JSON Lines (the run, then one object per record, each
//! a complete record of the results.json schema), and the Bencher Metric
//! Format, so runs can be tracked over time in continuous-benchmarking
//! dashboards. CSV is results.csv's writer. Reads results only.

use crate::headline;
use mpmt_schema::units::fmt_value;
use mpmt_schema::{Record, Results, Unit};
use serde_json::{json, Map, Value};

/// A Markdown table from rows, header first; `|` in a cell is escaped.
fn md_table(rows: &[Vec<String>]) -> String {
    let line = |r: &Vec<String>| {
        format!(
            "| {} |\n",
            r.iter()
                .map(|c| c.replace('|', "\\|"))
                .collect::<Vec<_>>()
                .join(" | ")
        )
    };
    let mut s = line(&rows[0]);
    s += &format!("|{}\n", "---|".repeat(rows[0].len()));
    for r in &rows[1..] {
        s += &line(r);
    }
    s
}

/// The run as Markdown: headline figures, verdicts, every record.
pub fn markdown(res: &Results) -> String {
    let derived = crate::derive::with_speedups(res);
    let mut s = format!(
        "# mpmt run {}\n\n{}, {} CPUs, {}; started {}; mpmt {}.\n\n## Headline figures\n\n",
        res.run.id,
        res.env.cpu_model,
        res.env.online_cpus,
        res.env.kernel,
        res.run.start_time,
        res.run.mpmt_version
    );
    let mut rows = vec![vec![
        "figure".to_string(),
        "median".into(),
        "95 % CI".into(),
    ]];
    for (f, recs) in headline::table(&[res]) {
        if let Some(r) = recs[0] {
            rows.push(vec![
                f.label.to_string(),
                fmt_value(r.stats.median, r.unit),
                format!(
                    "{} – {}",
                    fmt_value(r.stats.ci95_low, r.unit),
                    fmt_value(r.stats.ci95_high, r.unit)
                ),
            ]);
        }
    }
    s += &if rows.len() > 1 {
        md_table(&rows)
    } else {
        "None measured in this run.\n".into()
    };
    s += "\n## Verdicts\n\n";
    let mut rows = vec![vec![
        "claim".to_string(),
        "verdict here".into(),
        "the number behind it".into(),
    ]];
    for c in crate::claims::all(&derived) {
        rows.push(vec![
            c.statement.into(),
            c.verdict.word().into(),
            c.headline,
        ]);
    }
    s += &md_table(&rows);
    s += &format!("\n## Every record ({})\n\n", res.records.len());
    s += &md_table(&crate::summary_rows(&res.records));
    s
}

/// JSON Lines: `{"type":"run",…}` (schema version, run, env, floors),
/// then `{"type":"record",…}` per record with every field of the schema.
pub fn json_lines(res: &Results) -> anyhow::Result<String> {
    let mut s = serde_json::to_string(&json!({
        "type": "run",
        "schema_version": res.schema_version,
        "run": res.run,
        "env": res.env,
        "floors": res.floors,
    }))?;
    s.push('\n');
    for r in &res.records {
        let mut v = serde_json::to_value(r)?;
        if let Value::Object(m) = &mut v {
            m.insert("type".into(), "record".into());
        }
        s += &serde_json::to_string(&v)?;
        s.push('\n');
    }
    Ok(s)
}

/// The Bencher Metric Format measure a record's unit maps to: `latency`
/// is Bencher's built-in measure in nanoseconds; rates and sizes get
/// measures of their own (created on first upload).
pub fn bmf_measure(unit: Unit) -> &'static str {
    match unit {
        Unit::Ns => "latency",
        Unit::BytesPerS => "bytes-per-second",
        Unit::Bytes => "bytes",
        Unit::Count => "count",
    }
}

/// The Bencher Metric Format: `{benchmark: {measure: {value, lower_value,
/// upper_value}}}`, one benchmark per record named `mpmt/<case key>`,
/// the median with its 95 % CI; racy counter cases also report
/// `lost-updates`. Values that are not finite numbers are left out (BMF
/// values are JSON numbers).
pub fn bmf(res: &Results) -> anyhow::Result<String> {
    let mut out = Map::new();
    let finite = |x: f64| x.is_finite().then_some(x);
    for r in &res.records {
        let mut measures = Map::new();
        if let Some(v) = finite(r.stats.median) {
            let mut m = Map::new();
            m.insert("value".into(), json!(v));
            if let (Some(lo), Some(hi)) = (finite(r.stats.ci95_low), finite(r.stats.ci95_high)) {
                m.insert("lower_value".into(), json!(lo.min(v)));
                m.insert("upper_value".into(), json!(hi.max(v)));
            }
            measures.insert(bmf_measure(r.unit).into(), Value::Object(m));
        }
        if let Some(lost) = lost_updates(r) {
            measures.insert("lost-updates".into(), json!({ "value": lost }));
        }
        if !measures.is_empty() {
            out.insert(format!("mpmt/{}", r.key()), Value::Object(measures));
        }
    }
    Ok(serde_json::to_string_pretty(&Value::Object(out))? + "\n")
}

fn lost_updates(r: &Record) -> Option<f64> {
    (r.variant == Some(mpmt_schema::Variant::Mode(mpmt_schema::CounterMode::Racy)))
        .then_some(r.checks.lost_updates)
        .flatten()
        .filter(|x| x.is_finite())
}
