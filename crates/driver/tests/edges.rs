//! The edges a fault probe found, each held by a test: figures a chart
//! cannot draw, output to a closed pipe, an unusable TMPDIR, repeated list
//! values, and messages that must quote what the user wrote. (SIGHUP is
//! in `faults.rs` with the other signals; the planted symlink in
//! `mpmt-report`'s `outdir` and the driver's `output` unit tests.)

mod common;

use common::{mpmt, worker_path};
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A hang guard for commands that once spun for ever (not a timing
/// target: each finishes in well under a second when it works).
const HANG_GUARD: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../report/tests/fixtures")
        .join(name)
}

/// A copy of fixture run-a in `dir` with `edit` applied to its JSON.
fn edited_run(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("run-a").join("results.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    edit(&mut v);
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("results.json"), v.to_string()).unwrap();
    run
}

/// Writes each `(field, raw)` (JSON text of a number, kept as written:
/// serde_json would print 1e308 as 1e+308) as record 0's `stats.<field>`.
fn with_raw_stats(dir: &Path, set: &[(&str, &str)]) -> PathBuf {
    let run = edited_run(dir, |v| {
        for (i, (field, _)) in set.iter().enumerate() {
            v["records"][0]["stats"][*field] = Value::from(12345.0 + i as f64);
        }
    });
    let json = run.join("results.json");
    let mut text = std::fs::read_to_string(&json).unwrap();
    for (i, (field, raw)) in set.iter().enumerate() {
        let needle = format!("\"{field}\":{:.1}", 12345.0 + i as f64);
        assert!(text.contains(&needle), "{needle} not in the edited fixture");
        text = text.replacen(&needle, &format!("\"{field}\":{raw}"), 1);
    }
    std::fs::write(&json, text).unwrap();
    run
}

/// The probe's two files: `report` spun at 100 % CPU on both, `compare`
/// after printing its table. Now refused at load, naming file and field.
#[test]
fn report_and_compare_refuse_figures_they_cannot_draw() {
    let cases: [&[(&str, &str)]; 2] = [
        &[("median", "1e308"), ("ci95_high", "1.7e308")],
        &[("median", "5e-324")],
    ];
    for set in cases {
        let d = tempfile::tempdir().unwrap();
        let run = with_raw_stats(d.path(), set);
        // Any of the fields set (a file's fields are checked in key order).
        let field_named = "records[0].stats.";
        mpmt()
            .arg("report")
            .arg(&run)
            .timeout(HANG_GUARD)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("results.json"))
            .stderr(predicate::str::contains(field_named))
            .stderr(predicate::str::contains("outside what mpmt draws"));
        assert!(
            !run.join("index.html").exists(),
            "a page was drawn from {set:?}"
        );
        mpmt()
            .arg("compare")
            .arg(fixture("run-b"))
            .arg(&run)
            .arg("--out")
            .arg(d.path().join("cmp"))
            .timeout(HANG_GUARD)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field_named));
    }
}

#[test]
fn schema_versions_are_quoted_as_written() {
    for (raw, shown) in [("\"4\"", "\"4\""), ("-1", "-1"), ("1e308", "1e308")] {
        let d = tempfile::tempdir().unwrap();
        let run = edited_run(d.path(), |v| v["schema_version"] = Value::from(77));
        let json = run.join("results.json");
        let text = std::fs::read_to_string(&json).unwrap();
        std::fs::write(
            &json,
            text.replacen(
                "\"schema_version\":77",
                &format!("\"schema_version\":{raw}"),
                1,
            ),
        )
        .unwrap();
        mpmt()
            .arg("report")
            .arg(&run)
            .timeout(HANG_GUARD)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("schema_version {shown}")))
            .stderr(predicate::str::contains("(missing)").not());
    }
}

#[test]
fn flag_values_are_quoted_as_given() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    for (args, expect) in [
        (
            vec!["run", "messaging", "--size", "4097"],
            vec!["--size 4097:", "allowed: 8B to 4K"],
        ),
        (
            vec!["run", "latency", "--sizes", "18446744073709551615"],
            vec!["--sizes 18446744073709551615:"],
        ),
        (
            vec!["run", "latency", "--rounds", "-1"],
            vec!["--rounds", "'-1'"],
        ),
        (vec!["suite", "--rounds", "-1"], vec!["--rounds", "'-1'"]),
        (
            vec!["run", "counter", "--workers", "-3"],
            vec!["--workers", "'-3'"],
        ),
    ] {
        let mut a = args.clone();
        a.extend_from_slice(&["--out", o]);
        let mut assert = mpmt().args(&a).assert().code(2);
        for e in expect {
            assert = assert.stderr(predicate::str::contains(e));
        }
        assert.stderr(predicate::str::contains("unexpected argument").not());
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn an_unusable_tmpdir_is_refused_before_any_worker() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for tmp in [d.path().join("missing"), file] {
        let out = d.path().join("out");
        mpmt()
            .env("TMPDIR", &tmp)
            .args(["run", "latency", "--backend", "spawn", "--channel", "pipe"])
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "TMPDIR={} is not a writable directory",
                tmp.display()
            )))
            .stderr(predicate::str::contains("internal error").not());
        assert!(!out.exists(), "a run folder was made with TMPDIR={tmp:?}");
    }
}

