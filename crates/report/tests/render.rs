//! Report generation from hand-written results.json fixtures: every chart
//! is valid XML naming its series, index.html shows every chart and every
//! claim, compare matches two runs, and bad input is refused clearly.

use mpmt_report::{claims::CLAIMS, compare, load_results, render};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn text_of(svg: &str) -> String {
    let doc = roxmltree::Document::parse(svg).expect("SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_chart_is_valid_svg_with_its_series() {
    let res = load_results(&fixture("run-a").join("results.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap())
        .unwrap()
        .files;
    let expect: &[(&str, &[&str])] = &[
        (
            "switch-cost.svg",
            &[
                "thread",
                "fork",
                "pipe",
                "shm-futex",
                "same-cpu",
                "cross-cpu",
            ],
        ),
        (
            "switch-vs-working-set.svg",
            &["thread", "fork", "same-cpu, pipe", "working set per worker"],
        ),
        (
            "rtt-vs-size.svg",
            &[
                "pipe · same-cpu",
                "thread",
                "fork",
                "thin line: p99 (same colour)",
            ],
        ),
        (
            "bandwidth.svg",
            &[
                "pipe · same-cpu",
                "shm-futex · same-cpu",
                "fork",
                "memcpy floor",
            ],
        ),
        (
            "data-parallel-time.svg",
            &[
                "shared in place (heap or mapping)",
                "copied over a channel",
                "thread-heap",
                "fork-pipe",
                "fork-shm",
                "thin line: the setup part",
            ],
        ),
        (
            "data-parallel-speedup.svg",
            &["thread-shm", "ideal (speedup = workers)"],
        ),
        (
            "counter.svg",
            &[
                "racy",
                "mutex-batch",
                "thread",
                "time per increment, cross-cpu",
                "updates lost by the racy mode",
            ],
        ),
        (
            "creation.svg",
            &["posix-spawn", "fork-exec", "memory per live worker (PSS)"],
        ),
        (
            "messaging.svg",
            &[
                "pipe · os",
                "thread",
                "fork",
                "groups",
                "20 senders × 20 receivers",
            ],
        ),
        (
            "vm-ops.svg",
            &[
                "madvise — shootdowns/op at 2: thread 1.00, fork 0.00",
                "mmap",
                "1 worker",
                "2 workers",
                "ns per op per worker",
            ],
        ),
        (
            "memory.svg",
            &[
                "page tables",
                "private (USS)",
                "share of shared pages (PSS − USS)",
                "2 live",
                "bytes per worker",
            ],
        ),
        (
            "crash.svg",
            &[
                "work lost",
                "recover: respawn",
                "recover: restart",
                "segv",
                "oom",
            ],
        ),
        (
            "cow.svg",
            &[
                "child writes, 4 KiB pages",
                "thread writes, huge pages",
                "fork, 4 KiB pages (the upper line)",
                "ns per page written",
            ],
        ),
        (
            "false-sharing.svg",
            &[
                "packed: one cache line",
                "padded: a line pair each",
                "thread, heap",
                "fork, shared mapping",
                "cross-cpu",
            ],
        ),
    ];
    for (file, series) in expect {
        let path = dir.path().join(file);
        assert!(files.contains(&path), "{file} was not written");
        let svg = std::fs::read_to_string(&path).unwrap();
        let text = text_of(&svg);
        for s in *series {
            assert!(text.contains(s), "{file} lacks the series/label `{s}`");
        }
        // Reads alone: the footer names the run and the machine.
        assert!(
            text.contains("run fixture-a · Intel(R) Xeon(R) Processor"),
            "{file} has no footer"
        );
        // Legend outside every plot, plots apart, at most 6 series each.
        if let Err(e) = mpmt_report::draw::check_layout(&svg) {
            panic!("{file}: {e}");
        }
    }
    assert_eq!(files.len(), expect.len() + 1, "every chart and index.html");

    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    for (file, _) in expect {
        assert!(
            html.contains(&format!("<img src=\"{file}\"")),
            "index.html does not show {file}"
        );
    }
    for s in CLAIMS.iter().map(|c| c.statement) {
        assert!(
            html.contains(&mpmt_report::html::esc(s)),
            "index.html lacks the claim `{s}`"
        );
    }
    // Every claim got a verdict from the fixture's numbers.
    assert!(
        !html.contains("not measured in this run"),
        "a claim went unmeasured"
    );
    assert!(html.contains("Intel(R) Xeon(R) Processor"));
    assert!(html.contains("cache-line round trip"));
}

#[test]
fn claims_follow_the_numbers() {
    let res = load_results(&fixture("run-a").join("results.json")).unwrap();
    let c = |key: &str| mpmt_report::claims::judge(&res, key).expect("a claim key");
    let c0 = c("switch-cost");
    let c2 = c("lost-updates");
    let c3 = c("creation");
    let c4 = c("cache-loss");
    let c5 = c("false-sharing");
    let c6 = c("messaging");

    use mpmt_report::claims::Verdict::*;
    // fork is dearer on both channels in the fixture.
    assert_eq!(c0.verdict, Supported, "{}", c0.evidence);
    assert!(
        c0.evidence
            .contains("pipe: process 700.0 ns vs thread 560.0 ns"),
        "{}",
        c0.evidence
    );
    // Racy lost updates across CPUs, every locked mode exact.
    assert_eq!(c2.verdict, Supported, "{}", c2.evidence);
    // fork 340 µs vs thread 12 µs.
    assert_eq!(c3.verdict, Supported);
    // The process penalty stays 140 ns at 0 and 1 MiB working sets.
    assert_eq!(c4.verdict, Refuted, "{}", c4.evidence);
    // Packed 1.4 ns vs padded 0.3 ns across CPUs, for threads (heap and
    // mapping) and fork alike: the fixture's layouts are spelled bare, as
    // before the write was chosen, so they are stores.
    assert_eq!(c5.verdict, Supported, "{}", c5.evidence);
    assert_eq!(c5.headline, "packed/padded across CPUs: store 4.7×");
    // Processes (27 ms a group) beat threads (30 ms) over pipes here.
    assert_eq!(c6.verdict, Refuted, "{}", c6.evidence);
    assert!(
        c6.headline
            .starts_with("2 groups, pipe, os: thread 60.00 ms vs process 54.00 ms (0.90×)"),
        "{}",
        c6.headline
    );
}

#[test]
fn bimodal_records_say_so_on_the_page_and_the_chart() {
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    res.records
        .retain(|r| r.workload == mpmt_schema::Workload::Counter);
    let dir = tempfile::tempdir().unwrap();
    render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    let plain = std::fs::read_to_string(dir.path().join("counter.svg")).unwrap();
    let r = &mut res.records[0];
    let m = r.stats.median;
    r.modes = vec![
        mpmt_schema::Mode {
            median: 0.5 * m,
            rounds: 3,
        },
        mpmt_schema::Mode {
            median: 1.5 * m,
            rounds: 2,
        },
    ];
    render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("bimodal: "), "the table names the modes");
    assert!(html.contains("(3 rounds) / "), "with their round counts");
    let marked = std::fs::read_to_string(dir.path().join("counter.svg")).unwrap();
    // Each mode adds a cross: two more line elements than without.
    let lines = |s: &str| s.matches("<line").count() + s.matches("<polyline").count();
    assert!(
        lines(&marked) >= lines(&plain) + 2,
        "no crosses drawn for the modes"
    );
}

#[test]
fn charts_without_data_are_left_out() {
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    res.records
        .retain(|r| r.workload == mpmt_schema::Workload::Counter);
    let dir = tempfile::tempdir().unwrap();
    let files = render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap())
        .unwrap()
        .files;
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["counter.svg", "index.html"]);
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("not measured in this run"));
}

