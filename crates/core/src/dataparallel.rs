//! data-parallel: the classic "double every element of a list across N
//! workers", with the list on the parent's heap, as
//! - `thread-heap`: threads doubling their slice of the heap array in place;
//! - `thread-shm`: threads doubling in place in a shared mapping (copied in),
//!   the same memory as `fork-shm`: on this VM a shared mapping doubles
//!   ~30 % faster than malloc'd heap under the very same loop, so only this
//!   pair compares threads with processes on equal memory;
//! - `fork-shm`: forked children doubling in place in a shared mapping;
//! - `spawn-shm`: exec'd workers doing the same on a memfd;
//! - `fork-pipe`: forked children that receive their slice over a pipe and
//!   send it back (copy in, copy out);
//! - `spawn-ipc-channel`: exec'd workers, slices over ipc-channel.
//!
//! Every variant runs the same kernel ([`double`], never inlined, so the
//! machine code is identical) between a start gate and its own end
//! timestamp. Wall time is split into setup (create workers, map, copy in,
//! until all are ready), compute (gate opened → last worker's end, CLOCK_MONOTONIC
//! shared by all processes) and teardown (copy out, join/reap). Every element
//! of every run is verified.

use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::placement::Placement;
use crate::process::{fork_worker, spawn_worker, JobKind, WorkerProc};
use crate::schema::{Checks, Record};
use crate::serve::WorkerReport;
use crate::shmem::{deaths_are_errors, gate_bytes, mono_ns, Gate, SharedMem};
use crate::stats::summarize;
use crate::sys;
use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// How the work is split and the data moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    ThreadHeap,
    ThreadShm,
    ForkShm,
    SpawnShm,
    ForkPipe,
    SpawnIpcChannel,
}

