//! "Threads pass messages faster than processes": hackbench's
//! comparison, thread vs fork over the same channel, placement and groups.

use super::{Claim, ClaimDef, Tally};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Metric, Record, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "messaging",
    statement: "Threads pass messages faster than processes.",
    chart: "messaging.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::Messaging && r.metric == Metric::Wall)
        .collect();
    let pairs: Vec<(&Record, &Record)> = recs
        .iter()
        .filter(|r| r.backend == Backend::Thread)
        .filter_map(|t| {
            let f = recs.iter().find(|f| {
                f.backend == Backend::Fork && f.key() == t.key().replacen("/thread/", "/fork/", 1)
            })?;
            Some((*t, *f))
        })
        .collect();
    if pairs.is_empty() {
        return Claim::not_measured(
            CLAIM.statement,
            "No messaging records for both thread and fork.",
        );
    }
    // The process is the side the claim says pays.
    let tally = Tally::of(&pairs.iter().map(|&(t, f)| (f, t)).collect::<Vec<_>>());
    let (threads_faster, procs_faster, n) = (tally.clear_for, tally.clear_against, tally.n);
    let verdict = tally.verdict();
    // The headline case: the most groups, unpinned if measured.
    let (t, f) = *pairs
        .iter()
        .max_by_key(|(t, _)| {
            (
                t.checks.groups.unwrap_or(0),
                t.placement == mpmt_schema::Placement::Os,
            )
        })
        .expect("pairs is not empty");
    let case = |r: &Record| {
        format!(
            "{} groups, {}, {}",
            r.checks.groups.unwrap_or(0),
            crate::draw::channel_name(r.channel),
            r.placement
        )
    };
    let each: Vec<String> = pairs
        .iter()
        .map(|(t, f)| {
            format!(
                "{}: thread {} vs process {} ({:.2}×)",
                case(t),
                fmt_ns(t.stats.median),
                fmt_ns(f.stats.median),
                f.stats.median / t.stats.median
            )
        })
        .collect();
    let evidence = format!(
        "Wall time until every receiver has all its messages (process / thread): {}. Threads are clearly faster (CIs apart with the {n} cases taken together at 95 %, and by more than a rerun moves a median) in {threads_faster} of {n} cases, processes in {procs_faster}; the process's median is more than a rerun's noise above the thread's in {} of {n}. Either way the kernel copies every message through the same pipe or socket buffer and wakes the same kind of task; what a thread saves (no address-space switch) is small beside that.",
        each.join("; "),
        tally.beyond_noise
    );
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: format!(
            "{}: thread {} vs process {} ({:.2}×); threads clearly faster in {threads_faster} of {n} cases, processes in {procs_faster}",
            case(t),
            fmt_ns(t.stats.median),
            fmt_ns(f.stats.median),
            f.stats.median / t.stats.median
        ),
        evidence,
        factor: Some(f.stats.median / t.stats.median),
    }
}
