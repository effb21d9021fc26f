//! The order rounds run in, and when a case has had enough.
//!
//! Every case gets `min_rounds` rounds. Cases are taken a workload at a
//! time (in plan order: the parent's resident set, which fork copies,
//! grows as cases run, so creation stays first) and, within a workload,
//! each pass over the cases is shuffled (seeded, recorded), so a slow drift
//! of the machine or a lucky placement spreads over all cases instead of
//! landing on one (with `--rounds 1`, cases run in plan order). Then a
//! case whose CI is still wider than `ci_target` gets more rounds, up to
//! `max_rounds`, while it stays under [`CASE_TIME_FACTOR`] × its base
//! time, and the extra rounds end within the time budget (`--budget`) or,
//! without one, within [`EXTRA_TIME_SHARE`] of the base rounds' time: the
//! run's length stays bounded whatever the machine does.

use mpmt_core::schema::RoundPolicy;
use std::time::Duration;

/// Default rounds per case.
pub const MIN_ROUNDS: u32 = 3;
/// Default target CI width, per cent of the median.
pub const CI_TARGET_PCT: f64 = 5.0;
/// A case's rounds may take this many times its base rounds' time.
pub const CASE_TIME_FACTOR: f64 = 2.0;
/// Least time a round measures (samples or runs past the planned count):
/// a 1 ms round is one scheduler tick away from being all noise.
pub const MIN_ROUND_TIME: Duration = Duration::from_millis(20);
/// Longest time between two saves of results.json while rounds run.
pub const SAVE_EVERY: Duration = Duration::from_secs(2);
/// A save as a case completes waits until this many times the last save's
/// own duration has passed since it: a long run's results.json is a
/// megabyte, and writing it after each of 650 short cases took a tenth
/// of the run.
pub const SAVE_SHARE: u32 = 20;
/// Without a budget, extra rounds may take this share of the base
/// rounds' time.
pub const EXTRA_TIME_SHARE: f64 = 0.3;

/// The policy from the flags (already range-checked by clap), or why the
/// combination is refused.
pub fn policy(
    rounds: Option<u32>,
    max_rounds: Option<u32>,
    ci_target_pct: Option<f64>,
    seed: Option<u64>,
) -> Result<RoundPolicy, String> {
    let min_rounds = rounds.unwrap_or(MIN_ROUNDS);
    let max = max_rounds.unwrap_or((3 * min_rounds).max(8));
    if max < min_rounds {
        return Err(format!(
            "--max-rounds {max} is below --rounds {min_rounds}; allowed: --max-rounds ≥ --rounds"
        ));
    }
    Ok(RoundPolicy {
        min_rounds,
        max_rounds: max,
        ci_target: ci_target_pct.unwrap_or(CI_TARGET_PCT) / 100.0,
        seed: seed.unwrap_or_else(clock_seed),
    })
}

fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ ((std::process::id() as u64) << 32)
}

/// splitmix64: a small, well-mixed generator, enough to shuffle an order.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Consecutive runs of plan indices that share a key (the workload).
pub fn groups<K: PartialEq>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match out.last_mut() {
            Some(g) if keys[g[0]] == *k => g.push(i),
            _ => out.push(vec![i]),
        }
    }
    out
}

/// Whether a case may have another round: still too wide, rounds and time
/// left.
pub fn wants_more(
    p: &RoundPolicy,
    rounds: u32,
    widest: f64,
    spent: Duration,
    base: Duration,
) -> bool {
    rounds < p.max_rounds
        && widest > p.ci_target
        && spent.as_secs_f64() < CASE_TIME_FACTOR * base.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..20).collect();
        let mut b = a.clone();
        Rng::new(7).shuffle(&mut a);
        Rng::new(7).shuffle(&mut b);
        assert_eq!(a, b, "same seed, same order");
        let mut c: Vec<usize> = (0..20).collect();
        Rng::new(8).shuffle(&mut c);
        assert_ne!(a, c, "another seed, another order");
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn groups_follow_the_plan() {
        assert_eq!(
            groups(&["a", "a", "b", "a"]),
            vec![vec![0, 1], vec![2], vec![3]]
        );
        assert!(groups::<u8>(&[]).is_empty());
    }

    #[test]
    fn policy_defaults_and_refusals() {
        let p = policy(None, None, None, Some(1)).unwrap();
        assert_eq!(
            (p.min_rounds, p.max_rounds, p.ci_target, p.seed),
            (3, 9, 0.05, 1)
        );
        assert_eq!(policy(Some(1), None, None, None).unwrap().max_rounds, 8);
        let e = policy(Some(5), Some(2), None, None).unwrap_err();
        assert!(e.contains("--max-rounds 2 is below --rounds 5"), "{e}");
    }

    #[test]
    fn more_rounds_only_while_wide_and_within_limits() {
        let p = policy(Some(3), Some(6), Some(5.0), Some(0)).unwrap();
        let s = Duration::from_secs;
        assert!(wants_more(&p, 3, 0.2, s(1), s(1)));
        assert!(!wants_more(&p, 3, 0.01, s(1), s(1)), "narrow enough");
        assert!(!wants_more(&p, 6, 0.2, s(1), s(1)), "max rounds");
        assert!(!wants_more(&p, 3, 0.2, s(2), s(1)), "time cap");
    }
}
