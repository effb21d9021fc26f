//! vm-ops: ns per op per worker against the worker count, a panel per
//! op, a bar per backend, and the shootdowns the kernel counted per op
//! in each panel's title.

use crate::draw::*;
use mpmt_schema::{Metric, Placement, Record, Results, Variant, VmOp, Workload};

/// Thread vs fork vs spawn per op, across CPUs (else on one CPU).
pub fn vm_ops(res: &Results) -> Option<Chart> {
    let all = records_of(res, Workload::VmOps, Metric::VmOp);
    if all.is_empty() {
        return None;
    }
    let place = match all.iter().any(|r| r.placement == Placement::CrossCpu) {
        true => Placement::CrossCpu,
        false => all[0].placement,
    };
    let recs: Vec<&Record> = all.into_iter().filter(|r| r.placement == place).collect();
    let mut workers: Vec<u32> = first_seen(recs.iter().map(|r| r.workers));
    workers.sort_unstable();
    let backends = backends(&recs);
    let panels: Vec<Panel> = VmOp::ALL
        .iter()
        .filter(|&&op| recs.iter().any(|r| r.variant == Some(Variant::Op(op))))
        .map(|&op| {
            let find = |b, w| {
                recs.iter()
                    .find(|r| r.backend == b && r.workers == w && r.variant == Some(Variant::Op(op)))
                    .copied()
            };
            let top = *workers.last().expect("some records");
            let taken: Vec<String> = backends
                .iter()
                .filter_map(|&b| {
                    let s = find(b, top)?.checks.kernel.shootdowns_received_per_op?;
                    Some(format!("{b} {s:.2}"))
                })
                .collect();
            let title = match taken.is_empty() {
                true => op.to_string(),
                false => format!("{op} — shootdowns/op at {top}: {}", taken.join(", ")),
            };
            Panel::Bars(Bars {
                title,
                y_desc: "ns per op per worker".into(),
                y_unit: Axis::Ns,
                log_y: false,
                stacked: false,
                groups: workers
                    .iter()
                    .map(|w| match w {
                        1 => "1 worker".to_string(),
                        w => format!("{w} workers"),
                    })
                    .collect(),
                series: backends
                    .iter()
                    .map(|&b| BarSeries {
                        name: b.to_string(),
                        hue: Hue::Backend(b),
                        vals: workers.iter().map(|&w| find(b, w).map(Val::of)).collect(),
                    })
                    .collect(),
            })
        })
        .collect();
    let mut c = Chart::new(
        "vm-ops.svg",
        format!("What threads pay for one address space: memory operations, {place}"),
        panels,
    );
    c.columns = c.panels.len().min(3);
    c.reading = "Each bar is the median time of one memory operation per worker while every worker repeats it on its own memory. With one worker, thread and process pay the same; with a sibling on another CPU, threads share one mmap_lock and one set of page tables, and every unmap or protection change must interrupt the sibling's CPU (the shootdowns per op in each title, counted by the kernel's tlb:tlb_flush tracepoint). Processes have their own address space and pay neither.".into();
    Some(c)
}
