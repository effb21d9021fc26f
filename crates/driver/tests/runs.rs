//! Tiny real runs, as a user starts them: each workload writes valid,
//! verified results with the figures its records promise; the smoke suite
//! writes the whole report.

mod common;

use common::{mpmt, only_results, only_run_dir};
use predicates::prelude::*;

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", out.path().to_str().unwrap()]);
    mpmt().args(&a).assert().success();
    only_results(out.path())
}

/// The shuffled order itself is the executor's, tested there exactly with
/// fake cases (`executor::tests`); here, that a real run records its seed
/// and gives every case its rounds.
#[test]
fn the_seed_and_the_rounds_are_recorded() {
    let v = run_json(&[
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
    ]);
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
        "4K,64K",
        "--samples",
        "3",
        "--rounds",
        "1",
    ]);
    let recs = v["records"].as_array().unwrap();
    // Per backend and size: pipe touched, pipe transfer-only (the kernel
    // copies), shm-futex touched (writing the slot is its transfer).
    assert_eq!(recs.len(), 2 * 2 * 3);
    let only: Vec<_> = recs
        .iter()
        .filter(|r| r["variant"] == "transfer-only")
        .collect();
    assert_eq!(only.len(), 4);
    assert!(only.iter().all(|r| r["channel"] == "pipe"));
    // memcpy was measured once per chunk size, before the cases.
    let floors = v["floors"]["memcpy_at"].as_array().unwrap();
    let sizes: Vec<u64> = floors
        .iter()
        .map(|f| f["size_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [4096, 65536]);
    for r in recs {
        let c = &r["checks"];
        let size = r["size_bytes"].as_u64().unwrap();
        let floor = &floors.iter().find(|f| f["size_bytes"] == size).unwrap()["floor"];
        // Every record of one size quotes the run's one floor there.
        let memcpy = c["memcpy_bytes_per_s"].as_f64().unwrap();
        assert_eq!(memcpy, floor["value"].as_f64().unwrap(), "{r}");
        assert_eq!(c["memcpy_ci95"][1], floor["stats"]["ci95_high"], "{r}");
        let copies = c["memcpy_copies"].as_u64().unwrap();
        let expected = match (r["channel"].as_str().unwrap(), r["variant"].as_str()) {
            ("pipe", Some("transfer-only")) => 2,
            ("pipe", _) => 3,
            _ => 1,
        };
        assert_eq!(copies, expected, "{r}");
        let median = r["stats"]["median"].as_f64().unwrap();
        let frac = c["fraction_of_memcpy"].as_f64().unwrap();
        if c["at_memcpy_floor"] == true {
            assert_eq!(frac, 1.0, "{r}");
        } else {
            let want = median / (memcpy / copies as f64);
            assert!((frac - want).abs() < 1e-9 * frac.max(1.0), "{r}");
        }
        assert!(frac <= 1.0 || c["at_memcpy_floor"].is_null(), "{r}");
        // Each window streams at least 64 × what the channel buffers.
        let capacity = c["channel_capacity_bytes"].as_u64().unwrap();
        if r["channel"] == "shm-futex" {
            // Two slots asked for; a link of small messages gets more.
            let slots = mpmt_core::channel::shm::slots_for(size as usize, 2) as u64;
            assert_eq!(capacity, slots * size, "{r}");
        } else {
            assert!(capacity >= 4096, "{r}");
        }
        // (the smallest window over the rounds).
        let window = c["chunks_per_window"].as_u64().unwrap();
        assert!(window <= r["ops_per_sample"].as_u64().unwrap(), "{r}");
        assert!(window * size >= 64 * capacity, "{r}");
        assert_eq!(c["payload_verified"], true);
    }
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
    // With two CPUs the cache-line floor is measured before the cases and
    // again after them (the host may have moved the CPUs meanwhile); a
    // move, if any, is a note naming both figures.
    let fl = &v["floors"];
    assert_eq!(
        fl["cacheline_rtt_ns"].is_object(),
        fl["cacheline_rtt_after_ns"].is_object(),
        "{fl}"
    );
    for n in fl["notes"].as_array().into_iter().flatten() {
        let n = n.as_str().unwrap();
        if n.contains("after") {
            assert!(n.contains("ns before the cases and"), "{n}");
        }
    }
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
    let v = only_results(out.path());
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
        // 3 warm-up creations in each round, every timed one, and the
        // one the first round counts the kernel's events over.
        let rounds = r["rounds"].as_u64().unwrap();
        let timed = r["samples"].as_u64().unwrap();
        assert!(timed >= 3 * rounds, "{timed}");
        assert_eq!(
            r["checks"]["workers_reaped"],
            3 * rounds + timed + 1,
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
        mpmt_report::claims::CLAIMS.len(),
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
            "cow",
            "crash",
            "create",
            "ctx-switch",
            "data-parallel",
            "false-sharing",
            "latency",
            "memory",
            "messaging",
            "vm-ops"
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
    assert_eq!(svgs, 15, "one chart per question");
    for chart in ["vm-ops.svg", "memory.svg", "cow.svg", "crash.svg"] {
        assert!(dir.join(chart).is_file(), "{chart}");
    }
    // Every record carries the kernel's counts per op, or says why not.
    for r in v["records"].as_array().unwrap() {
        let c = &r["checks"];
        assert!(
            c["context_switches_per_op"].is_number() || c["kernel_events_missing"].is_string(),
            "{r}"
        );
    }
    assert_eq!(v["run"]["budget"]["limit_s"], serde_json::Value::Null);
    assert!(
        v["run"]["budget"]["dropped"].is_null(),
        "smoke has no budget"
    );
    // A second suite run moves latest; --verbose adds every record's row.
    // With a budget of 1 s, far too small, every sweep point no verdict or
    // headline reads is dropped before the first case (the forecast then
    // is the cases' own guesses, so the drops are exact), the run says it
    // will overrun, and still measures every verdict case.
    let second = mpmt()
        .args([
            "suite",
            "--profile",
            "smoke",
            "--out",
            o,
            "--verbose",
            "--budget",
            "1s",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("vol/invol sw"))
        .stdout(predicate::str::contains("Claims vs measurements"));
    let stderr = String::from_utf8_lossy(&second.get_output().stderr).into_owned();
    let points = [
        "latency 4K same-cpu",
        "latency 8B same-cpu",
        "bandwidth 64K same-cpu",
        "data-parallel e=1K",
    ];
    for p in points {
        assert!(
            stderr.contains(&format!("mpmt: dropped {p} (")),
            "{p} not said dropped: {stderr}"
        );
    }
    assert!(
        stderr.contains("mpmt: over budget: the cases the verdicts read take about"),
        "{stderr}"
    );
    let latest_now = std::fs::read_link(&latest).unwrap();
    assert_ne!(latest_now, target);
    let dir = out.path().join(&latest_now);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let b = &v["run"]["budget"];
    assert_eq!(b["limit_s"], 1.0);
    let mut dropped: Vec<&str> = b["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["point"].as_str().unwrap())
        .collect();
    dropped.sort();
    let mut want = points.to_vec();
    want.sort();
    assert_eq!(dropped, want);
    assert!(b["overrun"]
        .as_str()
        .unwrap()
        .contains("none of them is dropped"));
    assert!(b["measured_s"].as_f64().unwrap() > 1.0);
    // No record of a dropped point; every verdict and headline case there.
    let recs = v["records"].as_array().unwrap();
    let dropped_cases: u64 = b["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["cases"].as_u64().unwrap())
        .sum();
    assert_eq!(
        v["run"]["outcome"]["cases_measured"].as_u64().unwrap() + dropped_cases,
        v["run"]["outcome"]["cases_planned"].as_u64().unwrap()
    );
    assert!(recs
        .iter()
        .all(|r| !(r["workload"] == "latency" && r["size_bytes"] == 4096)));
    let pipe_at = |w: &str, size: u64| {
        recs.iter()
            .filter(|r| {
                r["workload"] == w
                    && r["channel"] == "pipe"
                    && r["placement"] == "same-cpu"
                    && r["size_bytes"] == size
                    && r["variant"].is_null()
            })
            .count()
    };
    assert_eq!(pipe_at("latency", 8), 2, "the headline's thread and fork");
    assert_eq!(pipe_at("bandwidth", 64 << 10), 2);
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("Left out to fit the budget"), "{page}");
    assert!(page.contains("dropped latency 4K same-cpu ("));
    assert!(page.contains("Over budget, said before the run"));
}

#[test]
fn a_budget_that_is_not_a_duration_is_refused_before_anything_runs() {
    let out = tempfile::tempdir().unwrap();
    mpmt()
        .args(["suite", "--profile", "smoke", "--budget", "soon", "--out"])
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--budget"))
        .stderr(predicate::str::contains(
            "`soon` is not a duration; write e.g. 4m30s, 270s, 90 (seconds) or none",
        ));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
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

/// A small message between two CPUs carries the cache-line round trip
/// measured beside its round, and its figure over that floor; a larger
/// message, or one on one CPU, carries neither.
#[test]
fn cross_cpu_small_latency_records_its_paired_line_floor() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs two CPUs");
        return;
    }
    let v = run_json(&[
        "latency",
        "--backend",
        "thread,fork",
        "--channel",
        "pipe",
        "--placement",
        "same-cpu,cross-cpu",
        "--sizes",
        "8,64,512",
        "--samples",
        "5",
        "--rounds",
        "1",
        "--max-rounds",
        "1",
    ]);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2 * 2 * 3);
    let mut paired = 0;
    for r in recs {
        let c = &r["checks"];
        let want = r["placement"] == "cross-cpu" && r["size_bytes"].as_u64().unwrap() <= 64;
        assert_eq!(c["line_floor_ns"].is_number(), want, "{r}");
        assert_eq!(c["line_floor_ratio"].is_number(), want, "{r}");
        if want {
            paired += 1;
            let floor = c["line_floor_ns"].as_f64().unwrap();
            assert!(floor > 0.0, "{r}");
            // One round: the ratio is that round's median over its floor.
            assert_eq!(r["rounds"], 1, "{r}");
            let median = r["stats"]["median"].as_f64().unwrap();
            let ratio = c["line_floor_ratio"].as_f64().unwrap();
            assert!((ratio - median / floor).abs() <= 1e-9 * ratio, "{r}");
        }
    }
    assert_eq!(paired, 4);
}
