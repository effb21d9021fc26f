//! Floors: the machine's own limits, measured at the start of every run so
//! each number in it can be read against them — clock read cost, a null
//! system call, a cache-line round trip between two pinned threads, memcpy
//! bandwidth, and the least a process and a thread cost to create (the raw
//! system calls, blocking waits, nothing of mpmt's own around them).

/// How long all the floors together may take: a hang guard, not a
/// measure (on a loaded machine the spinning cache-line floor waits for
/// its echo thread's time slices, seconds in a debug build).
pub const LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

use super::clock::clock_read_ns;
use crate::error::{Error, Result};
use crate::sys;
use mpmt_schema::{summarize, Floor, Floors, SizedFloor, Unit};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Bytes copied per memcpy sample: larger than any per-core cache here, so
/// the floor is the memory system's, as a 1 MiB+ stream would see.
pub const MEMCPY_BYTES: usize = 16 << 20;

fn floor(samples: Vec<f64>, unit: Unit, ops_per_sample: u64, method: &str) -> Floor {
    let stats = summarize(&samples);
    Floor {
        value: stats.median,
        unit,
        stats,
        samples: samples.len(),
        ops_per_sample,
        method: method.into(),
    }
}

fn null_syscall_ns() -> Vec<f64> {
    const N: u32 = 2000;
    (0..200)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..N {
                // SAFETY: getppid has no arguments and no memory effects.
                std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
            }
            t0.elapsed().as_nanos() as f64 / N as f64
        })
        .collect()
}

fn memcpy_bytes_per_s() -> Vec<f64> {
    let src = vec![0x5Au8; MEMCPY_BYTES];
    let mut dst = vec![0u8; MEMCPY_BYTES];
    dst.copy_from_slice(&src); // fault both in
    (0..30)
        .map(|_| {
            let t0 = Instant::now();
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
            MEMCPY_BYTES as f64 / t0.elapsed().as_secs_f64()
        })
        .collect()
}

/// Creations per floor sample set (after [`CREATE_WARMUP`]).
const CREATE_SAMPLES: usize = 100;
const CREATE_WARMUP: usize = 10;

/// How long a floor's child may take to exit when no deadline is armed.
const CHILD_EXIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// fork; the child `exit_group(0)`s at once; the parent blocks in
/// `waitpid` ([`sys::child::reap_blocking`]). One value (ns) per creation.
/// The wait is bounded by the stall deadline the caller armed: its signal
/// ends `waitpid` with EINTR.
pub fn fork_exit_wait_ns() -> Result<Vec<f64>> {
    sys::child::ensure_single_threaded().map_err(|e| Error::io("fork floor", e))?;
    let mut out = Vec::with_capacity(CREATE_SAMPLES);
    for i in 0..CREATE_WARMUP + CREATE_SAMPLES {
        let t0 = Instant::now();
        // SAFETY: single-threaded (checked above); the child makes one raw
        // system call and never returns.
        let pid =
            unsafe { sys::child::fork_bare() }.map_err(|e| Error::io("fork floor: fork", e))?;
        if pid == 0 {
            sys::exit_now(0);
        }
        let reaped = sys::child::reap_blocking(pid, CHILD_EXIT_LIMIT)
            .map_err(|e| Error::io("fork floor: waitpid", e))?;
        let ns = t0.elapsed().as_nanos() as f64;
        match reaped {
            Some(sys::child::ExitKind::Code(0)) => {}
            Some(k) => return Err(Error::Setup(format!("fork floor: the child {k}"))),
            None => {
                sys::child::kill9(pid);
                let _ = sys::child::reap_timeout(pid, CHILD_EXIT_LIMIT);
                return Err(Error::halted()
                    .unwrap_or_else(|| Error::Setup("fork floor: the child did not exit".into())));
            }
        }
        if i >= CREATE_WARMUP {
            out.push(ns);
        }
    }
    Ok(out)
}

extern "C" fn empty_thread(_: *mut libc::c_void) -> *mut libc::c_void {
    std::ptr::null_mut()
}