impl Variant {
    pub const ALL: [Variant; 6] = [
        Variant::ThreadHeap,
        Variant::ThreadShm,
        Variant::ForkShm,
        Variant::SpawnShm,
        Variant::ForkPipe,
        Variant::SpawnIpcChannel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::ThreadHeap => "thread-heap",
            Variant::ThreadShm => "thread-shm",
            Variant::ForkShm => "fork-shm",
            Variant::SpawnShm => "spawn-shm",
            Variant::ForkPipe => "fork-pipe",
            Variant::SpawnIpcChannel => "spawn-ipc-channel",
        }
    }

    pub fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }

    pub fn backend(self) -> BackendKind {
        match self {
            Variant::ThreadHeap | Variant::ThreadShm => BackendKind::Thread,
            Variant::ForkShm | Variant::ForkPipe => BackendKind::Fork,
            Variant::SpawnShm | Variant::SpawnIpcChannel => BackendKind::Spawn,
        }
    }

    /// How the data reaches the workers (the record's `channel`).
    pub fn channel(self) -> &'static str {
        match self {
            Variant::ThreadHeap => "heap",
            Variant::ThreadShm | Variant::ForkShm | Variant::SpawnShm => "shm",
            Variant::ForkPipe => "pipe",
            Variant::SpawnIpcChannel => "ipc-channel",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Variant::ThreadHeap => "threads double their slice of the heap array in place",
            Variant::ThreadShm => {
                "threads double in place in a shared mapping (copied in), as fork-shm does"
            }
            Variant::ForkShm => "forked children double in place in a shared mapping (copied in)",
            Variant::SpawnShm => "exec'd workers double in place in a memfd mapping (copied in)",
            Variant::ForkPipe => "forked children get their slice over a pipe and send it back",
            Variant::SpawnIpcChannel => {
                "exec'd workers get their slice over ipc-channel and send it back"
            }
        }
    }

    /// Bytes of memory a run with `elements` needs at most.
    pub fn memory_bytes(self, elements: usize) -> u64 {
        let array = elements as u64 * 8;
        match self {
            Variant::ThreadHeap => array,
            // Parent array + mapping.
            Variant::ThreadShm | Variant::ForkShm | Variant::SpawnShm => 2 * array,
            // Parent array + children's buffers (+ kernel / message copies).
            Variant::ForkPipe => 2 * array,
            Variant::SpawnIpcChannel => 3 * array,
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One data-parallel case.
#[derive(Debug, Clone, PartialEq)]
pub struct DpCase {
    pub variant: Variant,
    pub workers: usize,
    pub elements: usize,
    pub placement: Placement,
    /// CPU of each worker.
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
}

impl DpCase {
    pub fn label(&self) -> String {
        format!(
            "data-parallel {} {} w={} e={}",
            self.variant,
            self.placement,
            self.workers,
            crate::units::fmt_count(self.elements as u64)
        )
    }
}

/// The doubling kernel every variant runs. Never inlined: one copy of the
/// machine code for threads and processes alike.
#[inline(never)]
pub fn double(xs: &mut [u64]) {
    for x in xs.iter_mut() {
        *x = x.wrapping_mul(2);
    }
}

/// Index of the first element of `xs` (holding elements `first..`) that is
/// not doubled.
pub fn first_wrong(xs: &[u64], first: u64) -> Option<usize> {
    xs.iter()
        .enumerate()
        .find(|&(i, &x)| x != (first + i as u64).wrapping_mul(2))
        .map(|(i, _)| i)
}

/// Splits `elements` into `workers` contiguous (start, count) slices; the
/// first `elements % workers` get one more. Workers beyond the elements get
/// empty slices (and still take part).
pub fn split(elements: usize, workers: usize) -> Vec<(usize, usize)> {
    let base = elements / workers;
    let extra = elements % workers;
    let mut start = 0;
    (0..workers)
        .map(|i| {
            let n = base + usize::from(i < extra);
            let s = (start, n);
            start += n;
            s
        })
        .collect()
}

fn as_bytes(xs: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding and any byte pattern is a valid u8; the
    // length in bytes is exactly the slice's.
    unsafe { std::slice::from_raw_parts(xs.as_ptr().cast(), std::mem::size_of_val(xs)) }
}

fn as_bytes_mut(xs: &mut [u64]) -> &mut [u8] {
    // SAFETY: as for `as_bytes`; every byte pattern is a valid u64.
    unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast(), std::mem::size_of_val(xs)) }
}

/// Phases of one run, in ns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    pub setup_ns: f64,
    pub compute_ns: f64,
    pub teardown_ns: f64,
}

impl Phases {
    fn from_marks(t0: u64, ready: u64, last_end: u64, t_final: u64) -> Phases {
        let last_end = last_end.max(ready);
        Phases {
            setup_ns: (ready - t0) as f64,
            compute_ns: (last_end - ready) as f64,
            teardown_ns: t_final.saturating_sub(last_end) as f64,
        }
    }

    pub fn wall_ns(&self) -> f64 {
        self.setup_ns + self.compute_ns + self.teardown_ns
    }
}

/// Job of an exec'd data-parallel worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum DpJob {
    /// Double `count` elements at `start` of the array that follows the gate
    /// in the memfd.
    Shm {
        memfd: i32,
        len: u64,
        workers: u32,
        start: u64,
        count: u64,
    },
    /// Receive the slice, report ready, wait for go, double, send back
    /// (start, end) and then the slice.
    Ipc {
        rx: IpcBytesReceiver,
        tx: IpcBytesSender,
    },
}

fn shm_worker(
    mem: &SharedMem,
    workers: usize,
    index: usize,
    start: usize,
    count: usize,
) -> WorkerReport {
    let gate = Gate::new(mem, workers);
    let base = gate_bytes(workers);
    if base + (start + count) * 8 > mem.len() {
        return WorkerReport::failed(WorkerReport::SETUP_FAILED, libc::EINVAL as u64);
    }
    // SAFETY: the range lies inside the mapping (checked), is 8-byte aligned
    // (page-aligned mapping, 64-byte gate), and no other worker touches this
    // slice; the parent reads it only after we count ourselves done.
    let xs = unsafe {
        std::slice::from_raw_parts_mut(mem.as_ptr().add(base + start * 8).cast::<u64>(), count)
    };
    // Prefault our slice now (setup), not on first touch (compute).
    mem.populate_range(base + start * 8, count * 8);
    if !gate.arrive() {
        return WorkerReport::failed(WorkerReport::SETUP_FAILED, libc::ETIMEDOUT as u64);
    }
    let t = mono_ns();
    double(xs);
    gate.finish(index, t, mono_ns());
    WorkerReport {
        ops: count as u64,
        ..Default::default()
    }
}

