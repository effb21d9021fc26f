//! Latency between every ordered pair of CPUs, as heatmaps (the picture
//! of core-to-core-latency), one per channel and backend, so the thread /
//! process split sits side by side: rows are the initiator's CPU, columns
//! its peer's, the colour and the number the median round trip.

use crate::draw::*;
use mpmt_schema::{Channel, Metric, Record, Results, Workload};

/// The (from, to) CPUs of an every-pair record.
pub fn pair_of(r: &Record) -> Option<(u32, u32)> {
    r.variant?.pair()
}

pub fn is_pair(r: &Record) -> bool {
    pair_of(r).is_some()
}

/// Every-pair latency heatmaps.
pub fn cpu_pairs(res: &Results) -> Option<Chart> {
    let all: Vec<&Record> = records_of(res, Workload::Latency, Metric::Rtt)
        .into_iter()
        .filter(|r| is_pair(r))
        .collect();
    let size = all.iter().map(|r| r.size_bytes).min()?;
    let recs: Vec<&Record> = all.into_iter().filter(|r| r.size_bytes == size).collect();
    let mut cpus: Vec<u32> = recs
        .iter()
        .filter_map(|r| pair_of(r))
        .flat_map(|(a, b)| [a, b])
        .collect();
    cpus.sort();
    cpus.dedup();
    let bs = backends(&recs);
    let mut panels = Vec::new();
    for c in Channel::ALL
        .iter()
        .copied()
        .filter(|c| recs.iter().any(|r| r.channel == Some(*c)))
    {
        for &b in &bs {
            let cell = |from: u32, to: u32| {
                recs.iter()
                    .find(|r| {
                        r.backend == b && r.channel == Some(c) && pair_of(r) == Some((from, to))
                    })
                    .map(|r| r.stats.median)
            };
            panels.push(Panel::Heatmap(Heatmap {
                title: format!("{c} · {b}"),
                row_desc: "from".into(),
                col_desc: "to CPU".into(),
                labels: cpus.iter().map(|c| c.to_string()).collect(),
                cells: cpus
                    .iter()
                    .map(|&f| cpus.iter().map(|&t| cell(f, t)).collect())
                    .collect(),
                unit: Axis::Ns,
            }));
        }
    }
    let mut c = Chart::new(
        "cpu-pairs.svg",
        format!("Round trip between every pair of CPUs, {} B messages", size),
        panels,
    );
    c.columns = bs.len().clamp(1, 3);
    c.reading = if cpus.len() == 2 {
        format!(
            "This machine has two CPUs, so there is one pair, measured both ways ({0}→{1} and {1}→{0}); on a larger machine each grid shows every ordered pair. Rows are the initiator's CPU, columns its peer's; darker is slower. A spinning channel shows the cache-line hand-off between the two CPUs, a blocking one adds waking the other CPU; compare the panels of one row to see the thread/process split.",
            cpus[0], cpus[1]
        )
    } else {
        "Rows are the initiator's CPU, columns its peer's; darker is slower. A spinning channel shows the cache-line hand-off between two CPUs (CPUs sharing a cache are fast), a blocking one adds waking the other CPU; compare the panels of one row to see the thread/process split.".into()
    };
    Some(c)
}
