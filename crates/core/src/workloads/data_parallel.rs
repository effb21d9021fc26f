//! data-parallel: the classic "double every element of a list across N
//! workers". A variant is a backend and where the data lives, named
//! `<backend>-<medium>`:
//! - `thread-heap`: threads double their slice of the parent's heap array
//!   in place;
//! - `<backend>-shm`: workers double in place in a shared mapping the array
//!   was copied into (an anonymous mapping for threads and `fork`, a memfd
//!   for `spawn`). `thread-shm` vs `fork-shm` is the pair that compares
//!   threads with processes on equal memory: on this VM a shared mapping
//!   doubles ~30 % faster than malloc'd heap under the very same loop;
//! - `<backend>-<channel>`: each worker receives its slice over a link of
//!   that channel into its own buffer, doubles it, and sends it back (copy
//!   in, copy out), in chunks of at most [`CHUNK_BYTES`]. Every channel
//!   valid for the backend can carry slices (`fork-pipe`,
//!   `spawn-ipc-channel`, `thread-heap`'s cousin `thread-pipe`, …).
//!
//! Every variant runs the same kernel ([`double`], never inlined, so the
//! machine code is identical) between the shared start gate and its own end
//! stamp. Wall time is split into setup (create workers, map, copy in,
//! until all are ready at the gate), compute (gate opened → last worker's
//! end, CLOCK_MONOTONIC shared by all processes) and teardown (copy out,
//! join/reap). Every element of every run is verified.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::{
    valid_for, ExecFds, ChanError, Channel, ChannelKind, End, LinkOpts, RemoteEnd, Rx, Tx,
};
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::SharedMem;
use mpmt_schema::{summarize, Checks, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Largest message a copy variant sends: slices travel in chunks this big.
pub const CHUNK_BYTES: usize = 1 << 20;
/// The registry name of copy-variant jobs (any channel).
pub const COPY_JOB: &str = "data-parallel-copy";

/// The data-parallel workload.
pub struct DataParallel;

/// The backend and how its workers reach the array (the record's variant).
pub use mpmt_schema::{ArrayAccess, ArraySplit as Split};

/// Every valid split: each backend in place, and over every channel it
/// can use (but `heap`: handing heap buffers over is what `thread-heap`
/// does in place; the name is taken).
pub fn splits() -> Vec<Split> {
    let mut v = vec![Split::new(Backend::Thread, ArrayAccess::Heap)];
    for &b in Backend::ALL {
        v.push(Split::new(b, ArrayAccess::Shm));
    }
    for &b in Backend::ALL {
        for c in crate::channel::channels_for(b) {
            if c != ChannelKind::Heap {
                v.push(Split::new(b, ArrayAccess::Sent(c)));
            }
        }
    }
    v
}

/// The split named `s`, if it is valid: spelled right, and its backend
/// can use its channel.
pub fn parse_split(s: &str) -> Option<Split> {
    Split::parse(s).filter(|v| match v.channel() {
        Some(c) => valid_for(v.backend, c),
        None => true,
    })
}

/// Bytes of memory a run of `split` with `elements` needs at most.
pub fn memory_bytes(split: Split, elements: usize, workers: usize) -> u64 {
    let array = elements as u64 * 8;
    let gate = gate_bytes(workers) as u64;
    match split.access {
        ArrayAccess::Heap => array + gate,
        // Parent array + mapping.
        ArrayAccess::Shm => 2 * array + gate,
        // Parent array + workers' buffers + two chunk-sized links each.
        ArrayAccess::Sent(_) => 2 * array + gate + workers as u64 * 4 * CHUNK_BYTES as u64,
    }
}

/// One data-parallel case.
#[derive(Debug, Clone, PartialEq)]
pub struct DpCase {
    pub split: Split,
    pub workers: usize,
    pub elements: usize,
    pub placement: Placement,
    /// CPU of each worker.
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
}

/// The doubling kernel every variant runs. Never inlined: one copy of the
/// machine code for threads and processes alike.
#[inline(never)]
pub fn double(xs: &mut [u64]) {
    for x in xs.iter_mut() {
        *x = x.wrapping_mul(2);
    }
}

/// Elements doubled between two looks at the stop flags (~1 ms of work).
const STOP_CHUNK: usize = 1 << 20;

/// [`double`] over `xs` in chunks of 2^20 elements, looking at the stop
/// flags (SIGINT/SIGTERM, the stall deadline) between chunks, so a thread
/// member of a huge array stops within milliseconds. The kernel is
/// untouched; the check costs two relaxed loads per million elements.
/// Allocation-free (a forked child runs it).
#[inline(never)]
pub fn double_stoppable(xs: &mut [u64]) -> std::result::Result<(), ChanError> {
    let mut chunks = xs.chunks_mut(STOP_CHUNK).peekable();
    while let Some(c) = chunks.next() {
        double(c);
        if chunks.peek().is_some() {
            if let Some(e) = ChanError::halted() {
                return Err(e);
            }
        }
    }
    Ok(())
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
            setup_ns: ready.saturating_sub(t0) as f64,
            compute_ns: (last_end - ready) as f64,
            teardown_ns: t_final.saturating_sub(last_end) as f64,
        }
    }

    pub fn wall_ns(&self) -> f64 {
        self.setup_ns + self.compute_ns + self.teardown_ns
    }
}

