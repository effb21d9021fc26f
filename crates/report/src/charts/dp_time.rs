//! Data-parallel time vs array size, setup shaded.

use crate::draw::*;
use mpmt_schema::{Metric, Record, Results, Workload};

fn dp_w(recs: &[&Record]) -> Option<u32> {
    // The worker count closest to 2 (the question's W), else the largest.
    let ws = uniq(recs.iter().map(|r| r.workers));
    ws.iter()
        .copied()
        .find(|&w| w == 2)
        .or_else(|| ws.iter().copied().max())
}

/// Data-parallel time vs array size, setup shaded.
pub fn dp_time(res: &Results) -> Option<Chart> {
    let recs = of(res, Workload::DataParallel, Metric::Wall);
    let w = dp_w(&recs)?;
    let here: Vec<&&Record> = recs.iter().filter(|r| r.workers == w).collect();
    if uniq(here.iter().map(|r| r.size_bytes)).len() < 2 {
        return None;
    }
    let variants = uniq(here.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let mut series = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let mut mine: Vec<&&&Record> = here
            .iter()
            .filter(|r| r.variant.as_deref() == Some(v.as_str()))
            .collect();
        mine.sort_by_key(|r| r.size_bytes);
        series.push(Series {
            name: format!("{v} wall"),
            points: mine
                .iter()
                .map(|r| ((r.size_bytes / 8) as f64, Val::of(r)))
                .collect(),
            dashed: false,
            shade: false,
            color: i,
        });
        series.push(Series {
            name: format!("{v} setup"),
            points: mine
                .iter()
                .map(|r| ((r.size_bytes / 8) as f64, Val::plain(r.setup_ns as f64)))
                .collect(),
            dashed: true,
            shade: true,
            color: i,
        });
    }
    Some(Chart {
        file: "data-parallel-time.svg",
        title: format!("Doubling an array across {w} workers: time vs array size"),
        reading: "Solid lines are the median wall time of a verified run; the dashed line and shaded area under it are the part spent in setup (creating workers, mapping, copying in). Where a process variant's shading reaches its wall line, setup dominates; the array size where the solid lines meet is where processes stop losing to threads.".into(),
        panels: vec![Panel::Lines(Lines {
            title: format!("{w} workers"),
            x_desc: "elements (u64)".into(),
            y_desc: "time".into(),
            x_unit: Axis::Count,
            y_unit: Axis::Ns,
            log_x: true,
            log_y: true,
            series,
            hlines: vec![],
        })],
    })
}
