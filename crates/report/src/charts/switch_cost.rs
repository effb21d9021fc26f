//! Context-switch cost by backend × channel × placement: grouped bars
//! (one colour per backend) with CI whiskers, one panel per placement.

use crate::draw::*;
use mpmt_schema::units::fmt_ns;
use mpmt_schema::{Backend, Channel, Metric, Placement, Record, Results, Workload};

/// Switch cost by backend × channel × placement.
pub fn switch_cost(res: &Results) -> Option<Chart> {
    let recs: Vec<&Record> = records_of(res, Workload::CtxSwitch, Metric::Switch)
        .into_iter()
        .filter(|r| r.workers == 2 && r.working_set_bytes == 0 && r.variant.is_none())
        .collect();
    if recs.is_empty() {
        return None;
    }
    let panels = placements(&recs)
        .into_iter()
        .map(|p| {
            let here: Vec<&Record> = recs.iter().copied().filter(|r| r.placement == p).collect();
            let chans = first_seen(here.iter().map(|r| r.channel));
            let series = backends(&here)
                .into_iter()
                .map(|b| BarSeries {
                    name: b.name().into(),
                    hue: Hue::Backend(b),
                    vals: chans
                        .iter()
                        .map(|g| {
                            here.iter()
                                .find(|r| r.backend == b && r.channel == *g)
                                .map(|r| Val::of(r))
                        })
                        .collect(),
                })
                .collect();
            Panel::Bars(Bars {
                title: p.to_string(),
                y_desc: "ns per switch (overhead subtracted)".into(),
                y_unit: Axis::Ns,
                log_y: false,
                stacked: false,
                groups: chans.iter().map(|&c| channel_name(c).to_string()).collect(),
                series,
            })
        })
        .collect();
    let tf = |b: Backend| {
        recs.iter()
            .find(|r| {
                r.backend == b
                    && r.channel == Some(Channel::Pipe)
                    && r.placement == Placement::SameCpu
            })
            .map(|r| r.stats.median)
    };
    let mut c = Chart::new(
        "switch-cost.svg",
        "Context-switch cost by backend, channel and placement",
        panels,
    );
    c.columns = 2;
    c.reading = match (tf(Backend::Thread), tf(Backend::Fork)) {
        (Some(t), Some(f)) => format!(
            "Each bar is the median cost of one switch in a 2-worker token ring, with the single-process overhead subtracted and the 95 % CI as a whisker. On one CPU over pipes a process switch costs {} against {} for a thread ({:.2}×); across CPUs the cost is dominated by waking the other CPU.",
            fmt_ns(f), fmt_ns(t), f / t
        ),
        _ => "Each bar is the median cost of one switch in a 2-worker token ring, with the single-process overhead subtracted and the 95 % CI as a whisker. Compare bars within a group (same channel) to see what the kind of worker costs.".into(),
    };
    Some(c)
}