/// Runs a data-parallel job in an exec'd worker.
pub fn run_job(job: DpJob, index: usize) -> WorkerReport {
    match job {
        DpJob::Shm {
            memfd,
            len,
            workers,
            start,
            count,
        } => {
            // SAFETY: the parent cleared CLOEXEC on this fd for us; we own it.
            let fd = unsafe { OwnedFd::from_raw_fd(memfd) };
            match SharedMem::attach(fd, len as usize, false) {
                Ok(mem) => shm_worker(
                    &mem,
                    workers as usize,
                    index,
                    start as usize,
                    count as usize,
                ),
                Err(e) => WorkerReport::failed(
                    WorkerReport::SETUP_FAILED,
                    e.raw_os_error().unwrap_or(0) as u64,
                ),
            }
        }
        DpJob::Ipc { rx, tx } => ipc_worker(rx, tx),
    }
}

fn ipc_fail(e: impl Into<crate::channel::ChanError>) -> WorkerReport {
    WorkerReport::failed(WorkerReport::CHANNEL, e.into().code())
}

fn ipc_recv(rx: &IpcBytesReceiver) -> std::result::Result<Vec<u8>, WorkerReport> {
    rx.recv()
        .map_err(|_| ipc_fail(crate::channel::ChanError::Closed))
}

fn ipc_worker(rx: IpcBytesReceiver, tx: IpcBytesSender) -> WorkerReport {
    let run = || -> std::result::Result<WorkerReport, WorkerReport> {
        let bytes = ipc_recv(&rx)?;
        // ipc-channel hands us bytes; the kernel works on aligned u64s.
        let mut xs: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")))
            .collect();
        drop(bytes);
        tx.send(&[1]).map_err(ipc_fail)?;
        ipc_recv(&rx)?;
        let t = mono_ns();
        double(&mut xs);
        let end = mono_ns();
        let mut header = [0u8; 16];
        header[..8].copy_from_slice(&t.to_le_bytes());
        header[8..].copy_from_slice(&end.to_le_bytes());
        tx.send(&header).map_err(ipc_fail)?;
        tx.send(as_bytes(&xs)).map_err(ipc_fail)?;
        Ok(WorkerReport {
            ops: xs.len() as u64,
            ..Default::default()
        })
    };
    run().unwrap_or_else(|r| r)
}

/// Everything a forked fork-shm worker needs.
struct ShmInput<'a> {
    mem: &'a SharedMem,
    workers: usize,
    index: usize,
    start: usize,
    count: usize,
}

fn fork_shm_body(i: ShmInput<'_>) -> WorkerReport {
    shm_worker(i.mem, i.workers, i.index, i.start, i.count)
}

/// Everything a forked fork-pipe worker needs, allocated before the fork.
struct PipeInput {
    from_parent: OwnedFd,
    to_parent: OwnedFd,
    buf: Vec<u64>,
}

fn read_exact_raw(fd: RawFd, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: valid writable buffer of the remaining length.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
}

