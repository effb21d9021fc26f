//! Warnings that mean something: `contended` fires when another task runs
//! on a measured CPU (a pinned busy loop in another process), and on the
//! very same case without it every warning is true of its own numbers. The two tests take turns:
//! each would disturb the other. (The other warnings, noisy rounds and
//! switch counts outside what a hand-off makes, are provoked with
//! deliberately wrong inputs in mpmt-core's unit tests.)

mod common;

use common::{mpmt, only_results};
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A shell spinning on CPU `cpu`, killed and reaped when dropped.
struct BusyLoop(std::process::Child);

impl BusyLoop {
    fn on(cpu: usize) -> BusyLoop {
        let child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("starting a busy loop");
        let mut set = nix::sched::CpuSet::new();
        set.set(cpu).unwrap();
        nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(child.id() as i32), &set)
            .expect("pinning the busy loop");
        BusyLoop(child)
    }
}

impl Drop for BusyLoop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One same-CPU pipe latency case on CPU 0, three rounds of at least
/// 20,000 round trips; its record.
fn latency_on_cpu0() -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    mpmt()
        .args([
            "run",
            "latency",
            "--backend",
            "thread",
            "--channel",
            "pipe",
            "--placement",
            "same-cpu",
            "--cpus",
            "0",
            "--sizes",
            "8",
            "--samples",
            "20000",
            "--rounds",
            "3",
            "--max-rounds",
            "3",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    only_results(out.path())["records"][0].clone()
}

/// A record's warnings, each as `<kind>: <text>`.
fn warnings_of(r: &serde_json::Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["kind"].as_str().unwrap(),
                w["text"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn contended_fires_when_a_busy_loop_shares_the_cpu() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let busy = BusyLoop::on(0);
    let r = latency_on_cpu0();
    drop(busy);
    let warnings = warnings_of(&r);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("contended: other tasks took") && w.contains("of CPU 0")),
        "{warnings:?}"
    );
    assert!(
        r["checks"]["other_cpu_share"].as_f64().unwrap() > 0.1,
        "{r}"
    );
}

/// Without a busy loop, whatever else the machine runs (a loaded CI host
/// may run plenty), every warning the record carries is true of its own
/// numbers: `contended` exactly when the recorded share of other tasks is
/// over the threshold, `noisy` only with round medians that far apart.
/// That a quiet machine gives no warning at all is a property of the
/// machine, checked by `mpmt selftest`, not by `make test`.
#[test]
fn an_undisturbed_run_carries_only_true_warnings() {
    use mpmt_core::measure::rounds::{CONTENDED_SHARE, NOISY_CV};
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = latency_on_cpu0();
    assert_eq!(r["rounds"], 3);
    assert!(r["samples"].as_u64().unwrap() >= 3 * 20000);
    let warnings = warnings_of(&r);
    let share = r["checks"]["other_cpu_share"].as_f64().unwrap();
    let contended = warnings.iter().any(|w| w.starts_with("contended:"));
    if contended {
        assert!(share > CONTENDED_SHARE, "contended at share {share}: {r}");
    }
    if share <= CONTENDED_SHARE {
        assert!(!contended, "{r}");
    }
    let medians: Vec<f64> = r["round_medians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let mean = medians.iter().sum::<f64>() / medians.len() as f64;
    let spread = medians.iter().map(|m| (m - mean).abs()).fold(0.0, f64::max) / mean;
    if warnings.iter().any(|w| w.starts_with("noisy:")) {
        assert!(spread > NOISY_CV / 2.0, "noisy at spread {spread}: {r}");
    }
    for w in &warnings {
        assert!(
            w.starts_with("contended:") || w.starts_with("noisy:"),
            "a warning an undisturbed run cannot earn: {w}"
        );
    }
}
