//! "Processes switch slower because their caches are lost at every
//! switch": the thread–process gap at every working set measured, on every
//! channel measured for both, read against the caches the run recorded.
//!
//! The switch time is the ring's hop less one thread doing the same hop
//! alone (the overhead). Once both members' working sets no longer fit in
//! L2 together, while the one thread's still does, the subtraction stops
//! cancelling the data's own cost, and the curve can fall as the working
//! set grows (lmbench's lat_ctx has the same artefact): points past that
//! size are reported but not used for the verdict.

use super::{clearly_above, Claim, ClaimDef, Verdict};
use mpmt_schema::units::{fmt_bytes, fmt_ns};
use mpmt_schema::{Backend, Channel, Placement, Record, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "cache-loss",
    statement: "Processes switch slower because their caches are lost at every switch.",
    chart: "switch-vs-working-set.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| {
            r.workload == Workload::CtxSwitch
                && r.placement == Placement::SameCpu
                && r.workers == 2
                && r.variant.is_none()
        })
        .collect();
    let mut sets: Vec<u64> = recs.iter().map(|r| r.working_set_bytes).collect();
    sets.sort();
    sets.dedup();
    let not_measured = |why: &str| Claim::not_measured(CLAIM.statement, why);
    if sets.len() < 2 {
        return not_measured("The run has no ctx-switch sweep over working sets (--working-set).");
    }
    let l2 = res.env.cache_bytes(2);
    // Past this, two working sets overflow L2 while one does not.
    let clean = |ws: u64| l2.is_none_or(|l2| 2 * ws <= l2);
    let pair = |c: Channel, ws: u64| {
        let get = |b: Backend| {
            recs.iter()
                .find(|r| r.backend == b && r.channel == Some(c) && r.working_set_bytes == ws)
        };
        Some((*get(Backend::Thread)?, *get(Backend::Fork)?))
    };
    let channels: Vec<Channel> = Channel::ALL
        .iter()
        .copied()
        .filter(|&c| sets.iter().all(|&ws| pair(c, ws).is_some()))
        .collect();
    if channels.is_empty() {
        return not_measured("The working-set sweep lacks a channel with both thread and fork records at every size.");
    }
    // Per channel: does the process penalty, clear of both CIs, grow from
    // the smallest working set to the largest clean one?
    let small = sets[0];
    let big_clean = sets
        .iter()
        .copied()
        .filter(|&ws| clean(ws))
        .max()
        .unwrap_or(small);
    let mut holds = Vec::new();
    let mut fails = Vec::new();
    for &c in &channels {
        let (t0, f0) = pair(c, small).expect("checked above");
        let (t1, f1) = pair(c, big_clean).expect("checked above");
        let (g0, g1) = (
            f0.stats.median - t0.stats.median,
            f1.stats.median - t1.stats.median,
        );
        let grows = big_clean > small
            && clearly_above(f1, t1)
            && g1 > g0 + (t0.stats.median.abs() * 0.1).max(50.0);
        if grows {
            holds.push(c.name());
        } else {
            fails.push(c.name());
        }
    }
    let verdict = match (holds.len(), fails.len()) {
        (0, _) => Verdict::Refuted,
        (_, 0) => Verdict::Supported,
        _ => Verdict::Mixed,
    };
    // The shown curve: pipe if measured, else the first channel.
    let shown = if channels.contains(&Channel::Pipe) {
        Channel::Pipe
    } else {
        channels[0]
    };
    let points: Vec<String> = sets
        .iter()
        .map(|&ws| {
            let (t, f) = pair(shown, ws).expect("checked above");
            format!(
                "{}: thread {} ({}–{}), process {} ({}–{}){}",
                fmt_bytes(ws),
                fmt_ns(t.stats.median),
                fmt_ns(t.stats.ci95_low),
                fmt_ns(t.stats.ci95_high),
                fmt_ns(f.stats.median),
                fmt_ns(f.stats.ci95_low),
                fmt_ns(f.stats.ci95_high),
                if clean(ws) {
                    ""
                } else {
                    " [past L2: not used]"
                }
            )
        })
        .collect();
    let caches = match l2 {
        Some(l2) => format!(
            "Caches here: {}. Working sets above {} are past the point where two members' data overflow L2 while the one-thread overhead's does not, so the subtraction stops cancelling there and the curve may fall.",
            res.env.caches_text(),
            fmt_bytes(l2 / 2)
        ),
        None => "The run did not record cache sizes, so every point is used.".into(),
    };
    let reading = match verdict {
        Verdict::Supported => format!(
            "The process penalty grows from {} to {} on every channel ({}).",
            fmt_bytes(small),
            fmt_bytes(big_clean),
            holds.join(", ")
        ),
        Verdict::Mixed => format!(
            "The process penalty grows from {} to {}, clear of the CIs, on {} but not on {}.",
            fmt_bytes(small),
            fmt_bytes(big_clean),
            holds.join(", "),
            fails.join(", ")
        ),
        _ => format!(
            "On no channel does the process penalty grow, clear of the CIs, from {} to {} ({}).",
            fmt_bytes(small),
            fmt_bytes(big_clean),
            fails.join(", ")
        ),
    };
    let gap = |ws: u64| {
        let (t, f) = pair(shown, ws).expect("checked above");
        fmt_ns(f.stats.median - t.stats.median)
    };
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: format!(
            "process − thread per switch ({shown}): {} at {}, {} at {}; grows on {} of {} channels",
            gap(small),
            fmt_bytes(small),
            gap(big_clean),
            fmt_bytes(big_clean),
            holds.len(),
            channels.len()
        ),
        evidence: format!(
            "Switch cost on one CPU by working set ({shown}, 95 % CIs): {}. {reading} {caches} {}",
            points.join("; "),
            attribution(res, &clean)
        ),
        // Process over thread per switch at the largest clean working set.
        factor: pair(shown, big_clean).map(|(t, f)| f.stats.median / t.stats.median),
    }
}