/// A slice of an array that one worker has to itself until it is joined.
struct RawSlice {
    ptr: *mut u64,
    len: usize,
}

// SAFETY: a RawSlice is handed to exactly one worker, which has exclusive
// use of those elements; the parent does not touch the array until the
// worker has been joined.
unsafe impl Send for RawSlice {}

/// Where an in-place worker's slice is.
enum SliceAt {
    /// In the mapping behind the gate, at element `start`.
    Mapping { start: usize },
    /// On the parent's heap (threads only).
    Heap(RawSlice),
}

/// An in-place worker (heap or shared mapping): prefault its slice, wait
/// at the gate, double, stamp.
pub struct ShmJob {
    gate: Gate,
    index: usize,
    count: usize,
    place: SliceAt,
}

/// An in-place worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShmRemote {
    gate: RemoteGate,
    index: u32,
    start: u64,
    count: u64,
}

impl Job for ShmJob {
    const NAME: &'static str = "data-parallel-shm";
    type Remote = ShmRemote;

    fn run(self) -> Report {
        let xs: &mut [u64] = match &self.place {
            SliceAt::Mapping { start } => {
                let mem = self.gate.mem();
                let base = gate_bytes(self.gate.workers());
                let offset = base + start * 8;
                if offset + self.count * 8 > mem.len() {
                    return Report::failed(Status::SetupFailed {
                        errno: libc::EINVAL,
                    });
                }
                // Prefault our slice now (setup), not on first touch
                // (compute): fork does not copy page-table entries of
                // shared mappings.
                mem.populate_range(offset, self.count * 8);
                // SAFETY: the range lies inside the mapping (checked), is
                // 8-byte aligned (page-aligned mapping, 64-byte gate), and no
                // other worker touches this slice; the parent reads it only
                // after every worker counted itself done.
                unsafe {
                    std::slice::from_raw_parts_mut(mem.as_ptr().add(offset).cast(), self.count)
                }
            }
            // SAFETY: see RawSlice: these elements are ours alone until we
            // are joined.
            SliceAt::Heap(s) => unsafe { std::slice::from_raw_parts_mut(s.ptr, s.len) },
        };
        if self.gate.arrive().is_err() {
            return Report::failed(Status::GateNeverOpened);
        }
        let t = mono_ns();
        if let Err(e) = double_stoppable(xs) {
            return Report::failed(Status::Channel(e));
        }
        self.gate.finish(self.index, t, mono_ns());
        // Exits belong to teardown, not to the others' compute phase.
        self.gate.hold();
        Report::ok(self.count as u64)
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<ShmRemote> {
        let start = match self.place {
            SliceAt::Mapping { start } => start,
            SliceAt::Heap(_) => {
                return Err(Error::Setup(
                    "a heap slice cannot reach an exec'd worker".into(),
                ))
            }
        };
        Ok(ShmRemote {
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            start: start as u64,
            count: self.count as u64,
        })
    }

    fn from_remote(r: ShmRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(ShmJob {
            gate: r.gate.attach(false)?,
            index: r.index as usize,
            count: r.count as usize,
            place: SliceAt::Mapping {
                start: r.start as usize,
            },
        })
    }
}

/// The chunk a slice travels in over channel `C`: [`CHUNK_BYTES`], or
/// less where the channel's messages are bounded (a message queue), in
/// whole elements.
fn chunk_bytes<C: Channel>() -> usize {
    let max = C::max_message_bytes().unwrap_or(CHUNK_BYTES);
    (CHUNK_BYTES.min(max) / 8 * 8).max(8)
}

/// Chunk lengths (bytes) a slice of `bytes` travels in, `chunk` at most.
fn chunks(bytes: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..bytes)
        .step_by(chunk)
        .map(move |at| (at, chunk.min(bytes - at)))
}

