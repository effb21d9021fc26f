//! Claims vs measurements: each classic statement about processes and
//! threads (from the study notes this project grew from), with the verdict
//! this run's numbers give and the numbers themselves. A claim whose data
//! the run did not collect says so instead of guessing.

use mpmt_core::schema::{Record, Results};
use mpmt_core::units::{fmt_bytes, fmt_count, fmt_ns};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Supported,
    Refuted,
    /// True in part: the text says which part.
    Mixed,
    NotMeasured,
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Supported => "supported here",
            Verdict::Refuted => "not supported here",
            Verdict::Mixed => "partly supported here",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub statement: &'static str,
    pub verdict: Verdict,
    pub evidence: String,
}

/// The five classic claims, in order.
pub const STATEMENTS: [&str; 5] = [
    "A process switch costs more than a thread switch.",
    "Threads share data for free, while processes need IPC.",
    "Unsynchronized increments lose updates, and a lock fixes it.",
    "Creating a process costs more than creating a thread.",
    "Processes switch slower because their caches are lost at every switch.",
];

fn find(res: &Results, f: impl Fn(&Record) -> bool) -> Option<&Record> {
    res.records.iter().find(|r| f(r))
}

/// True if `a`'s CI lies wholly above `b`'s.
fn clearly_above(a: &Record, b: &Record) -> bool {
    a.stats.ci95_low > b.stats.ci95_high
}