#[test]
fn compare_matches_every_case_and_flags_changes() {
    let a = load_results(&fixture("run-a").join("results.json")).unwrap();
    let b = load_results(&fixture("run-b").join("results.json")).unwrap();
    let c = compare::compare(&a, &b, None);
    assert_eq!(c.rows.len(), a.records.len());
    assert!(c.only_a.is_empty() && c.only_b.is_empty());
    assert!(c
        .env_diff
        .iter()
        .any(|(k, va, vb)| k == "cpu_model" && va.contains("Intel") && vb.contains("AMD")));
    // B is 1.25× slower on every timed case: CIs (±2 %) no longer overlap.
    let ctx = c
        .rows
        .iter()
        .find(|r| {
            r.key
                .starts_with("ctx-switch/switch/fork/pipe/-/same-cpu/w2")
        })
        .unwrap();
    assert!((ctx.ratio - 1.25).abs() < 1e-9 && ctx.changed);
    assert_eq!(ctx.threshold, 0.10, "same-cpu ctx-switch default");
    // The same 25 % is within a 30 % threshold, and CIs that do not overlap
    // are not enough.
    let loose = compare::compare(&a, &b, Some(0.30));
    assert!(loose.rows.iter().all(|r| !r.changed));
    // PSS did not change between the fixtures.
    let pss = c
        .rows
        .iter()
        .find(|r| r.a.metric == mpmt_schema::Metric::Pss)
        .unwrap();
    assert!((pss.ratio - 1.0).abs() < 1e-9 && !pss.changed);
}

