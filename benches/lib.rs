//! Shared by the criterion benches: an open ring of workers that a bench
//! drives one operation at a time, timing where the work happens (the
//! initiator's loop), with worker start-up kept out of every measurement.

use mpmt_core::backend::{Backend, Team};
use mpmt_core::channel::pattern::{self, SALT_REPLY, SALT_REQUEST};
use mpmt_core::channel::{Channel, LinkOpts, Rx, Tx};
use mpmt_core::workloads::ring::{launch, Launch, Role};
use std::time::{Duration, Instant};

/// Points `MPMT_WORKER` at the worker built next to the bench binary
/// (target/<profile>/mpmt-worker). Returns false if it is not built.
pub fn find_worker() -> bool {
    if std::env::var_os("MPMT_WORKER").is_some() {
        return true;
    }
    let exe = std::env::current_exe().ok();
    let candidate = exe
        .as_deref()
        .and_then(|e| e.parent()?.parent().map(|d| d.join("mpmt-worker")));
    match candidate {
        Some(p) if p.is_file() => {
            std::env::set_var("MPMT_WORKER", p);
            true
        }
        _ => {
            eprintln!("mpmt-worker is not built next to this bench; spawn cases skipped (cargo build --release -p mpmt-worker)");
            false
        }
    }
}

/// CPUs to pin to: the first two this process may use.
pub fn cpus() -> Vec<u32> {
    mpmt_core::sys::affinity::allowed_cpus()
}

/// A live ring: the initiator's ends and the workers.
pub struct Ring<C: Channel> {
    tx: C::Tx,
    rx: C::Rx,
    team: Option<Team>,
    size: usize,
    next: u64,
    echo: bool,
    _pin: mpmt_core::sys::AffinityGuard,
}

impl<C: Channel> Ring<C> {
    /// Starts a 2-member ring: `echo` for latency, else a token ring.
    pub fn start(backend: Backend, size: usize, echo: bool, cpus: [Option<u32>; 2]) -> Ring<C> {
        let pin = mpmt_core::sys::AffinityGuard::pin(cpus[0]).expect("pinning the initiator");
        let role = if echo {
            Role::Echo { size }
        } else {
            Role::Forward { size }
        };
        let (tx, rx, team) = launch::<C>(&Launch {
            backend,
            members: 2,
            role,
            cpus: cpus.to_vec(),
            opts: LinkOpts {
                max_message_bytes: size,
                slots: 1,
                for_exec: false,
            },
            working_set: 0,
            shared_ws: None,
        })
        .expect("launching the ring");
        Ring {
            tx,
            rx,
            team: Some(team),
            size,
            next: 0,
            echo,
            _pin: pin,
        }
    }

    /// Runs `n` verified round trips and returns the time they took.
    pub fn round_trips(&mut self, n: u64) -> Duration {
        let (size, echo) = (self.size, self.echo);
        let salt = if echo { SALT_REPLY } else { SALT_REQUEST };
        let t0 = Instant::now();
        for _ in 0..n {
            let i = self.next;
            self.tx
                .send(size, |b| pattern::fill(b, i, SALT_REQUEST))
                .expect("send");
            let ok = self
                .rx
                .recv(size, |m| pattern::verify(m, i, salt))
                .expect("recv");
            assert!(ok, "payload {i} did not verify");
            self.next += 1;
        }
        t0.elapsed()
    }
}

impl<C: Channel> Drop for Ring<C> {
    fn drop(&mut self) {
        let size = self.size;
        let stopped = self
            .tx
            .send(size, pattern::fill_stop)
            .and_then(|_| self.rx.recv(size, |_| ()));
        if let Some(team) = self.team.take() {
            // A bench has nobody to report to from a drop; a failed member
            // already failed the bench through `expect` on its channel.
            if stopped.is_ok() {
                team.join().ok();
            }
        }
    }
}
