//! "Writers that share a cache line slow each other down, threads and
//! processes alike": packed vs padded across CPUs, per backend.

use super::{clearly_above, Claim, ClaimDef, Verdict};
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, CounterLayout, CounterWrite, Metric, Placement, Record, Results, Variant, Workload};

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

/// One write's packed/padded pairs across CPUs: (backend, counters on
/// the heap, packed, padded).
type Pair<'a> = (Backend, bool, &'a Record, &'a Record);

/// What one write's pairs say.
struct Judged<'a> {
    write: CounterWrite,
    pairs: Vec<Pair<'a>>,
    /// Pairs where packed is clearly slower.
    clear: usize,
    /// Processes whose packed write differs from the thread's in the same
    /// mapping beyond CIs and [`ALIKE`].
    unlike: Vec<String>,
    /// Whether there is a thread record in a shared mapping to compare.
    thread_shm: bool,
}

fn ratio(a: &Record, b: &Record) -> f64 {
    a.stats.median / b.stats.median
}

fn judge_write<'a>(recs: &[&'a Record], w: u32, write: CounterWrite) -> Judged<'a> {
    let get = |b: Backend, p: Placement, l: CounterLayout| {
        recs.iter()
            .find(|r| {
                r.backend == b
                    && r.placement == p
                    && r.workers == w
                    && r.variant == Some(Variant::Layout(l, write))
            })
            .copied()
    };
    let pairs: Vec<Pair> = [
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
    let clear = pairs
        .iter()
        .filter(|(_, _, pk, pd)| clearly_above(pk, pd))
        .count();
    // Threads against processes: each process's packed write against the
    // thread's in the same shared mapping (the heap variant is the same
    // backend and does not decide). Two figures differ when their CIs are
    // apart and they are more than 25 % apart.
    let thread_shm = pairs
        .iter()
        .find(|p| p.0 == Backend::Thread && !p.1)
        .map(|p| p.2);
    let differ = |a: &Record, b: &Record| {
        let apart = clearly_above(a, b) || clearly_above(b, a);
        apart && !(1.0 / ALIKE..=ALIKE).contains(&ratio(a, b))
    };
    let unlike = pairs
        .iter()
        .filter(|p| p.0 != Backend::Thread)
        .filter_map(|p| {
            let t = thread_shm?;
            differ(p.2, t).then(|| {
                format!(
                    "{write}: {} packed {} vs thread {}",
                    p.0,
                    fmt_ns(p.2.stats.median),
                    fmt_ns(t.stats.median)
                )
            })
        })
        .collect();
    Judged {
        write,
        clear,
        unlike,
        thread_shm: thread_shm.is_some(),
        pairs,
    }
}

/// The verdict and its evidence. Each write is judged on its own: the
/// claim holds in full when packed is clearly slower for every backend
/// with both writes and processes pay what threads pay; partly when one
/// write shows it and the other does not (a store buffer can hide a
/// shared line from plain stores, never from a locked add).
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::FalseSharing && r.metric == Metric::Increment)
        .collect();
    let w = recs.iter().map(|r| r.workers).min().unwrap_or(2);
    let judged: Vec<Judged> = CounterWrite::ALL
        .iter()
        .map(|&write| judge_write(&recs, w, write))
        .filter(|j| !j.pairs.is_empty())
        .collect();
    if judged.is_empty() {
        return Claim::not_measured(
            CLAIM.statement,
            "No false-sharing records across CPUs with both layouts (it needs two CPUs).",
        );
    }
    let alike = judged.iter().all(|j| j.thread_shm && j.unlike.is_empty());
    let has_process = judged
        .iter()
        .any(|j| j.pairs.iter().any(|p| p.0 != Backend::Thread));
    let verdict = if judged.iter().all(|j| j.clear == 0) {
        Verdict::Refuted
    } else if judged.iter().all(|j| j.clear == j.pairs.len()) && alike && has_process {
        Verdict::Supported
    } else {
        Verdict::Mixed
    };
    let range = |j: &Judged| {
        let (lo, hi) = j
            .pairs
            .iter()
            .map(|(_, _, pk, pd)| ratio(pk, pd))
            .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
        if format!("{lo:.1}") == format!("{hi:.1}") {
            format!("{lo:.1}×")
        } else {
            format!("{lo:.1}–{hi:.1}×")
        }
    };
    let mut ev = format!("Across CPUs, {w} writers, ns per increment over all of them.");
    for j in &judged {
        let each: Vec<String> = j
            .pairs
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
        ev += &format!(
            " {} ({}): {}; packed is clearly slower (non-overlapping 95 % CIs, and more than a rerun moves a median) in {} of {} cases.",
            capitalized(j.write.name()),
            j.write.describe(),
            each.join("; "),
            j.clear,
            j.pairs.len()
        );
    }
    if let (Some(st), Some(at)) = (
        judged.iter().find(|j| j.write == CounterWrite::Store),
        judged.iter().find(|j| j.write == CounterWrite::Atomic),
    ) {
        if st.clear == 0 && at.clear > 0 {
            ev += " Here a shared line slows atomic writers and not plain stores: a store waits in the core's store buffer until the line comes back while the writer goes on, a locked add needs the line at once.";
        }
    }
    let unlike: Vec<&String> = judged.iter().flat_map(|j| &j.unlike).collect();
    ev += &if alike {
        " A packed write costs processes what it costs threads in the same shared mapping (within their CIs or 25 %): coherence does not care about address spaces.".to_string()
    } else if judged.iter().all(|j| j.thread_shm) {
        format!(
            " Packed writes of processes and threads in the same shared mapping differ beyond their CIs and 25 %: {}.",
            unlike.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
        )
    } else {
        " No thread record in a shared mapping to set the processes against.".to_string()
    };
    let same: Vec<String> = judged
        .iter()
        .flat_map(|j| {
            [Backend::Thread, Backend::Fork, Backend::Spawn]
                .into_iter()
                .filter_map(|b| {
                    let find = |l: CounterLayout| {
                        recs.iter().find(|r| {
                            r.backend == b
                                && r.placement == Placement::SameCpu
                                && r.workers == w
                                && r.variant == Some(Variant::Layout(l, j.write))
                        })
                    };
                    let (pk, pd) = (find(CounterLayout::PackedShm)?, find(CounterLayout::PaddedShm)?);
                    Some(format!("{} {b} {:.2}×", j.write, ratio(pk, pd)))
                })
                .collect::<Vec<_>>()
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
            " For scale: one cache-line round trip between two CPUs costs {} here.",
            fmt_ns(f.value)
        );
    }
    let headline = format!(
        "packed/padded across CPUs: {}",
        judged
            .iter()
            .map(|j| format!("{} {}", j.write, range(j)))
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

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
