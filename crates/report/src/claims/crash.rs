//! "Each process has its own memory, so when one process dies the others
//! carry on; a thread that crashes takes its whole process down": per
//! fault, how many of the others finished and how much verified work was
//! lost on each backend, with how long the supervisor took to see the
//! death and to have work going again by each policy.

use super::{Claim, ClaimDef, Verdict};
use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{Backend, CrashFault, Metric, Record, Recovery, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "blast-radius",
    statement: "Each process has its own memory, so when one process dies the others carry on; a thread that crashes takes its whole process down.",
    chart: "crash.svg",
    says: super::Says::ThreadsPay,
    judge: claim,
};

fn get(res: &Results, m: Metric, b: Backend, f: CrashFault, p: Option<Recovery>) -> Option<&Record> {
    res.records.iter().find(|r| {
        r.workload == Workload::Crash
            && r.metric == m
            && r.backend == b
            && r.variant
                .and_then(|v| v.crash())
                .is_some_and(|c| c.fault == f && c.policy == p)
    })
}

/// One fault's reading.
struct Fault {
    fault: CrashFault,
    /// Every process backend's others all finished.
    processes_carry_on: bool,
    /// The thread team lost more than any process team, and fewer of its
    /// others finished.
    threads_go_down: bool,
    /// Thread's work lost over the most a process team lost.
    ratio: f64,
    text: String,
    headline: String,
}

const PROCESSES: [Backend; 2] = [Backend::Fork, Backend::Spawn];

fn read(res: &Results, f: CrashFault) -> Option<Fault> {
    let lost = |b| get(res, Metric::WorkLost, b, f, None);
    let alive = |b| get(res, Metric::Survivors, b, f, None);
    let (t_lost, t_alive) = (lost(Backend::Thread)?, alive(Backend::Thread)?);
    let procs: Vec<(Backend, &Record, &Record)> = PROCESSES
        .iter()
        .filter_map(|&b| Some((b, lost(b)?, alive(b)?)))
        .collect();
    if procs.is_empty() {
        return None;
    }
    let others = (t_alive.workers - 1) as f64;
    let processes_carry_on = procs.iter().all(|(_, _, a)| a.stats.median >= others);
    let most = procs
        .iter()
        .map(|(_, l, _)| l.stats.median)
        .fold(0.0, f64::max);
    let threads_go_down = t_alive.stats.median < others && t_lost.stats.median > most;
    let side = |b: Backend, l: &Record, a: &Record| {
        format!(
            "{b}: {:.0} of {others:.0} others finished, {} lost",
            a.stats.median,
            fmt_bytes(l.stats.median as u64)
        )
    };
    let mut text = format!(
        "{f} ({}): {}",
        t_lost.checks.crash_end.as_deref().unwrap_or("a fault"),
        std::iter::once(side(Backend::Thread, t_lost, t_alive))
            .chain(procs.iter().map(|(b, l, a)| side(*b, l, a)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let times = |m: Metric, p: Option<Recovery>| -> Vec<String> {
        std::iter::once(Backend::Thread)
            .chain(PROCESSES)
            .filter_map(|b| get(res, m, b, f, p).map(|r| format!("{b} {}", fmt_ns(r.stats.median))))
            .collect()
    };
    text += &format!(". Detected in {}", times(Metric::Detect, None).join(", "));
    for p in Recovery::ALL {
        let t = times(Metric::Recover, Some(*p));
        if !t.is_empty() {
            text += &format!("; working again by {p} in {}", t.join(", "));
        }
    }
    let owner = times(Metric::OwnerDead, None);
    if !owner.is_empty() {
        text += &format!(
            "; a surviving worker's next lock of the mutex the dead one held returned EOWNERDEAD after {}",
            owner.join(", ")
        );
    }
    text.push('.');
    let (pb, pl, pa) = procs
        .iter()
        .max_by(|a, b| a.1.stats.median.total_cmp(&b.1.stats.median))
        .expect("at least one");
    let headline = format!(
        "{f}: a thread's lost {} ({:.0} of {others:.0} others finished); a process's ({pb}) {} ({:.0} of {others:.0})",
        fmt_bytes(t_lost.stats.median as u64),
        t_alive.stats.median,
        fmt_bytes(pl.stats.median as u64),
        pa.stats.median
    );
    Some(Fault {
        fault: f,
        processes_carry_on,
        threads_go_down,
        ratio: t_lost.stats.median / most.max(1.0),
        text,
        headline,
    })
}

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let faults: Vec<Fault> = CrashFault::ALL.iter().filter_map(|&f| read(res, f)).collect();
    if faults.is_empty() {
        return Claim::not_measured(
            CLAIM.statement,
            "No crash records with a thread team and a process team: run `mpmt run crash`.",
        );
    }
    let down: Vec<&Fault> = faults.iter().filter(|f| f.threads_go_down).collect();
    let spared: Vec<&Fault> = faults.iter().filter(|f| !f.threads_go_down).collect();
    let all_carry_on = faults.iter().all(|f| f.processes_carry_on);
    let verdict = match (all_carry_on, down.len()) {
        (true, n) if n == faults.len() => Verdict::Supported,
        (true, n) if n > 0 => Verdict::Mixed,
        _ => Verdict::Refuted,
    };
    let mut ev = faults
        .iter()
        .map(|f| f.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    if !spared.is_empty() {
        let names: Vec<String> = spared.iter().map(|f| f.fault.to_string()).collect();
        ev += &format!(
            " Where a thread's fault did not take its siblings down ({}): {}",
            names.join(", "),
            match spared.iter().any(|f| f.fault == CrashFault::Panic) {
                true => "a Rust panic unwinds only the thread that panics, so its siblings finish as a process's would.",
                false => "the thread team's others finished as a process team's did.",
            }
        );
    }
    if !all_carry_on {
        ev += " A process team did not carry on after one of its members died.";
    }
    // The classic crash first: a segfault where it was measured.
    let lead = down
        .iter()
        .find(|f| f.fault == CrashFault::Segv)
        .or(down.first())
        .copied()
        .unwrap_or(&faults[0]);
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: lead.headline.clone(),
        evidence: ev,
        factor: Some(lead.ratio),
    }
}
