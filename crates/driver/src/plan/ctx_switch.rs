//! ctx-switch: ring sizes × working sets × backends × channels × placements.

use super::ring::{self, Sweep};
use super::{samples, workers, Machine};
use mpmt_core::workloads::ring::TOKEN_BYTES;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind;
use crate::choices::{self, Sharing};
use crate::flags::{size, Common, RingFlags};
use clap::Args;

#[derive(Args, Debug, Clone, Default)]
pub struct CtxSwitchArgs {
    #[command(flatten)]
    pub ring: RingFlags,

    /// Ring sizes counting the initiator (≥ 2) [default: 2]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Private bytes each worker sums before passing the token [default: 0]
    #[arg(long = "working-set", value_delimiter = ',', value_parser = size)]
    pub working_set: Vec<u64>,

    /// Whose working set a member sums [default: private]
    #[arg(long, value_delimiter = ',', value_parser = choices::sharing())]
    pub working_set_sharing: Vec<Sharing>,

    #[command(flatten)]
    pub common: Common,
}


/// Samples per case unless `--samples` says otherwise.
pub const DEFAULT_SAMPLES: usize = 100;

pub fn cases(a: &CtxSwitchArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let members = workers(
        &a.workers,
        2,
        "a ring needs at least 2 workers (the initiator and one peer)",
        vec![2],
    )?;
    for &ws in &a.working_set {
        super::bounded("--working-set", ws, 0, super::MAX_WORKING_SET_BYTES, true)?;
    }
    let working_sets = if a.working_set.is_empty() {
        vec![0]
    } else {
        a.working_set.clone()
    };
    ring::cases(
        Sweep {
            workload: WorkloadKind::CtxSwitch,
            flags: &a.ring,
            members,
            sizes: vec![TOKEN_BYTES as u64],
            sizes_named: false,
            working_sets,
            shared: if a.working_set_sharing.is_empty() {
                vec![false]
            } else {
                a.working_set_sharing
                    .iter()
                    .map(|s| *s == Sharing::Shared)
                    .collect()
            },
            samples: samples(&a.common, DEFAULT_SAMPLES)?,
        },
        cpus,
        m,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_core::ChannelKind;

    #[test]
    fn default_matrix_leaves_out_the_spinner() {
        let c = cases(&CtxSwitchArgs::default(), &[0, 1], &super::super::machine()).unwrap();
        // thread: 8 blocking channels, fork/spawn: 7 each; 2 placements.
        assert_eq!(c.len(), (8 + 7 + 7) * 2);
        assert!(c.iter().all(|c| !c.label().contains("shm-spin")));
        // Private and shared working sets: every case twice.
        let a = CtxSwitchArgs {
            working_set_sharing: vec![Sharing::Private, Sharing::Shared],
            ..Default::default()
        };
        let both = cases(&a, &[0, 1], &super::super::machine()).unwrap();
        assert_eq!(both.len(), 2 * c.len());
        assert_eq!(
            both.iter()
                .filter(|c| c.label().ends_with(" shared"))
                .count(),
            c.len()
        );
        let mut a = CtxSwitchArgs::default();
        a.ring.placement = vec![crate::choices::RingPlacement::Pairs];
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(e.contains("--placement pairs: only latency"), "{e}");
        let mut a = CtxSwitchArgs::default();
        a.ring.channel = vec![ChannelKind::ShmSpin];
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(e.contains("never gives up its CPU"), "{e}");
        a.ring.channel = vec![];
        a.workers = vec![1];
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(
            e.contains("--workers 1") && e.contains("allowed: 2 to 256"),
            "{e}"
        );
    }
}
