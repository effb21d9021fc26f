//! index.html: one self-contained page (no network; the SVGs sit beside it)
//! with the environment and floors, every chart with a two-sentence reading,
//! the claims vs measurements, and plain tables of the medians.

use crate::charts::Chart;
use crate::claims::Claim;
use crate::fmt_value;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{Floor, Results};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1280px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
img{max-width:100%;border:1px solid #eee}.verdict{font-weight:bold}table.ledger td{vertical-align:top;width:33%}.entry{margin:.3em 0}.supported{color:#1a7f37}\
.refuted{color:#b3261e}.mixed{color:#9a6700}.unmeasured{color:#666}.broken{color:#b3261e;font-weight:bold}\
.note{background:#fff8e1;padding:.5em 1em;border-left:4px solid #f0b400}";

/// Marks images that failed to load (for readers and for the browser test).
const SCRIPT: &str = "window.addEventListener('load',function(){var imgs=document.images,ok=0;\
for(var i=0;i<imgs.length;i++){var im=imgs[i];if(im.complete&&im.naturalWidth>0&&im.naturalHeight>0){ok++;}\
else{var p=document.createElement('p');p.className='broken';p.textContent='image failed to load: '+im.getAttribute('src');\
im.parentNode.insertBefore(p,im.nextSibling);}}document.body.setAttribute('data-images-total',imgs.length);\
document.body.setAttribute('data-images-ok',ok);});";

fn floor_row(name: &str, f: &Option<Floor>) -> String {
    match f {
        Some(f) => format!(
            "<tr><td>{}</td><td class=n>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&fmt_value(f.value, f.unit)),
            esc(&f.method)
        ),
        None => format!(
            "<tr><td>{}</td><td>—</td><td>not measured</td></tr>",
            esc(name)
        ),
    }
}

/// The page anchor of a chart file: `switch-cost.svg` → `chart-switch-cost`.
fn anchor(file: &str) -> String {
    format!("chart-{}", file.trim_end_matches(".svg"))
}

fn verdict_class(c: &Claim) -> &'static str {
    use crate::claims::Verdict::*;
    match c.verdict {
        Supported => "supported",
        Refuted => "refuted",
        Mixed => "mixed",
        NotMeasured => "unmeasured",
    }
}

/// The ledger: three columns (processes pay more, threads pay more, the
/// same), each claim's one number with its verdict and chart, largest
/// difference first; the sentences built from them; the claims not
/// measured.
fn ledger_html(claims: &[Claim], charts: &[Chart]) -> String {
    use crate::ledger::{advice, column, entries, factor_text, Column};
    let (all, unmeasured) = entries(claims);
    let cell = |e: &crate::ledger::Entry| {
        let chart = e
            .claim
            .chart()
            .filter(|f| charts.iter().any(|ch| ch.file == *f))
            .map(|f| format!(" <a href=\"#{}\">{}</a>", anchor(f), esc(f)))
            .unwrap_or_default();
        format!(
            "<div class=entry><b>{}</b> {} — <span class=\"verdict {}\">{}</span>{chart}<br><small>{}</small></div>",
            esc(&factor_text(e)),
            esc(&e.claim.headline),
            verdict_class(e.claim),
            esc(e.claim.verdict.word()),
            esc(e.claim.statement)
        )
    };
    let cols: Vec<Vec<&crate::ledger::Entry>> =
        Column::ALL.iter().map(|&c| column(&all, c)).collect();
    let mut h = String::from(
        "<h2 id=verdicts>The ledger: what each side pays here</h2>\n<table class=ledger><tr>",
    );
    for c in Column::ALL {
        h += &format!("<th>{}</th>", esc(c.heading()));
    }
    h += "</tr>\n";
    let rows = cols.iter().map(|c| c.len()).max().unwrap_or(0);
    for i in 0..rows {
        h += "<tr>";
        for c in &cols {
            h += &format!("<td>{}</td>", c.get(i).map(|e| cell(e)).unwrap_or_default());
        }
        h += "</tr>\n";
    }
    h += "</table>\n";
    let said = advice(&all);
    if !said.is_empty() {
        h += "<ul class=advice>\n";
        for s in said {
            h += &format!("<li>{}</li>\n", esc(&s));
        }
        h += "</ul>\n";
    }
    if !unmeasured.is_empty() {
        h += &format!(
            "<p class=note>Not measured in this run: {}.</p>\n",
            unmeasured
                .iter()
                .map(|c| esc(c.statement))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    h
}

/// The whole page.
pub fn page(res: &Results, charts: &[Chart], claims: &[Claim]) -> String {
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
    h += &format!("<title>mpmt run {}</title>", esc(&res.run.id));
    h += &format!("<style>{STYLE}</style><script>{SCRIPT}</script></head><body>\n");
    h += "<h1>Threads or processes: what each costs on this machine</h1>\n";
    h += &format!(
        "<p>Run <code>{}</code>, started {}, mpmt {}{}. Command: <code>{}</code>.</p>\n",
        esc(&res.run.id),
        esc(&res.run.start_time),
        esc(&res.run.mpmt_version),
        res.run
            .git_revision
            .as_ref()
            .map(|g| format!(" ({})", esc(g)))
            .unwrap_or_default(),
        esc(&res.run.command_line.join(" "))
    );
    if let Some(note) = outcome_note(&res.run.outcome) {
        h += &format!("<p class=note>{}</p>\n", esc(&note));
    }

    // The answer first: the ledger, each claim's one number on the side
    // that pays more here.
    h += &ledger_html(claims, charts);
    h += "<p>Details and every number behind each verdict: <a href=\"#claims\">claims vs measurements</a>; every record: <a href=\"#medians\">medians</a> and results.csv.</p>\n";
    if let Some(b) = &res.run.budget {
        h += &budget_note(b);
    }

    h += "<h2 id=claims>Claims vs measurements</h2>\n";
    h += "<p>Each classic statement about processes and threads, with what this run measured on this machine.</p>\n";
    for c in claims {
        h += &format!(
            "<div class=claim><p><q>{}</q> — <span class=\"verdict {}\">{}</span></p><p>{}</p></div>\n",
            esc(c.statement),
            verdict_class(c),
            esc(c.verdict.word()),
            esc(&c.evidence)
        );
    }

    h += "<h2>Machine</h2>\n<table>";
    let e = &res.env;
    let rows = e.rows();
    for (k, v) in rows {
        h += &format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    h += "</table>\n<h3>Floors (measured in this run)</h3>\n<table><tr><th>floor</th><th>median</th><th>method</th></tr>";
    let f = &res.floors;
    h += &floor_row("clock read", &f.clock_read_ns);
    h += &floor_row("null syscall", &f.null_syscall_ns);
    h += &floor_row("cache-line round trip", &f.cacheline_rtt_ns);
    if f.cacheline_rtt_after_ns.is_some() {
        h += &floor_row(
            "cache-line round trip, after the cases",
            &f.cacheline_rtt_after_ns,
        );
    }
    h += &floor_row("memcpy", &f.memcpy_bytes_per_s);
    for m in &f.memcpy_at {
        h += &floor_row(
            &format!("memcpy of {}", fmt_bytes(m.size_bytes)),
            &Some(m.floor.clone()),
        );
    }
    h += &floor_row("fork + exit + wait", &f.fork_exit_wait_ns);
    h += &floor_row("thread create + join", &f.thread_create_join_ns);
    h += "</table>\n";
    for n in &f.notes {
        h += &format!("<p>{}</p>", esc(n));
    }

    for c in charts {
        h += &format!(
            "<h2 id=\"{}\">{}</h2>\n<img src=\"{}\" alt=\"{}\">\n<p>{}</p>\n",
            anchor(c.file),
            esc(&c.title),
            esc(c.file),
            esc(&c.title),
            esc(&c.reading)
        );
    }

    h += "<h2 id=medians>Medians</h2>\n<p>Every record of the run (all columns are in results.csv). Median and 95 % CI are over the rounds' medians; a bimodal record's rounds fell into two groups (both given, and drawn as crosses on the charts), so its median is not a typical value.</p>\n";
    h += "<table><tr><th>workload</th><th>backend</th><th>channel</th><th>variant</th><th>placement</th><th>workers</th><th>size</th><th>metric</th><th>median</th><th>95 % CI</th><th>rounds</th><th>samples</th><th>notes and warnings</th></tr>\n";
    for r in &res.records {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td class=n>{}</td><td class=n>{} – {}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
            esc(r.workload.name()),
            esc(r.backend.name()),
            esc(crate::draw::channel_name(r.channel)),
            esc(&r.variant_name()),
            esc(r.placement.name()),
            r.workers,
            esc(&fmt_bytes(r.size_bytes)),
            esc(r.metric.name()),
            esc(&fmt_value(r.stats.median, r.unit)),
            esc(&fmt_value(r.stats.ci95_low, r.unit)),
            esc(&fmt_value(r.stats.ci95_high, r.unit)),
            r.rounds,
            r.samples,
            esc(&crate::modes_text(r)
                .into_iter()
                .chain(crate::line_floor_note(r))
                .chain(crate::memcpy_note(r))
                .chain(crate::above_memcpy(r).map(String::from))
                .chain(r.warnings.iter().map(|w| w.to_string()))
                .collect::<Vec<_>>()
                .join("; "))
        );
    }
    h += "</table>\n</body></html>\n";
    h
}

/// How the run kept to its time budget, and every sweep point it left
/// out, with why.
pub fn budget_note(b: &mpmt_schema::BudgetReport) -> String {
    use mpmt_schema::units::fmt_secs;
    let mut h = match b.limit_s {
        Some(l) => format!(
            "<p>Planned to a measuring budget of {} (floors and cases): the base rounds were forecast at {}, the run measured for {}{}.</p>\n",
            fmt_secs(l),
            fmt_secs(b.forecast_s),
            fmt_secs(b.measured_s),
            if b.measured_s > l {
                format!(", {} over", fmt_secs(b.measured_s - l))
            } else {
                String::new()
            }
        ),
        None => format!(
            "<p>No time budget: the run measured for {}.</p>\n",
            fmt_secs(b.measured_s)
        ),
    };
    if let Some(o) = &b.overrun {
        h += &format!(
            "<p class=note>Over budget, said before the run: {}.</p>\n",
            esc(o)
        );
    }
    if !b.dropped.is_empty() {
        h += "<p class=note>Left out to fit the budget (points of a curve no verdict reads; their charts lack them):</p>\n<ul>\n";
        for d in &b.dropped {
            h += &format!("<li>{}</li>\n", esc(&d.sentence()));
        }
        h += "</ul>\n";
    }
    h
}

/// A sentence for a run that did not measure every case, or None.
pub fn outcome_note(o: &mpmt_schema::Outcome) -> Option<String> {
    use mpmt_schema::RunStatus;
    let kept = format!(
        "{} of {} case(s) measured; only those are shown",
        o.cases_measured, o.cases_planned
    );
    match o.status {
        RunStatus::Complete => None,
        RunStatus::Running => Some(format!(
            "This run had not finished when these results were written (its process may have been killed): {kept}."
        )),
        RunStatus::Interrupted => Some(format!(
            "This run was interrupted by {}: {kept}.",
            o.signal.as_deref().unwrap_or("a signal")
        )),
        RunStatus::Failed => Some(format!(
            "This run failed: {kept}. {}",
            o.failures
                .iter()
                .map(|f| format!("Case `{}`: {}.", f.case, f.error))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}
