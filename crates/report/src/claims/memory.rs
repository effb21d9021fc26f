//! "A process costs more memory than a thread": the memory records at
//! the most workers, what each process worker adds to the machine over
//! what a thread adds, split into page tables, private pages and its
//! share of shared ones.

use super::{Claim, ClaimDef, Verdict};
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{Backend, Metric, Record, Results, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "memory",
    statement: "A process costs more memory than a thread.",
    chart: "memory.svg",
    says: super::Says::ProcessesPay,
    judge: claim,
};

/// A process counts as dearer when it adds at least this much more per
/// worker than a thread (PSS + page tables): below it, the runtime's own
/// allocations (a few pages) decide.
const DEARER_BYTES: f64 = 64.0 * 1024.0;

/// Bytes of page tables per byte mapped with 4 KiB pages: one 8-byte
/// entry per 4 KiB page (2 MiB per GiB).
const PTE_PER_BYTE: f64 = 8.0 / 4096.0;

fn rec(res: &Results, b: Backend, m: Metric, w: u32, private: u64, shared: u64) -> Option<&Record> {
    res.records.iter().find(|r| {
        r.workload == Workload::Memory
            && r.backend == b
            && r.metric == m
            && r.workers == w
            && r.working_set_bytes == private
            && r.size_bytes == shared
    })
}

/// What one worker of `b` adds, in `m`, per worker.
fn extra(res: &Results, b: Backend, m: Metric, w: u32, p: u64, s: u64) -> Option<f64> {
    rec(res, b, m, w, p, s)?.checks.extra_per_worker_bytes
}

/// PSS + page tables a worker adds, and the parts: page tables, private
/// (USS), its share of shared pages (PSS − USS).
struct Cost {
    total: f64,
    tables: f64,
    private: f64,
    shared: f64,
}

fn cost(res: &Results, b: Backend, w: u32, p: u64, s: u64) -> Option<Cost> {
    let pss = extra(res, b, Metric::Pss, w, p, s)?;
    let uss = extra(res, b, Metric::Uss, w, p, s)?;
    let tables = extra(res, b, Metric::PageTables, w, p, s)?;
    Some(Cost {
        total: pss + tables,
        tables,
        private: uss,
        shared: pss - uss,
    })
}

fn signed(v: f64) -> String {
    match v < 0.0 {
        true => format!("−{}", fmt_bytes((-v) as u64)),
        false => format!("+{}", fmt_bytes(v as u64)),
    }
}

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let recs: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::Memory && r.metric == Metric::Pss)
        .collect();
    let Some(w) = recs.iter().map(|r| r.workers).max() else {
        return Claim::not_measured(CLAIM.statement, "No memory records: run `mpmt run memory`.");
    };
    let at_w: Vec<&Record> = recs.iter().copied().filter(|r| r.workers == w).collect();
    let p = at_w.iter().map(|r| r.working_set_bytes).min().unwrap_or(0);
    let mut shared: Vec<u64> = at_w.iter().map(|r| r.size_bytes).collect();
    shared.sort_unstable();
    shared.dedup();
    let (mut dearer, mut pairs) = (0, 0);
    let mut lines = Vec::new();
    let mut head = Vec::new();
    let mut factor: Option<f64> = None;
    for &s in &shared {
        let Some(t) = cost(res, Backend::Thread, w, p, s) else { continue };
        let mut parts = vec![format!(
            "thread {} (page tables {}, private {}, shared share {})",
            fmt_bytes(t.total.max(0.0) as u64),
            fmt_bytes(t.tables.max(0.0) as u64),
            fmt_bytes(t.private.max(0.0) as u64),
            fmt_bytes(t.shared.max(0.0) as u64)
        )];
        for b in [Backend::Fork, Backend::Spawn] {
            let Some(c) = cost(res, b, w, p, s) else { continue };
            pairs += 1;
            dearer += (c.total - t.total >= DEARER_BYTES) as usize;
            parts.push(format!(
                "{b} {} ({} over the thread: page tables {}, private {}, shared share {})",
                fmt_bytes(c.total.max(0.0) as u64),
                signed(c.total - t.total),
                signed(c.tables - t.tables),
                signed(c.private - t.private),
                signed(c.shared - t.shared)
            ));
            if s == *shared.last().expect("some") {
                head.push(format!("{b} {} per worker", signed(c.total - t.total)));
                let f = c.total / t.total.max(1.0);
                factor = Some(factor.map_or(f, |x: f64| x.min(f)));
            }
        }
        lines.push(format!("shared {}: {}", fmt_bytes(s), parts.join("; ")));
    }
    if pairs == 0 {
        return Claim::not_measured(
            CLAIM.statement,
            "The memory records lack a thread and a process team of the same size.",
        );
    }
    let mut ev = format!(
        "What each of {w} live workers adds to the machine (its PSS plus its page tables, with the parent's change folded in so nothing is counted twice), private working set {}: {}.",
        fmt_bytes(p),
        lines.join(". ")
    );
    // The page-table fact: the shared region's tables, per worker.
    if let (Some(&s0), Some(&s1)) = (shared.first(), shared.last()) {
        if s1 > s0 {
            let want = (s1 - s0) as f64 * PTE_PER_BYTE;
            let per = |b| {
                Some(
                    extra(res, b, Metric::PageTables, w, p, s1)?
                        - extra(res, b, Metric::PageTables, w, p, s0)?,
                )
            };
            let each: Vec<String> = Backend::ALL
                .iter()
                .filter_map(|&b| per(b).map(|v| format!("{b} {}", signed(v))))
                .collect();
            ev += &format!(
                " Reading {} more of the shared region adds page tables per worker: {} (2 MiB per GiB per address space predicts {} for each process and {} per thread, the tables being the team's once).",
                fmt_bytes(s1 - s0),
                each.join(", "),
                fmt_bytes(want as u64),
                fmt_bytes((want / w as f64) as u64)
            );
        }
    }
    ev += &format!(
        " A process is dearer (at least {} more per worker) in {dearer} of {pairs} comparisons.",
        fmt_bytes(DEARER_BYTES as u64)
    );
    let verdict = match dearer {
        d if d == pairs => Verdict::Supported,
        0 => Verdict::Refuted,
        _ => Verdict::Mixed,
    };
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline: format!(
            "{w} workers, shared {}: {} more than a thread",
            fmt_bytes(*shared.last().expect("some")),
            head.join(", ")
        ),
        evidence: ev,
        factor,
    }
}
