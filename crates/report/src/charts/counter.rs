//! Counter: time per increment per mode × backend × placement, and the
//! updates the racy mode lost.

use crate::draw::*;
use mpmt_schema::units::fmt_count;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Counter: ns per increment and lost updates per mode × backend.
pub fn counter(res: &Results) -> Option<Chart> {
    let recs = of(res, Workload::Counter, Metric::Increment);
    if recs.is_empty() {
        return None;
    }
    let modes = uniq(recs.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let keys = uniq(recs.iter().map(|r| (r.backend, r.placement)));
    let series_of = |f: &dyn Fn(&Record) -> Val,
                     groups: &[String],
                     by_mode: bool|
     -> Vec<(String, Vec<Option<Val>>)> {
        keys.iter()
            .map(|(b, p)| {
                let vals = groups
                    .iter()
                    .map(|g| {
                        recs.iter()
                            .find(|r| {
                                r.backend == *b
                                    && r.placement == *p
                                    && (!by_mode || r.variant.as_deref() == Some(g.as_str()))
                            })
                            .map(|r| f(r))
                    })
                    .collect();
                (format!("{b} {p}"), vals)
            })
            .collect()
    };
    let time = Bars {
        title: "time per increment".into(),
        y_desc: "ns per increment".into(),
        y_unit: Axis::Ns,
        log_y: true,
        groups: modes.clone(),
        series: series_of(&Val::of, &modes, true),
    };
    let racy: Vec<&&Record> = recs
        .iter()
        .filter(|r| r.variant.as_deref() == Some("racy"))
        .collect();
    let mut panels = vec![Panel::Bars(time)];
    if !racy.is_empty() {
        let groups = vec!["racy".to_string()];
        let series = keys
            .iter()
            .map(|(b, p)| {
                let v = racy
                    .iter()
                    .find(|r| r.backend == *b && r.placement == *p)
                    .map(|r| Val::plain(r.checks.lost_updates.unwrap_or(0.0)));
                (format!("{b} {p}"), vec![v])
            })
            .collect();
        panels.push(Panel::Bars(Bars {
            title: "lost updates (racy)".into(),
            y_desc: "updates lost".into(),
            y_unit: Axis::Count,
            log_y: false,
            groups,
            series,
        }));
    }
    let w = recs[0].workers;
    let k = recs[0].checks.increments.unwrap_or(0);
    Some(Chart {
        file: "counter.svg",
        title: format!("Shared counter: {w} workers × {} increments", fmt_count(k)),
        reading: "Left: median time per increment for each mode, one bar per backend and placement, with 95 % CI whiskers. Right: how many of the increments the racy mode lost; on one CPU workers take turns and lose an update only if preemption falls between the load and the store, across CPUs they really run at once and lose many, while every locked or atomic mode ends exact.".into(),
        panels,
    })
}
