//! false-sharing: variants × backends × placements × worker counts.

use super::{cpu_map, placements, samples, workers, Machine};
use mpmt_core::workloads::false_sharing::{FalseSharingCase, Layout, Write};
use mpmt_core::workloads::Case;
use mpmt_core::{Backend, Placement};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::CounterLayout;
use mpmt_core::WorkloadKind as W;

#[derive(Args, Debug, Clone, Default)]
pub struct FalseSharingArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::FalseSharing))]
    pub backend: Vec<Backend>,

    /// Where the counters sit [default: every one valid for the backend]
    #[arg(long, value_delimiter = ',', value_parser = choices::layout())]
    pub variant: Vec<CounterLayout>,

    /// Workers, each with its own counter (at least 2) [default: 2]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// How each worker adds to its counter [default: store,atomic]
    #[arg(long, value_delimiter = ',', value_parser = choices::counter_write())]
    pub write: Vec<Write>,

    /// Increments per worker [default: 10M for a store, 1M for an atomic add, ~20 ms each on one Intel host]
    #[arg(long, value_parser = size)]
    pub increments: Option<u64>,

    /// Where workers run [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::FalseSharing))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}


pub const DEFAULT_SAMPLES: usize = 2;
pub const DEFAULT_WORKERS: usize = 2;
/// Increments per worker when `--increments` is not given: a locked add
/// across CPUs costs ~10× a store, so it gets a tenth as many.
pub fn default_increments(w: Write) -> u64 {
    match w {
        Write::Store => 10_000_000,
        Write::Atomic => 1_000_000,
    }
}

pub fn cases(
    a: &FalseSharingArgs,
    cpus: &[u32],
    _: &Machine,
) -> Result<Vec<Box<dyn Case>>, String> {
    let counts = workers(
        &a.workers,
        2,
        "false sharing needs at least two writers",
        vec![DEFAULT_WORKERS],
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let backends = super::given_or(&a.backend, Backend::ALL);
    // An explicit variant that no chosen backend can use is an error; the
    // default is every variant each backend can use.
    for v in &a.variant {
        if !backends.iter().any(|&b| v.valid_for(b)) {
            return Err(format!(
                "--variant {v}: the heap is one process's, so only `thread` workers can share it; use packed-shm or padded-shm with {}",
                super::list(&backends)
            ));
        }
    }
    let writes = super::given_or(&a.write, Write::ALL);
    for &w in &writes {
        super::check_increments(&counts, a.increments.unwrap_or(default_increments(w)))?;
    }
    let places = placements(
        &a.placement,
        cpus,
        &[Placement::SameCpu, Placement::CrossCpu],
    );
    let variants = super::given_or(&a.variant, Layout::ALL);
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &write in &writes {
        let k = a.increments.unwrap_or(default_increments(write));
        for &variant in &variants {
            for &backend in backends.iter().filter(|&&b| variant.valid_for(b)) {
                for &p in &places {
                    for &n in &counts {
                        cases.push(Box::new(FalseSharingCase {
                            backend,
                            layout: variant,
                            write,
                            workers: n,
                            increments: k,
                            placement: p,
                            cpus: cpu_map(p, n, cpus)?,
                            samples,
                        }));
                    }
                }
            }
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let m = super::super::machine();
        // thread: 4 variants, fork and spawn: the 2 shm ones; 2 placements;
        // 2 writes, an atomic add with a tenth of a store's increments.
        let c = cases(&FalseSharingArgs::default(), &[0, 1], &m).unwrap();
        assert_eq!(c.len(), (4 + 2 + 2) * 2 * 2);
        let labels: Vec<String> = c.iter().map(|c| c.label()).collect();
        assert!(labels.iter().any(|l| l == "false-sharing packed-shm-atomic fork cross-cpu 2x1000000"), "{labels:?}");
        assert!(labels.iter().any(|l| l == "false-sharing padded-heap-store thread same-cpu 2x10000000"), "{labels:?}");
        let a = FalseSharingArgs {
            write: vec![Write::Atomic],
            increments: Some(500),
            ..Default::default()
        };
        let c = cases(&a, &[0, 1], &m).unwrap();
        assert_eq!(c.len(), 16);
        assert!(c.iter().all(|c| c.label().contains("-atomic ") && c.label().ends_with("x500")));
        let a = FalseSharingArgs {
            backend: vec![Backend::Fork],
            variant: vec![Layout::PackedHeap],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--variant packed-heap") && e.contains("only `thread`"),
            "{e}"
        );
        let a = FalseSharingArgs {
            workers: vec![1],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--workers 1") && e.contains("at least two"),
            "{e}"
        );
    }
}