/// Sends `data` over `tx` in chunks.
fn send_slice<T: Tx>(
    tx: &mut T,
    data: &[u8],
    chunk: usize,
) -> std::result::Result<(), crate::channel::ChanError> {
    for (at, len) in chunks(data.len(), chunk) {
        tx.send(len, |b| b.copy_from_slice(&data[at..at + len]))?;
    }
    Ok(())
}

/// Receives `buf.len()` bytes from `rx` in chunks.
fn recv_slice<R: Rx>(
    rx: &mut R,
    buf: &mut [u8],
    chunk: usize,
) -> std::result::Result<(), crate::channel::ChanError> {
    for (at, len) in chunks(buf.len(), chunk) {
        rx.recv(len, |m| buf[at..at + len].copy_from_slice(m))?;
    }
    Ok(())
}

/// A copy worker: receive the slice into its own buffer, wait at the gate,
/// double, stamp, send the slice back.
pub struct CopyJob<C: Channel> {
    gate: Gate,
    index: usize,
    rx: C::Rx,
    tx: C::Tx,
    /// Allocated by the parent (untouched pages), written by the worker.
    buf: Vec<u64>,
}

/// A copy worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct CopyRemote {
    channel: ChannelKind,
    gate: RemoteGate,
    index: u32,
    count: u64,
    rx: RemoteEnd,
    tx: RemoteEnd,
}

impl<C: Channel> Job for CopyJob<C> {
    const NAME: &'static str = COPY_JOB;
    type Remote = CopyRemote;

