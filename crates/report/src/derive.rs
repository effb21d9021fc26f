//! Figures derived from records, computed when reading (never by the code
//! that measures): data-parallel speedups over one worker, and the array
//! sizes where process variants stop losing to threads.

use mpmt_schema::units::fmt_count;
use mpmt_schema::{Backend, Record, Results, Workload};
use std::collections::HashMap;

/// Speedup of every data-parallel record whose one-worker baseline (same
/// variant, array size and placement) is in `records`: wall at W=1 over
/// wall here, keyed by [`Record::key`].
pub fn speedups(records: &[Record]) -> HashMap<String, f64> {
    let dp = || {
        records
            .iter()
            .filter(|r| r.workload == Workload::DataParallel)
    };
    let mut out = HashMap::new();
    for r in dp() {
        let one = dp().find(|b| {
            b.workers == 1
                && b.variant == r.variant
                && b.placement == r.placement
                && b.size_bytes == r.size_bytes
        });
        if let Some(one) = one {
            out.insert(r.key(), one.stats.median / r.stats.median);
        }
    }
    out
}

/// Fills `checks.speedup` wherever a baseline exists.
pub fn annotate(records: &mut [Record]) {
    let s = speedups(records);
    for r in records.iter_mut() {
        r.checks.speedup = s.get(&r.key()).copied();
    }
}

/// A copy of `res` with every derived figure filled in.
pub fn with_speedups(res: &Results) -> Results {
    let mut r = res.clone();
    annotate(&mut r.records);
    r
}

/// data-parallel: for each process variant and worker count, the smallest
/// array (elements) at which its setup no longer exceeds its compute, and
/// the smallest at which it is within 10 % of threads' wall time. None where
/// the sweep never got there.
pub fn crossovers(records: &[Record]) -> Vec<(String, u32, Option<u64>, Option<u64>)> {
    let dp: Vec<&Record> = records
        .iter()
        .filter(|r| r.workload == Workload::DataParallel)
        .collect();
    let mut keys: Vec<(String, u32)> = dp
        .iter()
        .filter(|r| r.backend != Backend::Thread)
        .map(|r| (r.variant_name(), r.workers))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(v, w)| {
            let mut mine: Vec<&&Record> = dp
                .iter()
                .filter(|r| r.variant_name() == v && r.workers == w)
                .collect();
            mine.sort_by_key(|r| r.size_bytes);
            let setup_ok = mine
                .iter()
                .find(|r| (r.setup_ns as f64) <= r.checks.compute_ns.unwrap_or(f64::INFINITY))
                .map(|r| r.size_bytes / 8);
            let vs_threads = mine
                .iter()
                .find(|r| {
                    dp.iter().any(|t| {
                        t.backend == Backend::Thread
                            && t.workers == w
                            && t.size_bytes == r.size_bytes
                            && t.placement == r.placement
                            && r.stats.median <= 1.1 * t.stats.median
                    })
                })
                .map(|r| r.size_bytes / 8);
            (v, w, setup_ok, vs_threads)
        })
        .collect()
}

/// Lines describing [`crossovers`], for the terminal.
pub fn crossover_text(records: &[Record]) -> String {
    let mut out = String::new();
    for (v, w, setup, threads) in crossovers(records) {
        let setup = match setup {
            Some(e) => format!("setup stops dominating at {} elements", fmt_count(e)),
            None => "setup dominates at every size measured".into(),
        };
        let threads = match threads {
            Some(e) => format!("within 10% of threads from {} elements", fmt_count(e)),
            None => "more than 10% slower than threads at every size measured".into(),
        };
        out += &format!("data-parallel {v} w={w}: {setup}; {threads}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_schema::{summarize, Checks, Metric, Placement, Unit};

    fn dp(variant: &str, backend: Backend, workers: u32, wall: f64, setup: u64) -> Record {
        Record {
            workload: Workload::DataParallel,
            backend,
            channel: None,
            variant: Some(mpmt_schema::Variant::parse(variant).expect("a variant")),
            placement: Placement::Os,
            cpus: vec![None; workers as usize],
            workers,
            size_bytes: 8 << 20,
            working_set_bytes: 0,
            metric: Metric::Wall,
            unit: Unit::Ns,
            ops_per_sample: 1,
            samples: 1,
            stats: summarize(&[wall]),
            rounds: 1,
            round_medians: vec![wall],
            modes: vec![],
            setup_ns: setup,
            checks: Checks {
                compute_ns: Some(1e6),
                ..Default::default()
            },
            warnings: vec![],
            values: vec![],
        }
    }

    #[test]
    fn speedups_need_their_baseline_and_texts_read_as_sentences() {
        let recs = vec![
            dp("thread-heap", Backend::Thread, 1, 4e6, 0),
            dp("thread-heap", Backend::Thread, 2, 2e6, 0),
            dp("fork-pipe", Backend::Fork, 2, 90e6, 60_000_000),
        ];
        let s = speedups(&recs);
        assert_eq!(s.get(&recs[1].key()), Some(&2.0));
        assert_eq!(s.get(&recs[2].key()), None, "fork-pipe has no W=1 run");
        let t = crossover_text(&recs);
        assert_eq!(
            t,
            "data-parallel fork-pipe w=2: setup dominates at every size measured; more than 10% slower than threads at every size measured\n"
        );
    }
}