fn fork_pipe_body(mut i: PipeInput) -> WorkerReport {
    let (rfd, wfd) = (i.from_parent.as_raw_fd(), i.to_parent.as_raw_fd());
    let eof = WorkerReport::failed(
        WorkerReport::CHANNEL,
        crate::channel::ChanError::Closed.code(),
    );
    // Touch the buffer: its pages become ours, not shared with the parent.
    i.buf.fill(0);
    if !read_exact_raw(rfd, as_bytes_mut(&mut i.buf)) {
        return eof;
    }
    let mut go = [0u8; 1];
    if sys::write_all_raw(wfd, &[1]).is_err() || !read_exact_raw(rfd, &mut go) {
        return eof;
    }
    let t = mono_ns();
    double(&mut i.buf);
    let end = mono_ns();
    let mut header = [0u8; 16];
    header[..8].copy_from_slice(&t.to_le_bytes());
    header[8..].copy_from_slice(&end.to_le_bytes());
    if sys::write_all_raw(wfd, &header).is_err()
        || sys::write_all_raw(wfd, as_bytes(&i.buf)).is_err()
    {
        return eof;
    }
    WorkerReport {
        ops: i.buf.len() as u64,
        ..Default::default()
    }
}

fn io(ctx: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(ctx, e)
}

fn finish_all(procs: &mut [WorkerProc], what: &'static str) -> Result<()> {
    for p in procs.iter_mut() {
        p.finish().map_err(|detail| Error::Worker {
            index: p.index,
            backend: what,
            detail,
        })?;
    }
    Ok(())
}

fn verify(xs: &[u64], variant: Variant) -> Result<()> {
    match first_wrong(xs, 0) {
        None => Ok(()),
        Some(i) => Err(Error::Verify(format!(
            "data-parallel {variant}: element {i} is {} but should be {}",
            xs[i],
            (i as u64).wrapping_mul(2)
        ))),
    }
}

fn header_times(h: &[u8]) -> Result<(u64, u64)> {
    if h.len() != 16 {
        return Err(Error::Verify(format!(
            "a worker sent a {}-byte header instead of 16",
            h.len()
        )));
    }
    Ok((
        u64::from_le_bytes(h[..8].try_into().expect("8 bytes")),
        u64::from_le_bytes(h[8..].try_into().expect("8 bytes")),
    ))
}

