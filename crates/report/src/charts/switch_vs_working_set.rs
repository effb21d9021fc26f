//! Switch cost vs working set (same CPU): one line per backend over
//! one channel, log x.

use crate::draw::*;
use mpmt_schema::{Channel, Metric, Placement, Record, Results, Workload};

/// Switch cost vs working set.
pub fn switch_vs_working_set(res: &Results) -> Option<Chart> {
    let all: Vec<&Record> = of(res, Workload::CtxSwitch, Metric::Switch)
        .into_iter()
        .filter(|r| r.workers == 2 && r.placement == Placement::SameCpu)
        .collect();
    // One channel (pipe if measured), one line per backend: the question
    // is thread vs process, not channel vs channel.
    let channel = all
        .iter()
        .find(|r| r.channel == Some(Channel::Pipe))
        .or(all.first())
        .map(|r| r.channel)?;
    let recs: Vec<&Record> = all.into_iter().filter(|r| r.channel == channel).collect();
    let sets = uniq(recs.iter().map(|r| r.working_set_bytes));
    if sets.len() < 2 {
        return None;
    }
    let keys = uniq(recs.iter().map(|r| (r.backend, r.channel)));
    let series = keys
        .iter()
        .enumerate()
        .map(|(i, (b, c))| {
            let mut pts: Vec<(f64, Val)> = recs
                .iter()
                .filter(|r| r.backend == *b && r.channel == *c)
                .map(|r| ((r.working_set_bytes.max(1024)) as f64, Val::of(r)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: format!("{b} / {}", chan(*c)),
                points: pts,
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    Some(Chart {
        file: "switch-vs-working-set.svg",
        title: "Switch cost vs working set (same CPU)".into(),
        reading: "Each worker sums its own private buffer before passing the token; the x axis is that buffer's size (0 is drawn at 1 KiB) and the y axis the switch cost minus the same work done without switching. If processes lost their caches at a switch and threads kept theirs, the process lines would rise above the thread lines as the working set grows.".into(),
        panels: vec![Panel::Lines(Lines {
            title: format!("same-cpu, {}", chan(channel)),
            x_desc: "working set per worker".into(),
            y_desc: "ns per switch".into(),
            x_unit: Axis::Bytes,
            y_unit: Axis::Ns,
            log_x: true,
            log_y: false,
            series,
            hlines: vec![],
        })],
    })
}