/// The (workload, backend, channel, variant, placement, size, workers)
/// of every record, and whether any appears twice.
fn keys(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {} {}",
                r["workload"],
                r["backend"],
                r["channel"],
                r["variant"],
                r["placement"],
                r["size_bytes"],
                r["workers"],
                r["metric"]
            )
        })
        .collect()
}

#[test]
fn repeated_list_values_make_one_case() {
    for (args, records) in [
        (
            vec![
                "latency",
                "--sizes",
                "8K,8K,8192",
                "--backend",
                "thread,thread",
                "--channel",
                "pipe",
                "--placement",
                "same-cpu",
            ],
            1,
        ),
        (
            vec![
                "latency",
                "--sizes",
                "64",
                "--backend",
                "thread",
                "--backend",
                "fork,thread",
                "--channel",
                "pipe",
                "--placement",
                "same-cpu",
            ],
            2,
        ),
        (
            vec![
                "counter",
                "--mode",
                "racy,racy",
                "--backend",
                "thread",
                "--workers",
                "2",
                "--increments",
                "1000",
                "--placement",
                "os",
            ],
            1,
        ),
        (
            vec!["create", "--method", "thread,thread", "--parent-heap", "0"],
            // One creation record and one memory record.
            2,
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut a = vec!["run"];
        a.extend_from_slice(&args);
        a.extend_from_slice(&["--samples", "20", "--rounds", "1", "--max-rounds", "1"]);
        a.extend_from_slice(&["--out", out.path().to_str().unwrap()]);
        mpmt().args(&a).assert().success();
        let v: Value = common::only_results(out.path());
        let k = keys(&v);
        let mut distinct = k.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), k.len(), "{args:?}: a record twice: {k:?}");
        assert_eq!(k.len(), records, "{args:?}: {k:?}");
    }
}

/// mpmt with stdout or stderr a pipe whose reader is already gone.
fn with_closed(stream: &str, args: &[&str]) -> (Option<i32>, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    let err_file = out.path().join("stderr.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpmt"));
    cmd.env("MPMT_WORKER", worker_path())
        .args(args)
        .arg("--out")
        .arg(out.path().join("runs"));
    if stream == "stdout" {
        cmd.stdout(Stdio::from(w))
            .stderr(std::fs::File::create(&err_file).unwrap());
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::from(w));
    }
    let mut child = cmd.spawn().unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("mpmt with a closed {stream} still ran after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = std::fs::read_to_string(&err_file).unwrap_or_default();
    (status.code(), err, out)
}

fn run_results(out: &Path) -> Value {
    let dir = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.ends_with("latest"))
        .expect("a run folder");
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_closed_stdout_or_stderr_ends_the_run_cleanly() {
    let args = [
        "suite",
        "--profile",
        "smoke",
        "--rounds",
        "1",
        "--max-rounds",
        "1",
    ];
    // stderr closed: the first progress line fails, the run stops there.
    let (code, _, out) = with_closed("stderr", &args);
    assert_eq!(code, Some(141), "expected 128 + SIGPIPE");
    let v = run_results(out.path());
    assert_eq!(v["run"]["outcome"]["status"], "interrupted");
    assert_eq!(v["run"]["outcome"]["signal"], "SIGPIPE");

    // stdout closed: the run itself completes (it prints at the end),
    // then the table cannot be written: exit as SIGPIPE, nothing crashed.
    let run = [
        "run",
        "latency",
        "--backend",
        "thread",
        "--channel",
        "pipe",
        "--sizes",
        "8",
        "--samples",
        "50",
        "--rounds",
        "1",
    ];
    let (code, err, out) = with_closed("stdout", &run);
    assert_eq!(code, Some(141), "{err}");
    assert!(
        !err.contains("internal error") && !err.contains("panicked"),
        "{err}"
    );
    let v = run_results(out.path());
    assert_eq!(v["records"].as_array().unwrap().len(), 2, "{v}");
}
