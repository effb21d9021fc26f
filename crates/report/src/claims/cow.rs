//! "fork is cheap because of copy-on-write — until someone writes": the
//! fork of the largest heap against the copies its writes cost, and the
//! fraction of the heap at which the copies cost as much as the fork.

use super::{clearly_above, Claim, ClaimDef, Verdict};
use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{CowWriter, Metric, Record, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "cow",
    statement: "fork is cheap because of copy-on-write — until someone writes.",
    chart: "cow.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

fn cow_records(res: &Results) -> impl Iterator<Item = &Record> {
    res.records.iter().filter(|r| r.workload == Workload::Cow)
}

/// The record of `metric` by `writer` at `heap` on small or huge pages
/// that writes the most.
fn most_written(res: &Results, m: Metric, w: CowWriter, heap: u64, huge: bool) -> Option<&Record> {
    cow_records(res)
        .filter(|r| {
            r.metric == m
                && r.size_bytes == heap
                && r.variant.and_then(|v| v.cow()).is_some_and(|c| c.writer == w && c.huge == huge)
        })
        .max_by_key(|r| r.variant.and_then(|v| v.cow()).map(|c| c.ppm))
}

fn faults(r: &Record) -> String {
    match r.checks.minor_faults_per_page {
        Some(f) => format!("{f:.2} faults per page"),
        None => "faults not counted".into(),
    }
}

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let Some(heap) = cow_records(res)
        .filter(|r| r.metric == Metric::Fork)
        .map(|r| r.size_bytes)
        .max()
    else {
        return Claim::not_measured(CLAIM.statement, "No cow records: run `mpmt run cow`.");
    };
    let fork = cow_records(res)
        .filter(|r| r.metric == Metric::Fork && r.size_bytes == heap)
        .filter(|r| r.variant.and_then(|v| v.cow()).is_some_and(|c| !c.huge))
        .min_by(|a, b| a.stats.median.total_cmp(&b.stats.median));
    let child = most_written(res, Metric::CowFault, CowWriter::Child, heap, false);
    let (Some(fork), Some(child)) = (fork, child) else {
        return Claim::not_measured(
            CLAIM.statement,
            "The cow records lack a fork and a child's writes on 4 KiB pages at one heap.",
        );
    };
    let pages = (heap / 4096) as f64;
    let per = child.stats.median;
    // The fraction at which the copies cost what the fork did.
    let even = fork.stats.median / (per * pages);
    let mut ev = format!(
        "A parent with {} resident forks in {}; then each page the child writes costs {} ({}), so writing all of it costs {} ({:.0}× the fork). The copies cost as much as the fork once {:.2} % of the heap is written.",
        fmt_bytes(heap),
        fmt_ns(fork.stats.median),
        fmt_ns(per),
        faults(child),
        fmt_ns(per * pages),
        per * pages / fork.stats.median,
        even * 100.0
    );
    if let (Some(b), Some(a)) = (child.checks.child_uss_before_bytes, child.checks.child_uss_after_bytes) {
        ev += &format!(
            " The child's own memory (USS) went from {} to {}.",
            fmt_bytes(b as u64),
            fmt_bytes(a as u64)
        );
    }
    if let Some(p) = most_written(res, Metric::CowFault, CowWriter::Parent, heap, false) {
        ev += &format!(
            " When the parent writes instead, it pays {} per page ({}).",
            fmt_ns(p.stats.median),
            faults(p)
        );
    }
    let thread = most_written(res, Metric::CowFault, CowWriter::Thread, heap, false);
    if let Some(t) = thread {
        ev += &format!(
            " The same writes by a thread, with no fork, cost {} per page ({}).",
            fmt_ns(t.stats.median),
            faults(t)
        );
    }
    let huge_fork = cow_records(res)
        .filter(|r| r.metric == Metric::Fork && r.size_bytes == heap)
        .filter(|r| r.variant.and_then(|v| v.cow()).is_some_and(|c| c.huge))
        .min_by(|a, b| a.stats.median.total_cmp(&b.stats.median));
    if let (Some(hf), Some(hc)) = (
        huge_fork,
        most_written(res, Metric::CowFault, CowWriter::Child, heap, true),
    ) {
        let mapped = hf.checks.huge_page_bytes.unwrap_or(0.0);
        ev += &format!(
            " With transparent huge pages ({} of the heap mapped by 2 MiB pages at the fork), fork takes {} and a page written {} ({}): {}",
            fmt_bytes(mapped as u64),
            fmt_ns(hf.stats.median),
            fmt_ns(hc.stats.median),
            faults(hc),
            match hc.checks.minor_faults_per_page {
                Some(f) if f > 0.9 => "this kernel splits a shared huge page at the first write and copies 4 KiB per fault, so huge pages make the fork cheaper and the copies no cheaper.",
                _ => "one fault copies a whole huge page.",
            }
        );
    }
    let copies_cost = thread.is_none_or(|t| clearly_above(child, t));
    let verdict = match (copies_cost, even < 1.0) {
        (true, true) => Verdict::Supported,
        (false, _) => Verdict::Refuted,
        (true, false) => Verdict::Mixed,
    };
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: format!(
            "fork of {} {}; a copied page {}; break-even at {:.2} % of the heap written",
            fmt_bytes(heap),
            fmt_ns(fork.stats.median),
            fmt_ns(per),
            even * 100.0
        ),
        evidence: ev,
        // A page written after fork against the same write with none.
        factor: thread.map(|t| per / t.stats.median),
    }
}
