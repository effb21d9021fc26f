//! Context switches: a token between two workers pinned to one CPU, as a
//! thread and as a forked process, over a pipe and a futex word. One
//! iteration is one hop (one switch), timed by the initiator.

use criterion::{criterion_group, criterion_main, Criterion};
use mpmt_benches::{cpus, Ring};
use mpmt_core::backend::Backend;
use mpmt_core::channel::{fd::Pipe, shm::ShmFutex, Channel};

fn hop<C: Channel>(c: &mut Criterion, backend: Backend) {
    let cpu = cpus().first().copied();
    let mut ring = Ring::<C>::start(backend, 8, false, [cpu, cpu]);
    c.bench_function(
        &format!("ctx-switch/{}/{}/same-cpu", backend, C::KIND),
        |b| {
            b.iter_custom(|iters| {
                // A round trip is two hops.
                let rounds = iters.div_ceil(2);
                ring.round_trips(rounds)
                    .mul_f64(iters as f64 / (2 * rounds) as f64)
            })
        },
    );
}

fn benches(c: &mut Criterion) {
    for backend in [Backend::Thread, Backend::Fork] {
        hop::<Pipe>(c, backend);
        hop::<ShmFutex>(c, backend);
    }
}

criterion_group!(ctx_switch, benches);
criterion_main!(ctx_switch);
