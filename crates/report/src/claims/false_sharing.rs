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
    judge: claim,
};

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
    let alike = hi <= 1.25 * lo;
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
        "Across CPUs, {w} writers, ns per increment: {}. Packed is clearly (non-overlapping 95 % CIs) slower in {clear} of {} cases; the packed/padded ratios run from {lo:.1}× to {hi:.1}×, {}.",
        each.join("; "),
        pairs.len(),
        if alike {
            "within 25 % of each other: coherence does not care about address spaces"
        } else {
            "more than 25 % apart"
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
    }
}
