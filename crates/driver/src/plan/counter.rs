//! counter: modes × backends × placements × worker counts.

use super::{cpu_map, placements, samples, workers, Machine};
use mpmt_core::workloads::counter::{CounterCase, Mode};
use mpmt_core::workloads::Case;
use mpmt_core::{Backend, Placement};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::CounterMode;
use mpmt_core::WorkloadKind as W;

#[derive(Args, Debug, Clone, Default)]
pub struct CounterArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::Counter))]
    pub backend: Vec<Backend>,

    /// How each worker adds 1 [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::mode())]
    pub mode: Vec<CounterMode>,

    /// Workers [default: 50]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Increments per worker [default: 100000]
    #[arg(long, value_parser = size)]
    pub increments: Option<u64>,

    /// Where workers run [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Counter))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}


pub const DEFAULT_SAMPLES: usize = 1;
pub const DEFAULT_WORKERS: usize = 50;
pub const DEFAULT_INCREMENTS: u64 = 100_000;

pub fn cases(a: &CounterArgs, cpus: &[u32], _: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let counts = workers(
        &a.workers,
        1,
        "at least one worker is needed",
        vec![DEFAULT_WORKERS],
    )?;
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let backends = super::given_or(&a.backend, Backend::ALL);
    let modes = super::given_or(&a.mode, Mode::ALL);
    let k = a.increments.unwrap_or(DEFAULT_INCREMENTS);
    super::check_increments(&counts, k)?;
    let places = placements(
        &a.placement,
        cpus,
        &[Placement::SameCpu, Placement::CrossCpu],
    );
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &mode in &modes {
        for &backend in &backends {
            for &p in &places {
                for &n in &counts {
                    cases.push(Box::new(CounterCase {
                        backend,
                        mode,
                        workers: n,
                        increments: k,
                        placement: p,
                        cpus: cpu_map(p, n, cpus)?,
                        samples,
                        kill_lock_holder_after: None,
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
    fn defaults() {
        let c = cases(&CounterArgs::default(), &[0, 1], &super::super::machine()).unwrap();
        assert_eq!(c.len(), 4 * 3 * 2);
        let a = CounterArgs {
            workers: vec![0],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(
            e.contains("--workers 0") && e.contains("at least one worker"),
            "{e}"
        );
    }
}