    fn run(mut self) -> Report {
        // Touch the buffer: its pages become ours, not shared with the parent.
        self.buf.fill(0);
        if let Err(e) = recv_slice(
            &mut self.rx,
            as_bytes_mut(&mut self.buf),
            chunk_bytes::<C>(),
        ) {
            return Report::failed(Status::Channel(e));
        }
        if self.gate.arrive().is_err() {
            return Report::failed(Status::GateNeverOpened);
        }
        let t = mono_ns();
        if let Err(e) = double_stoppable(&mut self.buf) {
            return Report::failed(Status::Channel(e));
        }
        self.gate.finish(self.index, t, mono_ns());
        if let Err(e) = send_slice(&mut self.tx, as_bytes(&self.buf), chunk_bytes::<C>()) {
            return Report::failed(Status::Channel(e));
        }
        Report::ok(self.buf.len() as u64)
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<CopyRemote> {
        Ok(CopyRemote {
            channel: C::KIND,
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            count: self.buf.len() as u64,
            rx: self.rx.into_remote(carry)?,
            tx: self.tx.into_remote(carry)?,
        })
    }

    fn from_remote(r: CopyRemote, carry: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(CopyJob {
            gate: r.gate.attach(true)?,
            index: r.index as usize,
            rx: C::Rx::from_remote(r.rx, carry).map_err(Status::Channel)?,
            tx: C::Tx::from_remote(r.tx, carry).map_err(Status::Channel)?,
            buf: vec![0u64; r.count as usize],
        })
    }

    fn release(self) {
        self.rx.release();
        self.tx.release();
    }
}

/// The registry entry for copy workers: the channel is in the description.
pub fn run_copy_remote(body: &str, carry: &mut ExecFds) -> Report {
    let channel = match serde_json::from_str::<CopyRemote>(body) {
        Ok(r) => r.channel,
        Err(_) => return Report::failed(Status::BadJob),
    };
    crate::with_channel!(channel, C => crate::backend::run_remote::<CopyJob<C>>(body, carry))
}

fn verify(xs: &[u64], split: Split) -> Result<()> {
    match first_wrong(xs, 0) {
        None => Ok(()),
        Some(i) => Err(Error::Verify(format!(
            "data-parallel {split}: element {i} is {} but should be {}",
            xs[i],
            (i as u64).wrapping_mul(2)
        ))),
    }
}

/// Waits for the gate to open and every worker to finish: (ready, last end).
fn gate_phase(gate: &Gate, team: &Team) -> Result<(u64, u64)> {
    let ready = team.open_gate(gate)?;
    team.wait_gate_done(gate)?;
    Ok((ready, gate.last_end()))
}

/// In place: on the heap (threads) or in a shared mapping.
fn run_in_place(case: &DpCase, data: &mut [u64]) -> Result<Phases> {
    let w = case.workers;
    let slices = split(data.len(), w);
    let t0 = mono_ns();
    let on_heap = case.split.access == ArrayAccess::Heap;
    let data_bytes = if on_heap { 0 } else { data.len() * 8 };
    // Mapping, prefaulting and copying in are the parent's own work.
    let own = crate::sys::watchdog::own_work();
    let mem = SharedMem::new(
        gate_bytes(w) + data_bytes,
        case.split.backend == Backend::Spawn,
    )
    .map_err(|e| Error::io("mapping the array", e))?;
    let mem = Arc::new(mem);
    let base = gate_bytes(w);
    let array: *mut u64 = if on_heap {
        data.as_mut_ptr()
    } else {
        // SAFETY: the data region follows the gate inside the mapping,
        // 8-byte aligned, and no worker exists yet.
        let p = unsafe { mem.as_ptr().add(base).cast::<u64>() };
        // SAFETY: `data.len()` elements fit behind the gate (mapped above);
        // source and destination do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        p
    };
    drop(own);
    let gate = Gate::new(mem.clone(), w)?;
    let mut team = Team::new(case.split.backend);
    let started = (|| -> Result<(u64, u64)> {
        for (i, &(start, count)) in slices.iter().enumerate() {
            let place = if on_heap {
                // SAFETY (of the later use): slices are disjoint and within
                // the array; see RawSlice.
                SliceAt::Heap(RawSlice {
                    ptr: array.wrapping_add(start),
                    len: count,
                })
            } else {
                SliceAt::Mapping { start }
            };
            let job = ShmJob {
                gate: gate.clone(),
                index: i,
                count,
                place,
            };
            team.start(i, case.cpus[i], job)?;
        }
        gate_phase(&gate, &team)
    })();
    let (ready, last_end) = match started {
        Ok(m) => m,
        Err(e) => return Err(team.abort_at(&gate, e)),
    };
    team.join()?;
    let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
    // SAFETY: every worker has been joined or reaped, so nothing else
    // accesses the array; it holds `data.len()` initialised u64s.
    let result = unsafe { std::slice::from_raw_parts(array, data.len()) };
    let _own = crate::sys::watchdog::own_work();
    verify(result, case.split)?;
    Ok(phases)
}

/// Copy in, double, copy out, over channel `C`.
fn run_copy<C: Channel>(case: &DpCase, data: &mut [u64]) -> Result<Phases> {
    let w = case.workers;
    let slices = split(data.len(), w);
    let for_exec = case.split.backend == Backend::Spawn;
    let t0 = mono_ns();
    let gate = Gate::create(w, for_exec)?;
    let biggest = slices.iter().map(|s| s.1).max().unwrap_or(0);
    let opts = LinkOpts {
        max_message_bytes: chunk_bytes::<C>().min(biggest * 8).max(8),
        slots: 1,
        for_exec,
    };
    let mut team = Team::new(case.split.backend);
    let mut ends: Vec<(C::Tx, C::Rx)> = Vec::with_capacity(w);
    let measured = (|| -> Result<(u64, u64)> {
        for (i, &(_, count)) in slices.iter().enumerate() {
            let (down_tx, down_rx) = C::link(opts)?;
            let (up_tx, up_rx) = C::link(opts)?;
            let job = CopyJob::<C> {
                gate: gate.clone(),
                index: i,
                rx: down_rx,
                tx: up_tx,
                buf: vec![0u64; count],
            };
            team.start(i, case.cpus[i], job)?;
            ends.push((down_tx, up_rx));
        }
        let watch = team.watch();
        for (tx, rx) in ends.iter_mut() {
            tx.watch(watch.clone());
            rx.watch(watch.clone());
        }
        for (&(start, count), (tx, _)) in slices.iter().zip(ends.iter_mut()) {
            send_slice(
                tx,
                as_bytes(&data[start..start + count]),
                chunk_bytes::<C>(),
            )?;
        }
        let (ready, last_end) = gate_phase(&gate, &team)?;
        for (&(start, count), (_, rx)) in slices.iter().zip(ends.iter_mut()) {
            recv_slice(
                rx,
                as_bytes_mut(&mut data[start..start + count]),
                chunk_bytes::<C>(),
            )?;
        }
        Ok((ready, last_end))
    })();
    drop(ends);
    let (ready, last_end) = match measured {
        Ok(m) => m,
        Err(e) => return Err(team.abort_at(&gate, e)),
    };
    team.join()?;
    let phases = Phases::from_marks(t0, ready, last_end, mono_ns());
    let _own = crate::sys::watchdog::own_work();
    verify(data, case.split)?;
    Ok(phases)
}

/// One timed, verified run of `case` over `data` (holding 0..E on entry).
pub fn run_once(case: &DpCase, data: &mut [u64]) -> Result<Phases> {
    match case.split.access {
        ArrayAccess::Heap | ArrayAccess::Shm => run_in_place(case, data),
        ArrayAccess::Sent(c) => crate::with_channel!(c, C => run_copy::<C>(case, data)),
    }
}

impl Case for DpCase {
    /// 10 ms, then per run (a round is `samples` of them) its workers,
    /// the input array filled (~3 ns an element) and each element written
    /// and checked: ~20 ns in place with threads, ~45 ns through shared
    /// memory or a channel. Measured on 2 vCPUs (quick's 4M elements, 3
    /// runs a round): fork 585 ms, spawn 534 ms, thread 219 ms a round;
    /// the guess before counted one run a round and read a third of that.
    fn expected_round(&self) -> std::time::Duration {
        let per = if self.split.backend == Backend::Thread { 20 } else { 45 };
        let run = super::member_setup(self.split.backend) * self.workers as u32
            + std::time::Duration::from_nanos((per + 3) * self.elements as u64);
        std::time::Duration::from_millis(10) + run * self.samples.max(1) as u32
    }

