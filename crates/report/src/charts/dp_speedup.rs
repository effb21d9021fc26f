//! Data-parallel speedup vs workers, with the ideal line, in the same two
//! panels as the time chart.

use super::dp_time::{dp_panels, of_split, splits, variant_style};
use crate::draw::*;
use mpmt_schema::units::fmt_count;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Data-parallel speedup vs workers with the ideal line.
pub fn dp_speedup(res: &Results) -> Option<Chart> {
    // `render` fills the derived speedups in before drawing.
    let recs = records_of(res, Workload::DataParallel, Metric::Wall);
    let e = recs.iter().map(|r| r.size_bytes).max()?;
    let here: Vec<&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.size_bytes == e && r.checks.speedup.is_some())
        .collect();
    let mut ws = first_seen(here.iter().map(|r| r.workers));
    if ws.len() < 2 {
        return None;
    }
    ws.sort();
    let panels = dp_panels(&splits(&here))
        .into_iter()
        .map(|(title, vs)| {
            let mut l = Lines::new(
                title,
                ("workers", Axis::Count, false),
                ("speedup over 1 worker", Axis::Ratio, false),
            );
            for v in vs {
                let mine = of_split(&here, v, |r| u64::from(r.workers));
                let pts = mine
                    .iter()
                    .map(|r| {
                        (
                            r.workers as f64,
                            Val::plain(r.checks.speedup.unwrap_or(f64::NAN)),
                        )
                    })
                    .collect();
                l.series
                    .push(Series::new(v.to_string(), variant_style(mine[0]), pts));
            }
            l.series.push(Series::new(
                "ideal (speedup = workers)",
                Style {
                    hue: Hue::Reference,
                    dash: Dash::Dashed,
                },
                ws.iter()
                    .map(|&w| (w as f64, Val::plain(w as f64)))
                    .collect(),
            ));
            Panel::Lines(l)
        })
        .collect();
    let mut c = Chart::new(
        "data-parallel-speedup.svg",
        format!("Speedup vs workers at {} elements", fmt_count(e / 8)),
        panels,
    );
    c.shared_axes = true;
    c.reading = format!(
        "Each line is wall time with one worker divided by wall time with W workers, for the largest array in the run ({} elements); the grey dashed line is perfect scaling. Lines far below it mean the work is bound by memory bandwidth or by setup, not by the number of workers.",
        fmt_count(e / 8)
    );
    Some(c)
}
