//! "Threads pay for sharing one address space": vm-ops, thread vs
//! process per op at the most workers, across CPUs, with the shootdowns
//! the kernel counted for each.

use super::{clearly_above, Claim, ClaimDef, Verdict};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Metric, Placement, Record, Results, Variant, VmOp, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "address-space",
    statement: "Threads pay for sharing one address space: memory operations in one process contend, and every unmap interrupts the other threads' CPUs.",
    chart: "vm-ops.svg",
    says: super::Says::ThreadsPay,
    judge: claim,
};

/// A thread op counts as paying when its median is at least this much
/// above the process's and the CIs do not overlap.
const PAYS: f64 = 1.10;

/// One worker's thread/process ratio counts as alike within this factor.
const ALIKE: f64 = 1.15;

/// The records the claim reads: across CPUs if measured, else on one.
fn records(res: &Results) -> (Vec<&Record>, Placement) {
    let all: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::VmOps && r.metric == Metric::VmOp)
        .collect();
    let cross: Vec<&Record> = all
        .iter()
        .copied()
        .filter(|r| r.placement == Placement::CrossCpu)
        .collect();
    match cross.is_empty() {
        true => (all, Placement::SameCpu),
        false => (cross, Placement::CrossCpu),
    }
}

fn shootdowns(r: &Record) -> String {
    match r.checks.kernel.shootdowns_received_per_op {
        Some(s) => format!("{s:.2}"),
        None => "n/a".into(),
    }
}

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let (recs, place) = records(res);
    let Some(w) = recs.iter().map(|r| r.workers).max() else {
        return Claim::not_measured(
            CLAIM.statement,
            "No vm-ops records: run `mpmt run vm-ops`.",
        );
    };
    let get = |b: Backend, op: VmOp, n: u32| {
        recs.iter()
            .find(|r| r.backend == b && r.workers == n && r.variant == Some(Variant::Op(op)))
            .copied()
    };
    // Per op: the thread record and the process one (fork, else spawn).
    let rows: Vec<(VmOp, &Record, &Record)> = VmOp::ALL
        .iter()
        .filter_map(|&op| {
            let t = get(Backend::Thread, op, w)?;
            let p = get(Backend::Fork, op, w).or_else(|| get(Backend::Spawn, op, w))?;
            Some((op, t, p))
        })
        .collect();
    if rows.is_empty() || w < 2 {
        return Claim::not_measured(
            CLAIM.statement,
            "vm-ops needs thread and process records at two or more workers (a sibling to contend with).",
        );
    }
    let pays = |t: &Record, p: &Record| {
        clearly_above(t, p) && t.stats.median >= PAYS * p.stats.median
    };
    let holds: Vec<VmOp> = rows.iter().filter(|r| pays(r.1, r.2)).map(|r| r.0).collect();
    let spared: Vec<VmOp> = rows.iter().filter(|r| !pays(r.1, r.2)).map(|r| r.0).collect();
    let verdict = match (holds.len(), spared.len()) {
        (0, _) => Verdict::Refuted,
        (_, 0) => Verdict::Supported,
        _ => Verdict::Mixed,
    };
    let names = |v: &[VmOp]| {
        v.iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let each: Vec<String> = rows
        .iter()
        .map(|(op, t, p)| {
            format!(
                "{op}: thread {} vs {} {} ({:.1}×), shootdowns taken per op {} vs {}",
                fmt_ns(t.stats.median),
                p.backend,
                fmt_ns(p.stats.median),
                t.stats.median / p.stats.median,
                shootdowns(t),
                shootdowns(p)
            )
        })
        .collect();
    // At one worker there is no sibling: the same op should cost the same.
    let alone_pairs: Vec<(VmOp, f64)> = rows
        .iter()
        .filter_map(|(op, _, p)| {
            let t1 = get(Backend::Thread, *op, 1)?;
            let p1 = get(p.backend, *op, 1)?;
            Some((*op, t1.stats.median / p1.stats.median))
        })
        .collect();
    let alone: Vec<String> = alone_pairs
        .iter()
        .map(|(op, r)| format!("{op} {r:.2}×"))
        .collect();
    let alone_ratios: Vec<f64> = alone_pairs.iter().map(|p| p.1).collect();
    let mut ev = format!(
        "{w} workers {place}, ns per op per worker (95 % CIs in the table): {}. Threads pay (at least {:.0} % slower, CIs apart) for {}{}.",
        each.join("; "),
        (PAYS - 1.0) * 100.0,
        if holds.is_empty() { "no op".into() } else { names(&holds) },
        if spared.is_empty() {
            String::new()
        } else {
            format!("; not for {}", names(&spared))
        }
    );
    if !alone.is_empty() {
        let near = alone_ratios
            .iter()
            .all(|&r| (1.0 / ALIKE..=ALIKE).contains(&r));
        ev += &format!(
            " With one worker, thread/process is {}: {}",
            alone.join(", "),
            match near {
                true => "alike, so the cost is the sibling's, not the thread's.",
                false => "not alike everywhere, so part of a gap is there without a sibling (noise, or the process's own layout).",
            }
        );
    }
    if let Some(why) = rows[0].1.checks.kernel.kernel_events_missing.as_deref() {
        if rows[0].1.checks.kernel.shootdowns_received_per_op.is_none() {
            ev += &format!(" Shootdowns were not counted: {why}.");
        }
    }
    let headline = format!(
        "thread/process per op, {w} workers: {}",
        rows.iter()
            .map(|(op, t, p)| format!("{op} {:.1}×", t.stats.median / p.stats.median))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The op where threads pay most.
    let factor = rows
        .iter()
        .map(|(_, t, p)| t.stats.median / p.stats.median)
        .reduce(f64::max);
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline,
        evidence: ev,
        factor,
    }
}
