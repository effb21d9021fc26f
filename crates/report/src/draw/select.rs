//! Picking a run's records for a chart: by workload and metric, the
//! distinct placements, backends and channels they cover, the footer and
//! the cache marks of the run.

use super::model::Val;
use mpmt_schema::{Backend, Channel, Metric, Placement, Record, Results, Workload};

/// The footer line of a run's charts: the run and the machine.
pub fn footer(res: &Results) -> String {
    format!(
        "mpmt {} · run {} · {} · {} CPUs · {}",
        res.run.mpmt_version, res.run.id, res.env.cpu_model, res.env.online_cpus, res.env.kernel
    )
}

/// The data caches as x-axis marks: (L1d, 32 KiB), (L2, …), (L3, …).
pub fn cache_marks(res: &Results) -> Vec<(String, f64)> {
    res.env
        .caches
        .iter()
        .filter(|c| c.kind != "Instruction")
        .map(|c| {
            let name = if c.kind == "Data" {
                format!("L{}d", c.level)
            } else {
                format!("L{}", c.level)
            };
            (name, c.size_bytes as f64)
        })
        .collect()
}

// ---- data selection helpers ----

/// The records of one workload and metric.
pub fn records_of(res: &Results, workload: Workload, metric: Metric) -> Vec<&Record> {
    res.records
        .iter()
        .filter(|r| r.workload == workload && r.metric == metric)
        .collect()
}

/// Distinct values, in first-seen order.
pub fn first_seen<T: PartialEq + Clone>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// The records `keep` selects, as points ordered by size.
pub fn by_size(
    recs: &[&Record],
    keep: impl Fn(&Record) -> bool,
    val: impl Fn(&Record) -> Val,
) -> Vec<(f64, Val)> {
    let mut mine: Vec<&Record> = recs.iter().copied().filter(|r| keep(r)).collect();
    mine.sort_by_key(|r| r.size_bytes);
    mine.iter().map(|r| (r.size_bytes as f64, val(r))).collect()
}

/// The placements among `recs`, in first-seen order.
pub fn placements(recs: &[&Record]) -> Vec<Placement> {
    first_seen(recs.iter().map(|r| r.placement))
}

/// The backends among `recs`, thread first.
pub fn backends(recs: &[&Record]) -> Vec<Backend> {
    Backend::ALL
        .iter()
        .copied()
        .filter(|b| recs.iter().any(|r| r.backend == *b))
        .collect()
}

/// The channels among `recs`, in `Channel::ALL` order.
pub fn channels(recs: &[&Record]) -> Vec<Channel> {
    Channel::ALL
        .iter()
        .copied()
        .filter(|c| recs.iter().any(|r| r.channel == Some(*c)))
        .collect()
}

/// A record's channel name, or `-` where no channel carried the data.
pub fn channel_name(c: Option<Channel>) -> &'static str {
    c.map(|c| c.name()).unwrap_or("-")
}
