//! Switch cost vs working set (same CPU): one line per backend over one
//! channel, log x with a slot for 0 B, the caches marked.

use crate::draw::*;
use mpmt_schema::{Channel, Metric, Placement, Record, Results, Workload};

/// Switch cost vs working set.
pub fn switch_vs_working_set(res: &Results) -> Option<Chart> {
    let all: Vec<&Record> = records_of(res, Workload::CtxSwitch, Metric::Switch)
        .into_iter()
        .filter(|r| r.workers == 2 && r.placement == Placement::SameCpu && r.variant.is_none())
        .collect();
    // One channel (pipe if measured), one line per backend: the question
    // is thread vs process, not channel vs channel.
    let channel = all
        .iter()
        .find(|r| r.channel == Some(Channel::Pipe))
        .or(all.first())
        .map(|r| r.channel)?;
    let recs: Vec<&Record> = all.into_iter().filter(|r| r.channel == channel).collect();
    if first_seen(recs.iter().map(|r| r.working_set_bytes)).len() < 2 {
        return None;
    }
    let mut l = Lines::new(
        format!("same-cpu, {}", channel_name(channel)),
        ("working set per worker", Axis::Bytes, true),
        ("ns per switch", Axis::Ns, false),
    );
    for b in backends(&recs) {
        let mut pts: Vec<(f64, Val)> = recs
            .iter()
            .filter(|r| r.backend == b)
            .map(|r| (r.working_set_bytes as f64, Val::of(r)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        l.series.push(Series::new(b.name(), Style::backend(b), pts));
    }
    l.mark_caches(&cache_marks(res));
    let mut c = Chart::new(
        "switch-vs-working-set.svg",
        "Switch cost vs working set (same CPU)",
        vec![Panel::Lines(l)],
    );
    c.reading = "Each worker sums its own private buffer before passing the token; the x axis is that buffer's size (0 has its own slot left of the break) and the y axis the switch cost minus the same work done without switching, with the data caches dotted. If processes lost their caches at a switch and threads kept theirs, the process lines would rise above the thread line as the working set grows.".into();
    Some(c)
}
