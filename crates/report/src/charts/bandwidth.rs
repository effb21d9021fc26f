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
        // memcpy at each chunk size: the run's one floor per size (older
        // runs: as their records quote it).
        let mut sizes: Vec<u64> = here.iter().map(|r| r.size_bytes).collect();
        sizes.sort();
        sizes.dedup();
        let memcpy: Vec<(f64, Val)> = sizes
            .iter()
            .filter_map(|&s| {
                if let Some(f) = res.floors.memcpy_of(s) {
                    return Some((s as f64, Val::plain(f.value)));
                }
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
    c.reading = "One panel per channel and placement, one colour per backend: each point is the median over windows of a window's bytes over its time, from the first write until the reader acknowledged the last chunk (each window at least 64 × what the channel buffers, and 20 ms), for chunks written by one worker and verified by the other (dashed: the same stream of untouched buffers, the kernel's copies alone). The grey dashed line is memcpy of the same chunk size, measured once per size before the cases. Shared memory is written and read in place, one pass over each chunk, so it can reach that line; a pipe or socket copies each chunk in and out of the kernel, so its ceiling is half the line (a touched stream's fill and verify are a third pass), and the table reads each record against its own number of passes.".into();
    Some(c)
}
