//! Counter: time per increment per mode, one panel per placement and one
//! colour per backend, and the updates the racy mode lost.

use crate::draw::*;
use mpmt_schema::units::fmt_count;
use mpmt_schema::{CounterMode, Metric, Record, Results, Variant, Workload};

/// Counter: ns per increment and lost updates per mode × backend.
pub fn counter(res: &Results) -> Option<Chart> {
    let recs = records_of(res, Workload::Counter, Metric::Increment);
    if recs.is_empty() {
        return None;
    }
    let modes = first_seen(
        recs.iter()
            .filter_map(|r| r.variant.and_then(Variant::mode)),
    );
    let places = placements(&recs);
    let bs = backends(&recs);
    let mut panels: Vec<Panel> = places
        .iter()
        .map(|&p| {
            Panel::Bars(Bars {
                title: format!("time per increment, {p}"),
                y_desc: "ns per increment".into(),
                y_unit: Axis::Ns,
                log_y: true,
                stacked: false,
                groups: modes.iter().map(|m| m.to_string()).collect(),
                series: bs
                    .iter()
                    .map(|&b| BarSeries {
                        name: b.name().into(),
                        hue: Hue::Backend(b),
                        vals: modes
                            .iter()
                            .map(|m| {
                                recs.iter()
                                    .find(|r| {
                                        r.backend == b
                                            && r.placement == p
                                            && r.variant == Some(Variant::Mode(*m))
                                    })
                                    .map(|r| Val::of(r))
                            })
                            .collect(),
                    })
                    .collect(),
            })
        })
        .collect();
    let racy: Vec<&Record> = recs
        .iter()
        .copied()
        .filter(|r| r.variant == Some(Variant::Mode(CounterMode::Racy)))
        .collect();
    if !racy.is_empty() {
        panels.push(Panel::Bars(Bars {
            title: "updates lost by the racy mode".into(),
            y_desc: "updates lost".into(),
            y_unit: Axis::Count,
            log_y: false,
            stacked: false,
            groups: places.iter().map(|p| p.to_string()).collect(),
            series: bs
                .iter()
                .map(|&b| BarSeries {
                    name: b.name().into(),
                    hue: Hue::Backend(b),
                    vals: places
                        .iter()
                        .map(|&p| {
                            racy.iter()
                                .find(|r| r.backend == b && r.placement == p)
                                .map(|r| Val::plain(r.checks.lost_updates.unwrap_or(0.0)))
                        })
                        .collect(),
                })
                .collect(),
        }));
    }
    let w = recs[0].workers;
    let k = recs[0].checks.increments.unwrap_or(0);
    let mut c = Chart::new(
        "counter.svg",
        format!("Shared counter: {w} workers × {} increments", fmt_count(k)),
        panels,
    );
    c.columns = c.panels.len().min(3);
    c.reading = "Left: median time per increment for each mode, one panel per placement and one colour per backend, with 95 % CI whiskers (log scale). Right: how many of the increments the racy mode lost; on one CPU workers take turns and lose an update only if preemption falls between the load and the store, across CPUs they really run at once and lose many, while every locked or atomic mode ends exact.".into();
    Some(c)
}
