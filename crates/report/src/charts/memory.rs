//! memory: what one worker adds to the machine against the worker count,
//! a panel per backend, its page tables, private pages and share of
//! shared pages stacked.

use crate::draw::*;
use mpmt_schema::{Backend, Metric, Record, Results, Workload};

fn one(v: f64) -> Val {
    Val {
        mid: v,
        lo: v,
        hi: v,
        modes: None,
    }
}

/// Per worker, at the largest private working set and shared region.
pub fn memory(res: &Results) -> Option<Chart> {
    let pss = records_of(res, Workload::Memory, Metric::Pss);
    if pss.is_empty() {
        return None;
    }
    let private = pss.iter().map(|r| r.working_set_bytes).max()?;
    let shared = pss.iter().map(|r| r.size_bytes).max()?;
    let find = |b: Backend, m: Metric, w: u32| -> Option<&Record> {
        res.records.iter().find(|r| {
            r.workload == Workload::Memory
                && r.backend == b
                && r.metric == m
                && r.workers == w
                && r.working_set_bytes == private
                && r.size_bytes == shared
        })
    };
    let extra = |b, m, w| find(b, m, w)?.checks.extra_per_worker_bytes;
    let mut workers: Vec<u32> = first_seen(pss.iter().map(|r| r.workers));
    workers.sort_unstable();
    let bs = backends(&pss);
    let mut panels: Vec<Panel> = bs
        .iter()
        .copied()
        .map(|b| {
            let part = |name: &str, hue, f: &dyn Fn(u32) -> Option<f64>| BarSeries {
                name: name.into(),
                hue,
                vals: workers.iter().map(|&w| f(w).map(|v| one(v.max(0.0)))).collect(),
            };
            Panel::Bars(Bars {
                title: b.to_string(),
                y_desc: "bytes per worker".into(),
                y_unit: Axis::Bytes,
                log_y: false,
                stacked: true,
                groups: workers.iter().map(|w| format!("{w} live")).collect(),
                series: vec![
                    part("page tables", Hue::Reference, &|w| {
                        extra(b, Metric::PageTables, w)
                    }),
                    part("private (USS)", Hue::Heat(850), &|w| extra(b, Metric::Uss, w)),
                    part("share of shared pages (PSS − USS)", Hue::Heat(350), &|w| {
                        Some(extra(b, Metric::Pss, w)? - extra(b, Metric::Uss, w)?)
                    }),
                ],
            })
        })
        .collect();
    // The page tables alone, on their own scale: beside the pages they
    // map they are too thin to see.
    panels.push(Panel::Bars(Bars {
        title: "page tables alone".into(),
        y_desc: "bytes per worker".into(),
        y_unit: Axis::Bytes,
        log_y: false,
        stacked: false,
        groups: workers.iter().map(|w| format!("{w} live")).collect(),
        series: bs
            .iter()
            .map(|&b| BarSeries {
                name: b.to_string(),
                hue: Hue::Backend(b),
                vals: workers
                    .iter()
                    .map(|&w| extra(b, Metric::PageTables, w).map(|v| one(v.max(0.0))))
                    .collect(),
            })
            .collect(),
    }));
    let mut c = Chart::new(
        "memory.svg",
        format!(
            "What a live worker costs in memory: private {}, shared {} read by all",
            mpmt_schema::units::fmt_bytes(private),
            mpmt_schema::units::fmt_bytes(shared)
        ),
        panels,
    );
    c.reading = "Each group is one team of live workers; its three bars are what one worker adds to the machine, read from /proc while the workers hold still: its page tables (VmPTE), the pages only it maps (USS), and its proportional share of pages it shares with others (PSS − USS). A thread's are its team's growth over the process before it, divided by the workers, so the shared region's pages and tables are the team's once; each process maps the region itself, so it pays its own page tables for it (2 MiB per GiB) and shares its pages. The three are stacked: the bar's height is the worker's cost. The last panel draws the page tables alone, on their own scale.".into();
    Some(c)
}
