//! "Threads share data for free, while processes need IPC": the
//! data-parallel variants at the largest array.

use super::{Claim, ClaimDef, Verdict};
use mpmt_schema::units::{fmt_count, fmt_ns};
use mpmt_schema::{
    ArrayAccess as A, ArraySplit, Backend as B, Channel, Record, Results, Variant, Workload,
};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "sharing",
    statement: "Threads share data for free, while processes need IPC.",
    chart: "data-parallel-time.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let dp: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::DataParallel)
        .collect();
    let e = match dp.iter().map(|r| r.size_bytes).max() {
        Some(e) => e,
        None => return Claim::not_measured(CLAIM.statement, "No data-parallel records."),
    };
    let w = dp
        .iter()
        .filter(|r| r.size_bytes == e)
        .map(|r| r.workers)
        .find(|&w| w == 2)
        .or_else(|| dp.iter().map(|r| r.workers).max())
        .unwrap_or(1);
    let v = |b: B, a: A| {
        let split = Some(Variant::Split(ArraySplit::new(b, a)));
        dp.iter()
            .find(|r| r.size_bytes == e && r.workers == w && r.variant == split)
            .copied()
    };
    let thread = v(B::Thread, A::Heap).or_else(|| v(B::Thread, A::Shm));
    let copy =
        v(B::Fork, A::Sent(Channel::Pipe)).or_else(|| v(B::Spawn, A::Sent(Channel::IpcChannel)));
    let shm = v(B::Fork, A::Shm);
    let tshm = v(B::Thread, A::Shm);
    let mut parts = Vec::new();
    let mut heads = Vec::new();
    let mut verdict = Verdict::NotMeasured;
    let factor = thread
        .zip(copy)
        .map(|(t, c)| c.stats.median / t.stats.median);
    if let (Some(t), Some(c)) = (thread, copy) {
        heads.push(format!(
            "{} {:.1}× {} at {} elements",
            c.variant_name(),
            c.stats.median / t.stats.median,
            t.variant_name(),
            fmt_count(e / 8)
        ));
        parts.push(format!(
            "doubling {} elements with {w} workers takes {} with threads on one heap, {} when each process gets its slice over {} and sends it back ({:.1}× — {} of it copying in and {} copying out)",
            fmt_count(e / 8),
            fmt_ns(t.stats.median),
            fmt_ns(c.stats.median),
            crate::draw::channel_name(c.channel),
            c.stats.median / t.stats.median,
            fmt_ns(c.setup_ns as f64),
            fmt_ns(c.checks.teardown_ns.unwrap_or(f64::NAN))
        ));
        verdict = if c.stats.median > t.stats.median {
            Verdict::Supported
        } else {
            Verdict::Refuted
        };
    }
    if let (Some(s), Some(ts)) = (shm, tshm) {
        let (pc, tc) = (
            s.checks.compute_ns.unwrap_or(f64::NAN),
            ts.checks.compute_ns.unwrap_or(f64::NAN),
        );
        let how = if (pc / tc - 1.0).abs() <= 0.2 {
            "as fast as"
        } else if pc < tc {
            "faster than"
        } else {
            "slower than"
        };
        heads.push(format!("fork-shm computes {:.2}× thread-shm", pc / tc));
        parts.push(format!(
            "processes sharing a mapping compute {how} threads on the same mapping ({} vs {}) and pay {} of setup (mapping, copying in, forking) against {}",
            fmt_ns(pc),
            fmt_ns(tc),
            fmt_ns(s.setup_ns as f64),
            fmt_ns(ts.setup_ns as f64)
        ));
        if verdict == Verdict::Supported {
            verdict = Verdict::Mixed;
        }
    }
    let evidence = if parts.is_empty() {
        "The run lacks the thread and process variants needed to compare.".into()
    } else {
        let mut s = parts.join("; ");
        s.push('.');
        if verdict == Verdict::Mixed {
            s += " So sharing is free for threads, and processes need either IPC (copies) or an explicitly shared mapping — which, once set up, costs nothing extra per access.";
        }
        s[..1].to_uppercase() + &s[1..]
    };
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: if heads.is_empty() {
            "—".into()
        } else {
            heads.join("; ")
        },
        evidence,
        factor,
    }
}
