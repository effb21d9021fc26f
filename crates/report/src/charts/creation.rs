//! Creation cost vs the parent's resident set, and memory per live
//! worker, one line or bar per method.

use crate::draw::*;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{Metric, Record, Results, Workload};

/// Creation cost vs parent heap, and memory per worker.
pub fn creation(res: &Results) -> Option<Chart> {
    let create = of(res, Workload::Create, Metric::Create);
    if create.is_empty() {
        return None;
    }
    let methods = uniq(create.iter().map(|r| r.variant.clone().unwrap_or_default()));
    let series = methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut mine: Vec<&&Record> = create
                .iter()
                .filter(|r| r.variant.as_ref() == Some(m))
                .collect();
            mine.sort_by_key(|r| r.size_bytes);
            Series {
                name: m.clone(),
                // x: what fork has to copy page tables for — the parent's
                // measured resident set (older runs: the heap it added).
                points: mine
                    .iter()
                    .map(|r| {
                        let x = r
                            .checks
                            .parent_rss_bytes
                            .unwrap_or(r.size_bytes)
                            .max(1 << 20);
                        (x as f64, Val::of(r))
                    })
                    .collect(),
                dashed: false,
                shade: false,
                color: i,
            }
        })
        .collect();
    let mut panels = vec![Panel::Lines(Lines {
        title: "create + join".into(),
        x_desc: "parent's resident set while creating".into(),
        y_desc: "time per worker".into(),
        x_unit: Axis::Bytes,
        y_unit: Axis::Ns,
        log_x: true,
        log_y: true,
        series,
        hlines: vec![],
    })];
    let mem = of(res, Workload::Create, Metric::Pss);
    if !mem.is_empty() {
        let heaps = uniq(mem.iter().map(|r| r.size_bytes));
        let groups: Vec<String> = heaps
            .iter()
            .map(|h| format!("heap {}", fmt_bytes(*h)))
            .collect();
        let series = methods
            .iter()
            .map(|m| {
                let vals = heaps
                    .iter()
                    .map(|h| {
                        mem.iter()
                            .find(|r| r.variant.as_ref() == Some(m) && r.size_bytes == *h)
                            .map(|r| Val::of(r))
                    })
                    .collect();
                (m.clone(), vals)
            })
            .collect();
        panels.push(Panel::Bars(Bars {
            title: "memory per live worker (PSS)".into(),
            y_desc: "proportional set size".into(),
            y_unit: Axis::Bytes,
            log_y: false,
            groups,
            series,
        }));
    }
    Some(Chart {
        file: "creation.svg",
        title: "Creating a worker: time vs the parent's heap, and memory per worker".into(),
        reading: "Left: median time to create a worker, run an empty body and join or reap it, against the parent's measured resident set (its own memory plus the heap it was asked to hold); fork must copy the page tables of all of it, posix_spawn and threads do not. Right: proportional set size of each live worker, which charges pages shared copy-on-write a fraction each, so a forked child of a large parent costs its share of the parent's heap.".into(),
        panels,
    })
}
