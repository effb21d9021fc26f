//! Data-parallel speedup vs workers, with the ideal line.

use crate::draw::*;
use mpmt_schema::units::fmt_count;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Data-parallel speedup vs workers with the ideal line.
pub fn dp_speedup(res: &Results) -> Option<Chart> {
    // `render` fills the derived speedups in before drawing.
    let recs = of(res, Workload::DataParallel, Metric::Wall);
    let e = recs.iter().map(|r| r.size_bytes).max()?;
    let here: Vec<&&Record> = recs
        .iter()
        .filter(|r| r.size_bytes == e && r.checks.speedup.is_some())
        .collect();
    let ws = uniq(here.iter().map(|r| r.workers));
    if ws.len() < 2 {
        return None;
    }
    let variants = uniq(here.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let mut series: Vec<Series> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut mine: Vec<&&&Record> = here
                .iter()
                .filter(|r| r.variant.as_deref() == Some(v.as_str()))
                .collect();
            mine.sort_by_key(|r| r.workers);
            Series {
                name: v.clone(),
                points: mine
                    .iter()
                    .map(|r| {
                        (
                            r.workers as f64,
                            Val::plain(r.checks.speedup.unwrap_or(f64::NAN)),
                        )
                    })
                    .collect(),
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    let mut wmax: Vec<u32> = ws.clone();
    wmax.sort();
    series.push(Series {
        name: "ideal (speedup = workers)".into(),
        points: wmax
            .iter()
            .map(|&w| (w as f64, Val::plain(w as f64)))
            .collect(),
        dashed: true,
        shade: false,
        color: 98,
    });
    Some(Chart {
        file: "data-parallel-speedup.svg",
        title: format!("Speedup vs workers at {} elements", fmt_count(e / 8)),
        reading: format!(
            "Each line is wall time with one worker divided by wall time with W workers, for the largest array in the run ({} elements); the dashed line is perfect scaling. Lines far below it mean the work is bound by memory bandwidth or by setup, not by the number of workers.",
            fmt_count(e / 8)
        ),
        panels: vec![Panel::Lines(Lines {
            title: "speedup".into(),
            x_desc: "workers".into(),
            y_desc: "speedup over 1 worker".into(),
            x_unit: Axis::Count,
            y_unit: Axis::Ratio,
            log_x: false,
            log_y: false,
            series,
            hlines: vec![],
        })],
    })
}
