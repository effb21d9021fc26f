//! Soak: 200 small cases in a row, cycling through every workload's
//! conformance cases (every backend × channel of the ring workloads, every
//! data-parallel variant, counter, create), each under the stall deadline as
//! the driver runs it. The process's open fds, threads and children must be
//! the same at the end as at the start (the shared harness then checks
//! /dev/shm and socket directories too).

mod common;
use common::{Test, TestResult};
use mpmt_core::measure::Deadline;
use mpmt_core::sys::{proc, watchdog};
use mpmt_core::workloads::{check_limits, Case, Context, REGISTRY};

const CASES: usize = 200;

fn children() -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|s| {
                    s.split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect::<Vec<i32>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn soak() -> TestResult {
    let cases: Vec<Box<dyn Case>> = REGISTRY
        .iter()
        .flat_map(|w| w.conformance_cases())
        .collect();
    let ctx = Context {
        deadline: Deadline::default(),
        ..Context::default()
    };
    mpmt_core::sys::perf::hold();
    let before = (
        proc::open_fds().unwrap(),
        proc::thread_count().unwrap(),
        children(),
    );
    for i in 0..CASES {
        let case = &cases[i % cases.len()];
        check_limits(case.as_ref()).map_err(|e| format!("{}: {e}", case.label()))?;
        let _armed = watchdog::Armed::new(ctx.deadline.for_setup(case.memory_bytes()))
            .map_err(|e| e.to_string())?;
        case.run(&ctx)
            .map_err(|e| format!("case {i} ({}): {e}", case.label()))?;
    }
    // A joined thread can linger in /proc for a moment: look again until
    // the counts are back, for at most the stop grace mpmt gives a thread
    // member (twice, for a loaded machine): a liveness bound, not a timing
    // target.
    let grace = mpmt_core::backend::THREAD_STOP_GRACE * 2;
    let t = std::time::Instant::now();
    let after = loop {
        let now = (
            proc::open_fds().unwrap(),
            proc::thread_count().unwrap(),
            children(),
        );
        if now == before || t.elapsed() > grace {
            break now;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    if after != before {
        return Err(format!(
            "after {CASES} cases (fds, threads, children) went from {before:?} to {after:?}"
        ));
    }
    println!(
        "soak: {CASES} cases over {} distinct ones; fds, threads and children unchanged",
        cases.len()
    );
    Ok(())
}

fn main() {
    let tests: Vec<Test> = vec![("soak_200_cases".into(), Box::new(soak))];
    common::run_suite(tests)
}
