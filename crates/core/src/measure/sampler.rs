//! The sampler: warm up, size batches so that two clock reads cost under 1 % of a
//! sample, then take samples. Each sample is the mean time of one operation
//! over its batch; `ops_per_sample` records the batch size. The initiator's
//! own context switches are counted over exactly the sampled region.

use crate::error::{Error, Result};
use crate::measure::Deadline;
use crate::sys::signal::interrupted;
use crate::sys::watchdog;
use crate::sys::Switches;
use std::time::{Duration, Instant};

/// At most this many times the planned samples (or runs) to reach a
/// round's minimum time.
pub const MAX_EXTRA_SAMPLES: usize = 100;

/// Whether a round that has taken `done` of its `planned` samples (or
/// runs) in `spent` takes another: until it has the planned count and has
/// measured for `min_time`, at most [`MAX_EXTRA_SAMPLES`] × the plan.
pub fn wants_another(done: usize, planned: usize, spent: Duration, min_time: Duration) -> bool {
    done < planned || (spent < min_time && done < planned.max(1) * MAX_EXTRA_SAMPLES)
}

/// How to sample one case.
#[derive(Debug, Clone, Copy)]
pub struct SampleSpec {
    pub samples: usize,
    pub warmup: Duration,
    /// Minimum operations of warm-up, whatever its duration.
    pub warmup_ops: u64,
    /// A sample lasts at least this long (batches grow to reach it).
    pub min_sample: Duration,
    /// Cost of one clock read, measured in this run.
    pub clock_ns: f64,
    /// How long one sample may take before the case counts as stalled.
    pub deadline: Deadline,
    /// Keep sampling past `samples` until the samples add up to this
    /// (at most [`MAX_EXTRA_SAMPLES`] × `samples`).
    pub min_time: Duration,
}

/// What sampling produced.
#[derive(Debug, Clone)]
pub struct Sampled {
    /// Nanoseconds per operation, one value per sample.
    pub per_op_ns: Vec<f64>,
    /// Operations in the smallest sample (a batch that fell short of the
    /// minimum sample length grows for the next).
    pub ops_per_sample: u64,
    /// Operations in the sampled region (what the switch counts cover).
    pub ops_measured: u64,
    /// Operations run, warm-up included (the next operation's index).
    pub ops_total: u64,
    /// Initiator's switches during the samples.
    pub switches: Switches,
}

impl Sampled {
    pub fn measured_ops(&self) -> u64 {
        self.ops_measured
    }
}

/// Batch size: enough operations that a sample lasts ≥ 100 clock reads and
/// ≥ `min_sample`, given an estimated operation time.
pub fn batch_size(est_op_ns: f64, clock_ns: f64, min_sample: Duration) -> u64 {
    let target = sample_target(clock_ns, min_sample).as_nanos() as f64;
    if est_op_ns <= 0.0 || !est_op_ns.is_finite() {
        return 1;
    }
    ((target / est_op_ns).ceil() as u64).max(1)
}

/// How long a sample should last: 100 clock reads, and at least
/// `min_sample`.
pub fn sample_target(clock_ns: f64, min_sample: Duration) -> Duration {
    let reads = Duration::from_nanos((100.0 * clock_ns.max(0.0)) as u64);
    reads.max(min_sample)
}

/// The next batch after one of `batch` operations took `dt`, if a sample
/// of `target` needs a larger one: grown to reach it with a tenth to
/// spare, at most 4× at a time (a preempted batch is not a reason to
/// jump).
pub fn grown_batch(batch: u64, dt: Duration, target: Duration) -> Option<u64> {
    (dt < target).then(|| {
        let want = batch as f64 * 1.1 * target.as_secs_f64() / dt.as_secs_f64().max(1e-9);
        (want.ceil() as u64).clamp(batch, 4 * batch)
    })
}

/// Runs `op(i)` with increasing `i`: warm-up, then `spec.samples` timed
/// batches. The stall deadline (if the caller armed one) restarts with the
/// limit for one batch before the first batch and every eighth of that
/// limit of sampling after.
pub fn run_samples(spec: &SampleSpec, mut op: impl FnMut(u64) -> Result<()>) -> Result<Sampled> {
    run_batches(spec, 1, |first, n| {
        for i in first..first + n {
            op(i)?;
        }
        Ok(())
    })
}

