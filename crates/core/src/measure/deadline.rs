//! How long one step of a case may take before the stall watchdog
//! ([`crate::sys::watchdog`]) calls it wedged: ten times what the step is
//! expected to take, never less than [`Deadline::FLOOR`], or the fixed limit
//! the user set with `--deadline`.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline {
    /// A fixed limit for every step (`--deadline`); None derives it.
    pub fixed: Option<Duration>,
}

impl Deadline {
    /// The least a derived limit allows: scheduling noise on a shared VM
    /// stalls a healthy step for tens of milliseconds, never seconds.
    pub const FLOOR: Duration = Duration::from_secs(5);
    /// How many times its expected duration a step may take.
    pub const FACTOR: u32 = 10;
    /// The slowest rate at which setup is assumed to touch memory (mapping,
    /// prefaulting, filling, copying): 1 GB/s, far below memcpy.
    const SETUP_BYTES_PER_S: f64 = 1e9;

    pub fn fixed(limit: Duration) -> Deadline {
        Deadline { fixed: Some(limit) }
    }

    /// The limit for a step expected to take `expected`.
    pub fn for_step(&self, expected: Duration) -> Duration {
        self.fixed
            .unwrap_or_else(|| (expected * Self::FACTOR).max(Self::FLOOR))
    }

    /// The limit for setting up (or tearing down) a case that touches
    /// `bytes` of memory, before anything about it was timed.
    pub fn for_setup(&self, bytes: u64) -> Duration {
        self.for_step(Duration::from_secs_f64(
            bytes as f64 / Self::SETUP_BYTES_PER_S,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_limits_scale_with_the_step_and_respect_the_floor() {
        let d = Deadline::default();
        assert_eq!(d.for_step(Duration::from_micros(5)), Deadline::FLOOR);
        assert_eq!(d.for_step(Duration::from_secs(2)), Duration::from_secs(20));
        assert_eq!(d.for_setup(4_000_000_000), Duration::from_secs(40));
        let f = Deadline::fixed(Duration::from_millis(750));
        assert_eq!(
            f.for_step(Duration::from_secs(100)),
            Duration::from_millis(750)
        );
        assert_eq!(f.for_setup(u64::MAX), Duration::from_millis(750));
    }
}
