//! Round-trip latency of a verified 64-byte message over every registered
//! channel: forked and spawned workers on one CPU for the blocking
//! channels, on two CPUs for a spinning one (refused on one CPU), threads
//! for a threads-only one. A new channel is benched with no edit here.

use criterion::{criterion_group, criterion_main, Criterion};
use mpmt_benches::{cpus, find_worker, Ring};
use mpmt_core::backend::Backend;
use mpmt_core::channel::{caps, valid_for, Channel, ChannelKind};
use mpmt_core::with_channel;

fn rtt<C: Channel>(c: &mut Criterion, backend: Backend, pins: [Option<u32>; 2], place: &str) {
    let mut ring = Ring::<C>::start(backend, 64, true, pins);
    c.bench_function(
        &format!("latency/{}/{}/{place}/64B", backend, C::KIND),
        |b| b.iter_custom(|iters| ring.round_trips(iters)),
    );
}

fn benches(c: &mut Criterion) {
    let cpus = cpus();
    let same = [cpus.first().copied(); 2];
    let spawn = find_worker();
    for &kind in ChannelKind::ALL {
        let k = caps(kind);
        let pins = if k.blocks {
            same
        } else if cpus.len() >= 2 {
            [Some(cpus[0]), Some(cpus[1])]
        } else {
            continue;
        };
        let place = if k.blocks { "same-cpu" } else { "cross-cpu" };
        let backends: &[Backend] = if k.threads_only {
            &[Backend::Thread]
        } else if spawn {
            &[Backend::Fork, Backend::Spawn]
        } else {
            &[Backend::Fork]
        };
        for &backend in backends.iter().filter(|&&b| valid_for(b, kind)) {
            with_channel!(kind, C => rtt::<C>(c, backend, pins, place));
        }
    }
}

criterion_group!(latency, benches);
criterion_main!(latency);
