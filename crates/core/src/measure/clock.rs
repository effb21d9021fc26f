//! Clocks: CLOCK_MONOTONIC in nanoseconds (one clock for every process on
//! the machine, read through the vDSO without allocating, so a forked child
//! may stamp its own start and end), and the measured cost of a clock read.

use std::time::Instant;

/// Nanoseconds of CLOCK_MONOTONIC. Allocation-free (vDSO).
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Cost of one `Instant::now()` (median over batches), in ns.
pub fn clock_read_ns() -> Vec<f64> {
    const N: u32 = 1000;
    (0..200)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..N {
                std::hint::black_box(Instant::now());
            }
            t0.elapsed().as_nanos() as f64 / N as f64
        })
        .collect()
}
