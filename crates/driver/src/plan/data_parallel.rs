//! data-parallel: array sizes × variants × worker counts × placements.

use super::{cpu_map, memory_error, placements, samples, workers, Machine};
use mpmt_core::schema::units::fmt_count;
use mpmt_core::workloads::data_parallel::{DpCase, Split};
use mpmt_core::workloads::{Case, SweepPoint, Swept};
use mpmt_core::Placement;
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::WorkloadKind as W;

#[derive(Args, Debug, Clone, Default)]
pub struct DataParallelArgs {
    /// <backend>-<heap|shm|channel> [default: thread-heap, thread-shm,
    /// fork-shm, spawn-shm, fork-pipe, spawn-ipc-channel]
    #[arg(long, value_delimiter = ',', value_parser = choices::split())]
    pub variant: Vec<Split>,

    /// Array lengths in u64 elements, K/M/G = 1024-powers [default: 1K,32K,1M,16M]
    #[arg(long, value_delimiter = ',', value_parser = size)]
    pub elements: Vec<u64>,

    /// Workers [default: 1,2,4… up to 2 × CPUs]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Where workers run [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::DataParallel))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}


pub const DEFAULT_SAMPLES: usize = 2;
pub const DEFAULT_ELEMENTS: [u64; 4] = [1 << 10, 32 << 10, 1 << 20, 16 << 20];

pub fn cases(
    a: &DataParallelArgs,
    cpus: &[u32],
    m: &Machine,
) -> Result<Vec<Box<dyn Case>>, String> {
    let mut default_workers = vec![1];
    while default_workers[default_workers.len() - 1] * 2 <= 2 * cpus.len() {
        default_workers.push(default_workers[default_workers.len() - 1] * 2);
    }
    let counts = workers(
        &a.workers,
        1,
        "at least one worker is needed",
        default_workers,
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let variants = if a.variant.is_empty() {
        Split::CLASSIC.to_vec()
    } else {
        a.variant.clone()
    };
    let elements = if a.elements.is_empty() {
        DEFAULT_ELEMENTS.to_vec()
    } else {
        a.elements.clone()
    };
    let places = placements(&a.placement, cpus, &[Placement::Os]);
    let mut cases = Vec::new();
    for &e in &elements {
        if e == 0 {
            return Err("--elements 0: the array needs at least 1 element".into());
        }
        super::bounded("--elements", e, 1, super::MAX_ELEMENTS, false)?;
        for &variant in &variants {
            for &n in &counts {
                for &p in &places {
                    let case = DpCase {
                        split: variant,
                        workers: n,
                        elements: e as usize,
                        placement: p,
                        cpus: cpu_map(p, n, cpus)?,
                        samples,
                    };
                    memory_error(&case, m, format!("--elements {}", fmt_count(e)))?;
                    // The sharing claim and the headline read the largest
                    // array; a smaller one is a point of the curve.
                    if Some(&e) == elements.iter().max() {
                        cases.push(Box::new(case) as Box<dyn Case>);
                    } else {
                        let point = SweepPoint::new(
                            format!("data-parallel e={}", fmt_count(e)),
                            SweepPoint::SIZES,
                            e * 8,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sweep_workers_to_twice_the_cpus() {
        let m = super::super::machine();
        let c = cases(&DataParallelArgs::default(), &[0, 1], &m).unwrap();
        // 4 sizes × 6 variants × W ∈ {1, 2, 4} × os.
        assert_eq!(c.len(), 4 * 6 * 3);
        let mut a = DataParallelArgs {
            elements: vec![0],
            ..Default::default()
        };
        assert!(cases(&a, &[0, 1], &m).unwrap_err().contains("--elements 0"));
        a.elements = vec![1 << 30];
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--elements 1G") && e.contains("available"),
            "{e}"
        );
    }
}
