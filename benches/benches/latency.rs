//! Round-trip latency of a verified 64-byte message per channel: forked
//! workers on one CPU for the blocking channels, on two CPUs for shm-spin
//! (which is refused on one), and threads for the heap channel.

use criterion::{criterion_group, criterion_main, Criterion};
use mpmt_benches::{cpus, find_worker, Ring};
use mpmt_core::backend::Backend;
use mpmt_core::channel::{fd, heap, ipc, shm, Channel};

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
    for backend in [Backend::Fork, Backend::Spawn] {
        if backend == Backend::Spawn && !find_worker() {
            continue;
        }
        rtt::<fd::Pipe>(c, backend, same, "same-cpu");
        rtt::<fd::UnixSocket>(c, backend, same, "same-cpu");
        rtt::<shm::ShmFutex>(c, backend, same, "same-cpu");
        rtt::<ipc::IpcChannel>(c, backend, same, "same-cpu");
        if cpus.len() >= 2 {
            rtt::<shm::ShmSpin>(c, backend, [Some(cpus[0]), Some(cpus[1])], "cross-cpu");
        }
    }
    rtt::<heap::Heap>(c, Backend::Thread, same, "same-cpu");
}

criterion_group!(latency, benches);
criterion_main!(latency);
