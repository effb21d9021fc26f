//! create: parent heaps × methods × placements × live-worker counts.

use super::{cpu_map, memory_error, placements, samples, workers, Machine};
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::workloads::create::{CreateCase, Method};
use mpmt_core::workloads::{Case, SweepPoint, Swept};
use mpmt_core::Placement;
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::CreateMethod;
use mpmt_core::WorkloadKind as W;

#[derive(Args, Debug, Clone, Default)]
pub struct CreateArgs {
    /// How a worker is created [default: all] (`--backend` is accepted as
    /// an alias for one release)
    #[arg(long, alias = "backend", value_delimiter = ',', value_parser = choices::method())]
    pub method: Vec<CreateMethod>,

    /// Resident parent heap sizes to create from [default: 0,64M,1G]
    #[arg(long = "parent-heap", value_delimiter = ',', value_parser = size)]
    pub parent_heap: Vec<u64>,

    /// Workers alive at once for the memory measurement [default: 4]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Where the parent runs (same-cpu or os: a worker starts where its
    /// parent runs) [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Create))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}


pub const DEFAULT_SAMPLES: usize = 20;
pub const DEFAULT_ALIVE: usize = 4;
pub const DEFAULT_HEAPS: [u64; 3] = [0, 64 << 20, 1 << 30];

pub fn cases(a: &CreateArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let alive = workers(
        &a.workers,
        1,
        "at least one worker is needed",
        vec![DEFAULT_ALIVE],
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let methods = if a.method.is_empty() {
        Method::ALL.to_vec()
    } else {
        a.method.clone()
    };
    let places = placements(&a.placement, cpus, &[Placement::Os]);
    if let Some(p) = places.iter().find(|&&p| p == Placement::CrossCpu) {
        return Err(format!(
            "--placement {p}: create measures creating a worker, which starts where its parent runs; use same-cpu or os"
        ));
    }
    let heaps = if a.parent_heap.is_empty() {
        DEFAULT_HEAPS.to_vec()
    } else {
        a.parent_heap.clone()
    };
    for &h in &heaps {
        super::bounded("--parent-heap", h, 0, super::MAX_PARENT_HEAP_BYTES, true)?;
    }
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &h in &heaps {
        for &method in &methods {
            for &p in &places {
                for &n in &alive {
                    let case = CreateCase {
                        method,
                        parent_heap_bytes: h as usize,
                        samples,
                        alive: n,
                        placement: p,
                        cpu: cpu_map(p, 1, cpus)?[0],
                    };
                    memory_error(&case, m, format!("--parent-heap {}", fmt_count(h)))?;
                    // The creation claim reads the smallest heap and the
                    // largest; a heap between them is a point of the curve.
                    let (lo, hi) = (heaps.iter().min(), heaps.iter().max());
                    if Some(&h) == lo || Some(&h) == hi {
                        cases.push(Box::new(case));
                    } else {
                        let point = SweepPoint::new(
                            format!("create heap={}", fmt_bytes(h)),
                            SweepPoint::HEAPS,
                            h,
                            p,
                        );
                        cases.push(Swept::boxed(Box::new(case), point));
                    }
                }
            }
        }
    }
    Ok(cases)
}