#[test]
fn bandwidth_timed_per_write_is_not_compared_with_bandwidth_timed_per_window() {
    // The fixture is an old file: its bandwidth was timed per write.
    let a = load_results(&fixture("run-a").join("results.json")).unwrap();
    let mut b = scaled(&a, "new", 2.0);
    for r in &mut b.records {
        r.warnings
            .retain(|w| w.kind != mpmt_schema::WarningKind::PerWrite);
    }
    let c = compare::compare(&a, &b, None);
    let bw: Vec<_> = c
        .rows
        .iter()
        .filter(|r| r.a.workload == mpmt_schema::Workload::Bandwidth)
        .collect();
    assert!(!bw.is_empty());
    for r in &bw {
        assert!(!r.changed, "{}", r.key);
        assert!(
            r.incomparable.unwrap().contains("not comparable"),
            "{}",
            r.key
        );
    }
    // Every other case still compares (2× is past every threshold).
    assert!(c
        .rows
        .iter()
        .filter(|r| r.a.workload == mpmt_schema::Workload::CtxSwitch)
        .all(|r| r.incomparable.is_none() && r.changed));
}

/// Run A with every median and CI scaled by `k`, as run `id`.
fn scaled(a: &mpmt_schema::Results, id: &str, k: f64) -> mpmt_schema::Results {
    let mut c = a.clone();
    c.run.id = id.into();
    for r in &mut c.records {
        for v in [
            &mut r.stats.median,
            &mut r.stats.ci95_low,
            &mut r.stats.ci95_high,
        ] {
            *v *= k;
        }
    }
    c
}

#[test]
fn three_runs_side_by_side_against_a_baseline() {
    let a = load_results(&fixture("run-a").join("results.json")).unwrap();
    let b = load_results(&fixture("run-b").join("results.json")).unwrap();
    // C is A made 1.5× slower on timed cases (and 1.5× faster on rates).
    let c = scaled(&a, "fixture-c", 1.5);
    let m = compare::compare_many(vec![&a, &b, &c], 0, None);
    let md = m.markdown();
    assert!(
        md.starts_with("# mpmt compare: 3 runs, baseline fixture-a"),
        "{md}"
    );
    // The environment differences come first, one column per run.
    assert!(
        md.find("## Environment differences").unwrap() < md.find("## Headline figures").unwrap()
    );
    assert!(
        md.contains("| cpu_model | Intel(R) Xeon(R) Processor | AMD EPYC Processor | Intel(R) Xeon(R) Processor |"),
        "{md}"
    );
    assert!(
        md.contains("| switch, process (fork), pipe, one CPU | 700.0 ns ("),
        "{md}"
    );
    assert!(
        md.contains("### #2 fixture-b vs the baseline")
            && md.contains("### #3 fixture-c vs the baseline")
    );
    assert!(md.contains("changed (worse)"));
    // --fail-above: B is 25 % worse, C 50 %; PSS is unchanged.
    let worse = |m: &compare::Multi, pct: f64| -> Vec<String> {
        let mut runs: Vec<String> = m.regressions(pct).into_iter().map(|r| r.run).collect();
        runs.dedup();
        runs
    };
    assert_eq!(worse(&m, 10.0), ["fixture-b", "fixture-c"]);
    assert_eq!(worse(&m, 40.0), ["fixture-c"]);
    assert!(worse(&m, 60.0).is_empty());
    assert!(m
        .regressions(10.0)
        .iter()
        .all(|r| !r.key.starts_with("spawn/pss")));
    // A rate that fell is worse too: B's bandwidth is 0.8× A's.
    assert!(m
        .regressions(10.0)
        .iter()
        .any(|r| r.run == "fixture-b" && r.key.starts_with("bandwidth/")));
    // Against B as the baseline, A is better everywhere: nothing fails.
    let from_b = compare::compare_many(vec![&a, &b], 1, None);
    assert!(from_b.regressions(0.0).is_empty());
    assert!(from_b.markdown().contains("changed (better)"));
    // The headline chart: a panel per figure, a bar per run, laid out clean.
    let (svg, layout) = mpmt_report::draw::render_svg(&m.chart()).unwrap();
    mpmt_report::draw::check_layout(&svg).unwrap();
    assert!(layout.series.iter().all(|&n| n == 3), "{:?}", layout.series);
    let text = text_of(&svg);
    for s in [
        "#1 fixture-a (baseline)",
        "#2 fixture-b",
        "#3 fixture-c",
        "switch, thread, pipe, one CPU",
    ] {
        assert!(text.contains(s), "compare.svg lacks `{s}`");
    }
}

