//! `report`, `compare` and `export` over stored runs (the report crate's
//! fixtures, and copies scaled to make a difference), measuring nothing.

mod common;

use common::mpmt;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn report_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../report/tests/fixtures")
        .join(name)
}

#[test]
fn report_refuses_bad_run_dirs() {
    let empty = tempfile::tempdir().unwrap();
    mpmt()
        .args(["report", empty.path().to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("has no results.json"));
    std::fs::write(
        empty.path().join("results.json"),
        r#"{"schema_version": 7}"#,
    )
    .unwrap();
    mpmt()
        .args(["report", empty.path().to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("schema_version 7"))
        .stderr(predicate::str::contains("reads versions 1 to 6"));
    // A folder named results.json, and a symlink loop, are told apart from
    // a missing file; all are bad input (exit 2).
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("results.json")).unwrap();
    mpmt()
        .args(["report", d.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("results.json is not a file"));
    let l = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(l.path().join("results.json"), l.path().join("results.json"))
        .unwrap();
    mpmt()
        .args(["report", l.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("symbolic links"));
}

#[test]
fn report_and_compare_from_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    for run in ["run-a", "run-b"] {
        let d = dir.path().join(run);
        std::fs::create_dir(&d).unwrap();
        std::fs::copy(
            report_fixture(run).join("results.json"),
            d.join("results.json"),
        )
        .unwrap();
        mpmt()
            .args(["report", d.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("index.html"));
        assert!(d.join("switch-cost.svg").is_file());
    }
    let out = dir.path().join("cmp");
    mpmt()
        .args([
            "compare",
            dir.path().join("run-a").to_str().unwrap(),
            dir.path().join("run-b").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "# mpmt compare: 2 runs, baseline fixture-a",
        ))
        .stdout(predicate::str::contains("cpu_model"));
    assert!(out.join("compare.md").is_file() && out.join("compare.svg").is_file());
    mpmt()
        .args([
            "compare",
            dir.path().to_str().unwrap(),
            dir.path().join("run-b").to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("has no results.json"));
}

/// A copy of fixture run A as run `id`, with every median and CI scaled
/// by `k`, in `dir/<id>/results.json`.
fn scaled_fixture(dir: &Path, id: &str, k: f64) -> PathBuf {
    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_fixture("run-a").join("results.json")).unwrap(),
    )
    .unwrap();
    v["run"]["id"] = id.into();
    for r in v["records"].as_array_mut().unwrap() {
        for f in ["median", "ci95_low", "ci95_high"] {
            let x = r["stats"][f].as_f64().unwrap();
            r["stats"][f] = (x * k).into();
        }
    }
    let d = dir.join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("results.json"), v.to_string()).unwrap();
    d
}

#[test]
fn compare_takes_many_runs_a_baseline_and_gates_on_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let a = scaled_fixture(dir.path(), "run-1", 1.0);
    let b = scaled_fixture(dir.path(), "run-2", 1.2);
    let c = scaled_fixture(dir.path(), "run-3", 0.9);
    let (sa, sb, sc) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let out = dir.path().join("cmp");
    let so = out.to_str().unwrap();
    // Three runs: a column each, written beside the chart.
    mpmt()
        .args(["compare", sa, sb, sc, "--out", so])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "# mpmt compare: 3 runs, baseline run-1",
        ))
        .stdout(predicate::str::contains("### #2 run-2 vs the baseline"))
        .stdout(predicate::str::contains("### #3 run-3 vs the baseline"));
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        md.contains("| switch, process (fork), pipe, one CPU | 700.0 ns"),
        "{md}"
    );
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    mpmt_report::draw::check_layout(&svg).unwrap();
    // --fail-above: run-2 is 20 % slower, beyond the noise: exit 3 naming
    // it. run-3 is faster, except that its bandwidth fell to 0.9×, which
    // is worse for a rate.
    mpmt()
        .args(["compare", sa, sb, sc, "--out", so, "--fail-above", "10"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("got worse than the baseline"))
        .stderr(predicate::str::contains(
            "ctx-switch/switch/fork/pipe/-/same-cpu/w2/s8/ws0 in run-2: 1.200×",
        ))
        .stderr(
            predicate::str::contains("ctx-switch/switch/fork/pipe/-/same-cpu/w2/s8/ws0 in run-3")
                .not(),
        )
        .stderr(predicate::str::contains(
            "bandwidth/bandwidth/fork/pipe/-/same-cpu/w2/s1048576/ws0 in run-3: 0.900×",
        ));
    // 20 % is within a 25 % gate.
    mpmt()
        .args(["compare", sa, sb, sc, "--out", so, "--fail-above", "25"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no case got worse"));
    // Against run-3 (the fastest) as the baseline, both others are worse;
    // a baseline not among the runs is compared first.
    mpmt()
        .args([
            "compare",
            sa,
            sb,
            "--baseline",
            sc,
            "--out",
            so,
            "--fail-above",
            "10",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "# mpmt compare: 3 runs, baseline run-3",
        ))
        .stderr(predicate::str::contains("in run-1"))
        .stderr(predicate::str::contains("in run-2"));
    // One run is not a comparison; a bad gate is refused.
    mpmt()
        .args(["compare", sa])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RUNS"));
    mpmt()
        .args(["compare", sa, sb, "--fail-above", "ten"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fail-above"))
        .stderr(predicate::str::contains("is not a number"));
}

#[test]
fn export_writes_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let run = scaled_fixture(dir.path(), "run-1", 1.0);
    let r = run.to_str().unwrap();
    let n = mpmt_report::load_results(&run.join("results.json"))
        .unwrap()
        .records
        .len();
    let out = mpmt()
        .args(["export", r, "--format", "bmf"])
        .assert()
        .success();
    let bmf: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(bmf.as_object().unwrap().len(), n);
    let f = dir.path().join("x.jsonl");
    mpmt()
        .args([
            "export",
            r,
            "--format",
            "json-lines",
            "-o",
            f.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote"));
    let text = std::fs::read_to_string(&f).unwrap();
    assert_eq!(text.lines().count(), n + 1);
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
    let out = mpmt()
        .args(["export", r, "--format", "csv"])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .count(),
        n + 1
    );
    mpmt()
        .args(["export", r, "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("# mpmt run run-1"));
    mpmt()
        .args(["export", r, "--format", "xml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format"))
        .stderr(predicate::str::contains("json-lines"));
    mpmt()
        .args(["export", dir.path().to_str().unwrap(), "--format", "csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no results.json"));
}
