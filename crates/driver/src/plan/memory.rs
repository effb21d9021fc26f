//! memory: backends × worker counts × private working sets × shared
//! regions.

use super::{cpu_map, memory_error, placements, samples, workers, Machine};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::workloads::memory::MemoryCase;
use mpmt_core::workloads::{Case, SweepPoint, Swept};
use mpmt_core::WorkloadKind as W;
use mpmt_core::{Backend, Placement};

#[derive(Args, Debug, Clone, Default)]
pub struct MemoryArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::Memory))]
    pub backend: Vec<Backend>,

    /// Workers alive at once [default: 1,4,16 and the CPUs used]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Private working set each worker writes, a multiple of 4K
    /// [default: 0,64M]
    #[arg(long, value_delimiter = ',', value_parser = size)]
    pub private: Vec<u64>,

    /// Shared region every worker reads, a multiple of 4K [default: 0,256M]
    #[arg(long, value_delimiter = ',', value_parser = size)]
    pub shared: Vec<u64>,

    /// Keep each team of weighed workers alive this long (at most 60s),
    /// their pids on stderr, so another tool can weigh the same workers
    /// (`smem -P mpmt-worker`) [default: 0]
    #[arg(long, value_parser = crate::flags::deadline)]
    pub hold: Option<std::time::Duration>,

    /// Where workers run [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Memory))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

/// Weighings per round: the figures are the kernel's page counts, which
/// hardly move from one weighing to the next.
pub const DEFAULT_SAMPLES: usize = 2;
pub const DEFAULT_PRIVATE: [u64; 2] = [0, 64 << 20];
pub const DEFAULT_SHARED: [u64; 2] = [0, 256 << 20];
/// Longest `--hold`.
pub const MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(60);
/// Largest working set or region (each).
pub const MAX_BYTES: u64 = 1 << 40;

/// 1, 4, 16 and the CPU count, in order.
pub fn default_workers(cpus: usize) -> Vec<usize> {
    let mut v = vec![1, 4, 16, cpus.max(1)];
    v.sort_unstable();
    v.dedup();
    v
}

fn pages(flag: &str, v: &[u64], default: &[u64]) -> Result<Vec<u64>, String> {
    let v = super::given_or(v, default);
    for &b in &v {
        super::bounded(flag, b, 0, MAX_BYTES, true)?;
        if b % 4096 != 0 {
            return Err(format!(
                "{flag} {}: not a whole number of 4 KiB pages; allowed: 0 or a multiple of 4K, up to {}",
                fmt_count(b),
                fmt_bytes(MAX_BYTES)
            ));
        }
    }
    Ok(v)
}

pub fn cases(a: &MemoryArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let counts = workers(
        &a.workers,
        1,
        "at least one worker is needed",
        default_workers(cpus.len()),
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let private = pages("--private", &a.private, &DEFAULT_PRIVATE)?;
    let shared = pages("--shared", &a.shared, &DEFAULT_SHARED)?;
    let backends = super::given_or(&a.backend, Backend::ALL);
    let places = placements(&a.placement, cpus, &[Placement::Os]);
    let hold = a.hold.unwrap_or_default();
    if hold > MAX_HOLD {
        return Err(format!(
            "--hold {hold:?}: too long to keep workers parked; allowed: 0 to 60s"
        ));
    }
    let most = *counts.iter().max().expect("at least one count");
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &p in &places {
        for &n in &counts {
            for &s in &shared {
                for &w in &private {
                    for &backend in &backends {
                        let case = MemoryCase {
                            backend,
                            workers: n,
                            private: w as usize,
                            shared: s as usize,
                            placement: p,
                            cpus: cpu_map(p, n, cpus)?,
                            samples,
                            hold,
                        };
                        memory_error(
                            &case,
                            m,
                            format!(
                                "--workers {n} --private {} --shared {}",
                                fmt_count(w),
                                fmt_count(s)
                            ),
                        )?;
                        // The claim reads the most workers; fewer are
                        // points of the per-worker curve.
                        if n == most {
                            cases.push(Box::new(case));
                        } else {
                            let point = SweepPoint::new(
                                format!("memory workers={n}"),
                                SweepPoint::RING_LENGTHS,
                                n as u64,
                                p,
                            );
                            cases.push(Swept::boxed(Box::new(case), point));
                        }
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
        // 3 backends × workers 1, 2, 4, 16 × private 0, 64M × shared 0, 256M.
        let c = cases(&MemoryArgs::default(), &[0, 1], &m).unwrap();
        assert_eq!(default_workers(2), [1, 2, 4, 16]);
        assert_eq!(c.len(), 3 * 4 * 2 * 2);
        let a = MemoryArgs {
            private: vec![1000],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--private 1000") && e.contains("4 KiB pages"), "{e}");
        let a = MemoryArgs {
            workers: vec![0],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--workers 0"), "{e}");
    }
}
