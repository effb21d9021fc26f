//! False sharing: ns per increment with every writer's counter packed in
//! one cache line vs padded apart, a panel per write and placement, a bar
//! per backend and where the counters live.

use crate::draw::*;
use mpmt_schema::units::fmt_count;
use mpmt_schema::{Backend, CounterLayout, CounterWrite, Metric, Record, Results, Variant, Workload};

/// The bars of one panel: (name, colour, backend, counters on the heap).
const SERIES: [(&str, Hue, Backend, bool); 4] = [
    (
        "thread, heap",
        Hue::Tint(Backend::Thread),
        Backend::Thread,
        true,
    ),
    (
        "thread, shared mapping",
        Hue::Backend(Backend::Thread),
        Backend::Thread,
        false,
    ),
    (
        "fork, shared mapping",
        Hue::Backend(Backend::Fork),
        Backend::Fork,
        false,
    ),
    (
        "spawn, shared mapping",
        Hue::Backend(Backend::Spawn),
        Backend::Spawn,
        false,
    ),
];

/// Packed vs padded, per placement.
pub fn false_sharing(res: &Results) -> Option<Chart> {
    let recs = records_of(res, Workload::FalseSharing, Metric::Increment);
    if recs.is_empty() {
        return None;
    }
    let w = recs.iter().map(|r| r.workers).min()?;
    let recs: Vec<&Record> = recs.into_iter().filter(|r| r.workers == w).collect();
    let packed = [true, false];
    let writes: Vec<CounterWrite> = CounterWrite::ALL
        .iter()
        .copied()
        .filter(|&w| recs.iter().any(|r| r.variant.and_then(|v| v.layout()).map(|l| l.1) == Some(w)))
        .collect();
    let places = placements(&recs);
    let panels = writes
        .iter()
        .flat_map(|&w| places.iter().map(move |&p| (w, p)))
        .map(|(w, p)| {
            let find = |b: Backend, l: CounterLayout| {
                recs.iter()
                    .find(|r| {
                        r.placement == p
                            && r.backend == b
                            && r.variant == Some(Variant::Layout(l, w))
                    })
                    .map(|r| Val::of(r))
            };
            Panel::Bars(Bars {
                title: format!("{w}, {p}"),
                y_desc: "ns per increment (all writers)".into(),
                y_unit: Axis::Ns,
                log_y: false,
                stacked: false,
                groups: vec![
                    "packed: one cache line".into(),
                    "padded: a line pair each".into(),
                ],
                series: SERIES
                    .iter()
                    .map(|(name, hue, b, heap)| BarSeries {
                        name: name.to_string(),
                        hue: *hue,
                        vals: packed
                            .iter()
                            .map(|&pk| find(*b, CounterLayout::of(pk, *heap)))
                            .collect(),
                    })
                    .collect(),
            })
        })
        .collect();
    let counts: Vec<String> = writes
        .iter()
        .filter_map(|&wr| {
            let r = recs
                .iter()
                .find(|r| r.variant.and_then(|v| v.layout()).map(|l| l.1) == Some(wr))?;
            Some(format!("{} {wr}s", fmt_count(r.checks.increments.unwrap_or(0))))
        })
        .collect();
    let mut c = Chart::new(
        "false-sharing.svg",
        format!(
            "False sharing: {w} writers, each to its own counter ({} each)",
            counts.join(", ")
        ),
        panels,
    );
    c.columns = c.panels.len().min(2);
    c.reading = "Each bar is the median time per increment (the timed phase over all writers' increments) when every writer's counter sits in one cache line (packed) or on lines of its own (padded). On one CPU the writers take turns and the layout hardly matters; across CPUs a packed line must move between caches, whoever owns the address space — compare the bars of one group across backends. A store can wait for the line in the core's store buffer while the writer goes on (some cores hide the line's trips that way); an atomic add cannot, so its panels show what a shared line costs a writer that needs it at once.".into();
    Some(c)
}