/// `pthread_create` of an empty function and `pthread_join`, default
/// attributes. One value (ns) per creation.
pub fn thread_create_join_ns() -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(CREATE_SAMPLES);
    for i in 0..CREATE_WARMUP + CREATE_SAMPLES {
        let t0 = Instant::now();
        // SAFETY: zeroed pthread_t is a valid out-parameter.
        let mut t: libc::pthread_t = unsafe { std::mem::zeroed() };
        // SAFETY: `t` is valid for writing; `empty_thread` is a valid
        // start routine that ignores its (null) argument.
        let r = unsafe {
            libc::pthread_create(&mut t, std::ptr::null(), empty_thread, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(Error::io(
                "thread floor: pthread_create",
                std::io::Error::from_raw_os_error(r),
            ));
        }
        // SAFETY: `t` was created above, joinable, and is joined once.
        let r = unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
        let ns = t0.elapsed().as_nanos() as f64;
        if r != 0 {
            return Err(Error::io(
                "thread floor: pthread_join",
                std::io::Error::from_raw_os_error(r),
            ));
        }
        if i >= CREATE_WARMUP {
            out.push(ns);
        }
    }
    Ok(out)
}

/// The 95 % interval a per-size memcpy floor reaches, as a share of its
/// median (the width, low to high), before it stops taking samples.
pub const MEMCPY_CI_TARGET: f64 = 0.05;
const MEMCPY_MIN_SAMPLES: usize = 30;
const MEMCPY_MAX_SAMPLES: usize = 600;

/// Bytes per second of `copy_from_slice` of `size` bytes between two
/// prefaulted buffers, one value per sample of 2 MiB copied (small chunks
/// stay in cache; the 16 MiB floor does not): at least 30 samples, then
/// more until the 95 % interval of the median is within
/// [`MEMCPY_CI_TARGET`] of it (at most 600). The floor a stream of
/// `size`-byte chunks is read against, measured once per run and size.
pub fn memcpy_at(size: usize) -> Vec<f64> {
    let size = size.max(8);
    let src = vec![0x5Au8; size];
    let mut dst = vec![0u8; size];
    dst.copy_from_slice(&src);
    let reps = ((2 << 20) / size).max(1);
    let mut v: Vec<f64> = Vec::with_capacity(MEMCPY_MIN_SAMPLES);
    // Warm the copy loop and the CPU's clock before the first sample.
    for _ in 0..reps {
        dst.copy_from_slice(std::hint::black_box(&src));
    }
    loop {
        let t0 = Instant::now();
        for _ in 0..reps {
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
        }
        v.push((size * reps) as f64 / t0.elapsed().as_secs_f64());
        if v.len() >= MEMCPY_MIN_SAMPLES && v.len().is_multiple_of(10) {
            let s = summarize(&v);
            if (s.ci95_high - s.ci95_low) <= MEMCPY_CI_TARGET * s.median
                || v.len() >= MEMCPY_MAX_SAMPLES
            {
                return v;
            }
        }
    }
}

/// The memcpy floor at `size` as a [`Floor`].
pub fn memcpy_floor_at(size: usize) -> Floor {
    let reps = ((2 << 20) / size.max(8)).max(1) as u64;
    floor(
        memcpy_at(size),
        Unit::BytesPerS,
        reps,
        &format!(
            "copy_from_slice of {size} bytes between prefaulted buffers, 2 MiB per sample, until the 95 % interval is within {:.0} % of the median",
            100.0 * MEMCPY_CI_TARGET
        ),
    )
}

/// The memcpy floors at `sizes` (each once), pinned to `cpu`.
pub fn memcpy_floors(sizes: &[u64], cpu: Option<u32>) -> Result<Vec<SizedFloor>> {
    let _pin = sys::AffinityGuard::pin(cpu)
        .map_err(|e| Error::io(format!("pinning the memcpy floors to CPU {cpu:?}"), e))?;
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let mut out = Vec::with_capacity(sizes.len());
    for size in sizes {
        if crate::sys::signal::interrupted() {
            return Err(Error::interrupted());
        }
        out.push(SizedFloor {
            size_bytes: size,
            floor: memcpy_floor_at(size as usize),
        });
    }
    Ok(out)
}

#[repr(C, align(128))]
struct Line(AtomicU64);

/// Round trip of a cache line between threads pinned to `a` and `b`:
/// 100 samples of 2000 round trips, after 10 more of warm-up.
pub fn cacheline_rtt_ns(a: u32, b: u32) -> Result<Vec<f64>> {
    cacheline_rtt_samples(a, b, 100, 10)
}

