//! Data-parallel time vs array size: two panels (data shared in place;
//! data copied over a channel), the thread-heap line in both as the
//! reference, the setup part as a thin line of each variant's colour.

use crate::draw::*;
use mpmt_schema::{ArrayAccess, ArraySplit, Backend, Metric, Record, Results, Variant, Workload};

fn dp_w(recs: &[&Record]) -> Option<u32> {
    // The worker count closest to 2 (the question's W), else the largest.
    let ws = first_seen(recs.iter().map(|r| r.workers));
    ws.iter()
        .copied()
        .find(|&w| w == 2)
        .or_else(|| ws.iter().copied().max())
}

/// A split's line: its backend's colour; solid for the heap, dashed for
/// a shared mapping, dotted for a channel.
pub(crate) fn variant_style(r: &Record) -> Style {
    let access = r.variant.and_then(Variant::split).map(|s| s.access);
    Style::backend(r.backend).dashed(match access {
        Some(ArrayAccess::Heap) => Dash::Solid,
        Some(ArrayAccess::Shm) => Dash::Dashed,
        _ => Dash::Dotted,
    })
}

/// The data-parallel splits of `recs`, in first-seen order.
pub(crate) fn splits(recs: &[&Record]) -> Vec<ArraySplit> {
    first_seen(
        recs.iter()
            .filter_map(|r| r.variant.and_then(Variant::split)),
    )
}

/// The records of split `v`, ordered by `key` (size or workers).
pub(crate) fn of_split<'a>(
    recs: &[&'a Record],
    v: ArraySplit,
    key: impl Fn(&Record) -> u64,
) -> Vec<&'a Record> {
    let mut mine: Vec<&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.variant == Some(Variant::Split(v)))
        .collect();
    mine.sort_by_key(|r| key(r));
    mine
}

/// The two panels' splits: shared in place (heap, shm) and copied over
/// a channel, with thread-heap (or the first thread split) in both.
pub(crate) fn dp_panels(splits: &[ArraySplit]) -> Vec<(&'static str, Vec<ArraySplit>)> {
    let shared: Vec<ArraySplit> = splits.iter().copied().filter(|v| v.in_place()).collect();
    let reference = splits
        .iter()
        .find(|v| **v == ArraySplit::new(Backend::Thread, ArrayAccess::Heap))
        .or_else(|| splits.iter().find(|v| v.backend == Backend::Thread))
        .copied();
    let copied: Vec<ArraySplit> = reference
        .into_iter()
        .chain(splits.iter().copied().filter(|v| !v.in_place()))
        .collect();
    let panels: Vec<(&'static str, Vec<ArraySplit>)> = [
        ("shared in place (heap or mapping)", shared),
        ("copied over a channel", copied),
    ]
    .into_iter()
    .filter(|(_, v)| v.len() > 1 || v.iter().any(|x| x.backend != Backend::Thread))
    .collect();
    if panels.is_empty() {
        vec![("every variant", splits.to_vec())]
    } else {
        panels
    }
}

/// Data-parallel time vs array size, setup as a thin line.
pub fn dp_time(res: &Results) -> Option<Chart> {
    let recs = records_of(res, Workload::DataParallel, Metric::Wall);
    let w = dp_w(&recs)?;
    let here: Vec<&Record> = recs.iter().copied().filter(|r| r.workers == w).collect();
    if first_seen(here.iter().map(|r| r.size_bytes)).len() < 2 {
        return None;
    }
    let panels = dp_panels(&splits(&here))
        .into_iter()
        .map(|(title, vs)| {
            let mut l = Lines::new(
                title,
                ("elements (u64)", Axis::Count, true),
                ("time", Axis::Ns, true),
            );
            for v in vs {
                let mine = of_split(&here, v, |r| r.size_bytes);
                let mut s = Series::new(
                    v.to_string(),
                    variant_style(mine[0]),
                    mine.iter()
                        .map(|r| ((r.size_bytes / 8) as f64, Val::of(r)))
                        .collect(),
                );
                s.thin = mine
                    .iter()
                    .filter(|r| r.setup_ns > 0)
                    .map(|r| ((r.size_bytes / 8) as f64, r.setup_ns as f64))
                    .collect();
                l.series.push(s);
            }
            Panel::Lines(l)
        })
        .collect();
    let mut c = Chart::new(
        "data-parallel-time.svg",
        format!("Doubling an array across {w} workers: time vs array size"),
        panels,
    );
    c.shared_axes = true;
    c.thin_label = Some("thin line: the setup part (creating workers, mapping, copying in)".into());
    c.reading = "Thick lines are the median wall time of a verified run, thin lines of the same colour the part spent in setup; left, workers share the array in place (threads on the heap or a shared mapping, processes on a shared mapping), right, each process gets its slice over a channel and sends it back, with threads on the heap as the reference. Where a thin line meets its thick one, setup dominates; the array size where a process line meets the thread line is where processes stop losing to threads.".into();
    Some(c)
}
