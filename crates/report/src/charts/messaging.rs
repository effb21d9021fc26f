//! Messaging: wall time vs groups, one panel per channel and placement
//! (as latency), one line per backend, hackbench's picture.

use super::rtt_vs_size::grid;
use crate::draw::*;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Time vs groups per backend, channel and placement.
pub fn messaging(res: &Results) -> Option<Chart> {
    let recs = records_of(res, Workload::Messaging, Metric::Wall);
    if recs.is_empty() {
        return None;
    }
    let panels = grid(&recs, |here, title| {
        let mut l = Lines::new(
            title,
            ("groups", Axis::Count, false),
            ("time until every message is in", Axis::Ns, false),
        );
        for b in backends(here) {
            let mut mine: Vec<&Record> = here.iter().copied().filter(|r| r.backend == b).collect();
            mine.sort_by_key(|r| r.checks.groups);
            let pts = mine
                .iter()
                .map(|r| (r.checks.groups.unwrap_or(0) as f64, Val::of(r)))
                .collect();
            l.series.push(Series::new(b.name(), Style::backend(b), pts));
        }
        Panel::Lines(l)
    });
    let r0 = recs[0];
    let sr = match r0.variant {
        Some(mpmt_schema::Variant::Fanout { senders, receivers }) => {
            (senders.to_string(), receivers.to_string())
        }
        _ => ("?".into(), "?".into()),
    };
    let mut c = Chart::new(
        "messaging.svg",
        format!(
            "Messaging, hackbench's shape: groups of {} senders × {} receivers, {} messages of {} B from each to each",
            sr.0, sr.1,
            r0.checks.loops.unwrap_or(0),
            r0.size_bytes
        ),
        panels.0,
    );
    c.columns = panels.1;
    c.shared_axes = true;
    c.reading = "One panel per channel and placement, one colour per backend: each point is the median wall time from the start gate opening until every receiver of every group has verified all its messages. Each group is independent, so time grows with groups as the scheduler runs more tasks on the same CPUs; where the process line lies on or under the thread line, processes message as fast as threads here.".into();
    Some(c)
}