#[test]
fn every_export_format_parses_back() {
    use mpmt_report::export;
    let res = load_results(&fixture("run-a").join("results.json")).unwrap();
    let n = res.records.len();
    // Markdown: three tables, every row as wide as its header.
    let md = export::markdown(&res);
    let records = &md[md.find("## Every record").unwrap()..];
    let rows: Vec<&str> = records.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), n + 2, "header, rule, one row per record");
    let cells = |l: &str| l.replace("\\|", "").matches('|').count();
    assert!(rows.iter().all(|l| cells(l) == cells(rows[0])), "{records}");
    assert!(
        md.contains("| switch, process (fork), pipe, one CPU | 700.0 ns |"),
        "{md}"
    );
    assert!(md.contains("| A process switch costs more than a thread switch. | supported here |"));
    // CSV: results.csv's header and one row per record.
    let csv = mpmt_report::csv_string(&res.records).unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rd.headers().unwrap().len(), mpmt_report::CSV.len());
    let rows: Vec<csv::StringRecord> = rd.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), n);
    assert!(rows.iter().all(|r| r.len() == mpmt_report::CSV.len()));
    // JSON Lines: the run, then every record whole.
    let jl = export::json_lines(&res).unwrap();
    let lines: Vec<serde_json::Value> = jl
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), n + 1);
    assert_eq!(lines[0]["type"], "run");
    assert_eq!(lines[0]["run"]["id"], "fixture-a");
    for (l, r) in lines[1..].iter().zip(&res.records) {
        assert_eq!(l["type"], "record");
        let back: mpmt_schema::Record = serde_json::from_value(l.clone()).unwrap();
        assert_eq!(back.key(), r.key());
        assert_eq!(back.stats.median, r.stats.median);
    }
    // BMF: {benchmark: {measure: {value, lower_value, upper_value}}}.
    let bmf: serde_json::Value = serde_json::from_str(&export::bmf(&res).unwrap()).unwrap();
    let benches = bmf.as_object().expect("BMF is an object of benchmarks");
    assert_eq!(benches.len(), n, "one benchmark per record");
    for (name, measures) in benches {
        assert!(name.starts_with("mpmt/") && name.len() <= 1024, "{name}");
        for (measure, m) in measures.as_object().unwrap() {
            assert!(measure.len() <= 64);
            let v = m["value"].as_f64().expect("value is a number");
            if let (Some(lo), Some(hi)) = (m["lower_value"].as_f64(), m["upper_value"].as_f64()) {
                assert!(lo <= v && v <= hi, "{name} {measure}: {lo} {v} {hi}");
            }
        }
    }
    let sw = &bmf["mpmt/ctx-switch/switch/fork/pipe/-/same-cpu/w2/s8/ws0"]["latency"];
    assert_eq!(sw["value"].as_f64(), Some(700.0), "{bmf:#}");
    assert!(benches
        .iter()
        .any(|(k, m)| k.contains("/racy/") && m["lost-updates"]["value"].as_f64().is_some()));
    assert!(benches
        .values()
        .any(|m| m.get("bytes-per-second").is_some()));
}

