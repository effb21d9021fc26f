//! Channel × backend conformance suite.
//!
//! Runs without libtest's harness (`harness = false`, see `common`) so every
//! test runs on the main thread of a single-threaded process: the fork
//! backend refuses to fork otherwise. Each generic test is instantiated for
//! every valid backend × channel pair.

use mpmt_core::backend::{Backend, Report, Team};
use mpmt_core::channel::pattern::{self, SALT_LAST, SALT_REPLY, SALT_REQUEST};
use mpmt_core::channel::{channels_for, ChanError, Channel, LinkOpts, Rx, Tx};
use mpmt_core::workloads::ring::{launch, Launch, Role};
use mpmt_core::{with_channel, Error};

mod common;
use common::{Test, TestResult};

const SIZES: [usize; 5] = [8, 100, 4096, 65_539, 1 << 20];

fn opts(size: usize, slots: usize) -> LinkOpts {
    LinkOpts {
        max_message_bytes: size,
        slots,
        for_exec: false,
    }
}

/// Starts an unpinned ring of `members` workers serving `role`.
fn start<C: Channel>(
    backend: Backend,
    members: usize,
    role: Role,
    slots: usize,
    working_set: usize,
) -> Result<(C::Tx, C::Rx, Team), Error> {
    launch::<C>(&Launch {
        backend,
        members,
        role,
        cpus: vec![None; members],
        opts: opts(role.size(), slots),
        working_set,
        shared_ws: None,
    })
}

fn e2s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Sends stop and waits for it to come back as a message of `reply`
/// bytes (a stream's member answers with one header).
fn stop_as<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, reply: usize) -> TestResult {
    tx.send(size, pattern::fill_stop).map_err(e2s)?;
    if !rx.recv(reply, pattern::is_stop).map_err(e2s)? {
        return Err("the stop message did not come back".into());
    }
    Ok(())
}

fn stop<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize) -> TestResult {
    stop_as(tx, rx, size, size)
}

fn finish<T: Tx, R: Rx>(tx: T, rx: R, team: Team) -> Result<Vec<Report>, String> {
    drop(tx);
    drop(rx);
    team.join().map_err(e2s)
}

/// Whether one message of `size` bytes fits channel `C` here.
fn fits<C: Channel>(size: usize) -> bool {
    C::max_message_bytes().is_none_or(|m| size <= m)
}

/// Echo: `n` verified round trips at each size the channel carries, then a
/// clean stop.
fn round_trip<C: Channel>(backend: Backend) -> TestResult {
    for size in SIZES.into_iter().filter(|&s| fits::<C>(s)) {
        let (mut tx, mut rx, team) =
            start::<C>(backend, 2, Role::Echo { size }, 1, 0).map_err(e2s)?;
        let n = if size > 100_000 { 8 } else { 40 };
        for i in 0..n {
            tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))
                .map_err(e2s)?;
            let ok = rx
                .recv(size, |m| pattern::verify(m, i, SALT_REPLY))
                .map_err(e2s)?;
            if !ok {
                return Err(format!("size {size}: reply {i} did not verify"));
            }
        }
        stop(&mut tx, &mut rx, size)?;
        let reports = finish(tx, rx, team)?;
        if reports.len() != 1 || reports[0].ops != n {
            return Err(format!(
                "size {size}: expected one report of {n} ops, got {reports:?}"
            ));
        }
    }
    Ok(())
}

/// Ring of four: every member forwards every token; each serves all.
fn ring<C: Channel>(backend: Backend) -> TestResult {
    let n = 4;
    let (mut tx, mut rx, team) =
        start::<C>(backend, n, Role::Forward { size: 8 }, 1, 4096).map_err(e2s)?;
    for i in 0..100 {
        tx.send(8, |b| pattern::fill(b, i, SALT_REQUEST))
            .map_err(e2s)?;
        if !rx
            .recv(8, |m| pattern::verify(m, i, SALT_REQUEST))
            .map_err(e2s)?
        {
            return Err(format!("token {i} came back wrong"));
        }
    }
    stop(&mut tx, &mut rx, 8)?;
    let reports = finish(tx, rx, team)?;
    if reports.len() != n - 1 || reports.iter().any(|r| r.ops != 100) {
        return Err(format!(
            "expected {} reports of 100 ops: {reports:?}",
            n - 1
        ));
    }
    Ok(())
}

/// Sink with two slots in flight: a stream of two windows, verified by
/// the worker, each answered with a header-sized acknowledgement of its
/// last chunk.
fn stream<C: Channel>(backend: Backend) -> TestResult {
    let size = C::max_message_bytes().unwrap_or(64 << 10).min(64 << 10);
    let ack = pattern::MIN_MESSAGE_BYTES;
    let (mut tx, mut rx, team) = start::<C>(backend, 2, Role::Sink { size }, 2, 0).map_err(e2s)?;
    for (first, last) in [(0u64, 149u64), (150, 199)] {
        for i in first..last {
            tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))
                .map_err(e2s)?;
        }
        tx.send(size, |b| pattern::fill(b, last, SALT_LAST))
            .map_err(e2s)?;
        if !rx
            .recv(ack, |m| pattern::verify(m, last, SALT_REPLY))
            .map_err(e2s)?
        {
            return Err(format!("the acknowledgement of chunk {last} is wrong"));
        }
    }
    stop_as(&mut tx, &mut rx, size, ack)?;
    let reports = finish(tx, rx, team)?;
    if reports[0].ops != 200 {
        return Err(format!("sink verified {} chunks, not 200", reports[0].ops));
    }
    Ok(())
}

