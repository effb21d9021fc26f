//! bandwidth: chunk sizes × backends × channels × placements.

use super::ring::{self, check_sizes, Sweep};
use super::{samples, Machine};
use crate::cli::MessageArgs;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind;

pub const DEFAULT_SAMPLES: usize = 60;
pub const DEFAULT_SIZES: [u64; 4] = [4 << 10, 64 << 10, 1 << 20, 16 << 20];

pub fn cases(a: &MessageArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    check_sizes(&a.sizes)?;
    let sizes = if a.sizes.is_empty() {
        DEFAULT_SIZES.to_vec()
    } else {
        a.sizes.clone()
    };
    ring::cases(
        Sweep {
            workload: WorkloadKind::Bandwidth,
            flags: &a.ring,
            members: vec![2],
            sizes,
            working_sets: vec![0],
            samples: samples(&a.common, DEFAULT_SAMPLES)?,
        },
        cpus,
        m,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_for_memory() {
        let mut a = MessageArgs::default();
        a.sizes = vec![1 << 40];
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(
            e.contains("--sizes 1024G") && e.contains("available"),
            "{e}"
        );
    }
}