#[test]
fn bad_results_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = load_results(&dir.path().join("results.json")).unwrap_err();
    assert!(
        format!("{missing:#}").contains("cannot read"),
        "{missing:#}"
    );
    let bad = dir.path().join("results.json");
    std::fs::write(&bad, r#"{"schema_version": 99, "records": []}"#).unwrap();
    let e = format!("{:#}", load_results(&bad).unwrap_err());
    assert!(
        e.contains("schema_version 99") && e.contains("reads versions 1 to 6"),
        "{e}"
    );
    // A version-1 file (typed kinds did not exist yet) is upgraded on reading.
    let v1 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-a/results.json"),
    )
    .unwrap();
    assert!(
        v1.contains("\"schema_version\": 1"),
        "the fixture is version 1"
    );
    std::fs::write(&bad, &v1).unwrap();
    let r = load_results(&bad).unwrap();
    assert_eq!(r.schema_version, mpmt_schema::SCHEMA_VERSION);
    assert_eq!(r.run.outcome.status, mpmt_schema::RunStatus::Complete);
    // Each record was one round: its median is its one round median.
    for rec in &r.records {
        assert_eq!(rec.rounds, 1);
        assert_eq!(rec.round_medians, vec![rec.stats.median]);
    }
    assert_eq!(r.run.outcome.cases_measured, r.records.len());
    let create: Vec<_> = r
        .records
        .iter()
        .filter(|r| r.workload == mpmt_schema::Workload::Create)
        .collect();
    assert!(
        !create.is_empty(),
        "the fixture's spawn records became create records"
    );
    for c in &create {
        assert!(c.channel.is_none(), "{c:?}");
        assert!(c.variant.is_some(), "the method moved to variant: {c:?}");
    }
    std::fs::write(&bad, "not json").unwrap();
    let e = format!("{:#}", load_results(&bad).unwrap_err());
    assert!(e.contains("not valid JSON"), "{e}");
}

#[test]
fn the_page_and_the_terminal_open_with_the_verdicts() {
    let res = load_results(&fixture("run-a").join("results.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    // The verdict table comes before the detailed claims, the machine and
    // every chart.
    let at = |s: &str| {
        html.find(s)
            .unwrap_or_else(|| panic!("no `{s}` on the page"))
    };
    let table = at("<table class=ledger>");
    assert!(table < at("<h2 id=claims>"));
    assert!(table < at("<h2>Machine</h2>"));
    assert!(table < at("<img "));
    // The ledger's three columns; every measured claim in one of them,
    // each with its number and a link to its chart, the rest named below.
    let rows = &html[table..html[table..].find("</table>").unwrap() + table];
    for h in [
        "where processes cost more here",
        "where threads cost more here",
        "the same here",
    ] {
        assert!(rows.contains(&format!("<th>{h}</th>")), "{rows}");
    }
    let unmeasured = mpmt_report::claims::all(&res)
        .iter()
        .filter(|c| c.verdict == mpmt_report::claims::Verdict::NotMeasured)
        .count();
    assert_eq!(
        rows.matches("<div class=entry>").count() + unmeasured,
        CLAIMS.len()
    );
    // Processes pay 1.25× per switch in the fixture: in the first column.
    let first_col = rows
        .split("<tr>")
        .nth(2)
        .and_then(|r| r.split("<td>").nth(1))
        .unwrap_or_default();
    assert!(!first_col.is_empty(), "{rows}");
    assert!(
        html.contains("<ul class=advice>"),
        "no sentences under the ledger"
    );
    assert!(
        rows.contains("pipe, one CPU: process 700.0 ns vs thread 560.0 ns per switch (1.25×)"),
        "{rows}"
    );
    assert!(rows.contains("<a href=\"#chart-switch-cost\">switch-cost.svg</a>"));
    assert!(html.contains("<h2 id=\"chart-switch-cost\">"));
    // The terminal's table says the same, with paths to the charts.
    let text = out.verdicts(dir.path(), false);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .count(),
        CLAIMS.len(),
        "{text}"
    );
    assert!(
        text.contains("pipe, one CPU: process 700.0 ns vs thread 560.0 ns"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "chart: {}",
            dir.path().join("switch-cost.svg").display()
        )),
        "{text}"
    );
    // A one-question run names only the claims it measured.
    let mut counter_only = res.clone();
    counter_only
        .records
        .retain(|r| r.workload == mpmt_schema::Workload::Counter);
    let d2 = tempfile::tempdir().unwrap();
    let text = render(
        &counter_only,
        &mpmt_report::OutDir::open(d2.path()).unwrap(),
    )
    .unwrap()
    .verdicts(d2.path(), true);
    assert_eq!(text.matches("here  ").count(), 1, "{text}");
    assert!(
        text.contains("Unsynchronized increments lose updates"),
        "{text}"
    );
    assert!(text.contains("every locked run exact"), "{text}");
}

