//! Floors: the machine's own limits, measured at the start of every run so
//! each number in it can be read against them — clock read cost, a null
//! system call, a cache-line round trip between two pinned threads, and
//! memcpy bandwidth.

use super::clock::clock_read_ns;
use crate::error::{Error, Result};
use crate::sys;
use mpmt_schema::{summarize, Floor, Floors, Unit};
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

#[repr(C, align(128))]
struct Line(AtomicU64);

/// Round trip of a cache line between threads pinned to `a` and `b`.
pub fn cacheline_rtt_ns(a: u32, b: u32) -> Result<Vec<f64>> {
    const N: u64 = 2000;
    const SAMPLES: usize = 100;
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
    let mut out = Vec::with_capacity(SAMPLES);
    let mut ok = true;
    'outer: for s in 0..SAMPLES + 10 {
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
        if s >= 10 {
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
        let s = cacheline_rtt_ns(cpus[0], cpus[1])?;
        f.cacheline_rtt_ns = Some(floor(
            s,
            Unit::Ns,
            2000,
            &format!(
                "two threads pinned to CPUs {} and {} bounce a counter through two cache lines (spinning)",
                cpus[0], cpus[1]
            ),
        ));
    } else {
        f.notes
            .push("cacheline_rtt_ns: needs two CPUs, only one is selected".into());
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
