//! Where a process switch's extra cost comes from, by a controlled
//! experiment: ring members sum private buffers (solid) or one buffer
//! they all share through a mapping (dashed), for threads and processes,
//! on one CPU over one channel, against the working set with the caches
//! marked. Over the shared buffer a process keeps the cache contents a
//! thread keeps and differs only by the address-space switch.

use crate::draw::*;
use mpmt_schema::{Channel, Metric, Placement, Record, Results, Workload};

/// Private vs shared working set, per backend.
pub fn switch_attribution(res: &Results) -> Option<Chart> {
    let all: Vec<&Record> = records_of(res, Workload::CtxSwitch, Metric::Switch)
        .into_iter()
        .filter(|r| r.workers == 2 && r.placement == Placement::SameCpu)
        .collect();
    let shared = |r: &Record| r.variant == Some(mpmt_schema::Variant::SharedWs);
    // The channel: pipe if it has shared records, else the first that does.
    let channel = all
        .iter()
        .filter(|r| shared(r))
        .map(|r| r.channel)
        .find(|c| *c == Some(Channel::Pipe))
        .or_else(|| all.iter().find(|r| shared(r)).map(|r| r.channel))?;
    let recs: Vec<&Record> = all
        .into_iter()
        .filter(|r| r.channel == channel && (r.variant.is_none() || shared(r)))
        .collect();
    let mut l = Lines::new(
        format!("same-cpu, {}", channel_name(channel)),
        ("working set per worker", Axis::Bytes, true),
        ("ns per switch", Axis::Ns, false),
    );
    for b in backends(&recs) {
        for (is_shared, dash, what) in [
            (false, Dash::Solid, "private"),
            (true, Dash::Dashed, "shared"),
        ] {
            let mut pts: Vec<(f64, Val)> = recs
                .iter()
                .filter(|r| r.backend == b && shared(r) == is_shared)
                .map(|r| (r.working_set_bytes as f64, Val::of(r)))
                .collect();
            if pts.len() < 2 {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            l.series.push(Series::new(
                format!("{b}, {what}"),
                Style::backend(b).dashed(dash),
                pts,
            ));
        }
    }
    if l.series.is_empty() {
        return None;
    }
    l.mark_caches(&cache_marks(res));
    let mut c = Chart::new(
        "switch-attribution.svg",
        "Attributing the process switch: private vs shared working set (same CPU)",
        vec![Panel::Lines(l)],
    );
    c.reading = "Solid: each member sums its own buffer; dashed: every member sums one buffer shared through a mapping (the same bytes, so the cache footprint does not grow with the ring). Process-dashed minus thread-dashed is the address-space switch alone; process-solid minus process-dashed is the cache part. Past half of L2 (marked) the one-thread overhead subtracted from every point stops cancelling, so read the left part.".into();
    Some(c)
}