/// Runs one timed run of `case` over `data` (holding 0..E on entry).
fn run_once(case: &DpCase, data: &mut [u64]) -> Result<Phases> {
    let w = case.workers;
    let slices = split(data.len(), w);
    match case.variant {
        Variant::ThreadHeap => {
            let t0 = mono_ns();
            let gate_mem = SharedMem::new(gate_bytes(w), false).map_err(io("mapping the gate"))?;
            let gate = Gate::new(&gate_mem, w);
            let (ready, last_end) = std::thread::scope(|s| -> Result<(u64, u64)> {
                let mut rest: &mut [u64] = data;
                let mut handles = Vec::with_capacity(w);
                for (i, &(_, n)) in slices.iter().enumerate() {
                    let (mine, tail) = std::mem::take(&mut rest).split_at_mut(n);
                    rest = tail;
                    let (gate, cpu) = (&gate, case.cpus[i]);
                    let h = std::thread::Builder::new()
                        .name(format!("mpmt-dp-{i}"))
                        .spawn_scoped(s, move || {
                            if let Some(c) = cpu {
                                let _ = sys::pin_current(c);
                            }
                            gate.arrive();
                            let t = mono_ns();
                            double(mine);
                            gate.finish(i, t, mono_ns());
                        })
                        .map_err(io("starting a worker thread"))?;
                    handles.push(h);
                }
                let ready = gate.open_when_ready(&mut || Ok(0))?;
                gate.wait_done(&mut || Ok(0))?;
                for h in handles {
                    h.join()
                        .map_err(|_| Error::Setup("a data-parallel thread panicked".into()))?;
                }
                Ok((ready, gate.last_end()))
            })?;
            let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
            verify(data, case.variant)?;
            Ok(phases)
        }
        Variant::ThreadShm | Variant::ForkShm | Variant::SpawnShm => {
            let spawn = case.variant == Variant::SpawnShm;
            let t0 = mono_ns();
            let base = gate_bytes(w);
            let mem =
                SharedMem::new(base + data.len() * 8, spawn).map_err(io("mapping the array"))?;
            // SAFETY: the data region follows the gate inside the mapping,
            // 8-byte aligned, and nothing else uses it until workers start.
            let shared = unsafe {
                std::slice::from_raw_parts_mut(mem.as_ptr().add(base).cast::<u64>(), data.len())
            };
            shared.copy_from_slice(data);
            let gate = Gate::new(&mem, w);
            let (ready, last_end) = if case.variant == Variant::ThreadShm {
                std::thread::scope(|s| -> Result<(u64, u64)> {
                    let mut hs = Vec::with_capacity(w);
                    for (i, &(start, count)) in slices.iter().enumerate() {
                        let (mem, cpu) = (&mem, case.cpus[i]);
                        let h = std::thread::Builder::new()
                            .name(format!("mpmt-dp-{i}"))
                            .spawn_scoped(s, move || {
                                if let Some(c) = cpu {
                                    let _ = sys::pin_current(c);
                                }
                                shm_worker(mem, w, i, start, count)
                            })
                            .map_err(io("starting a worker thread"))?;
                        hs.push(h);
                    }
                    let ready = gate.open_when_ready(&mut || Ok(0))?;
                    gate.wait_done(&mut || Ok(0))?;
                    for h in hs {
                        let r = h
                            .join()
                            .map_err(|_| Error::Setup("a data-parallel thread panicked".into()))?;
                        if let Some(why) = r.failure() {
                            return Err(Error::Setup(format!(
                                "a data-parallel thread failed: {why}"
                            )));
                        }
                    }
                    Ok((ready, gate.last_end()))
                })?
            } else {
                let mut procs = Vec::with_capacity(w);
                for (i, &(start, count)) in slices.iter().enumerate() {
                    let p = if spawn {
                        let fd = mem.memfd().expect("memfd for spawn").as_raw_fd();
                        let job = DpJob::Shm {
                            memfd: fd,
                            len: mem.len() as u64,
                            workers: w as u32,
                            start: start as u64,
                            count: count as u64,
                        };
                        spawn_worker(i, case.cpus[i], JobKind::DataParallel(job), &[fd])?
                    } else {
                        let input = ShmInput {
                            mem: &mem,
                            workers: w,
                            index: i,
                            start,
                            count,
                        };
                        fork_worker(i, case.cpus[i], input, fork_shm_body)?.0
                    };
                    procs.push(p);
                }
                let pids: Vec<i32> = procs.iter().map(|p| p.pid).collect();
                let ready = gate.open_when_ready(&mut deaths_are_errors(&pids, "data-parallel"))?;
                gate.wait_done(&mut deaths_are_errors(&pids, "data-parallel"))?;
                let last_end = gate.last_end();
                finish_all(&mut procs, case.variant.backend().name())?;
                (ready, last_end)
            };
            let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
            verify(shared, case.variant)?;
            Ok(phases)
        }
        Variant::ForkPipe => {
            let t0 = mono_ns();
            let mut procs = Vec::with_capacity(w);
            let mut ends = Vec::with_capacity(w);
            for (i, &(_, count)) in slices.iter().enumerate() {
                let (down_r, down_w) = sys::pipe().map_err(io("creating a pipe"))?;
                let (up_r, up_w) = sys::pipe().map_err(io("creating a pipe"))?;
                let input = PipeInput {
                    from_parent: down_r,
                    to_parent: up_w,
                    buf: vec![0u64; count],
                };
                let (p, back) = fork_worker(i, case.cpus[i], input, fork_pipe_body)?;
                drop(back);
                procs.push(p);
                ends.push((down_w, up_r));
            }
            let closed = || Error::Chan(crate::channel::ChanError::Closed);
            for (&(start, count), (down, _)) in slices.iter().zip(&ends) {
                sys::write_all_raw(down.as_raw_fd(), as_bytes(&data[start..start + count]))
                    .map_err(io("copying a slice in"))?;
            }
            for (_, up) in &ends {
                if !read_exact_raw(up.as_raw_fd(), &mut [0u8; 1]) {
                    return Err(closed());
                }
            }
            let ready = mono_ns();
            for (down, _) in &ends {
                sys::write_all_raw(down.as_raw_fd(), &[1]).map_err(io("sending go"))?;
            }
            let mut last_end = ready;
            for (&(start, count), (_, up)) in slices.iter().zip(&ends) {
                let mut h = [0u8; 16];
                if !read_exact_raw(up.as_raw_fd(), &mut h)
                    || !read_exact_raw(
                        up.as_raw_fd(),
                        as_bytes_mut(&mut data[start..start + count]),
                    )
                {
                    return Err(closed());
                }
                last_end = last_end.max(header_times(&h)?.1);
            }
            finish_all(&mut procs, "fork")?;
            drop(ends);
            let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
            verify(data, case.variant)?;
            Ok(phases)
        }
        Variant::SpawnIpcChannel => {
            let t0 = mono_ns();
            let mut procs = Vec::with_capacity(w);
            let mut ends = Vec::with_capacity(w);
            let ipc_err = |e: ipc_channel::IpcError| Error::Setup(format!("ipc-channel: {e:?}"));
            for (i, _) in slices.iter().enumerate() {
                let (to_tx, to_rx) = ipc::bytes_channel().map_err(io("creating an ipc channel"))?;
                let (from_tx, from_rx) =
                    ipc::bytes_channel().map_err(io("creating an ipc channel"))?;
                let job = DpJob::Ipc {
                    rx: to_rx,
                    tx: from_tx,
                };
                procs.push(spawn_worker(
                    i,
                    case.cpus[i],
                    JobKind::DataParallel(job),
                    &[],
                )?);
                ends.push((to_tx, from_rx));
            }
            for (&(start, count), (tx, _)) in slices.iter().zip(&ends) {
                tx.send(as_bytes(&data[start..start + count]))
                    .map_err(io("copying a slice in"))?;
            }
            for (_, rx) in &ends {
                rx.recv().map_err(ipc_err)?;
            }
            let ready = mono_ns();
            for (tx, _) in &ends {
                tx.send(&[1]).map_err(io("sending go"))?;
            }
            let mut last_end = ready;
            for (&(start, count), (_, rx)) in slices.iter().zip(&ends) {
                let h = rx.recv().map_err(ipc_err)?;
                last_end = last_end.max(header_times(&h)?.1);
                let back = rx.recv().map_err(ipc_err)?;
                if back.len() != count * 8 {
                    return Err(Error::Verify(format!(
                        "a worker sent back {} bytes instead of {}",
                        back.len(),
                        count * 8
                    )));
                }
                as_bytes_mut(&mut data[start..start + count]).copy_from_slice(&back);
            }
            finish_all(&mut procs, "spawn")?;
            drop(ends);
            let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
            verify(data, case.variant)?;
            Ok(phases)
        }
    }
}

