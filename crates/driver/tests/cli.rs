//! The `mpmt` command line, run as a user runs it: bad input is refused
//! before any worker starts (exit 2), with the flag, the value and what is
//! allowed; a tiny real run writes valid results. Faults and signals are
//! in `faults.rs`.

mod common;

use common::{mpmt, only_run_dir};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

/// Runs `mpmt run <args>` expecting failure before anything is written.
fn refused(args: &[&str], expect: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    let o = out.path().to_str().unwrap();
    a.extend_from_slice(&["--out", o]);
    let mut assert = mpmt().args(&a).assert().code(2);
    for e in expect {
        assert = assert.stderr(predicate::str::contains(*e));
    }
    let entries = std::fs::read_dir(out.path()).unwrap().count();
    assert_eq!(
        entries, 0,
        "a run directory was created for refused input {args:?}"
    );
}

#[test]
fn workers_zero_is_refused() {
    refused(
        &["ctx-switch", "--workers", "0"],
        &["--workers 0", "at least 2", "allowed: 2 to 256"],
    );
}

#[test]
fn unknown_workload_backend_channel_placement_are_refused() {
    refused(
        &["nap"],
        &[
            "unrecognized subcommand 'nap'",
            "workloads: ctx-switch, latency, bandwidth",
        ],
    );
    refused(
        &["latency", "--backend", "fiber"],
        &[
            "--backend",
            "`fiber` is not a backend",
            "thread, fork, spawn",
        ],
    );
    refused(
        &["latency", "--channel", "carrier-pigeon"],
        &[
            "--channel",
            "`carrier-pigeon` is not a channel",
            "pipe, unix-socket",
        ],
    );
    refused(
        &["latency", "--placement", "moon"],
        &[
            "--placement",
            "`moon` is not a placement",
            "same-cpu, cross-cpu, os",
        ],
    );
}

#[test]
fn invalid_pairs_are_refused_with_the_valid_list() {
    use mpmt_core::channel::{caps, channels_for};
    use mpmt_core::Backend;
    let names =
        |v: Vec<mpmt_core::ChannelKind>| v.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    // The lists come from the channel registry, as the messages do.
    let fork = format!(
        "Valid channels for fork: {}",
        names(channels_for(Backend::Fork))
    );
    refused(
        &["latency", "--backend", "fork", "--channel", "heap"],
        &["`heap`", "`fork`", &fork],
    );
    refused(
        &[
            "latency",
            "--channel",
            "shm-spin",
            "--placement",
            "same-cpu",
        ],
        &["shm-spin", "same-cpu", "time slice"],
    );
    let blocking = names(
        channels_for(Backend::Thread)
            .into_iter()
            .filter(|&c| caps(c).blocks)
            .collect(),
    );
    assert!(blocking.contains("pipe") && !blocking.contains("shm-spin"));
    refused(
        &["ctx-switch", "--channel", "shm-spin"],
        &["never gives up its CPU", &blocking],
    );
}

#[test]
fn bad_round_flags_are_refused() {
    refused(&["latency", "--rounds", "0"], &["--rounds", "0", "1..=100"]);
    refused(
        &["latency", "--rounds", "5", "--max-rounds", "2"],
        &["--max-rounds 2 is below --rounds 5"],
    );
    refused(
        &["latency", "--ci-target", "0"],
        &["--ci-target", "`0` is out of range; allowed: 0.1 to 100"],
    );
    refused(
        &["latency", "--ci-target", "tight"],
        &["--ci-target", "`tight` is not a number"],
    );
}

/// The shuffled order itself is the executor's, tested there exactly with
/// fake cases (`executor::tests`); here, that a real run records its seed
/// and gives every case its rounds.
#[test]
fn the_seed_and_the_rounds_are_recorded() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    mpmt()
        .args([
            "run",
            "latency",
            "--sizes",
            "8,64,512",
            "--samples",
            "5",
            "--channel",
            "pipe",
            "--backend",
            "thread",
            "--placement",
            "same-cpu",
            "--rounds",
            "2",
            "--max-rounds",
            "2",
            "--seed",
            "42",
            "--out",
            o,
        ])
        .assert()
        .success();
    let dir = only_run_dir(out.path());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(v["run"]["rounds"]["seed"], 42);
    assert_eq!(v["run"]["rounds"]["min_rounds"], 2);
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    for r in records {
        assert_eq!(r["rounds"], 2);
        assert!(r["samples"].as_u64().unwrap() >= 10);
    }
}