/// The two-member pipe ring on one CPU of backend `b` at working set
/// `ws`, its members summing one shared buffer or each their own.
fn pipe_ring(res: &Results, b: Backend, shared: bool, ws: u64) -> Option<&Record> {
    res.records.iter().find(|r| {
        r.workload == Workload::CtxSwitch
            && r.placement == Placement::SameCpu
            && r.workers == 2
            && r.channel == Some(Channel::Pipe)
            && r.backend == b
            && r.working_set_bytes == ws
            && (r.variant == Some(mpmt_schema::Variant::SharedWs)) == shared
    })
}

/// What the shared-working-set experiment says, at the largest working
/// set where it has all four records and the subtraction still cancels;
/// and what the hardware counters could add.
fn attribution(res: &Results, clean: &dyn Fn(u64) -> bool) -> String {
    let get = |b: Backend, shared: bool, ws: u64| pipe_ring(res, b, shared, ws);
    let best = res
        .records
        .iter()
        .filter(|r| r.variant == Some(mpmt_schema::Variant::SharedWs) && r.working_set_bytes > 0)
        .map(|r| r.working_set_bytes)
        .filter(|&ws| clean(ws))
        .filter(|&ws| {
            [Backend::Thread, Backend::Fork]
                .iter()
                .all(|&b| get(b, true, ws).is_some() && get(b, false, ws).is_some())
        })
        .max();
    let hw = if res.env.perf_counters.starts_with("available") {
        "Hardware counters are available here but not yet read per hop."
    } else {
        "Hardware counters (dTLB and cache misses per hop) cannot be read on this machine."
    };
    let counters = format!("{} {hw}", kernel_per_hop(res));
    match best {
        None => format!("A growing gap fits lost cache or TLB contents; the shared-working-set experiment (ctx-switch --working-set-sharing shared) was not run, so this run does not say which. {counters}"),
        Some(ws) => {
            let m = |b, s| get(b, s, ws).map(|r| r.stats.median).unwrap_or(f64::NAN);
            let (tp, ts, fp, fs) = (
                m(Backend::Thread, false),
                m(Backend::Thread, true),
                m(Backend::Fork, false),
                m(Backend::Fork, true),
            );
            format!(
                "The controlled experiment at {} over pipes: with one buffer every member shares, process {} vs thread {}, so the address-space switch alone costs {}; with private buffers, process {} vs thread {}, so the cache part (process private − process shared) is {}. {counters}",
                fmt_bytes(ws),
                fmt_ns(fs),
                fmt_ns(ts),
                fmt_ns(fs - ts),
                fmt_ns(fp),
                fmt_ns(tp),
                fmt_ns(fp - fs)
            )
        }
    }
}

/// What the kernel counted per hop on one CPU over pipes with no working
/// set, for processes and threads: address-space switches and the TLB
/// flushes among them (tlb:tlb_flush), or why it did not count them.
fn kernel_per_hop(res: &Results) -> String {
    let get = |b: Backend| pipe_ring(res, b, false, 0);
    let (Some(t), Some(f)) = (get(Backend::Thread), get(Backend::Fork)) else {
        return "The kernel's counts per hop need the pipe ring on one CPU, which this run did not measure.".into();
    };
    let (tk, fk) = (&t.checks.kernel, &f.checks.kernel);
    let (Some(fs), Some(ts)) = (fk.mm_switches_per_op, tk.mm_switches_per_op) else {
        return format!(
            "The kernel's address-space switches were not counted here ({}).",
            fk.kernel_events_missing
                .as_deref()
                .unwrap_or("tlb:tlb_flush was not available")
        );
    };
    let (ff, tf) = (
        fk.tlb_flushes_per_op.unwrap_or(0.0),
        tk.tlb_flushes_per_op.unwrap_or(0.0),
    );
    let why = if fs >= 0.5 && ff < 0.05 * fs {
        "so a process switch changes page tables but keeps the TLB (PCID tags its entries): it pays the switch and the misses after it, not a flush"
    } else if fs >= 0.5 {
        "so a process switch flushes the TLB, and pays for refilling it"
    } else {
        "so the processes here seldom switched address space at all"
    };
    format!(
        "The kernel counted per hop (pipe ring, one CPU, tlb:tlb_flush): process {fs:.2} address-space switches, {ff:.2} TLB flushes; thread {ts:.2} and {tf:.2}, {why}."
    )
}
