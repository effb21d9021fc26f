//! "Writers that share a cache line slow each other down, threads and
//! processes alike": packed vs padded across CPUs, per backend.

use super::{clearly_above, Claim, ClaimDef, Verdict};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, CounterLayout, Metric, Placement, Record, Results, Variant, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "false-sharing",
    statement: "Writers that share a cache line slow each other down, threads and processes alike.",
    chart: "false-sharing.svg",
    says: super::Says::Alike,
    judge: claim,
};

/// Two figures count as alike within this factor (or their CIs).
const ALIKE: f64 = 1.25;

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::FalseSharing && r.metric == Metric::Increment)
        .collect();
    let w = recs.iter().map(|r| r.workers).min().unwrap_or(2);
    let get = |b: Backend, p: Placement, l: CounterLayout| {
        recs.iter()
            .find(|r| {
                r.backend == b
                    && r.placement == p
                    && r.workers == w
                    && r.variant == Some(Variant::Layout(l))
            })
            .copied()
    };
    // (backend, counters on the heap, packed, padded) across CPUs.
    let pairs: Vec<(Backend, bool, &Record, &Record)> = [
        (Backend::Thread, true),
        (Backend::Thread, false),
        (Backend::Fork, false),
        (Backend::Spawn, false),
    ]
    .into_iter()
    .filter_map(|(b, m)| {
        Some((
            b,
            m,
            get(b, Placement::CrossCpu, CounterLayout::of(true, m))?,
            get(b, Placement::CrossCpu, CounterLayout::of(false, m))?,
        ))
    })
    .collect();
    if pairs.is_empty() {
        return Claim::not_measured(
            CLAIM.statement,
            "No false-sharing records across CPUs with both layouts (it needs two CPUs).",
        );
    }
    let ratio = |a: &Record, b: &Record| a.stats.median / b.stats.median;
    let clear = pairs
        .iter()
        .filter(|(_, _, pk, pd)| clearly_above(pk, pd))
        .count();
    let ratios: Vec<f64> = pairs.iter().map(|(_, _, pk, pd)| ratio(pk, pd)).collect();
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    // Threads against processes: each process's packed increment against
    // the thread's in the same shared mapping (the heap variant is the
    // same backend and does not decide). Two figures differ when their
    // CIs are apart and they are more than 25 % apart; a ratio over a
    // padded increment of a few ns moves by more than that from run to
    // run, so the ratios are reported, not judged.
    let thread_shm = pairs
        .iter()
        .find(|p| p.0 == Backend::Thread && !p.1)
        .map(|p| p.2);
    let differ = |a: &Record, b: &Record| {
        let apart = clearly_above(a, b) || clearly_above(b, a);
        let r = a.stats.median / b.stats.median;
        apart && !(1.0 / ALIKE..=ALIKE).contains(&r)
    };
    let unlike: Vec<String> = pairs
        .iter()
        .filter(|p| p.0 != Backend::Thread)
        .filter_map(|p| {
            let t = thread_shm?;
            differ(p.2, t).then(|| {
                format!(
                    "{} packed {} vs thread {}",
                    p.0,
                    fmt_ns(p.2.stats.median),
                    fmt_ns(t.stats.median)
                )
            })
        })
        .collect();
    let alike = thread_shm.is_some() && unlike.is_empty();
    let has_process = pairs.iter().any(|p| p.0 != Backend::Thread);
    let verdict = match (clear, alike) {
        (0, _) => Verdict::Refuted,
        (n, true) if n == pairs.len() && has_process => Verdict::Supported,
        _ => Verdict::Mixed,
    };
    let each: Vec<String> = pairs
        .iter()
        .map(|(b, m, pk, pd)| {
            format!(
                "{b} ({}) {} packed vs {} padded ({:.1}×)",
                if *m { "heap" } else { "shared mapping" },
                fmt_ns(pk.stats.median),
                fmt_ns(pd.stats.median),
                ratio(pk, pd)
            )
        })
        .collect();
    let mut ev = format!(
        "Across CPUs, {w} writers, ns per increment: {}. Packed is clearly (non-overlapping 95 % CIs) slower in {clear} of {} cases; the packed/padded ratios run from {lo:.1}× to {hi:.1}×. {}",
        each.join("; "),
        pairs.len(),
        match (alike, thread_shm.is_some()) {
            (true, _) => "A packed increment costs processes what it costs threads in the same shared mapping (within their CIs or 25 %): coherence does not care about address spaces.".to_string(),
            (false, true) => format!(
                "Packed increments of processes and threads in the same shared mapping differ beyond their CIs and 25 %: {}.",
                unlike.join("; ")
            ),
            (false, false) => "No thread record in a shared mapping to set the processes against.".to_string(),
        }
    );
    let same: Vec<String> = [Backend::Thread, Backend::Fork, Backend::Spawn]
        .into_iter()
        .filter_map(|b| {
            let pk = get(b, Placement::SameCpu, CounterLayout::PackedShm)?;
            let pd = get(b, Placement::SameCpu, CounterLayout::PaddedShm)?;
            Some(format!("{b} {:.2}×", ratio(pk, pd)))
        })
        .collect();
    if !same.is_empty() {
        ev += &format!(
            " On one CPU, where the writers take turns and the line never leaves its cache, packed/padded is {}.",
            same.join(", ")
        );
    }
    if let Some(f) = &res.floors.cacheline_rtt_ns {
        ev += &format!(
            " For scale: one cache-line round trip between two CPUs costs {} here; a writer keeps the line for many increments between steals, so an increment costs far less.",
            fmt_ns(f.value)
        );
    }
    let headline = format!(
        "packed/padded across CPUs: {}",
        pairs
            .iter()
            .zip(&ratios)
            .map(|((b, m, _, _), r)| format!("{b}{} {r:.1}×", if *m { " (heap)" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline,
        evidence: ev,
        factor: None,
    }
}
