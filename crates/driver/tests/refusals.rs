//! Bad input is refused before any worker starts (exit 2), naming the
//! flag, the value and what is allowed, and nothing is written; `list`,
//! `env` and `--help` explain every choice.

mod common;

use common::mpmt;
use predicates::prelude::*;

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
