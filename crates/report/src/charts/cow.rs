//! cow: ns per page written after fork against the fraction written, and
//! the writes' total against the fork, 4 KiB pages against huge ones.

use crate::draw::*;
use mpmt_schema::{Backend, CowWriter, Metric, Record, Results, Workload};

fn writer_style(w: CowWriter, huge: bool) -> Style {
    let s = match w {
        CowWriter::Child => Style::backend(Backend::Fork),
        CowWriter::Parent => Style::backend(Backend::Spawn),
        CowWriter::Thread => Style::backend(Backend::Thread),
    };
    match huge {
        true => s.dashed(Dash::Dashed),
        false => s,
    }
}

/// At the largest heap measured.
pub fn cow(res: &Results) -> Option<Chart> {
    let faults = records_of(res, Workload::Cow, Metric::CowFault);
    let heap = faults.iter().map(|r| r.size_bytes).max()?;
    let at: Vec<&Record> = faults.into_iter().filter(|r| r.size_bytes == heap).collect();
    let mut per_page = Lines::new(
        "ns per page written",
        ("fraction of the heap written", Axis::Ratio, true),
        ("ns per page", Axis::Ns, true),
    );
    let mut total = Lines::new(
        "the writes in all, against the fork",
        ("fraction of the heap written", Axis::Ratio, true),
        ("ns", Axis::Ns, true),
    );
    let mut forks: Vec<(bool, f64)> = Vec::new();
    for huge in [false, true] {
        for &w in CowWriter::ALL {
            let mut recs: Vec<&Record> = at
                .iter()
                .copied()
                .filter(|r| {
                    r.variant
                        .and_then(|v| v.cow())
                        .is_some_and(|c| c.writer == w && c.huge == huge)
                })
                .collect();
            if recs.is_empty() {
                continue;
            }
            recs.sort_by_key(|r| r.variant.and_then(|v| v.cow()).map(|c| c.ppm));
            let frac = |r: &Record| r.variant.and_then(|v| v.cow()).map_or(0.0, |c| c.fraction());
            let name = format!("{w} writes, {}", if huge { "huge pages" } else { "4 KiB pages" });
            per_page.series.push(Series::new(
                name.clone(),
                writer_style(w, huge),
                recs.iter().map(|r| (frac(r), Val::of(r))).collect(),
            ));
            let n = |r: &Record| r.checks.pages_written.unwrap_or(0) as f64;
            total.series.push(Series::new(
                name,
                writer_style(w, huge),
                recs.iter()
                    .map(|r| {
                        let v = Val::of(r);
                        (
                            frac(r),
                            Val {
                                mid: v.mid * n(r),
                                lo: v.lo * n(r),
                                hi: v.hi * n(r),
                                modes: None,
                            },
                        )
                    })
                    .collect(),
            ));
        }
        let fork = res
            .records
            .iter()
            .filter(|r| r.workload == Workload::Cow && r.metric == Metric::Fork)
            .filter(|r| r.size_bytes == heap)
            .filter(|r| r.variant.and_then(|v| v.cow()).is_some_and(|c| c.huge == huge))
            .map(|r| r.stats.median)
            .reduce(f64::min);
        if let Some(f) = fork {
            forks.push((huge, f));
        }
    }
    // Both lines are drawn alike: their names say which is which.
    let two = forks.len() == 2;
    for &(huge, f) in &forks {
        let pages = if huge { "huge pages" } else { "4 KiB pages" };
        let which = match (two, f >= forks.iter().map(|x| x.1).fold(0.0, f64::max)) {
            (false, _) => "",
            (true, true) => " (the upper line)",
            (true, false) => " (the lower line)",
        };
        total.hlines.push((format!("fork, {pages}{which}"), f));
    }
    if per_page.series.is_empty() {
        return None;
    }
    let mut c = Chart::new(
        "cow.svg",
        format!(
            "Copy-on-write after fork: a {} heap, one byte written per page",
            mpmt_schema::units::fmt_bytes(heap)
        ),
        vec![Panel::Lines(per_page), Panel::Lines(total)],
    );
    c.reading = "Left: what one page written costs after the fork, by who writes. The child's or the parent's first write to a page both still map is a fault that copies it; a thread writing the same pages with no fork copies nothing. Right: the writes in all against the fork itself (the horizontal lines): where a line crosses the fork's, the copies have cost as much as the fork saved by sharing.".into();
    Some(c)
}