    fn workload(&self) -> Kind {
        Kind::DataParallel
    }

    fn backend(&self) -> Backend {
        self.split.backend
    }

    fn label(&self) -> String {
        format!(
            "data-parallel {} {} w={} e={}",
            self.split,
            self.placement,
            self.workers,
            mpmt_schema::units::fmt_count(self.elements as u64)
        )
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        memory_bytes(self.split, self.elements, self.workers)
    }

    /// `samples` runs, each verified. Each run gets a freshly allocated
    /// input array (filled outside the timed region), as the shared-memory
    /// variants get a fresh mapping: on this VM a long-lived 128 MiB buffer
    /// doubled ~30 % slower than a fresh one under the very same loop.
    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        let mut phases = Vec::with_capacity(self.samples);
        let mut slowest = std::time::Duration::ZERO;
        let mut spent = std::time::Duration::ZERO;
        while ctx.another(phases.len(), self.samples, spent) {
            if crate::sys::signal::interrupted() {
                return Err(Error::interrupted());
            }
            let mut data: Vec<u64> = {
                let _own = crate::sys::watchdog::own_work();
                (0..self.elements as u64).collect()
            };
            ctx.pace_run(self.memory_bytes(), slowest);
            let t = std::time::Instant::now();
            phases.push(run_once(self, &mut data)?);
            slowest = slowest.max(t.elapsed());
            spent += t.elapsed();
        }
        let mut rec = dp_record(self, &phases);
        if !ctx.count_events {
            return Ok(vec![rec]);
        }
        // The kernel's counts over one more run, the whole of it (every
        // phase is timed here), the counters on from before the first
        // worker starts: out of the timed runs, which their cost would
        // slow.
        let mut data: Vec<u64> = {
            let _own = crate::sys::watchdog::own_work();
            (0..self.elements as u64).collect()
        };
        ctx.pace_run(self.memory_bytes(), slowest);
        let phase = crate::measure::events::Phase::open(true);
        phase.begin();
        let counted = run_once(self, &mut data);
        phase.end();
        counted?;
        rec.checks.kernel = phase.per_op(self.elements as u64);
        Ok(vec![rec])
    }
}