#[test]
fn every_cpu_pair_is_a_heatmap_cell_on_a_synthetic_8_cpu_machine() {
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    let tmpl = res
        .records
        .iter()
        .find(|r| r.workload == mpmt_schema::Workload::Latency)
        .unwrap()
        .clone();
    res.records
        .retain(|r| r.workload != mpmt_schema::Workload::Latency);
    for backend in [mpmt_schema::Backend::Thread, mpmt_schema::Backend::Fork] {
        for a in 0..8u32 {
            for b in (0..8u32).filter(|&b| b != a) {
                let mut r = tmpl.clone();
                let v = 100.0 + 10.0 * a.abs_diff(b) as f64;
                r.backend = backend;
                r.channel = Some(mpmt_schema::Channel::ShmSpin);
                r.placement = mpmt_schema::Placement::CrossCpu;
                r.cpus = vec![Some(a), Some(b)];
                r.variant = Some(mpmt_schema::Variant::Pair(a, b));
                r.stats = mpmt_schema::summarize(&[v]);
                res.records.push(r);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    assert!(
        out.charts.iter().any(|c| c == "cpu-pairs.svg"),
        "{:?}",
        out.charts
    );
    // No pair record leaks into the latency-vs-size chart.
    assert!(!out.charts.iter().any(|c| c == "rtt-vs-size.svg"));
    let svg = std::fs::read_to_string(dir.path().join("cpu-pairs.svg")).unwrap();
    mpmt_report::draw::check_layout(&svg).unwrap();
    let text = text_of(&svg);
    assert!(text.contains("shm-spin · thread (cells in ns)") && text.contains("shm-spin · fork"));
    // 8 × 7 cells a panel, each with its value; the diagonal is empty.
    let cell = |v: &str| text.lines().filter(|l| l.trim() == v).count();
    assert_eq!(cell("170"), 2 * 2, "0→7 and 7→0, two panels");
    assert_eq!(cell("110"), 2 * 14, "7 neighbours each way");
    assert_eq!(
        cell("0") + cell("7"),
        2 * 2 * 2,
        "row and column labels 0 and 7"
    );
    assert!(text.contains("fastest: 110.0 ns") && text.contains("slowest: 170.0 ns"));
    let cells = svg.matches("<rect").count();
    assert!(cells >= 2 * 64, "{cells} rects for two 8 × 8 grids");
}

#[test]
fn the_address_space_claim_names_where_it_holds_and_where_not() {
    use mpmt_schema::{summarize, Backend, Metric, Placement, Unit, Variant, VmOp, Workload};
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    res.records.retain(|r| r.workload != Workload::VmOps);
    let tmpl = res.records[0].clone();
    let c = |res: &mpmt_schema::Results| {
        mpmt_report::claims::judge(res, "address-space").expect("a claim key")
    };
    assert_eq!(
        c(&res).verdict,
        mpmt_report::claims::Verdict::NotMeasured,
        "no vm-ops records in the fixture"
    );
    // madvise: threads 3× dearer at 2 workers, with a shootdown per op;
    // page-fault alike. Both alike at one worker.
    for (op, thread2) in [(VmOp::Madvise, 15_000.0), (VmOp::PageFault, 2_600.0)] {
        let base = if op == VmOp::Madvise {
            5_000.0
        } else {
            2_500.0
        };
        for b in [Backend::Thread, Backend::Fork] {
            for w in [1u32, 2] {
                let mut r = tmpl.clone();
                r.workload = Workload::VmOps;
                r.metric = Metric::VmOp;
                r.unit = Unit::Ns;
                r.backend = b;
                r.channel = None;
                r.placement = Placement::CrossCpu;
                r.workers = w;
                r.variant = Some(Variant::Op(op));
                r.warnings.clear();
                let v = if b == Backend::Thread && w == 2 {
                    thread2
                } else {
                    base
                };
                r.stats = summarize(&[v * 0.98, v, v * 1.02]);
                r.modes.clear();
                r.checks = Default::default();
                r.checks.kernel.shootdowns_received_per_op =
                    Some(if b == Backend::Thread && w == 2 && op == VmOp::Madvise {
                        1.0
                    } else {
                        0.0
                    });
                res.records.push(r);
            }
        }
    }
    let claim = c(&res);
    assert_eq!(
        claim.verdict,
        mpmt_report::claims::Verdict::Mixed,
        "{}",
        claim.evidence
    );
    assert!(
        claim.evidence.contains("for madvise; not for page-fault"),
        "{}",
        claim.evidence
    );
    assert!(
        claim
            .evidence
            .contains("shootdowns taken per op 1.00 vs 0.00"),
        "{}",
        claim.evidence
    );
    assert!(claim
        .evidence
        .contains("alike, so the cost is the sibling's"));
    assert_eq!(
        claim.headline,
        "thread/process per op, 2 workers: page-fault 1.0×, madvise 3.0×"
    );
    let dir = tempfile::tempdir().unwrap();
    render(&res, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    let text = text_of(&std::fs::read_to_string(dir.path().join("vm-ops.svg")).unwrap());
    for s in [
        "madvise — shootdowns/op at 2: thread 1.00, fork 0.00",
        "page-fault",
        "2 workers",
        "fork",
    ] {
        assert!(text.contains(s), "vm-ops.svg lacks `{s}`: {text}");
    }
}

#[test]
fn false_sharing_turns_on_threads_against_processes_not_on_one_backends_variants() {
    use mpmt_schema::{
        summarize, Backend, CounterLayout, CounterWrite, Metric, Placement, Variant, Workload,
    };
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    res.records.retain(|r| r.workload != Workload::FalseSharing);
    let tmpl = res.records[0].clone();
    // Packed ns per increment per (backend, layout), padded 0.1 ns: the
    // thread's heap and mapping ratios 13.9× and 30.7× (one run of
    // 2026-12-01), fork and spawn as the thread in the mapping, within
    // their CIs.
    let push =
        |res: &mut mpmt_schema::Results, b: Backend, l: CounterLayout, w: CounterWrite, v: f64| {
            let mut r = tmpl.clone();
            r.workload = Workload::FalseSharing;
            r.metric = Metric::Increment;
            r.backend = b;
            r.channel = None;
            r.placement = Placement::CrossCpu;
            r.workers = 2;
            r.variant = Some(Variant::Layout(l, w));
            r.warnings.clear();
            r.stats = summarize(&[v * 0.9, v, v * 1.1]);
            r.modes.clear();
            res.records.push(r);
        };
    // Atomic adds as above; stores packed at `store` times the atomic's
    // packed figure (1: the same; below, a store buffer hiding the line).
    let build = |fork_packed: f64, store: f64| {
        let mut res = res.clone();
        for (b, heap, packed) in [
            (Backend::Thread, true, 1.39),
            (Backend::Thread, false, 3.07),
            (Backend::Fork, false, fork_packed),
            (Backend::Spawn, false, 3.2),
        ] {
            for (w, f) in [(CounterWrite::Atomic, 1.0), (CounterWrite::Store, store)] {
                push(
                    &mut res,
                    b,
                    CounterLayout::of(true, heap),
                    w,
                    (packed * f).max(0.1),
                );
                push(&mut res, b, CounterLayout::of(false, heap), w, 0.1);
            }
        }
        mpmt_report::claims::judge(&res, "false-sharing").expect("a claim key")
    };
    use mpmt_report::claims::Verdict::*;
    let alike = build(2.9, 1.0);
    assert_eq!(alike.verdict, Supported, "{}", alike.evidence);
    assert_eq!(
        alike.headline,
        "packed/padded across CPUs: store 13.9–32.0×, atomic 13.9–32.0×"
    );
    assert!(
        alike.evidence.contains("in 4 of 4 cases"),
        "{}",
        alike.evidence
    );
    // Stores that pay nothing for the shared line: partly, and said why.
    let hidden = build(2.9, 0.0);
    assert_eq!(hidden.verdict, Mixed, "{}", hidden.evidence);
    assert_eq!(
        hidden.headline,
        "packed/padded across CPUs: store 1.0×, atomic 13.9–32.0×"
    );
    for s in [
        "in 0 of 4 cases",
        "slows atomic writers and not plain stores",
    ] {
        assert!(hidden.evidence.contains(s), "{s}: {}", hidden.evidence);
    }
    // A fork twice the thread's, CIs apart: not alike.
    let unlike = build(6.1, 1.0);
    assert_eq!(unlike.verdict, Mixed, "{}", unlike.evidence);
    assert!(
        unlike
            .evidence
            .contains("atomic: fork packed 6.1 ns vs thread 3.1 ns"),
        "{}",
        unlike.evidence
    );
}

#[test]
fn the_blast_radius_claim_reads_every_fault_and_names_the_panic() {
    use mpmt_schema::{
        summarize, Backend, CrashFault, CrashRun, Metric, Placement, Recovery, Unit, Variant,
        Workload,
    };
    let mut res = load_results(&fixture("run-a").join("results.json")).unwrap();
    res.records.retain(|r| r.workload != Workload::Crash);
    let tmpl = res.records[0].clone();
    let judge = |res: &mpmt_schema::Results| {
        mpmt_report::claims::judge(res, "blast-radius").expect("a claim key")
    };
    assert_eq!(
        judge(&res).verdict,
        mpmt_report::claims::Verdict::NotMeasured
    );
    let push = |res: &mut mpmt_schema::Results,
                b: Backend,
                m: Metric,
                f: CrashFault,
                p: Option<Recovery>,
                v: f64| {
        let mut r = tmpl.clone();
        r.workload = Workload::Crash;
        r.metric = m;
        r.unit = match m {
            Metric::Survivors => Unit::Count,
            Metric::WorkLost => Unit::Bytes,
            _ => Unit::Ns,
        };
        r.backend = b;
        r.channel = None;
        r.placement = Placement::Os;
        r.workers = 4;
        r.variant = Some(Variant::Crash(CrashRun {
            fault: f,
            policy: p,
        }));
        r.warnings.clear();
        r.stats = summarize(&[v, v, v]);
        r.modes.clear();
        r.checks = Default::default();
        res.records.push(r);
    };
    // The numbers of one run of 2026-12-02: a segfault takes the thread
    // team's host down (0 of 3 others finish, 14 MiB lost against the
    // dead process's own 4 MiB); a panic unwinds one thread only.
    let mib = (1u64 << 20) as f64;
    let build = |faults: &[CrashFault]| {
        let mut res = res.clone();
        for &f in faults {
            for b in [Backend::Thread, Backend::Fork] {
                let host_dies = b == Backend::Thread && f != CrashFault::Panic;
                push(
                    &mut res,
                    b,
                    Metric::Survivors,
                    f,
                    None,
                    if host_dies { 0.0 } else { 3.0 },
                );
                push(
                    &mut res,
                    b,
                    Metric::WorkLost,
                    f,
                    None,
                    if host_dies { 14.0 * mib } else { 4.0 * mib },
                );
                push(&mut res, b, Metric::Detect, f, None, 1.3e6);
                push(
                    &mut res,
                    b,
                    Metric::Recover,
                    f,
                    Some(Recovery::Respawn),
                    0.5e6,
                );
                push(
                    &mut res,
                    b,
                    Metric::Recover,
                    f,
                    Some(Recovery::Restart),
                    7.0e6,
                );
            }
        }
        res
    };
    use mpmt_report::claims::Verdict::*;
    let both = build(&[CrashFault::Segv, CrashFault::Panic]);
    let c = judge(&both);
    assert_eq!(c.verdict, Mixed, "{}", c.evidence);
    assert!(
        c.evidence.contains("a Rust panic unwinds only the thread"),
        "{}",
        c.evidence
    );
    assert!(
        c.evidence.contains("segv (a fault): thread: 0 of 3 others finished, 14M lost; fork: 3 of 3 others finished, 4M lost"),
        "{}",
        c.evidence
    );
    assert!(
        c.evidence
            .contains("working again by respawn in thread 500.00 µs"),
        "{}",
        c.evidence
    );
    assert_eq!(
        c.headline,
        "segv: a thread's lost 14M (0 of 3 others finished); a process's (fork) 4M (3 of 3)"
    );
    assert_eq!(c.factor, Some(3.5));
    let segv = judge(&build(&[CrashFault::Segv]));
    assert_eq!(segv.verdict, Supported, "{}", segv.evidence);
    let panic = judge(&build(&[CrashFault::Panic]));
    assert_eq!(panic.verdict, Refuted, "{}", panic.evidence);
    // The ledger puts it where threads pay, and the chart draws every
    // panel.
    let dir = tempfile::tempdir().unwrap();
    render(&both, &mpmt_report::OutDir::open(dir.path()).unwrap()).unwrap();
    let text = text_of(&std::fs::read_to_string(dir.path().join("crash.svg")).unwrap());
    for s in [
        "work lost",
        "detect",
        "recover: respawn",
        "recover: restart",
        "segv",
        "panic",
    ] {
        assert!(text.contains(s), "crash.svg lacks `{s}`: {text}");
    }
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        page.contains("A server where one request can crash its worker"),
        "the advice"
    );
}
