//! One-way bandwidth vs chunk size, with the memcpy floor, one panel
//! per placement.

use crate::draw::*;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Bandwidth vs chunk size with the memcpy floor.
pub fn bandwidth(res: &Results) -> Option<Chart> {
    let recs = of(res, Workload::Bandwidth, Metric::Bandwidth);
    if recs.is_empty() {
        return None;
    }
    let floor = res.floors.memcpy_bytes_per_s.as_ref().map(|f| f.value);
    let panels = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&&Record> = recs.iter().filter(|r| r.placement == p).collect();
            let keys = uniq(here.iter().map(|r| (r.backend, r.channel)));
            let series = keys
                .iter()
                .enumerate()
                .map(|(i, (b, c))| Series {
                    name: format!("{b} / {}", chan(*c)),
                    points: by_size(&here, *b, *c, Val::of),
                    dashed: false,
                    shade: false,
                    color: i,
                })
                .collect();
            Panel::Lines(Lines {
                title: p.to_string(),
                x_desc: "chunk size".into(),
                y_desc: "bytes per second".into(),
                x_unit: Axis::Bytes,
                y_unit: Axis::BytesPerS,
                log_x: true,
                log_y: true,
                series,
                hlines: floor
                    .map(|f| vec![("memcpy floor".to_string(), f)])
                    .unwrap_or_default(),
            })
        })
        .collect();
    Some(Chart {
        file: "bandwidth.svg",
        title: "One-way bandwidth vs chunk size".into(),
        reading: "Each line is the median rate of a stream of chunks written by one worker and verified by the other; the dashed black line is this machine's memcpy rate measured in the same run. Shared memory can reach the floor because the payload is written and read in place; pipes and sockets copy it twice through the kernel.".into(),
        panels,
    })
}
