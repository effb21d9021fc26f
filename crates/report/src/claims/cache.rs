//! "Processes switch slower because their caches are lost at every
//! switch": the thread–process gap across the working-set sweep.

use super::{Claim, Verdict, STATEMENTS};
use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{Backend, Channel, Placement, Record, Results, Workload};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| {
            r.workload == Workload::CtxSwitch && r.placement == Placement::SameCpu && r.workers == 2
        })
        .collect();
    let sets: Vec<u64> = {
        let mut v: Vec<u64> = recs.iter().map(|r| r.working_set_bytes).collect();
        v.sort();
        v.dedup();
        v
    };
    let (small, big) = match (sets.first(), sets.last()) {
        (Some(&s), Some(&b)) if b > s => (s, b),
        _ => {
            return Claim {
                statement: STATEMENTS[4],
                verdict: Verdict::NotMeasured,
                evidence: "The run has no ctx-switch sweep over working sets (--working-set)."
                    .into(),
            }
        }
    };
    let gap = |ws: u64| {
        let g = |b: Backend| {
            recs.iter()
                .find(|r| {
                    r.backend == b && r.working_set_bytes == ws && r.channel == Some(Channel::Pipe)
                })
                .or_else(|| {
                    recs.iter()
                        .find(|r| r.backend == b && r.working_set_bytes == ws)
                })
        };
        match (g(Backend::Thread), g(Backend::Fork)) {
            (Some(t), Some(f)) => Some((
                f.stats.median - t.stats.median,
                t.stats.median,
                f.stats.median,
            )),
            _ => None,
        }
    };
    match (gap(small), gap(big)) {
        (Some((g0, t0, f0)), Some((g1, t1, f1))) => {
            // The claim predicts the process penalty grows with the data
            // each worker keeps in cache.
            let grows = g1 > g0 + (t0.abs().max(f0.abs()) * 0.1).max(50.0);
            let verdict = if grows {
                Verdict::Supported
            } else {
                Verdict::Refuted
            };
            let evidence = format!(
                "Switch cost with a {} working set: thread {}, process {} (gap {}); with {}: thread {}, process {} (gap {}). {}",
                fmt_bytes(small), fmt_ns(t0), fmt_ns(f0), fmt_ns(g0),
                fmt_bytes(big), fmt_ns(t1), fmt_ns(f1), fmt_ns(g1),
                if grows {
                    "The process penalty grows with the working set: after an address-space switch a worker takes longer to reach its own memory again. mpmt cannot tell refetched cache lines from refilled TLB entries; both are lost to processes and kept by threads of one process."
                } else {
                    "The process penalty does not grow with the working set: CPU caches are physically tagged and survive an address-space switch; what a process switch loses is TLB entries, a cost that does not scale with the data here."
                }
            );
            Claim {
                statement: STATEMENTS[4],
                verdict,
                evidence,
            }
        }
        _ => Claim {
            statement: STATEMENTS[4],
            verdict: Verdict::NotMeasured,
            evidence: "The working-set sweep lacks thread or fork records.".into(),
        },
    }
}