/// Measures one case: `samples` runs, each verified.
///
/// Each run gets a freshly allocated input array (filled outside the timed
/// region), as the shared-memory variants get a fresh mapping: on this VM a
/// long-lived 128 MiB buffer doubled ~30 % slower than a fresh one under the
/// very same loop, so reusing one array would charge threads for where their
/// pages happen to lie.
pub fn run_case(case: &DpCase) -> Result<Record> {
    let mut phases = Vec::with_capacity(case.samples);
    for _ in 0..case.samples {
        if crate::signal::interrupted() {
            return Err(Error::interrupted());
        }
        let mut data: Vec<u64> = (0..case.elements as u64).collect();
        phases.push(run_once(case, &mut data)?);
    }
    Ok(record(case, &phases))
}

fn record(case: &DpCase, phases: &[Phases]) -> Record {
    let wall: Vec<f64> = phases.iter().map(|p| p.wall_ns()).collect();
    let med = |f: fn(&Phases) -> f64| summarize(&phases.iter().map(f).collect::<Vec<_>>()).median;
    let stats = summarize(&wall);
    let (setup, compute, teardown) = (
        med(|p| p.setup_ns),
        med(|p| p.compute_ns),
        med(|p| p.teardown_ns),
    );
    let e = case.elements as f64;
    let mut warnings = Vec::new();
    if stats.cv > crate::workload::NOISY_CV {
        warnings.push(format!(
            "noisy: coefficient of variation {:.2} > {}",
            stats.cv,
            crate::workload::NOISY_CV
        ));
    }
    Record {
        workload: "data-parallel".into(),
        backend: case.variant.backend().name().into(),
        channel: case.variant.channel().into(),
        variant: Some(case.variant.name().into()),
        placement: case.placement.name().into(),
        cpus: case.cpus.clone(),
        workers: case.workers as u32,
        size_bytes: case.elements as u64 * 8,
        working_set_bytes: 0,
        metric: "wall".into(),
        unit: "ns".into(),
        ops_per_sample: 1,
        samples: wall.len(),
        stats,
        setup_ns: setup as u64,
        checks: Checks {
            elements: Some(case.elements as u64),
            elements_verified: Some(case.elements as u64 * phases.len() as u64),
            compute_ns: Some(compute),
            teardown_ns: Some(teardown),
            elements_per_s: Some(e / (stats.median * 1e-9)),
            compute_elements_per_s: Some(e / (compute.max(1.0) * 1e-9)),
            bytes_per_s: Some(e * 8.0 / (stats.median * 1e-9)),
            ..Default::default()
        },
        warnings,
    }
}

