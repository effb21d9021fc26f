//! crash: per fault, what the others lost when one worker died, and how
//! long the supervisor took to see it and to have work going again, a bar
//! per backend.

use crate::draw::*;
use mpmt_schema::{CrashFault, Metric, Record, Recovery, Results, Workload};

/// At the team size measured most (the default's 4).
pub fn crash(res: &Results) -> Option<Chart> {
    let lost = records_of(res, Workload::Crash, Metric::WorkLost);
    let detect = records_of(res, Workload::Crash, Metric::Detect);
    if detect.is_empty() {
        return None;
    }
    let workers = detect.iter().map(|r| r.workers).max()?;
    let faults: Vec<CrashFault> = CrashFault::ALL
        .iter()
        .copied()
        .filter(|f| detect.iter().any(|r| fault_of(r) == Some(*f)))
        .collect();
    let bs = backends(&detect);
    let find = |m: Metric, b, f: CrashFault, p: Option<Recovery>| -> Option<Val> {
        res.records
            .iter()
            .find(|r| {
                r.workload == Workload::Crash
                    && r.metric == m
                    && r.backend == b
                    && r.workers == workers
                    && r.variant
                        .and_then(|v| v.crash())
                        .is_some_and(|c| c.fault == f && c.policy == p)
            })
            .map(Val::of)
    };
    let bars = |title: &str, y: &str, unit: Axis, m: Metric, p: Option<Recovery>| Bars {
        title: title.into(),
        y_desc: y.into(),
        y_unit: unit,
        log_y: unit == Axis::Ns,
        stacked: false,
        groups: faults.iter().map(|f| f.to_string()).collect(),
        series: bs
            .iter()
            .map(|&b| BarSeries {
                name: b.to_string(),
                hue: Hue::Backend(b),
                vals: faults.iter().map(|&f| find(m, b, f, p)).collect(),
            })
            .collect(),
    };
    let mut panels = Vec::new();
    if !lost.is_empty() {
        panels.push(Panel::Bars(bars(
            "work lost",
            "verified work not done",
            Axis::Bytes,
            Metric::WorkLost,
            None,
        )));
    }
    panels.push(Panel::Bars(bars(
        "detect",
        "fault to supervisor knowing",
        Axis::Ns,
        Metric::Detect,
        None,
    )));
    for p in Recovery::ALL {
        if res.records.iter().any(|r| {
            r.workload == Workload::Crash
                && r.metric == Metric::Recover
                && r.variant.and_then(|v| v.crash()).is_some_and(|c| c.policy == Some(*p))
        }) {
            panels.push(Panel::Bars(bars(
                &format!("recover: {p}"),
                "detection to work again",
                Axis::Ns,
                Metric::Recover,
                Some(*p),
            )));
        }
    }
    let mut c = Chart::new(
        "crash.svg",
        format!("When one of {workers} workers crashes halfway through its work"),
        panels,
    );
    c.reading = "Work lost: the verified work (64 KiB blocks written and read back) the team had not done when it ended, respawn runs; a process's crash loses its own unfinished half, a thread's fault ends its host process and every sibling's unfinished work with it, except a panic, which unwinds its one thread. Detect: from the fault's stamp until the supervisor knows which worker died and how (a pidfd; for a panicking thread, the host's own main thread). Recover: from detection until every worker started in the dead one's place (respawn) or the whole new team (restart) has done a verified unit.".into();
    Some(c)
}

fn fault_of(r: &Record) -> Option<CrashFault> {
    r.variant.and_then(|v| v.crash()).map(|c| c.fault)
}
