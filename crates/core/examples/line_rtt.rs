//! mpmt's own 8-byte round trip over a shared-memory channel, in
//! alternating blocks with the cache-line floor, so that a host that
//! moves its vCPUs between blocks moves both figures alike. The round
//! trip is the latency workload's own operation and echo loop (threads,
//! one link each way); the floor is the run's floor loop.
//!
//!   cargo run --release -p mpmt-core --example line_rtt -- \
//!       [shm-spin|shm-futex|eventfd] [SIZE] [PAIRS] [OPS_PER_SAMPLE]
//!
//! A block times 2000 round trips in samples of OPS_PER_SAMPLE (default
//! 2000: one clock pair a block; the latency workload times 8) and
//! reports the samples' median.
use mpmt_core::channel::eventfd::Eventfd;
use mpmt_core::channel::shm::{ShmFutex, ShmSpin};
use mpmt_core::channel::{Channel, LinkOpts};
use mpmt_core::measure::floors::cacheline_rtt_ns;
use mpmt_core::schema::summarize;
use mpmt_core::sys::pin_current;
use mpmt_core::workloads::latency::RoundTrip;
use mpmt_core::workloads::ring::{serve, stop, InitiatorOp, Role};
use std::time::Instant;

const N: u64 = 2000;

fn block<C: Channel>(size: usize, k: u64) -> f64 {
    let opts = LinkOpts {
        max_message_bytes: size,
        slots: 1,
        for_exec: false,
    };
    let (mut req_tx, req_rx) = C::link(opts).expect("link");
    let (rep_tx, mut rep_rx) = C::link(opts).expect("link");
    let echo = std::thread::spawn(move || {
        pin_current(1).expect("pin to CPU 1");
        let (mut rx, mut tx) = (req_rx, rep_tx);
        serve(Role::Echo { size }, &mut rx, &mut tx, &[])
    });
    for i in 0..200 {
        RoundTrip::op(&mut req_tx, &mut rep_rx, size, &[], i).expect("warm-up");
    }
    let mut per = Vec::with_capacity((N / k) as usize);
    for s in 0..N / k {
        let t0 = Instant::now();
        for i in 200 + k * s..200 + k * (s + 1) {
            RoundTrip::op(&mut req_tx, &mut rep_rx, size, &[], i).expect("round trip");
        }
        per.push(t0.elapsed().as_nanos() as f64 / k as f64);
    }
    let ns = median(&per);
    stop(&mut req_tx, &mut rep_rx, size, size).expect("stop");
    echo.join().expect("echo thread");
    ns
}

fn median(v: &[f64]) -> f64 {
    summarize(v).median
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ch = args.get(1).map(String::as_str).unwrap_or("shm-spin");
    let size: usize = args.get(2).map_or(8, |s| s.parse().expect("SIZE"));
    let pairs: usize = args.get(3).map_or(21, |s| s.parse().expect("PAIRS"));
    let k: u64 = args
        .get(4)
        .map_or(N, |s| s.parse().expect("OPS_PER_SAMPLE"));
    assert!((1..=N).contains(&k), "OPS_PER_SAMPLE: 1 to {N}");
    pin_current(0).expect("pin to CPU 0");
    let (mut fl, mut rt, mut ra) = (vec![], vec![], vec![]);
    for _ in 0..pairs {
        let f = median(&cacheline_rtt_ns(0, 1).expect("floor"));
        let r = match ch {
            "shm-spin" => block::<ShmSpin>(size, k),
            "shm-futex" => block::<ShmFutex>(size, k),
            "eventfd" => block::<Eventfd>(size, k),
            other => panic!("channel {other}: shm-spin, shm-futex or eventfd"),
        };
        fl.push(f);
        rt.push(r);
        ra.push(r / f);
    }
    let (lo, hi) = (
        ra.iter().cloned().fold(f64::MAX, f64::min),
        ra.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "{ch} {size} B, {pairs} pairs: floor {:.1} ns, round trip {:.1} ns, ratio {:.2} (pairs {lo:.2} to {hi:.2})",
        median(&fl),
        median(&rt),
        median(&ra)
    );
}
