//! vm-ops: ops × backends × placements × worker counts.

use super::{cpu_map, placements, samples, workers, Machine};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::VmOp;
use mpmt_core::workloads::vm_ops::{VmOpsCase, LARGE};
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind as W;
use mpmt_core::{Backend, Placement};

#[derive(Args, Debug, Clone, Default)]
pub struct VmOpsArgs {
    /// The memory operation each worker repeats [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::vm_op())]
    pub op: Vec<VmOp>,

    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::VmOps))]
    pub backend: Vec<Backend>,

    /// Workers, each on its own memory [default: 1 and every CPU count up
    /// to the CPUs used; on more than 4, powers of two and all of them]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Operations per worker per run [default: per op, about 20 ms here]
    #[arg(long, value_parser = size)]
    pub ops: Option<u64>,

    /// Where workers run [default: cross-cpu,same-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::VmOps))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

pub const DEFAULT_SAMPLES: usize = 3;
/// Operations per worker and run, so a run takes 10–30 ms on 2 vCPUs.
pub fn default_ops(op: VmOp) -> u64 {
    match op {
        // One 128 MiB region: 32768 pages.
        VmOp::PageFault => (LARGE / mpmt_core::workloads::vm_ops::PAGE) as u64,
        VmOp::Mmap | VmOp::MallocLarge => 5_000,
        VmOp::Madvise => 5_000,
        VmOp::Mprotect => 5_000,
        VmOp::MallocSmall => 1_000_000,
    }
}

/// Most operations one worker runs in one case.
pub const MAX_OPS: u64 = 1 << 30;

/// 1 and every count up to `n`; past 4, powers of two and `n` itself.
pub fn default_workers(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = match n <= 4 {
        true => (1..=n).collect(),
        false => (0..)
            .map(|i| 1usize << i)
            .take_while(|&w| w < n)
            .chain([n])
            .collect(),
    };
    v.dedup();
    v
}

pub fn cases(a: &VmOpsArgs, cpus: &[u32], _: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let counts = workers(
        &a.workers,
        1,
        "at least one worker is needed",
        default_workers(cpus.len().max(1)),
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    if let Some(k) = a.ops {
        super::bounded("--ops", k, 1, MAX_OPS, false)?;
    }
    let backends = super::given_or(&a.backend, Backend::ALL);
    let ops = super::given_or(&a.op, VmOp::ALL);
    let places = placements(
        &a.placement,
        cpus,
        &[Placement::CrossCpu, Placement::SameCpu],
    );
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &op in &ops {
        for &backend in &backends {
            for &p in &places {
                for &n in &counts {
                    cases.push(Box::new(VmOpsCase {
                        backend,
                        op,
                        workers: n,
                        ops: a.ops.unwrap_or(default_ops(op)),
                        region: LARGE,
                        placement: p,
                        cpus: cpu_map(p, n, cpus)?,
                        samples,
                    }));
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
        // 6 ops × 3 backends × 2 placements × workers 1, 2.
        let c = cases(&VmOpsArgs::default(), &[0, 1], &m).unwrap();
        assert_eq!(c.len(), 6 * 3 * 2 * 2);
        assert_eq!(default_workers(2), [1, 2]);
        assert_eq!(default_workers(8), [1, 2, 4, 8]);
        assert_eq!(default_workers(6), [1, 2, 4, 6]);
        let a = VmOpsArgs {
            ops: Some(0),
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--ops 0"), "{e}");
        let a = VmOpsArgs {
            workers: vec![0],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--workers 0"), "{e}");
    }
}
