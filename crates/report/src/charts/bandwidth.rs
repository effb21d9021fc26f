//! One-way bandwidth vs chunk size: small multiples, one panel per channel
//! and placement (as latency), one colour per backend, the transfer-only
//! variant dashed, and memcpy of the same chunk size as a grey reference.

use super::rtt_vs_size::grid;
use crate::draw::*;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Bandwidth vs chunk size with memcpy of each chunk size.
pub fn bandwidth(res: &Results) -> Option<Chart> {
    let recs = records_of(res, Workload::Bandwidth, Metric::Bandwidth);
    if recs.is_empty() {
        return None;
    }
    let floor = res.floors.memcpy_bytes_per_s.as_ref().map(|f| f.value);
    let marks = cache_marks(res);
    let panels = grid(&recs, |here, title| {
        let mut l = Lines::new(
            title,
            ("chunk size", Axis::Bytes, true),
            ("bytes per second", Axis::BytesPerS, true),
        );
        let variants = first_seen(here.iter().map(|r| r.variant));
        for b in backends(here) {
            for v in &variants {
                let pts = by_size(here, |r| r.backend == b && &r.variant == v, Val::of);
                if pts.is_empty() {
                    continue;
                }
                let dash = if v.is_some() {
                    Dash::Dashed
                } else {
                    Dash::Solid
                };
                l.series
                    .push(Series::new(b.name(), Style::backend(b).dashed(dash), pts));
            }
        }
        // memcpy at each chunk size, as measured beside these records.
        let mut sizes: Vec<u64> = here.iter().map(|r| r.size_bytes).collect();
        sizes.sort();
        sizes.dedup();
        let memcpy: Vec<(f64, Val)> = sizes
            .iter()
            .filter_map(|&s| {
                let mut v: Vec<f64> = here
                    .iter()
                    .filter(|r: &&&Record| r.size_bytes == s)
                    .filter_map(|r| r.checks.memcpy_bytes_per_s)
                    .collect();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).map(|m| (s as f64, Val::plain(*m)))
            })
            .collect();
        if memcpy.len() > 1 {
            l.series.push(Series::new(
                "memcpy of the same chunk size",
                Style {
                    hue: Hue::Reference,
                    dash: Dash::Dashed,
                },
                memcpy,
            ));
        } else if let Some(f) = floor {
            l.hlines.push(("memcpy floor".into(), f));
        }
        l.mark_caches(&marks);
        Panel::Lines(l)
    });
    let mut c = Chart::new("bandwidth.svg", "One-way bandwidth vs chunk size", panels.0);
    c.columns = panels.1;
    c.shared_axes = true;
    if recs.iter().any(|r| r.variant.is_some()) {
        c.dash_labels = vec![
            (Dash::Solid, "solid: payload written and verified".into()),
            (
                Dash::Dashed,
                "dashed: transfer only (untouched buffers)".into(),
            ),
        ];
    }
    c.reading = "One panel per channel and placement, one colour per backend: each line is the median rate of a stream of chunks written by one worker and verified by the other (dashed: the same stream of untouched buffers, the kernel's copy alone); the grey dashed line is memcpy of the same chunk size on the same CPU, measured in this run. Shared memory can reach it because the payload is written and read in place; pipes and sockets copy it twice through the kernel.".into();
    Some(c)
}
