//! Round-trip latency vs message size, median and p99, log–log, one
//! panel per placement.

use crate::draw::*;
use mpmt_schema::{Metric, Record, Results, Workload};

/// RTT vs message size, median and p99.
pub fn rtt_vs_size(res: &Results) -> Option<Chart> {
    let recs = of(res, Workload::Latency, Metric::Rtt);
    if recs.is_empty() {
        return None;
    }
    let panels: Vec<Panel> = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&&Record> = recs.iter().filter(|r| r.placement == p).collect();
            let keys = uniq(here.iter().map(|r| (r.backend, r.channel)));
            let mut series = Vec::new();
            for (i, (b, c)) in keys.iter().enumerate() {
                series.push(Series {
                    name: format!("{b} / {} median", chan(*c)),
                    points: by_size(&here, *b, *c, Val::of),
                    dashed: false,
                    shade: false,
                    color: i,
                });
                series.push(Series {
                    name: format!("{b} / {} p99", chan(*c)),
                    points: by_size(&here, *b, *c, |r| Val::plain(r.stats.p99)),
                    dashed: true,
                    shade: false,
                    color: i,
                });
            }
            Panel::Lines(Lines {
                title: p.to_string(),
                x_desc: "message size".into(),
                y_desc: "round trip".into(),
                x_unit: Axis::Bytes,
                y_unit: Axis::Ns,
                log_x: true,
                log_y: true,
                series,
                hlines: vec![],
            })
        })
        .collect();
    Some(Chart {
        file: "rtt-vs-size.svg",
        title: "Round-trip latency vs message size".into(),
        reading: "Solid lines are the median round trip of a verified message, dashed lines the 99th percentile, both on log–log axes. Flat left parts are the fixed cost of a hand-off (wake-up, switch, syscalls); where a line bends upward, copying the payload starts to dominate.".into(),
        panels,
    })
}
