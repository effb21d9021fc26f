//! bandwidth: chunk sizes × backends × channels × placements.

use super::ring;
use super::Machine;
pub use super::ring::MessageArgs as BandwidthArgs;
use super::ring::MessageArgs;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind;

/// Windows per round: each is sized for 20 ms and is at least 64 × the
/// channel's buffer of stream already, so a few suffice; the rounds give
/// the CI.
pub const DEFAULT_SAMPLES: usize = 3;
pub const DEFAULT_SIZES: [u64; 4] = [4 << 10, 64 << 10, 1 << 20, 16 << 20];

pub fn cases(a: &MessageArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    ring::message_cases(
        WorkloadKind::Bandwidth,
        a,
        &DEFAULT_SIZES,
        DEFAULT_SAMPLES,
        cpus,
        m,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_for_memory() {
        let a = MessageArgs {
            sizes: vec![1 << 40],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &super::super::machine()).unwrap_err();
        assert!(
            e.contains("--sizes 1024G: out of range; allowed: 8B to 1G"),
            "{e}"
        );
        let a = MessageArgs {
            sizes: vec![512 << 20],
            ..Default::default()
        };
        let small = super::super::Machine {
            mem_available_bytes: Some(100 << 20),
            ..super::super::machine()
        };
        let e = cases(&a, &[0, 1], &small).unwrap_err();
        assert!(e.contains("--sizes 512M") && e.contains("available"), "{e}");
    }
}
