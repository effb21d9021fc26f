//! crash: backends × faults, each case timing both recoveries.

use super::{cpu_map, memory_error, placements, samples, workers, Machine};
use crate::choices;
use crate::flags::Common;
use clap::Args;
use mpmt_core::schema::{CrashFault, Recovery};
use mpmt_core::workloads::crash::CrashCase;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind as W;
use mpmt_core::{Backend, Placement};

#[derive(Args, Debug, Clone, Default)]
pub struct CrashArgs {
    /// How workers are born; a thread team runs inside one exec'd
    /// mpmt-worker, so a crash ends that host and not mpmt [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::Crash))]
    pub backend: Vec<Backend>,

    /// Workers in the team (the last one faults) [default: 4]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// How the one worker dies, halfway through its units while it holds
    /// the team's robust mutex [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::fault())]
    pub fault: Vec<CrashFault>,

    /// What the supervisor does then, each timed in runs of its own; the
    /// survivors and the lost work are read from respawn runs, where the
    /// supervisor leaves the others be [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::policy())]
    pub policy: Vec<Recovery>,

    /// Units of work per worker: a 64 KiB block written and read back
    /// each, at least 4 (the fault comes halfway) [default: 128]
    #[arg(long)]
    pub units: Option<usize>,

    /// Where workers run [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Crash))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

/// Runs per policy: each is one crash.
pub const DEFAULT_SAMPLES: usize = 3;
pub const DEFAULT_WORKERS: usize = 4;
pub const DEFAULT_UNITS: usize = 128;
/// Most units per worker (8 GiB of blocks each).
pub const MAX_UNITS: usize = 1 << 17;

pub fn cases(a: &CrashArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let counts = workers(
        &a.workers,
        2,
        "one worker crashes, so a team needs another to survive it",
        vec![DEFAULT_WORKERS],
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let units = a.units.unwrap_or(DEFAULT_UNITS);
    if !(4..=MAX_UNITS).contains(&units) {
        return Err(format!(
            "--units {units}: the fault comes halfway through, so a worker needs at least two units on each side of it; allowed: 4 to {MAX_UNITS}"
        ));
    }
    let backends = super::given_or(&a.backend, Backend::ALL);
    let faults = super::given_or(&a.fault, CrashFault::ALL);
    let policies = super::given_or(&a.policy, Recovery::ALL);
    let places = placements(&a.placement, cpus, &[Placement::Os]);
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &p in &places {
        for &n in &counts {
            for &fault in &faults {
                for &backend in &backends {
                    let case = CrashCase {
                        backend,
                        workers: n,
                        units,
                        fault,
                        policies: policies.clone(),
                        placement: p,
                        cpus: cpu_map(p, n, cpus)?,
                        samples,
                    };
                    memory_error(&case, m, format!("--workers {n} --units {units}"))?;
                    cases.push(Box::new(case));
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
        // 3 backends × 4 faults, both policies in each.
        let c = cases(&CrashArgs::default(), &[0, 1], &m).unwrap();
        assert_eq!(c.len(), 3 * 4);
        assert!(c.iter().all(|c| c.workers() == DEFAULT_WORKERS + 1));
        for (a, want) in [
            (
                CrashArgs {
                    workers: vec![1],
                    ..Default::default()
                },
                "--workers 1",
            ),
            (
                CrashArgs {
                    units: Some(3),
                    ..Default::default()
                },
                "--units 3",
            ),
        ] {
            let e = cases(&a, &[0, 1], &m).unwrap_err();
            assert!(e.contains(want) && e.contains("allowed"), "{e}");
        }
    }
}