/// A corrupted message is reported by the worker as a payload failure.
fn corrupt_is_detected<C: Channel>(backend: Backend) -> TestResult {
    let (mut tx, mut rx, team) =
        start::<C>(backend, 2, Role::Echo { size: 64 }, 1, 0).map_err(e2s)?;
    tx.send(64, |b| pattern::fill(b, 0, SALT_REQUEST))
        .map_err(e2s)?;
    rx.recv(64, |_| ()).map_err(e2s)?;
    // Message 1 sent with message 2's contents.
    tx.send(64, |b| pattern::fill(b, 2, SALT_REQUEST))
        .map_err(e2s)?;
    let r = rx.recv(64, |_| ());
    if r.is_ok() {
        return Err("the worker replied to a corrupt message".into());
    }
    drop(tx);
    drop(rx);
    let err = team.abort(Error::Chan(r.unwrap_err())).to_string();
    if !err.contains("payload check failed at operation 1") {
        return Err(format!("error does not name the corrupt operation: {err}"));
    }
    Ok(())
}

/// A worker killed mid-run makes the initiator's next operation fail (not
/// hang), and the team reaps it.
fn killed_worker_is_an_error<C: Channel>(backend: Backend) -> TestResult {
    let (mut tx, mut rx, team) =
        start::<C>(backend, 2, Role::Echo { size: 8 }, 1, 0).map_err(e2s)?;
    tx.send(8, |b| pattern::fill(b, 0, SALT_REQUEST))
        .map_err(e2s)?;
    rx.recv(8, |_| ()).map_err(e2s)?;
    let pid = team.pids()[0];
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let mut outcome = Ok(());
    for i in 1..1000 {
        let r = tx
            .send(8, |b| pattern::fill(b, i, SALT_REQUEST))
            .and_then(|_| rx.recv(8, |_| ()));
        if let Err(e) = r {
            outcome = Err(e);
            break;
        }
    }
    let e = match outcome {
        Ok(()) => return Err("operations kept succeeding after the worker was killed".into()),
        Err(e) => e,
    };
    if !matches!(
        e,
        ChanError::Closed | ChanError::PeerDied | ChanError::Truncated
    ) {
        return Err(format!("unexpected error after kill: {e:?}"));
    }
    drop(tx);
    drop(rx);
    let msg = team.abort(Error::Chan(e)).to_string();
    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        Ok(())
    } else {
        Err(format!("worker {pid} still exists after abort ({msg})"))
    }
}

fn spawn_worker_that_never_connects() -> TestResult {
    let dir = std::env::temp_dir().join(format!("mpmt-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(e2s)?;
    let script = dir.join("silent-worker");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").map_err(e2s)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(e2s)?;
    let saved = std::env::var_os("MPMT_WORKER");
    std::env::set_var("MPMT_WORKER", &script);
    let r = start::<mpmt_core::channel::fd::Pipe>(Backend::Spawn, 2, Role::Echo { size: 8 }, 1, 0);
    match saved {
        Some(s) => std::env::set_var("MPMT_WORKER", s),
        None => std::env::remove_var("MPMT_WORKER"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Ok(_) => Err("launch succeeded with a worker that never connects".into()),
        Err(e)
            if e.to_string().contains("did not connect within")
                && e.to_string().contains("(the worker start limit)") =>
        {
            Ok(())
        }
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

fn spawn_worker_missing() -> TestResult {
    let saved = std::env::var_os("MPMT_WORKER");
    std::env::set_var("MPMT_WORKER", "/nonexistent/mpmt-worker");
    let r = start::<mpmt_core::channel::fd::Pipe>(Backend::Spawn, 2, Role::Echo { size: 8 }, 1, 0);
    if let Some(s) = saved {
        std::env::set_var("MPMT_WORKER", s);
    }
    match r {
        Ok(_) => Err("launch succeeded without a worker binary".into()),
        Err(e)
            if e.to_string()
                .contains("mpmt-worker not found at /nonexistent/mpmt-worker") =>
        {
            Ok(())
        }
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

fn fork_refused_with_threads() -> TestResult {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let h = std::thread::spawn(move || {
        let _ = rx.recv();
    });
    let r = start::<mpmt_core::channel::fd::Pipe>(Backend::Fork, 2, Role::Echo { size: 8 }, 1, 0);
    let _ = tx.send(());
    let _ = h.join();
    match r {
        Ok(_) => Err("forked while another thread was running".into()),
        Err(e) if e.to_string().contains("refusing to fork") => Ok(()),
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

fn main() {
    let mut tests: Vec<Test> = Vec::new();
    for &backend in Backend::ALL {
        for channel in channels_for(backend) {
            let tag = format!("{}_{}", channel.name().replace('-', "_"), backend.name());
            with_channel!(channel, C => {
                tests.push((format!("round_trip_{tag}"), Box::new(move || round_trip::<C>(backend))));
                tests.push((format!("ring_{tag}"), Box::new(move || ring::<C>(backend))));
                tests.push((format!("stream_{tag}"), Box::new(move || stream::<C>(backend))));
                tests.push((format!("corrupt_is_detected_{tag}"), Box::new(move || corrupt_is_detected::<C>(backend))));
                if backend != Backend::Thread {
                    tests.push((format!("killed_worker_is_an_error_{tag}"), Box::new(move || killed_worker_is_an_error::<C>(backend))));
                }
            });
        }
    }
    tests.push((
        "spawn_worker_that_never_connects".into(),
        Box::new(spawn_worker_that_never_connects),
    ));
    tests.push((
        "spawn_worker_missing".into(),
        Box::new(spawn_worker_missing),
    ));
    tests.push((
        "fork_refused_with_threads".into(),
        Box::new(fork_refused_with_threads),
    ));

    common::run_suite(tests)
}