#[test]
fn bandwidth_records_touched_and_transfer_only_against_memcpy_of_the_chunk() {
    let v = run_json(&[
        "bandwidth",
        "--backend",
        "thread,fork",
        "--channel",
        "pipe,shm-futex",
        "--placement",
        "same-cpu",
        "--sizes",
        "64K",
        "--samples",
        "20",
        "--rounds",
        "1",
    ]);
    let recs = v["records"].as_array().unwrap();
    // Per backend: pipe touched, pipe transfer-only (the kernel copies),
    // shm-futex touched (writing the slot is its transfer).
    assert_eq!(recs.len(), 2 * 3);
    let only: Vec<_> = recs
        .iter()
        .filter(|r| r["variant"] == "transfer-only")
        .collect();
    assert_eq!(only.len(), 2);
    assert!(only.iter().all(|r| r["channel"] == "pipe"));
    for r in recs {
        let c = &r["checks"];
        let memcpy = c["memcpy_bytes_per_s"].as_f64().unwrap();
        let median = r["stats"]["median"].as_f64().unwrap();
        assert!(memcpy > 0.0);
        let frac = c["fraction_of_memcpy"].as_f64().unwrap();
        assert!((frac - median / memcpy).abs() < 1e-9 * frac.max(1.0), "{r}");
        assert_eq!(c["payload_verified"], true);
    }
}

#[test]
fn bad_sizes_are_refused() {
    refused(
        &["latency", "--sizes", "0"],
        &["--sizes 0", "start at 8 bytes"],
    );
    refused(
        &["latency", "--sizes", "4"],
        &["--sizes 4", "start at 8 bytes"],
    );
    refused(
        &["latency", "--sizes", "12Q"],
        &["--sizes", "unknown unit `Q`"],
    );
    refused(
        &["bandwidth", "--sizes", "4096G"],
        &["--sizes 4096G: out of range; allowed: 8B to 1G"],
    );
    refused(
        &["ctx-switch", "--working-set", "8192G"],
        &["--working-set 8192G: out of range; allowed: 0B to 16G"],
    );
    refused(
        &["ctx-switch", "--working-set", "16G", "--workers", "256"],
        &["--working-set 16G", "is available"],
    );
    // A flag the workload does not take is refused by the parser itself.
    refused(
        &["ctx-switch", "--sizes", "64"],
        &["unexpected argument '--sizes'", "mpmt run ctx-switch"],
    );
}

#[test]
fn missing_cpu_is_refused() {
    refused(
        &["latency", "--cpus", "4096"],
        &["--cpus 4096", "CPU 4096 does not exist", "available:"],
    );
}

#[test]
fn samples_zero_is_refused() {
    refused(&["latency", "--samples", "0"], &["--samples 0"]);
}

#[test]
fn unwritable_out_is_refused() {
    mpmt()
        .args(["run", "latency", "--out", "/proc/mpmt-cannot-write-here"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--out /proc/mpmt-cannot-write-here",
        ));
}

