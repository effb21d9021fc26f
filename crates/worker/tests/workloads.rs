//! Workload conformance suite: every registered workload × every backend it
//! runs on. Each workload's own tiny cases (`Workload::conformance_cases`)
//! are run as a user's case would be, and each record must carry a
//! verification of what it measured (payloads, elements, counter totals or
//! reaped workers). The shared harness then checks that no child, fd,
//! /dev/shm entry or socket directory was left behind. A new workload joins
//! this suite by being in the registry; no test code is added.

mod common;
use common::{Test, TestResult};
use mpmt_core::backend::Backend;
use mpmt_core::workloads::{Case, Context, REGISTRY};

fn run_case(case: &dyn Case) -> TestResult {
    let records = case
        .run(&Context::default())
        .map_err(|e| format!("{}: {e}", case.label()))?;
    if records.is_empty() {
        return Err(format!("{}: no records", case.label()));
    }
    for r in &records {
        if r.workload != case.workload() || r.backend != case.backend() {
            return Err(format!(
                "{}: record says {} {}",
                case.label(),
                r.workload,
                r.backend
            ));
        }
        if r.samples == 0 || !r.stats.median.is_finite() {
            return Err(format!(
                "{}: {} samples, median {}",
                case.label(),
                r.samples,
                r.stats.median
            ));
        }
        if !r.checks.verified() {
            return Err(format!(
                "{}: nothing verified: {:?}",
                case.label(),
                r.checks
            ));
        }
    }
    Ok(())
}

fn main() {
    let mut tests: Vec<Test> = Vec::new();
    for w in REGISTRY {
        let cases = w.conformance_cases();
        // Every workload covers every backend it runs on.
        let kind = w.kind();
        let missing: Vec<Backend> = w
            .backends()
            .iter()
            .copied()
            .filter(|b| !cases.iter().any(|c| c.backend() == *b))
            .collect();
        tests.push((
            format!("{kind}_covers_every_backend"),
            Box::new(move || {
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{kind} has no conformance case for {missing:?}"))
                }
            }),
        ));
        for case in cases {
            let name = case
                .label()
                .replace([' ', '-', '=', '/'], "_")
                .replace("__", "_");
            tests.push((name, Box::new(move || run_case(case.as_ref()))));
        }
    }
    common::run_suite(tests)
}