/// Samples a round's paired line floor takes (after
/// [`PAIRED_FLOOR_WARMUP`]), 2000 round trips each: both blocks of a
/// round, warm-up included, take 4 ms at a 100 ns floor, 17 ms at 420 ns.
pub const PAIRED_FLOOR_SAMPLES: usize = 8;
pub const PAIRED_FLOOR_WARMUP: usize = 2;

/// What one paired floor block is expected to take, for a round's
/// forecast: its trips at 120 ns (one CCX here; two take 3–4× that).
pub fn paired_line_floor_expected() -> std::time::Duration {
    std::time::Duration::from_nanos(
        ((PAIRED_FLOOR_SAMPLES + PAIRED_FLOOR_WARMUP) as u64) * 2000 * 120,
    )
}

/// The cache-line round trip between `a` and `b` now: the median of a
/// short block, taken beside one round of a cross-CPU case.
pub fn paired_line_floor_ns(a: u32, b: u32) -> Result<f64> {
    let v = cacheline_rtt_samples(a, b, PAIRED_FLOOR_SAMPLES, PAIRED_FLOOR_WARMUP)?;
    Ok(summarize(&v).median)
}

/// `samples` samples of 2000 cache-line round trips between threads
/// pinned to `a` and `b`, after `warm` more.
fn cacheline_rtt_samples(a: u32, b: u32, samples: usize, warm: usize) -> Result<Vec<f64>> {
    const N: u64 = 2000;
    let ping = Arc::new(Line(AtomicU64::new(0)));
    let pong = Arc::new(Line(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let (pi, po, st) = (ping.clone(), pong.clone(), stop.clone());
    let _pin = sys::AffinityGuard::pin(Some(a))
        .map_err(|e| Error::io(format!("pinning to CPU {a}"), e))?;
    let echo = std::thread::Builder::new()
        .name("mpmt-floor-echo".into())
        .spawn(move || -> std::io::Result<()> {
            sys::pin_current(b)?;
            let mut last = 0;
            while !st.load(Ordering::Relaxed) {
                let v = pi.0.load(Ordering::Acquire);
                if v != last {
                    last = v;
                    po.0.store(v, Ordering::Release);
                } else {
                    std::hint::spin_loop();
                }
            }
            Ok(())
        })
        .map_err(|e| Error::io("starting the cache-line echo thread", e))?;
    let mut seq = 0u64;
    let mut out = Vec::with_capacity(samples);
    let mut ok = true;
    'outer: for s in 0..samples + warm {
        let t0 = Instant::now();
        for _ in 0..N {
            seq += 1;
            ping.0.store(seq, Ordering::Release);
            let mut spins = 0u64;
            while pong.0.load(Ordering::Acquire) != seq {
                std::hint::spin_loop();
                spins += 1;
                // An echo thread that could not pin has ended.
                if spins > 1 << 32 || crate::sys::signal::interrupted() || echo.is_finished() {
                    ok = false;
                    break 'outer;
                }
            }
        }
        if s >= warm {
            out.push(t0.elapsed().as_nanos() as f64 / N as f64);
        }
    }
    stop.store(true, Ordering::Relaxed);
    echo.join()
        .map_err(|_| Error::Setup("cache-line floor: the echo thread panicked".into()))?
        .map_err(|e| Error::io(format!("pinning the cache-line echo thread to CPU {b}"), e))?;
    if !ok {
        return Err(if crate::sys::signal::interrupted() {
            Error::interrupted()
        } else {
            Error::Setup("cache-line floor: the echo thread never answered".into())
        });
    }
    Ok(out)
}

/// The cache-line round trip between the run's first two CPUs, as a
/// floor (None with fewer than two).
pub fn cacheline_floor(cpus: &[u32]) -> Result<Option<Floor>> {
    let &[a, b, ..] = cpus else {
        return Ok(None);
    };
    Ok(Some(floor(
        cacheline_rtt_ns(a, b)?,
        Unit::Ns,
        2000,
        &format!(
            "two threads pinned to CPUs {a} and {b} bounce a counter through two cache lines (spinning)"
        ),
    )))
}

/// A host may move a guest's vCPUs (onto one core's siblings, one cache
/// complex or two) while a run goes on, and the cache-line round trip
/// then changes several-fold: what the floor measured before the cases
/// no longer describes the CPUs they ran on. Says so when the floor
/// measured after the cases differs from the one before by more than a
/// quarter and their 95 % CIs are apart.
pub fn cacheline_moved(before: &Floor, after: &Floor) -> Option<String> {
    let (b, a) = (&before.stats, &after.stats);
    let apart = a.ci95_low > b.ci95_high || b.ci95_low > a.ci95_high;
    let factor = a.median.max(b.median) / a.median.min(b.median).max(f64::MIN_POSITIVE);
    (apart && factor > 1.25).then(|| {
        format!(
            "cacheline_rtt_ns: {:.0} ns before the cases and {:.0} ns after (95 % CIs apart): \
             the host moved the CPUs during the run, so cross-CPU figures are not \
             comparable with this floor",
            b.median, a.median
        )
    })
}

/// Measures every floor; `cpus` are the CPUs selected for the run.
pub fn measure(cpus: &[u32]) -> Result<Floors> {
    let mut f = Floors {
        clock_read_ns: Some(floor(
            clock_read_ns(),
            Unit::Ns,
            1000,
            "std::time::Instant::now() (clock_gettime CLOCK_MONOTONIC) in a loop",
        )),
        null_syscall_ns: Some(floor(
            null_syscall_ns(),
            Unit::Ns,
            2000,
            "syscall(SYS_getppid) in a loop",
        )),
        ..Default::default()
    };
    if cpus.len() >= 2 {
        f.cacheline_rtt_ns = cacheline_floor(cpus)?;
    } else {
        f.notes
            .push("cacheline_rtt_ns: needs two CPUs, only one is selected".into());
    }
    if let Some(&cpu) = cpus.first() {
        let _pin = sys::AffinityGuard::pin(Some(cpu))
            .map_err(|e| Error::io(format!("pinning to CPU {cpu}"), e))?;
        f.fork_exit_wait_ns = Some(floor(
            fork_exit_wait_ns()?,
            Unit::Ns,
            1,
            &format!("fork, child exit_group(0), parent blocks in waitpid; pinned to CPU {cpu}"),
        ));
        f.thread_create_join_ns = Some(floor(
            thread_create_join_ns()?,
            Unit::Ns,
            1,
            &format!("pthread_create of an empty function + pthread_join; pinned to CPU {cpu}"),
        ));
    }
    f.memcpy_bytes_per_s = Some(floor(
        memcpy_bytes_per_s(),
        Unit::BytesPerS,
        1,
        &format!(
            "copy_from_slice of {} MiB, buffers prefaulted",
            MEMCPY_BYTES >> 20
        ),
    ));
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(median: f64, spread: f64) -> Floor {
        samples(median, spread, 101)
    }

    /// `n` (odd) samples spread evenly over median ± spread.
    fn samples(median: f64, spread: f64, n: usize) -> Floor {
        let h = (n / 2) as f64;
        let xs: Vec<f64> = (0..n)
            .map(|i| median + spread * (i as f64 - h) / h)
            .collect();
        floor(xs, Unit::Ns, 2000, "test")
    }

    #[test]
    fn a_floor_that_held_says_nothing() {
        assert_eq!(
            cacheline_moved(&around(110.0, 5.0), &around(112.0, 5.0)),
            None
        );
        // Apart, but by less than a quarter: not a move of the CPUs.
        assert_eq!(
            cacheline_moved(&around(110.0, 1.0), &around(130.0, 1.0)),
            None
        );
    }

    #[test]
    fn a_floor_that_moved_several_fold_is_named_with_both_figures() {
        let note = cacheline_moved(&around(110.0, 5.0), &around(430.0, 20.0))
            .expect("a 4x move is reported");
        assert!(
            note.contains("110 ns before") && note.contains("430 ns after"),
            "{note}"
        );
        assert!(note.contains("moved the CPUs"), "{note}");
        // Either way round.
        assert!(cacheline_moved(&around(430.0, 20.0), &around(110.0, 5.0)).is_some());
    }

    #[test]
    fn wide_overlapping_intervals_are_not_a_move() {
        // Medians 2x apart, but three samples so spread that the CIs
        // overlap.
        let (a, b) = (samples(100.0, 95.0, 3), samples(200.0, 190.0, 3));
        assert!(
            a.stats.ci95_high > b.stats.ci95_low,
            "{:?} {:?}",
            a.stats,
            b.stats
        );
        assert_eq!(cacheline_moved(&a, &b), None);
    }
}