#[test]
fn tiny_run_writes_valid_results() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    mpmt()
        .args([
            "run",
            "latency",
            "--sizes",
            "8,100",
            "--samples",
            "20",
            "--backend",
            "thread,fork,spawn",
            "--channel",
            "pipe,shm-futex",
            "--placement",
            "os",
            "--out",
            o,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("latency"))
        .stderr(predicate::str::contains("results.json"));
    let dir = only_run_dir(out.path());
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], mpmt_core::schema::SCHEMA_VERSION);
    assert_eq!(v["run"]["outcome"]["status"], "complete");
    assert_eq!(v["run"]["outcome"]["cases_planned"], 12);
    assert_eq!(v["run"]["outcome"]["cases_measured"], 12);
    assert!(v["run"]["id"].as_str().unwrap().len() > 10);
    assert!(v["env"]["online_cpus"].as_u64().unwrap() >= 1);
    assert!(v["floors"]["null_syscall_ns"]["value"].as_f64().unwrap() > 0.0);
    assert!(v["floors"]["memcpy_bytes_per_s"]["value"].as_f64().unwrap() > 0.0);
    let recs = v["records"].as_array().unwrap();
    // 3 backends × 2 channels × 2 sizes × 1 placement.
    assert_eq!(recs.len(), 12);
    for r in recs {
        assert_eq!(r["metric"], "rtt");
        assert_eq!(r["unit"], "ns");
        // 20 samples in each round, more (up to 100×) until the round has
        // measured for 20 ms; 3 rounds at least, more while the CI is wide.
        let rounds = r["rounds"].as_u64().unwrap();
        assert!((3..=9).contains(&rounds), "{rounds} rounds");
        let samples = r["samples"].as_u64().unwrap();
        assert!(
            (20 * rounds..=2000 * rounds).contains(&samples),
            "{samples}"
        );
        let medians = r["round_medians"].as_array().unwrap();
        assert_eq!(medians.len() as u64, rounds);
        let m = r["stats"]["median"].as_f64().unwrap();
        let lo = medians
            .iter()
            .map(|x| x.as_f64().unwrap())
            .fold(f64::MAX, f64::min);
        let hi = medians
            .iter()
            .map(|x| x.as_f64().unwrap())
            .fold(0.0, f64::max);
        assert!(
            lo <= m && m <= hi,
            "median {m} outside its rounds {lo}..{hi}"
        );
        assert_eq!(r["checks"]["payload_verified"], true);
        assert_eq!(r["cpus"], serde_json::json!([null, null]));
        let s = &r["stats"];
        assert!(s["min"].as_f64().unwrap() <= s["median"].as_f64().unwrap());
        assert!(s["ci95_low"].as_f64().unwrap() <= s["ci95_high"].as_f64().unwrap());
    }
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13);
    assert!(csv.starts_with("workload,backend,channel,variant,placement,cpus,"));
}

#[test]
fn ctx_switch_records_overhead_and_switches() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    mpmt()
        .args([
            "run",
            "ctx-switch",
            "--samples",
            "20",
            "--backend",
            "fork",
            "--channel",
            "pipe",
            "--placement",
            "same-cpu",
            "--workers",
            "2,3",
            "--working-set",
            "0,16K",
            "--out",
            o,
        ])
        .assert()
        .success();
    let dir = only_run_dir(out.path());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 4);
    for r in recs {
        assert_eq!(r["metric"], "switch");
        assert!(r["checks"]["overhead_ns"].as_f64().unwrap() > 0.0);
        assert!(r["checks"]["hop_ns"].as_f64().unwrap() > 0.0);
        let vol = r["checks"]["voluntary_switches_per_op"].as_f64().unwrap();
        let inv = r["checks"]["involuntary_switches_per_op"].as_f64().unwrap();
        // One CPU, blocking hand-off: each hop is a switch of one kind or the other.
        assert!(vol + inv > 0.5, "switches per hop {vol} + {inv}");
        let cpus = r["cpus"].as_array().unwrap();
        assert_eq!(cpus.len() as u64, r["workers"].as_u64().unwrap());
        assert!(cpus.iter().all(|c| c == &cpus[0]), "same-cpu map: {cpus:?}");
    }
}

