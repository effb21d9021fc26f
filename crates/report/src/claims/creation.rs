//! "Creating a process costs more than creating a thread": create + join
//! per method at the smallest and largest parent heap.

use super::{Claim, ClaimDef, Tally};
use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{CreateMethod as M, Metric, Results, Variant, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "creation",
    statement: "Creating a process costs more than creating a thread.",
    chart: "creation.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let get = |m: M, heap_max: bool| {
        let it = res.records.iter().filter(|r| {
            r.workload == Workload::Create
                && r.metric == Metric::Create
                && r.variant == Some(Variant::Method(m))
        });
        if heap_max {
            it.max_by_key(|r| r.size_bytes)
        } else {
            it.min_by_key(|r| r.size_bytes)
        }
    };
    let (t, f) = match (get(M::Thread, false), get(M::Fork, false)) {
        (Some(t), Some(f)) => (t, f),
        _ => {
            return Claim::not_measured(
                CLAIM.statement,
                "No create records for both thread and fork.",
            )
        }
    };
    let mut ev = format!(
        "Create, run nothing and join/reap with a {} parent heap{}: thread {}, fork {} ({:.0}×)",
        fmt_bytes(t.size_bytes),
        f.checks
            .parent_rss_bytes
            .map(|r| format!(" (parent resident set {})", fmt_bytes(r)))
            .unwrap_or_default(),
        fmt_ns(t.stats.median),
        fmt_ns(f.stats.median),
        f.stats.median / t.stats.median
    );
    for m in [
        M::ForkExec,
        M::ForkExecStatic,
        M::PosixSpawn,
        M::PosixSpawnStatic,
    ] {
        if let Some(r) = res.records.iter().find(|r| {
            r.workload == Workload::Create
                && r.metric == Metric::Create
                && r.variant == Some(Variant::Method(m))
                && r.size_bytes == t.size_bytes
        }) {
            ev += &format!(", {m} {}", fmt_ns(r.stats.median));
        }
    }
    ev.push('.');
    if let (Some(fb), Some(ps)) = (get(M::Fork, true), get(M::PosixSpawn, true)) {
        if fb.size_bytes > f.size_bytes {
            ev += &format!(
                " With a {} heap fork takes {} (its page tables are copied) while posix_spawn takes {}.",
                fmt_bytes(fb.size_bytes),
                fmt_ns(fb.stats.median),
                fmt_ns(ps.stats.median)
            );
        }
    }
    // Every process method at every parent heap, against the thread at
    // the same heap.
    let mut both = Vec::new();
    for p in res.records.iter().filter(|r| {
        r.workload == Workload::Create
            && r.metric == Metric::Create
            && r.variant != Some(Variant::Method(M::Thread))
    }) {
        let thread = res.records.iter().find(|r| {
            r.workload == Workload::Create
                && r.metric == Metric::Create
                && r.variant == Some(Variant::Method(M::Thread))
                && r.size_bytes == p.size_bytes
                && r.placement == p.placement
        });
        if let Some(th) = thread {
            both.push((p, th));
        }
    }
    let tally = Tally::of(&both);
    let (dearer, pairs) = (tally.clear_for, tally.n);
    ev += &format!(
        " Over every process method and parent heap measured, the process is clearly dearer (CIs apart with the {pairs} cases taken together at 95 %, and by more than a rerun moves a median) in {dearer} of {pairs} cases, clearly cheaper in {}; its median is more than a rerun's noise above the thread's in {} of {pairs}.",
        tally.clear_against, tally.beyond_noise
    );
    let fl = &res.floors;
    if let (Some(fk), Some(th)) = (&fl.fork_exit_wait_ns, &fl.thread_create_join_ns) {
        ev += &format!(
            " The kernel's own floor, measured in this run: fork + exit + wait {}, pthread create + join {}.",
            fmt_ns(fk.value),
            fmt_ns(th.value)
        );
    }
    let verdict = tally.verdict();
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: format!(
            "fork {} vs thread {} ({:.1}×); process dearer beyond a rerun's noise in {} of {pairs} cases, surely (all {pairs} taken together) in {dearer}",
            fmt_ns(f.stats.median),
            fmt_ns(t.stats.median),
            f.stats.median / t.stats.median,
            tally.beyond_noise
        ),
        evidence: ev,
        factor: Some(f.stats.median / t.stats.median),
    }
}
