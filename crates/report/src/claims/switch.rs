//! "A process switch costs more than a thread switch": thread vs fork
//! per switch on one CPU, on every channel measured for both.

use super::{find, Claim, ClaimDef, Tally, Verdict};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Channel, Placement, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "switch-cost",
    statement: "A process switch costs more than a thread switch.",
    chart: "switch-cost.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

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
                && r.variant.is_none()
        })
    };
    let mut main: Vec<(&mpmt_schema::Record, &mpmt_schema::Record)> = Vec::new();
    let mut lines = Vec::new();
    let mut headline = None;
    let mut factor = None;
    for &c in Channel::ALL {
        if let (Some(t), Some(f)) = (pick(Backend::Thread, c), pick(Backend::Fork, c)) {
            main.push((f, t));
            if headline.is_none() || c == Channel::Pipe {
                factor = Some(f.stats.median / t.stats.median);
                headline = Some(format!(
                    "{c}, one CPU: process {} vs thread {} per switch ({:.2}×)",
                    fmt_ns(f.stats.median),
                    fmt_ns(t.stats.median),
                    f.stats.median / t.stats.median
                ));
            }
            lines.push(format!(
                "{c}: process {} vs thread {} ({:.2}×)",
                fmt_ns(f.stats.median),
                fmt_ns(t.stats.median),
                f.stats.median / t.stats.median
            ));
        }
    }
    // Every other thread/fork pair measured: other working sets, rings,
    // placements. Across CPUs a hop is a wake-up of another vCPU more
    // than a switch, so it is counted apart.
    let mut other = Vec::new();
    let mut cross = Vec::new();
    for f in res.records.iter().filter(|r| {
        r.workload == Workload::CtxSwitch
            && r.backend == Backend::Fork
            && !(r.placement == Placement::SameCpu && r.workers == 2 && r.working_set_bytes == 0)
    }) {
        let Some(t) = find(res, |t| {
            t.backend == Backend::Thread && t.key() == f.key().replacen("/fork/", "/thread/", 1)
        }) else {
            continue;
        };
        if f.placement == Placement::SameCpu {
            other.push((f, t));
        } else {
            cross.push((f, t));
        }
    }
    // The same-CPU pairs are one family: the verdict reads any of them.
    let family = main.len() + other.len();
    let (ch, ot) = (Tally::among(&main, family), Tally::among(&other, family));
    let (total, above) = (ch.n, ch.clear_for);
    let (other_total, other_above, other_below) = (ot.n, ot.clear_for, ot.clear_against);
    let (cross_total, cross_above) = (cross.len(), Tally::of(&cross).clear_for);
    // As a [`Tally`] reads a family, over the channels, with the other
    // same-CPU cases able to tip it: supported when every channel's
    // median is dearer by more than a rerun's noise, one at least
    // clearly, and no case clearly cheaper; refuted when no case at all
    // is clearly dearer.
    let verdict = if total == 0 {
        Verdict::NotMeasured
    } else if above == 0 && other_above == 0 {
        Verdict::Refuted
    } else if above > 0 && ch.beyond_noise == total && ch.clear_against == 0 && other_below == 0 {
        Verdict::Supported
    } else {
        Verdict::Mixed
    };
    let evidence = if total == 0 {
        "No same-CPU ctx-switch records for both thread and fork.".into()
    } else {
        let mut e = format!(
            "Per switch on one CPU, 2-worker ring, no working set, overhead subtracted — {}. The process switch is clearly dearer (CIs apart with the {family} same-CPU cases taken together at 95 %, and by more than a rerun moves a median) on {above} of {total} channels.",
            lines.join("; ")
        );
        if other_total > 0 {
            e += &format!(
                " Over the other same-CPU cases (working sets, ring sizes): process clearly dearer in {other_above} of {other_total}, clearly cheaper in {other_below}."
            );
        }
        if cross_total > 0 {
            e += &format!(
                " Across CPUs, where a hop is mostly the wake-up of another vCPU: process clearly dearer in {cross_above} of {cross_total}."
            );
        }
        e += " The usual explanation (an address-space switch and the TLB refill after it) is not measured here.";
        e
    };
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: match headline {
            Some(h) if other_total > 0 => format!(
                "{h}; clearly dearer on {above} of {total} channels and in {other_above} of {other_total} other same-CPU cases"
            ),
            Some(h) => format!("{h}; clearly dearer on {above} of {total} channels"),
            None => "—".into(),
        },
        evidence,
        factor,
    }
}