/// [`run_samples`] where the caller runs each batch itself:
/// `batch(first, n)` runs operations `first..first + n` and returns only
/// when all of them are done (a stream returns when its reader has
/// acknowledged the last chunk), so each sample times the whole batch and
/// nothing after it. A batch, warm-up's too, is at least `min_batch`
/// operations.
pub fn run_batches(
    spec: &SampleSpec,
    min_batch: u64,
    mut batch_op: impl FnMut(u64, u64) -> Result<()>,
) -> Result<Sampled> {
    let mut i = 0u64;
    let start = Instant::now();
    // Warm-up batches are as large as a measured one may be smallest, so
    // the estimate is of a whole batch (a stream's one-chunk window would
    // include a round trip per chunk and undersize the windows).
    let step = min_batch.max(1);
    while i < spec.warmup_ops || start.elapsed() < spec.warmup {
        batch_op(i, step)?;
        i += step;
        if interrupted() {
            return Err(Error::interrupted());
        }
    }
    let est = start.elapsed().as_nanos() as f64 / i.max(1) as f64;
    let mut batch = batch_size(est, spec.clock_ns, spec.min_sample).max(min_batch);
    let target = sample_target(spec.clock_ns, spec.min_sample);
    let mut per_op_ns = Vec::with_capacity(spec.samples);
    let limit = spec
        .deadline
        .for_step(Duration::from_nanos((est * batch as f64) as u64));
    // Re-arming costs a system call; between every sample of a 5 µs round
    // trip it measurably slowed the next sample (+1–3 %). So it re-arms
    // once samples worth an eighth of the limit have gone by: a stall is
    // still caught within the limit, and a healthy sample may take up to
    // 7/8 of it.
    let rearm_after = limit / 8;
    let mut since_arm = rearm_after;
    let sw0 = Switches::now();
    let mut sampled = Duration::ZERO;
    let (mut smallest, mut measured, mut recalibrated) = (u64::MAX, 0u64, 0);
    while wants_another(per_op_ns.len(), spec.samples, sampled, spec.min_time) {
        if since_arm >= rearm_after {
            watchdog::extend(limit);
            since_arm = Duration::ZERO;
        }
        let t0 = Instant::now();
        batch_op(i, batch)?;
        let dt = t0.elapsed();
        i += batch;
        since_arm += dt;
        sampled += dt;
        // Every operation here is inside the switch-counted region.
        measured += batch;
        if interrupted() {
            return Err(Error::interrupted());
        }
        // A minimum sample length is a promise: a batch that fell short
        // (warm-up ran cold and overestimated an operation) grows the
        // next ones, at most 4× at a time, and until a sample is kept a
        // short one counts as that calibration, not as a sample. The
        // clock's share is one too: a warm-up that paid for its members'
        // start overestimates a 100 ns round trip 4–5×, and samples of 5
        // then carry a clock read's 25 ns in each (5 %).
        let grown = grown_batch(batch, dt, target);
        if let (Some(g), true) = (grown, per_op_ns.is_empty() && recalibrated < 3) {
            recalibrated += 1;
            batch = g;
            continue;
        }
        per_op_ns.push(dt.as_nanos() as f64 / batch as f64);
        smallest = smallest.min(batch);
        if let Some(g) = grown {
            batch = g;
        }
    }
    let switches = Switches::now().since(sw0);
    Ok(Sampled {
        per_op_ns,
        ops_per_sample: smallest.min(batch),
        ops_measured: measured,
        ops_total: i,
        switches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_reach_100_clock_reads() {
        // 25 ns clock → 2500 ns target; 100 ns ops → 25 per batch.
        assert_eq!(batch_size(100.0, 25.0, Duration::ZERO), 25);
        // Slow ops: one per sample.
        assert_eq!(batch_size(50_000.0, 25.0, Duration::ZERO), 1);
        // A minimum sample duration dominates.
        assert_eq!(batch_size(1_000.0, 25.0, Duration::from_micros(50)), 50);
        assert_eq!(batch_size(0.0, 25.0, Duration::ZERO), 1);
    }

    #[test]
    fn samples_aim_at_100_clock_reads_and_the_minimum() {
        assert_eq!(
            sample_target(25.0, Duration::ZERO),
            Duration::from_nanos(2500)
        );
        assert_eq!(
            sample_target(25.0, Duration::from_micros(50)),
            Duration::from_micros(50)
        );
        assert_eq!(sample_target(0.0, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_short_batch_grows_at_most_4x() {
        let t = Duration::from_nanos(2500);
        // 5 round trips of 110 ns: 550 ns; 25 reach 2.5 µs, 4× is 20.
        assert_eq!(grown_batch(5, Duration::from_nanos(550), t), Some(20));
        // Just short: to the target and a tenth.
        assert_eq!(grown_batch(20, Duration::from_nanos(2400), t), Some(23));
        // Long enough, or nothing to reach: as it is.
        assert_eq!(grown_batch(23, Duration::from_nanos(2600), t), None);
        assert_eq!(
            grown_batch(23, Duration::from_nanos(10), Duration::ZERO),
            None
        );
    }

    #[test]
    fn run_samples_counts_operations() {
        let spec = SampleSpec {
            samples: 10,
            warmup: Duration::ZERO,
            warmup_ops: 5,
            min_sample: Duration::ZERO,
            clock_ns: 20.0,
            deadline: Deadline::default(),
            min_time: Duration::ZERO,
        };
        let mut seen = Vec::new();
        let s = run_samples(&spec, |i| {
            seen.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(s.per_op_ns.len(), 10);
        // Empty operations never fill 100 clock reads: batches grow, and
        // the smallest kept is the record's.
        assert!(s.ops_total >= 5 + 10 * s.ops_per_sample);
        assert_eq!(s.ops_measured, s.ops_total - 5);
        assert_eq!(seen, (0..s.ops_total).collect::<Vec<_>>());
    }

    #[test]
    fn batches_are_whole_and_at_least_the_minimum() {
        let spec = SampleSpec {
            samples: 4,
            warmup: Duration::ZERO,
            warmup_ops: 3,
            min_sample: Duration::ZERO,
            clock_ns: 20.0,
            deadline: Deadline::default(),
            min_time: Duration::ZERO,
        };
        let mut calls = Vec::new();
        let s = run_batches(&spec, 50, |first, n| {
            calls.push((first, n));
            Ok(())
        })
        .unwrap();
        // One warm-up batch of 50 (it covers the three warm-up
        // operations), then at least four of at least 50 (up to three more
        // if short ones were calibration), each starting where the last
        // ended, none smaller than the one before nor over 4× it.
        assert_eq!(calls[0], (0, 50));
        assert!((5..=8).contains(&calls.len()), "{calls:?}");
        assert!(calls[1..].iter().all(|&(_, n)| n >= 50));
        // The four kept are the last; the record's batch is their smallest.
        let kept = &calls[calls.len() - 4..];
        assert_eq!(kept.iter().map(|&(_, n)| n).min(), Some(s.ops_per_sample));
        for w in calls.windows(2) {
            assert_eq!(w[1].0, w[0].0 + w[0].1);
        }
        for w in calls[1..].windows(2) {
            assert!(w[0].1 <= w[1].1 && w[1].1 <= 4 * w[0].1, "{calls:?}");
        }
        let (last, n) = calls[calls.len() - 1];
        assert_eq!(s.ops_total, last + n);
    }

    #[test]
    fn run_samples_stops_on_error() {
        let spec = SampleSpec {
            samples: 10,
            warmup: Duration::ZERO,
            warmup_ops: 1,
            min_sample: Duration::ZERO,
            clock_ns: 20.0,
            deadline: Deadline::default(),
            min_time: Duration::ZERO,
        };
        let r = run_samples(&spec, |i| {
            if i == 3 {
                Err(Error::Corrupt { op: i, who: "test" })
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(Error::Corrupt { op: 3, .. })));
    }
}
