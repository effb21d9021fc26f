//! "A process switch costs more than a thread switch": thread vs fork
//! per switch on one CPU, on every channel measured for both.

use super::{clearly_above, find, Claim, Verdict, STATEMENTS};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Channel, Placement, Results, Workload};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let pick = |b: Backend, c: Channel| {
        find(res, |r| {
            r.workload == Workload::CtxSwitch
                && r.backend == b
                && r.channel == Some(c)
                && r.placement == Placement::SameCpu
                && r.workers == 2
                && r.working_set_bytes == 0
        })
    };
    let mut above = 0;
    let mut total = 0;
    let mut lines = Vec::new();
    for &c in Channel::ALL {
        if let (Some(t), Some(f)) = (pick(Backend::Thread, c), pick(Backend::Fork, c)) {
            total += 1;
            if clearly_above(f, t) {
                above += 1;
            }
            lines.push(format!(
                "{c}: process {} vs thread {} ({:.2}×)",
                fmt_ns(f.stats.median),
                fmt_ns(t.stats.median),
                f.stats.median / t.stats.median
            ));
        }
    }
    let verdict = match (total, above) {
        (0, _) => Verdict::NotMeasured,
        (n, a) if a == n => Verdict::Supported,
        (_, 0) => Verdict::Refuted,
        _ => Verdict::Mixed,
    };
    let evidence = if total == 0 {
        "No same-CPU ctx-switch records for both thread and fork.".into()
    } else {
        format!(
            "Per switch on one CPU, 2-worker ring, overhead subtracted — {}. The process switch is clearly (non-overlapping 95 % CIs) dearer on {above} of {total} channels: switching address spaces adds a page-table switch and TLB refill that threads of one process skip.",
            lines.join("; ")
        )
    };
    Claim {
        statement: STATEMENTS[0],
        verdict,
        evidence,
    }
}
