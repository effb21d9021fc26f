//! Round-trip latency vs message size: small multiples, one panel per
//! channel and placement, one line per backend (median, with p99 as a thin
//! line of the same colour), on shared log–log axes with the caches marked.
//!
//! A panel per channel rather than per backend: the question is threads
//! vs processes over the *same* channel, so each panel holds exactly that
//! comparison (three colours), and the same channel on one CPU and across
//! CPUs sit side by side.

use crate::draw::*;
use mpmt_schema::{Metric, Results, Workload};

/// RTT vs message size, median and p99.
pub fn rtt_vs_size(res: &Results) -> Option<Chart> {
    // Every-pair records have a heatmap of their own.
    let recs: Vec<&mpmt_schema::Record> = records_of(res, Workload::Latency, Metric::Rtt)
        .into_iter()
        .filter(|r| !super::cpu_pairs::is_pair(r))
        .collect();
    if recs.is_empty() {
        return None;
    }
    let marks = cache_marks(res);
    let panels = grid(&recs, |here, title| {
        let mut l = Lines::new(
            title,
            ("message size", Axis::Bytes, true),
            ("round trip", Axis::Ns, true),
        );
        for b in backends(here) {
            let mut s = Series::new(
                b.name(),
                Style::backend(b),
                by_size(here, |r| r.backend == b, Val::of),
            );
            s.thin = by_size(here, |r| r.backend == b, |r| Val::plain(r.stats.p99))
                .into_iter()
                .map(|(x, v)| (x, v.mid))
                .collect();
            l.series.push(s);
        }
        l.mark_caches(&marks);
        Panel::Lines(l)
    });
    let mut c = Chart::new(
        "rtt-vs-size.svg",
        "Round-trip latency vs message size",
        panels.0,
    );
    c.columns = panels.1;
    c.shared_axes = true;
    c.thin_label = Some("thin line: p99 (same colour)".into());
    c.reading = "One panel per channel and placement, one colour per backend: thick lines are the median round trip of a verified message, thin lines the 99th percentile, on log–log axes shared by every panel. Flat left parts are the fixed cost of a hand-off (wake-up, switch, syscalls); where a line bends upward, copying the payload starts to dominate, typically past a cache size (dotted).".into();
    Some(c)
}

/// Small multiples over channel × placement: channels in `Channel::ALL`
/// order, each channel's placements side by side (an empty cell where one
/// was not measured, so columns stay aligned). Returns the panels and the
/// columns per row.
pub(crate) fn grid(
    recs: &[&mpmt_schema::Record],
    panel: impl Fn(&[&mpmt_schema::Record], String) -> Panel,
) -> (Vec<Panel>, usize) {
    let places = placements(recs);
    let mut panels = Vec::new();
    for c in channels(recs) {
        for &p in &places {
            let here: Vec<&mpmt_schema::Record> = recs
                .iter()
                .copied()
                .filter(|r| r.channel == Some(c) && r.placement == p)
                .collect();
            let title = format!("{c} · {p}");
            panels.push(if here.is_empty() {
                Panel::Empty {
                    title,
                    why: "not measured (not valid here)".into(),
                }
            } else {
                panel(&here, title)
            });
        }
    }
    let columns = match places.len() {
        1 | 2 => 4,
        n => n,
    };
    (panels, columns)
}