fn dp_record(case: &DpCase, phases: &[Phases]) -> Record {
    let wall: Vec<f64> = phases.iter().map(|p| p.wall_ns()).collect();
    let med = |f: fn(&Phases) -> f64| summarize(&phases.iter().map(f).collect::<Vec<_>>()).median;
    let (setup, compute, teardown) = (
        med(|p| p.setup_ns),
        med(|p| p.compute_ns),
        med(|p| p.teardown_ns),
    );
    let wall_median = summarize(&wall).median;
    let e = case.elements as f64;
    record::build(Measured {
        workload: Kind::DataParallel,
        backend: case.split.backend,
        channel: case.split.channel(),
        variant: Some(mpmt_schema::Variant::Split(case.split)),
        placement: case.placement,
        cpus: case.cpus.clone(),
        workers: case.workers as u32,
        size_bytes: case.elements as u64 * 8,
        working_set_bytes: 0,
        metric: Metric::Wall,
        unit: Unit::Ns,
        ops_per_sample: 1,
        values: wall,
        setup_ns: setup as u64,
        checks: Checks {
            elements: Some(case.elements as u64),
            elements_verified: Some(case.elements as u64 * phases.len() as u64),
            compute_ns: Some(compute),
            teardown_ns: Some(teardown),
            elements_per_s: Some(e / (wall_median * 1e-9)),
            compute_elements_per_s: Some(e / (compute.max(1.0) * 1e-9)),
            bytes_per_s: Some(e * 8.0 / (wall_median * 1e-9)),
            ..Default::default()
        },
        switches: None,
    })
}

impl Workload for DataParallel {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[
            (ShmJob::NAME, crate::backend::run_remote::<ShmJob>),
            (COPY_JOB, run_copy_remote),
        ]
    }

    fn kind(&self) -> Kind {
        Kind::DataParallel
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        splits()
            .into_iter()
            .map(|split| {
                Box::new(DpCase {
                    split,
                    workers: 3,
                    elements: 4099,
                    placement: Placement::Os,
                    cpus: vec![None; 3],
                    samples: 1,
                }) as Box<dyn Case>
            })
            .collect()
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
    }

    #[test]
    fn variant_names_round_trip_and_classic_names_hold() {
        for v in splits() {
            assert_eq!(parse_split(&v.name()), Some(v), "{v}");
        }
        let classic: Vec<String> = Split::CLASSIC.iter().map(|v| v.name()).collect();
        assert_eq!(
            classic,
            [
                "thread-heap",
                "thread-shm",
                "fork-shm",
                "spawn-shm",
                "fork-pipe",
                "spawn-ipc-channel"
            ]
        );
        assert_eq!(parse_split("fork-heap"), None);
        assert_eq!(
            parse_split("thread-eventfd").map(|v| v.channel()),
            Some(Some(ChannelKind::Eventfd))
        );
    }

    #[test]
    fn chunks_cover_a_slice() {
        let c: Vec<_> = chunks(CHUNK_BYTES * 2 + 8, CHUNK_BYTES).collect();
        assert_eq!(
            c,
            vec![
                (0, CHUNK_BYTES),
                (CHUNK_BYTES, CHUNK_BYTES),
                (2 * CHUNK_BYTES, 8)
            ]
        );
        assert_eq!(chunks(0, CHUNK_BYTES).count(), 0);
        // A message queue's bound makes the chunk smaller, in whole u64s.
        use crate::channel::mq::{max_message_bytes, Mq};
        assert_eq!(
            chunk_bytes::<Mq>(),
            max_message_bytes().min(CHUNK_BYTES) / 8 * 8
        );
        assert_eq!(chunk_bytes::<crate::channel::fd::Pipe>(), CHUNK_BYTES);
    }

    #[test]
    fn thread_variants_run_and_verify() {
        for v in ["thread-heap", "thread-shm", "thread-pipe", "thread-heap"] {
            let case = DpCase {
                split: parse_split(v).unwrap(),
                workers: 3,
                elements: 1001,
                placement: Placement::Os,
                cpus: vec![None; 3],
                samples: 2,
            };
            let r = case.run(&Context::default()).unwrap();
            assert_eq!(r[0].checks.elements_verified, Some(2002), "{v}");
        }
    }
}
