//! latency: message sizes × backends × channels × placements.

use super::ring;
use super::Machine;
pub use super::ring::MessageArgs as LatencyArgs;
use super::ring::MessageArgs;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind;

pub const DEFAULT_SAMPLES: usize = 300;
pub const DEFAULT_SIZES: [u64; 7] = [8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20];

pub fn cases(a: &MessageArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    ring::message_cases(
        WorkloadKind::Latency,
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
    use mpmt_core::{Backend, ChannelKind, Placement};

    #[test]
    fn default_matrix_skips_spin_on_one_cpu_and_refuses_named_pairs() {
        let m = super::super::machine();
        let c = cases(&MessageArgs::default(), &[0, 1], &m).unwrap();
        // (9 + 8 + 8) pairs × 2 placements − 3 spin/same-cpu, × 7 sizes,
        // less mq at the sizes over its kernel limit (8 KiB here: 32 KiB,
        // 256 KiB and 1 MiB) for 3 backends × 2 placements.
        let over = [32u64 << 10, 256 << 10, 1 << 20]
            .iter()
            .filter(|&&s| s > mpmt_core::channel::mq::max_message_bytes() as u64)
            .count();
        assert_eq!(c.len(), ((9 + 8 + 8) * 2 - 3) * 7 - over * 3 * 2);
        let mut a = MessageArgs::default();
        a.ring.backend = vec![Backend::Fork];
        a.ring.channel = vec![ChannelKind::Heap];
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("Valid channels for fork"), "{e}");
        let mut a = MessageArgs::default();
        a.ring.placement = vec![crate::choices::RingPlacement::At(Placement::CrossCpu)];
        let e = cases(&a, &[1], &m).unwrap_err();
        assert!(
            e.contains("--placement cross-cpu") && e.contains("at least 2 CPUs"),
            "{e}"
        );
        let a = MessageArgs {
            sizes: vec![4],
            ..Default::default()
        };
        assert!(cases(&a, &[0], &m).unwrap_err().contains("--sizes 4"));
    }

    #[test]
    fn pairs_cover_every_ordered_pair_and_nothing_else() {
        use crate::choices::RingPlacement;
        let m = super::super::machine();
        let a = MessageArgs {
            ring: crate::flags::RingFlags {
                placement: vec![RingPlacement::Pairs],
                ..Default::default()
            },
            ..Default::default()
        };
        // A synthetic 8-CPU machine: 8 × 7 ordered pairs, each for every
        // backend over shm-spin and pipe, at the one default size.
        let cpus: Vec<u32> = (0..8).collect();
        let c = cases(&a, &cpus, &m).unwrap();
        assert_eq!(c.len(), 8 * 7 * 3 * 2);
        let mut seen: Vec<String> = c
            .iter()
            .map(|c| c.label().split(" cpu ").nth(1).unwrap().to_string())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 56, "{seen:?}");
        assert!(seen.contains(&"7→0".to_string()) && !seen.contains(&"3→3".to_string()));
        // Two CPUs: the one pair, both ways.
        assert_eq!(cases(&a, &[0, 1], &m).unwrap().len(), 2 * 3 * 2);
        let e = cases(&a, &[0], &m).unwrap_err();
        assert!(
            e.contains("--placement pairs") && e.contains("two CPUs"),
            "{e}"
        );
        assert_eq!(
            crate::plan::ring::ordered_pairs(&[0, 1, 2]),
            vec![(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
        );
    }

    #[test]
    fn mq_sizes_beyond_the_kernel_limit_are_refused_or_left_out() {
        use mpmt_core::channel::mq::max_message_bytes;
        let m = super::super::machine();
        let max = max_message_bytes() as u64;
        let named = MessageArgs {
            ring: crate::flags::RingFlags {
                channel: vec![ChannelKind::Mq],
                ..Default::default()
            },
            sizes: vec![8, max + 8],
            ..Default::default()
        };
        let e = cases(&named, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--channel mq") && e.contains("msgsize_max"),
            "{e}"
        );
        // Default sizes: only those that fit.
        let default = MessageArgs {
            ring: crate::flags::RingFlags {
                channel: vec![ChannelKind::Mq],
                ..Default::default()
            },
            ..Default::default()
        };
        let c = cases(&default, &[0, 1], &m).unwrap();
        let fitting = [8u64, 64, 512, 4096, 32 << 10, 256 << 10, 1 << 20]
            .iter()
            .filter(|&&s| s <= max)
            .count();
        assert_eq!(c.len(), 3 * 2 * fitting);
    }
}