/// Fills `speedup` (wall at W=1 over wall at W, same variant, elements and
/// placement) wherever the W=1 record exists.
pub fn annotate_speedups(records: &mut [Record]) {
    let base: Vec<(String, String, u64, f64)> = records
        .iter()
        .filter(|r| r.workload == "data-parallel" && r.workers == 1)
        .map(|r| {
            (
                r.variant.clone().unwrap_or_default(),
                r.placement.clone(),
                r.size_bytes,
                r.stats.median,
            )
        })
        .collect();
    for r in records.iter_mut().filter(|r| r.workload == "data-parallel") {
        let v = r.variant.clone().unwrap_or_default();
        if let Some((_, _, _, one)) = base
            .iter()
            .find(|(bv, bp, bs, _)| *bv == v && *bp == r.placement && *bs == r.size_bytes)
        {
            r.checks.speedup = Some(one / r.stats.median);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_everything_once() {
        assert_eq!(split(10, 3), vec![(0, 4), (4, 3), (7, 3)]);
        assert_eq!(split(2, 4), vec![(0, 1), (1, 1), (2, 0), (2, 0)]);
        assert_eq!(split(0, 2), vec![(0, 0), (0, 0)]);
        for (e, w) in [(1000, 7), (5, 5), (1, 8), (1 << 20, 3)] {
            let s = split(e, w);
            assert_eq!(s.len(), w);
            assert_eq!(s.iter().map(|x| x.1).sum::<usize>(), e);
            let mut next = 0;
            for (start, n) in s {
                assert_eq!(start, next);
                next += n;
            }
        }
    }

    #[test]
    fn double_and_check() {
        let mut xs: Vec<u64> = (0..100).collect();
        double(&mut xs);
        assert_eq!(first_wrong(&xs, 0), None);
        xs[37] += 1;
        assert_eq!(first_wrong(&xs, 0), Some(37));
        let mut tail: Vec<u64> = (50..60).collect();
        double(&mut tail);
        assert_eq!(first_wrong(&tail, 50), None);
    }

    #[test]
    fn thread_heap_runs_and_verifies() {
        let case = DpCase {
            variant: Variant::ThreadHeap,
            workers: 3,
            elements: 1001,
            placement: Placement::Os,
            cpus: vec![None; 3],
            samples: 2,
        };
        let r = run_case(&case).unwrap();
        assert_eq!(r.checks.elements_verified, Some(2002));
        assert_eq!(r.samples, 2);
    }
}