fn switch_claim(res: &Results) -> Claim {
    let pick = |b: &str, c: &str| {
        find(res, |r| {
            r.workload == "ctx-switch"
                && r.backend == b
                && r.channel == c
                && r.placement == "same-cpu"
                && r.workers == 2
                && r.working_set_bytes == 0
        })
    };
    let mut above = 0;
    let mut total = 0;
    let mut lines = Vec::new();
    for c in ["pipe", "unix-socket", "shm-futex", "ipc-channel"] {
        if let (Some(t), Some(f)) = (pick("thread", c), pick("fork", c)) {
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

fn sharing_claim(res: &Results) -> Claim {
    let dp: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == "data-parallel")
        .collect();
    let e = match dp.iter().map(|r| r.size_bytes).max() {
        Some(e) => e,
        None => {
            return Claim {
                statement: STATEMENTS[1],
                verdict: Verdict::NotMeasured,
                evidence: "No data-parallel records.".into(),
            }
        }
    };
    let w = dp
        .iter()
        .filter(|r| r.size_bytes == e)
        .map(|r| r.workers)
        .find(|&w| w == 2)
        .or_else(|| dp.iter().map(|r| r.workers).max())
        .unwrap_or(1);
    let v = |name: &str| {
        dp.iter()
            .find(|r| r.size_bytes == e && r.workers == w && r.variant.as_deref() == Some(name))
            .copied()
    };
    let thread = v("thread-heap").or_else(|| v("thread-shm"));
    let copy = v("fork-pipe").or_else(|| v("spawn-ipc-channel"));
    let shm = v("fork-shm");
    let tshm = v("thread-shm");
    let mut parts = Vec::new();
    let mut verdict = Verdict::NotMeasured;
    if let (Some(t), Some(c)) = (thread, copy) {
        parts.push(format!(
            "doubling {} elements with {w} workers takes {} with threads on one heap, {} when each process gets its slice over {} and sends it back ({:.1}× — {} of it copying in and {} copying out)",
            fmt_count(e / 8),
            fmt_ns(t.stats.median),
            fmt_ns(c.stats.median),
            c.channel,
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
        statement: STATEMENTS[1],
        verdict,
        evidence,
    }
}

fn counter_claim(res: &Results) -> Claim {
    let c: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == "counter")
        .collect();
    if c.is_empty() {
        return Claim {
            statement: STATEMENTS[2],
            verdict: Verdict::NotMeasured,
            evidence: "No counter records.".into(),
        };
    }
    let racy: Vec<&&Record> = c
        .iter()
        .filter(|r| r.variant.as_deref() == Some("racy"))
        .collect();
    let locked: Vec<&&Record> = c
        .iter()
        .filter(|r| {
            matches!(
                r.variant.as_deref(),
                Some("mutex") | Some("mutex-batch") | Some("atomic")
            )
        })
        .collect();
    let lost = |p: &str| {
        racy.iter()
            .filter(|r| r.placement == p)
            .map(|r| {
                format!(
                    "{} {}",
                    r.backend,
                    fmt_count(r.checks.lost_updates.unwrap_or(0.0) as u64)
                )
            })
            .collect::<Vec<_>>()
    };
    let any_lost = racy
        .iter()
        .any(|r| r.checks.lost_updates.unwrap_or(0.0) > 0.0);
    let locks_exact = !locked.is_empty()
        && locked
            .iter()
            .all(|r| r.checks.final_value == r.checks.expected_value);
    let verdict = match (any_lost, locks_exact) {
        (true, true) => Verdict::Supported,
        (false, true) => Verdict::Mixed,
        (_, false) if locked.is_empty() => Verdict::Mixed,
        _ => Verdict::Refuted,
    };
    let w = c[0].workers;
    let k = c[0].checks.increments.unwrap_or(0);
    let mut ev = format!(
        "{w} workers × {} increments. Lost by the racy mode — same CPU: {}; across CPUs: {}. ",
        fmt_count(k),
        none_if_empty(lost("same-cpu")),
        none_if_empty(lost("cross-cpu"))
    );
    ev += if locks_exact {
        "Every atomic, mutex and mutex-batch run ended at exactly workers × increments. "
    } else {
        "Some locked run did not end exact. "
    };
    ev += "On one CPU the workers take turns, so an update is lost only when preemption falls between the load and the store — rare; across CPUs two workers really interleave, and many are lost.";
    Claim {
        statement: STATEMENTS[2],
        verdict,
        evidence: ev,
    }
}

fn none_if_empty(v: Vec<String>) -> String {
    if v.is_empty() {
        "not measured".into()
    } else {
        v.join(", ")
    }
}

fn creation_claim(res: &Results) -> Claim {
    let get = |m: &str, heap_max: bool| {
        let it = res
            .records
            .iter()
            .filter(|r| r.workload == "spawn" && r.metric == "create" && r.backend == m);
        if heap_max {
            it.max_by_key(|r| r.size_bytes)
        } else {
            it.min_by_key(|r| r.size_bytes)
        }
    };
    let (t, f) = match (get("thread", false), get("fork", false)) {
        (Some(t), Some(f)) => (t, f),
        _ => {
            return Claim {
                statement: STATEMENTS[3],
                verdict: Verdict::NotMeasured,
                evidence: "No spawn records for both thread and fork.".into(),
            }
        }
    };
    let mut ev = format!(
        "Create, run nothing and join/reap with a {} parent heap{}: thread {}, fork {} ({:.0}×)",
        fmt_bytes(t.size_bytes),
        f.checks
            .parent_rss_bytes
            .map(|r| format!(" (parent resident set {})", fmt_bytes(r)))
            .unwrap_or_default(),
        fmt_ns(t.stats.median),
        fmt_ns(f.stats.median),
        f.stats.median / t.stats.median
    );
    for m in ["fork-exec", "posix-spawn"] {
        if let Some(r) = res.records.iter().find(|r| {
            r.workload == "spawn"
                && r.metric == "create"
                && r.backend == m
                && r.size_bytes == t.size_bytes
        }) {
            ev += &format!(", {m} {}", fmt_ns(r.stats.median));
        }
    }
    ev.push('.');
    if let (Some(fb), Some(ps)) = (get("fork", true), get("posix-spawn", true)) {
        if fb.size_bytes > f.size_bytes {
            ev += &format!(
                " With a {} heap fork takes {} (its page tables are copied) while posix_spawn takes {}.",
                fmt_bytes(fb.size_bytes),
                fmt_ns(fb.stats.median),
                fmt_ns(ps.stats.median)
            );
        }
    }
    let verdict = if clearly_above(f, t) {
        Verdict::Supported
    } else {
        Verdict::Refuted
    };
    Claim {
        statement: STATEMENTS[3],
        verdict,
        evidence: ev,
    }
}

fn cache_claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == "ctx-switch" && r.placement == "same-cpu" && r.workers == 2)
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
        let g = |b: &str| {
            recs.iter()
                .find(|r| r.backend == b && r.working_set_bytes == ws && r.channel == "pipe")
                .or_else(|| {
                    recs.iter()
                        .find(|r| r.backend == b && r.working_set_bytes == ws)
                })
        };
        match (g("thread"), g("fork")) {
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

/// Every claim with its verdict.
pub fn all(res: &Results) -> Vec<Claim> {
    vec![
        switch_claim(res),
        sharing_claim(res),
        counter_claim(res),
        creation_claim(res),
        cache_claim(res),
    ]
}