#[test]
fn list_env_and_help_explain_everything() {
    mpmt()
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("ctx-switch"))
        .stdout(predicate::str::contains("ipc-channel"))
        .stdout(predicate::str::contains("valid backend × channel"));
    let o = mpmt()
        .args(["env", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert!(v["env"]["kernel"].as_str().unwrap().starts_with("Linux"));
    let help = |args: &[&str]| {
        let out = mpmt()
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let run = help(&["run", "--help"]);
    for w in [
        "ctx-switch",
        "latency",
        "bandwidth",
        "data-parallel",
        "counter",
        "create",
    ] {
        assert!(run.contains(w), "run --help lacks {w}");
    }
    let flags: [(&str, &[&str]); 6] = [
        (
            "ctx-switch",
            &[
                "--backend",
                "--channel",
                "--placement",
                "--workers",
                "--working-set",
            ],
        ),
        (
            "latency",
            &["--backend", "--channel", "--placement", "--sizes"],
        ),
        (
            "bandwidth",
            &["--backend", "--channel", "--placement", "--sizes"],
        ),
        (
            "data-parallel",
            &["--variant", "--elements", "--workers", "--placement"],
        ),
        (
            "counter",
            &[
                "--backend",
                "--mode",
                "--workers",
                "--increments",
                "--placement",
            ],
        ),
        (
            "create",
            &["--method", "--parent-heap", "--workers", "--placement"],
        ),
    ];
    for (w, fs) in flags {
        let h = help(&["run", w, "--help"]);
        for f in fs.iter().chain(&["--samples", "--cpus", "--out"]) {
            assert!(h.contains(f), "run {w} --help lacks {f}");
        }
    }
    mpmt()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"))
        .stdout(predicate::str::contains("list"))
        .stdout(predicate::str::contains("env"));
}

#[test]
fn classic_workloads_refuse_bad_input() {
    refused(
        &["data-parallel", "--workers", "0"],
        &["--workers 0", "at least one worker"],
    );
    refused(
        &["counter", "--workers", "0"],
        &["--workers 0", "at least one worker"],
    );
    refused(
        &["data-parallel", "--elements", "0"],
        &["--elements 0", "at least 1 element"],
    );
    refused(
        &["counter", "--mode", "sloppy"],
        &[
            "--mode",
            "`sloppy` is not a counter mode",
            "racy, atomic, mutex, mutex-batch",
        ],
    );
    refused(
        &["data-parallel", "--variant", "fork-carrier-pigeon"],
        &[
            "--variant",
            "`fork-carrier-pigeon` is not a data-parallel variant",
            "expected one of: thread-heap, thread-shm, fork-shm, spawn-shm, thread-pipe,",
        ],
    );
    refused(
        &["data-parallel", "--elements", "16G"],
        &["--elements 16G", "needs", "is available"],
    );
    refused(
        &["create", "--method", "vfork"],
        &[
            "--method",
            "`vfork` is not a creation method",
            "thread, fork, fork-exec, posix-spawn",
        ],
    );
    // The old names still work for one release: `spawn` and `--backend`.
    refused(
        &["spawn", "--backend", "vfork"],
        &["`vfork` is not a creation method"],
    );
    refused(
        &["create", "--placement", "cross-cpu"],
        &["--placement cross-cpu", "same-cpu or os"],
    );
    refused(
        &["counter", "--sizes", "64"],
        &["unexpected argument '--sizes'"],
    );
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", out.path().to_str().unwrap()]);
    mpmt().args(&a).assert().success();
    let dir = only_run_dir(out.path());
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn data_parallel_run_records_phases_and_speedup() {
    let v = run_json(&[
        "data-parallel",
        "--elements",
        "1000,4K",
        "--workers",
        "1,3",
        "--samples",
        "2",
        "--variant",
        "thread-heap,fork-pipe",
    ]);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2 * 2 * 2);
    for r in recs {
        assert_eq!(r["workload"], "data-parallel");
        assert_eq!(r["metric"], "wall");
        let c = &r["checks"];
        assert!(c["compute_ns"].as_f64().unwrap() >= 0.0);
        assert!(c["teardown_ns"].as_f64().unwrap() >= 0.0);
        let e = c["elements"].as_u64().unwrap();
        // At least 2 runs per round, in each round; every element of every
        // run verified.
        let (rounds, runs) = (
            r["rounds"].as_u64().unwrap(),
            r["samples"].as_u64().unwrap(),
        );
        assert!(
            rounds >= 3 && runs >= 2 * rounds,
            "{rounds} rounds, {runs} runs"
        );
        assert_eq!(c["elements_verified"].as_u64().unwrap(), e * runs);
        // Every record has its W=1 baseline in this sweep.
        assert!(c["speedup"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn counter_run_records_totals() {
    let v = run_json(&[
        "counter",
        "--workers",
        "4",
        "--increments",
        "1000",
        "--samples",
        "1",
        "--backend",
        "thread,fork",
        "--placement",
        "os",
    ]);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 4 * 2);
    for r in recs {
        let c = &r["checks"];
        assert_eq!(c["expected_value"], 4000);
        let lost = c["lost_updates"].as_f64().unwrap();
        if r["variant"] != "racy" {
            assert_eq!(c["final_value"], 4000, "{r}");
            assert_eq!(lost, 0.0);
        }
    }
}

#[test]
fn create_run_records_creation_and_memory() {
    let v = run_json(&[
        "create",
        "--samples",
        "3",
        "--parent-heap",
        "0,1M",
        "--workers",
        "2",
    ]);
    let recs = v["records"].as_array().unwrap();
    // 6 methods × 2 heaps create + 4 methods (all but the two that exec
    // mpmt-noop, which exits at once) × 2 heaps pss.
    assert_eq!(recs.len(), 12 + 8);
    assert_eq!(recs.iter().filter(|r| r["metric"] == "create").count(), 12);
    for r in recs.iter().filter(|r| r["metric"] == "create") {
        // 3 warm-up creations in each round, and every timed one.
        let rounds = r["rounds"].as_u64().unwrap();
        let timed = r["samples"].as_u64().unwrap();
        assert!(timed >= 3 * rounds, "{timed}");
        assert_eq!(
            r["checks"]["workers_reaped"],
            3 * rounds + timed,
            "{}",
            r["variant"]
        );
    }
    for r in recs
        .iter()
        .filter(|r| r["metric"] == "pss" && r["backend"] != "thread")
    {
        assert!(r["stats"]["median"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["checks"]["rss_bytes"].as_f64().unwrap() > 0.0, "{r}");
    }
}

fn report_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../report/tests/fixtures")
        .join(name)
}

#[test]
fn suite_smoke_writes_a_full_report_and_latest() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let assert = mpmt()
        .args(["suite", "--profile", "smoke", "--out", o])
        .assert()
        .success();
    // The terminal ends with the verdicts, then where the page is; the
    // full table only with --verbose.
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("report: ") && last.ends_with("index.html"),
        "{stdout}"
    );
    let verdicts = lines
        .iter()
        .position(|l| l.starts_with("Claims vs measurements"))
        .unwrap_or_else(|| panic!("no verdict table: {stdout}"));
    assert_eq!(
        lines[verdicts..]
            .iter()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .count(),
        7,
        "one verdict row per claim: {stdout}"
    );
    assert!(
        !stdout.contains("vol/invol sw"),
        "the full table printed without --verbose"
    );
    let latest = out.path().join("latest");
    let target = std::fs::read_link(&latest).expect("latest is a symlink");
    let dir = out.path().join(&target);
    assert!(dir.join("index.html").is_file());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let mut workloads: Vec<String> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workload"].as_str().unwrap().to_string())
        .collect();
    workloads.sort();
    workloads.dedup();
    assert_eq!(
        workloads,
        [
            "bandwidth",
            "counter",
            "create",
            "ctx-switch",
            "data-parallel",
            "false-sharing",
            "latency",
            "messaging"
        ]
    );
    let svgs = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert_eq!(svgs, 11, "one chart per question");
    // A second suite run moves latest; --verbose adds every record's row.
    mpmt()
        .args(["suite", "--profile", "smoke", "--out", o, "--verbose"])
        .assert()
        .success()
        .stdout(predicate::str::contains("vol/invol sw"))
        .stdout(predicate::str::contains("Claims vs measurements"));
    assert_ne!(std::fs::read_link(&latest).unwrap(), target);
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
        .stderr(predicate::str::contains("reads versions 1 to 5"));
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
fn empty_mpmt_worker_means_next_to_mpmt() {
    let out = tempfile::tempdir().unwrap();
    mpmt()
        .env("MPMT_WORKER", "")
        .args([
            "run",
            "latency",
            "--backend",
            "spawn",
            "--channel",
            "pipe",
            "--placement",
            "os",
            "--sizes",
            "8",
            "--samples",
            "5",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
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

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef mpmt"),
        ("fish", "complete -c mpmt"),
    ] {
        let out = mpmt().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in ["suite", "compare", "export"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    mpmt()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

/// `make install` (its copying half, over this test build) puts mpmt and
/// mpmt-worker side by side; in a fresh environment with only that folder
/// on PATH, `mpmt list` works and a spawn run finds its worker next to
/// mpmt.
#[test]
fn make_install_gives_a_working_mpmt_on_the_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = Path::new(env!("CARGO_BIN_EXE_mpmt")).parent().unwrap();
    common::worker_path();
    let prefix = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("make")
        .current_dir(&root)
        .args(["--no-print-directory", "install-files"])
        .arg(format!("BINSRC={}", built.display()))
        .arg(format!("PREFIX={}", prefix.path().display()))
        .output()
        .expect("make runs");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let bin = prefix.path().join("bin");
    assert!(bin.join("mpmt").is_file() && bin.join("mpmt-worker").is_file());
    let fresh = |args: &[&str]| {
        std::process::Command::new("mpmt")
            .args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .current_dir(prefix.path())
            .output()
            .unwrap()
    };
    let list = fresh(&["list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains("workloads (mpmt run <workload>):"));
    let out = prefix.path().join("r");
    let run = fresh(&[
        "run",
        "latency",
        "--backend",
        "spawn",
        "--channel",
        "pipe",
        "--placement",
        "same-cpu",
        "--sizes",
        "8",
        "--samples",
        "20",
        "--rounds",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("latency   spawn"));
}
