//! Creating a worker, running an empty body and joining/reaping it: thread,
//! fork, fork-exec and posix-spawn. One iteration is one worker, timed by
//! the parent around create + join.

use criterion::{criterion_group, criterion_main, Criterion};
use mpmt_benches::find_worker;
use mpmt_core::workloads::create::{create_many, Method};

fn benches(c: &mut Criterion) {
    let exec_ok = find_worker();
    for &m in Method::ALL {
        if matches!(m, Method::ForkExec | Method::PosixSpawn) && !exec_ok {
            continue;
        }
        c.bench_function(&format!("spawn/{m}"), |b| {
            b.iter_custom(|iters| create_many(m, iters).expect("creating workers"))
        });
    }
}

criterion_group! {
    name = spawn;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(spawn);
