//! Creation cost vs the parent's resident set, and memory per live
//! worker. A method wears the colour of the backend it makes (thread,
//! fork; exec'd processes the spawn colour), its dash tells the variants
//! of one colour apart.

use crate::draw::*;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{CreateMethod, Metric, Record, Results, Variant, Workload};

/// A creation method's line.
fn method_style(m: CreateMethod) -> Style {
    let dash = match m {
        CreateMethod::Thread | CreateMethod::Fork | CreateMethod::ForkExec => Dash::Solid,
        CreateMethod::PosixSpawn => Dash::Dashed,
        CreateMethod::ForkExecStatic => Dash::Dotted,
        CreateMethod::PosixSpawnStatic => Dash::LongDash,
    };
    Style::backend(m.backend()).dashed(dash)
}

/// Creation cost vs parent heap, and memory per worker.
pub fn creation(res: &Results) -> Option<Chart> {
    let create = records_of(res, Workload::Create, Metric::Create);
    if create.is_empty() {
        return None;
    }
    let methods = first_seen(
        create
            .iter()
            .filter_map(|r| r.variant.and_then(Variant::method)),
    );
    let mut l = Lines::new(
        "create + join",
        ("parent's resident set while creating", Axis::Bytes, true),
        ("time per worker", Axis::Ns, true),
    );
    for m in &methods {
        let mut mine: Vec<&Record> = create
            .iter()
            .copied()
            .filter(|r| r.variant == Some(Variant::Method(*m)))
            .collect();
        mine.sort_by_key(|r| r.size_bytes);
        // x: what fork has to copy page tables for — the parent's
        // measured resident set (older runs: the heap it added).
        let pts = mine
            .iter()
            .map(|r| {
                let x = r
                    .checks
                    .parent_rss_bytes
                    .unwrap_or(r.size_bytes)
                    .max(1 << 20);
                (x as f64, Val::of(r))
            })
            .collect();
        l.series
            .push(Series::new(m.to_string(), method_style(*m), pts));
    }
    let mut panels = vec![Panel::Lines(l)];
    let mem = records_of(res, Workload::Create, Metric::Pss);
    if !mem.is_empty() {
        let heaps = first_seen(mem.iter().map(|r| r.size_bytes));
        let series = methods
            .iter()
            .filter(|&&m| mem.iter().any(|r| r.variant == Some(Variant::Method(m))))
            .map(|m| BarSeries {
                name: m.to_string(),
                hue: match method_style(*m) {
                    Style {
                        hue: Hue::Backend(b),
                        dash,
                    } if dash != Dash::Solid => Hue::Tint(b),
                    s => s.hue,
                },
                vals: heaps
                    .iter()
                    .map(|h| {
                        mem.iter()
                            .find(|r| r.variant == Some(Variant::Method(*m)) && r.size_bytes == *h)
                            .map(|r| Val::of(r))
                    })
                    .collect(),
            })
            .collect();
        panels.push(Panel::Bars(Bars {
            title: "memory per live worker (PSS)".into(),
            y_desc: "proportional set size".into(),
            y_unit: Axis::Bytes,
            log_y: false,
            stacked: false,
            groups: heaps
                .iter()
                .map(|h| format!("heap {}", fmt_bytes(*h)))
                .collect(),
            series,
        }));
    }
    let mut c = Chart::new(
        "creation.svg",
        "Creating a worker: time vs the parent's heap, and memory per worker",
        panels,
    );
    c.reading = "Left: median time to create a worker, run an empty body and join or reap it, against the parent's measured resident set (its own memory plus the heap it was asked to hold); fork must copy the page tables of all of it, posix_spawn and threads do not. Colours follow the backend a method makes (exec'd processes in the spawn colour); the -static methods exec a tiny static program instead of mpmt-worker. Right: proportional set size of each live worker, which charges pages shared copy-on-write a fraction each, so a forked child of a large parent costs its share of the parent's heap.".into();
    Some(c)
}
