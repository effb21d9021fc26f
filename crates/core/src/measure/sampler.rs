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
    let target = (100.0 * clock_ns).max(min_sample.as_nanos() as f64);
    if est_op_ns <= 0.0 || !est_op_ns.is_finite() {
        return 1;
    }
    ((target / est_op_ns).ceil() as u64).max(1)
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
        // short one counts as that calibration, not as a sample.
        let grown = match dt < spec.min_sample {
            true => {
                let want =
                    batch as f64 * 1.1 * spec.min_sample.as_secs_f64() / dt.as_secs_f64().max(1e-9);
                Some((want.ceil() as u64).clamp(batch, 4 * batch))
            }
            false => None,
        };
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
        assert_eq!(s.ops_total, 5 + 10 * s.ops_per_sample);
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
        // operations), then four of at least 50, each starting where the
        // last ended.
        assert_eq!(calls[0], (0, 50));
        assert_eq!(calls.len(), 5);
        assert!(calls[1..]
            .iter()
            .all(|&(_, n)| n == s.ops_per_sample && n >= 50));
        for w in calls.windows(2) {
            assert_eq!(w[1].0, w[0].0 + w[0].1);
        }
        assert_eq!(s.ops_total, 50 + 4 * s.ops_per_sample);
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
