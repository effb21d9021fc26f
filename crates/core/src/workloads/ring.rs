//! The ring engine shared by the ring workloads (ctx-switch, latency and
//! bandwidth, each a [`RingWorkload`] in its own file, which this one never
//! names): members 0..N joined by N unidirectional links of one channel kind. Member 0 is
//! the initiator (the calling thread, which times itself); members 1..N−1
//! run [`RingJob`] under any backend: receive message `i`, verify it, do the
//! role's work, pass a message on, until the in-band stop message arrives
//! (passed on, so the initiator knows every member finished).
//!
//! Members are started one at a time, each link created just before the
//! member that uses it; under `fork` the parent releases its copies right
//! after, so no process holds a stray copy of another member's end and a
//! member that dies is seen by its neighbour as EOF, never as silence.
//!
//! The responder loop allocates nothing for every channel but ipc-channel
//! (see its module), so a forked child may run it. Each member counts its
//! own context switches with `getrusage(RUSAGE_THREAD)` across its loop.

use super::{Case, Context};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::pattern::{self, SALT_LAST, SALT_REPLY, SALT_REQUEST};
use crate::channel::{
    caps, valid_for, ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx,
};
use crate::error::{Error, Result};
use crate::measure::record::{self, Measured, SwitchCounts};
use crate::measure::sampler::{run_batches, run_samples, SampleSpec, Sampled};
use crate::shm::SharedMem;
use crate::sys::signal::interrupted;
use crate::sys::{AffinityGuard, Switches};
use mpmt_schema::{summarize, Checks, Floor, Metric, Placement, Record, Unit, Variant, Workload};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Size of the ctx-switch token.
pub const TOKEN_BYTES: usize = 8;
/// Largest message whose hand-off has a fixed switch count (every channel
/// moves it in one piece).
pub const ONE_PIECE_BYTES: usize = 4096;
/// Warm-up of every ring case, before its samples.
const WARMUP: Duration = Duration::from_millis(5);
const WARMUP_OPS: u64 = 4;

/// What a member does with each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// latency: reply to request `i` with reply `i`.
    Echo { size: usize },
    /// bandwidth: consume chunk `i`; reply (with a short
    /// acknowledgement) only to the last chunk of a window and to stop.
    Sink { size: usize },
    /// bandwidth, transfer only: receive chunk `i`, check its header
    /// alone (the body is never written nor read); reply as `Sink`.
    Drain { size: usize },
    /// ctx-switch: sum the private working set, then pass token `i` on.
    Forward { size: usize },
}

impl Role {
    pub fn size(self) -> usize {
        match self {
            Role::Echo { size }
            | Role::Sink { size }
            | Role::Drain { size }
            | Role::Forward { size } => size,
        }
    }

    /// Bytes of each reply: a stream's acknowledgement is one header.
    pub fn reply_bytes(self) -> usize {
        match self {
            Role::Sink { .. } | Role::Drain { .. } => pattern::MIN_MESSAGE_BYTES,
            _ => self.size(),
        }
    }
}

/// Sums a working set as 64-bit words (reads every byte once). Never
/// inlined and not generic, so it is compiled once, in this crate: a
/// thread or forked member (running mpmt's code), a spawned one (running
/// mpmt-worker's) and the overhead measurement all run the same machine
/// code. Inlined into the generic responder loop, each binary compiled its
/// own copy, and the exec'd worker's summed a 1 MiB working set 3× faster.
#[inline(never)]
pub fn touch(ws: &[u8]) -> u64 {
    let mut acc = 0u64;
    let chunks = ws.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc = acc.wrapping_add(u64::from_le_bytes(w));
    }
    for &b in rem {
        acc = acc.wrapping_add(b as u64);
    }
    acc
}

enum Received {
    Next,
    /// The last chunk of a stream's window: acknowledge it.
    Last,
    Stop,
    Bad,
}

/// Serves `role` until the stop message (or an error).
pub fn serve<T: Tx, R: Rx>(role: Role, rx: &mut R, tx: &mut T, ws: &[u8]) -> Report {
    let size = role.size();
    let reply = role.reply_bytes();
    let start = Switches::now();
    let mut i = 0u64;
    let outcome: std::result::Result<(), Status> = loop {
        let got = rx.recv(size, |m| {
            let is = |salt| match role {
                Role::Drain { .. } => pattern::header_is(m, i, salt),
                _ => pattern::verify(m, i, salt),
            };
            if pattern::is_stop(m) {
                Received::Stop
            } else if is(SALT_REQUEST) {
                Received::Next
            } else if matches!(role, Role::Sink { .. } | Role::Drain { .. }) && is(SALT_LAST) {
                Received::Last
            } else {
                Received::Bad
            }
        });
        let sent = match got {
            Err(e) => break Err(Status::Channel(e)),
            Ok(Received::Bad) => break Err(Status::Corrupt { op: i }),
            Ok(Received::Last) => tx.send(reply, |b| pattern::fill(b, i, SALT_REPLY)),
            Ok(Received::Stop) => match tx.send(reply, pattern::fill_stop) {
                Ok(()) => break Ok(()),
                Err(e) => break Err(Status::Channel(e)),
            },
            Ok(Received::Next) => match role {
                Role::Echo { .. } => tx.send(size, |b| pattern::fill(b, i, SALT_REPLY)),
                Role::Sink { .. } | Role::Drain { .. } => Ok(()),
                Role::Forward { .. } => {
                    std::hint::black_box(touch(ws));
                    tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))
                }
            },
        };
        if let Err(e) = sent {
            break Err(Status::Channel(e));
        }
        i += 1;
        if interrupted() {
            break Err(Status::Channel(ChanError::Interrupted));
        }
    };
    let sw = Switches::now().since(start);
    Report {
        status: outcome.err().unwrap_or(Status::Ok),
        ops: i,
        voluntary: sw.voluntary,
        involuntary: sw.involuntary,
    }
}

/// The bytes a ctx-switch member sums before passing the token.
pub enum WorkingSet {
    /// Its own buffer: allocated by the parent (zeroed pages, not yet
    /// touched), written by the member so the pages are its own.
    Private(Vec<u8>),
    /// One buffer every member (and the initiator) sums, in a shared
    /// mapping: the same physical bytes for threads and processes, so the
    /// cache footprint does not grow with the ring and a process switch
    /// differs from a thread switch only by the address space.
    Shared(Arc<SharedMem>),
}

impl WorkingSet {
    pub fn bytes(&self) -> &[u8] {
        match self {
            WorkingSet::Private(v) => v,
            WorkingSet::Shared(m) => m.bytes(),
        }
    }
}

/// One ring member: its two ends, its role and its working set.
pub struct RingJob<C: Channel> {
    pub role: Role,
    pub rx: C::Rx,
    pub tx: C::Tx,
    pub ws: WorkingSet,
}

/// A ring member as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct RingRemote {
    pub channel: ChannelKind,
    pub role: Role,
    pub working_set: u64,
    /// A shared working set: the memfd's number in the carry.
    #[serde(default)]
    pub shared_ws: Option<i32>,
    pub rx: RemoteEnd,
    pub tx: RemoteEnd,
}

impl<C: Channel> Job for RingJob<C> {
    const NAME: &'static str = "ring";
    type Remote = RingRemote;

    fn run(mut self) -> Report {
        if let WorkingSet::Private(v) = &mut self.ws {
            v.fill(1);
        }
        serve(self.role, &mut self.rx, &mut self.tx, self.ws.bytes())
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<RingRemote> {
        let shared_ws = match &self.ws {
            WorkingSet::Private(_) => None,
            WorkingSet::Shared(m) => {
                let fd = m
                    .memfd()
                    .ok_or_else(|| Error::Setup("the shared working set has no memfd".into()))?
                    .try_clone()
                    .map_err(|e| Error::io("duplicating the working set's memfd", e))?;
                Some(carry.keep(fd))
            }
        };
        Ok(RingRemote {
            channel: C::KIND,
            role: self.role,
            working_set: self.ws.bytes().len() as u64,
            shared_ws,
            rx: self.rx.into_remote(carry)?,
            tx: self.tx.into_remote(carry)?,
        })
    }

    fn from_remote(r: RingRemote, carry: &mut ExecFds) -> std::result::Result<Self, Status> {
        let rx = C::Rx::from_remote(r.rx, carry).map_err(Status::Channel)?;
        let tx = C::Tx::from_remote(r.tx, carry).map_err(Status::Channel)?;
        let ws = match r.shared_ws {
            None => WorkingSet::Private(vec![0u8; r.working_set as usize]),
            Some(n) => {
                let fd = ExecFds::inherited(n).map_err(Status::Channel)?;
                let m = SharedMem::attach(fd, r.working_set as usize, true)
                    .map_err(|e| Status::setup(&e))?;
                WorkingSet::Shared(Arc::new(m))
            }
        };
        Ok(RingJob {
            role: r.role,
            rx,
            tx,
            ws,
        })
    }

    fn release(self) {
        self.rx.release();
        self.tx.release();
    }
}

/// The registry entry for ring members: the channel is in the description.
pub fn run_remote(body: &str, carry: &mut ExecFds) -> Report {
    let channel = match serde_json::from_str::<RingRemote>(body) {
        Ok(r) => r.channel,
        Err(_) => return Report::failed(Status::BadJob),
    };
    crate::with_channel!(channel, C => crate::backend::run_remote::<RingJob<C>>(body, carry))
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    pub backend: Backend,
    /// Ring size including the initiator (≥ 2).
    pub members: usize,
    pub role: Role,
    /// CPU of each member (index 0 is the initiator); None = unpinned.
    pub cpus: Vec<Option<u32>>,
    pub opts: LinkOpts,
    /// Bytes of private working set each member sums per message.
    pub working_set: usize,
    /// Or the one buffer every member sums (ctx-switch, shared variant).
    pub shared_ws: Option<Arc<SharedMem>>,
}

/// Starts members 1..N. Returns the initiator's ends (the sender to
/// member 1, the receiver from member N−1) and the team.
pub fn launch<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Team)> {
    if l.members < 2 || l.cpus.len() != l.members {
        return Err(Error::Setup(format!(
            "a ring needs at least 2 members and one CPU entry each (got {} members, {} CPU entries)",
            l.members,
            l.cpus.len()
        )));
    }
    let opts = LinkOpts {
        for_exec: l.backend == Backend::Spawn,
        ..l.opts
    };
    let (mut my_tx, mut prev_rx) = C::link(opts)?;
    let mut team = Team::new(l.backend);
    for j in 1..l.members {
        let (tx_j, rx_j) = C::link(opts)?;
        let job = RingJob::<C> {
            role: l.role,
            rx: prev_rx,
            tx: tx_j,
            ws: match &l.shared_ws {
                Some(m) => WorkingSet::Shared(m.clone()),
                None => WorkingSet::Private(vec![0u8; l.working_set]),
            },
        };
        team.start(j, l.cpus[j], job)?;
        prev_rx = rx_j;
    }
    let watch = team.watch();
    my_tx.watch(watch.clone());
    prev_rx.watch(watch);
    Ok((my_tx, prev_rx, team))
}

/// Sends the stop message and waits for it to come back round (as a
/// message of `reply` bytes).
pub fn stop<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, reply: usize) -> Result<()> {
    tx.send(size, pattern::fill_stop)?;
    if !rx.recv(reply, pattern::is_stop)? {
        return Err(Error::Corrupt {
            op: u64::MAX,
            who: "the initiator (stop)",
        });
    }
    Ok(())
}

/// Why `channel` cannot be used by `workload` with this backend and
/// placement, if it cannot. Derived from the channel's capabilities.
pub fn check_combination(
    workload: Workload,
    backend: Backend,
    channel: ChannelKind,
    placement: Placement,
) -> std::result::Result<(), String> {
    let names = |v: Vec<ChannelKind>| v.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    if !valid_for(backend, channel) {
        return Err(format!(
            "channel `{channel}` cannot be used with backend `{backend}`: it is shared only by threads of one process. Valid channels for {backend}: {}",
            names(crate::channel::channels_for(backend))
        ));
    }
    let c = caps(channel);
    if shape_of(workload).is_some_and(|w| w.needs_blocking()) && !c.blocks {
        let valid = crate::channel::channels_for(backend)
            .into_iter()
            .filter(|&k| caps(k).blocks)
            .collect();
        return Err(format!(
            "channel `{channel}` cannot be used with workload `{workload}`: a spinning receiver never gives up its CPU, so there is no switch to measure. Valid channels for {workload} with {backend}: {}",
            names(valid)
        ));
    }
    if !c.blocks && placement == Placement::SameCpu {
        return Err(format!(
            "channel `{channel}` with placement `same-cpu` is refused: a spinner and its peer on one CPU measure the scheduler's time slice, not communication. Use --placement cross-cpu, or a blocking channel such as shm-futex"
        ));
    }
    Ok(())
}

/// One case of a ring workload, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RingCase {
    pub workload: Workload,
    pub backend: Backend,
    pub channel: ChannelKind,
    pub placement: Placement,
    /// CPU of each member (0 = initiator).
    pub cpus: Vec<Option<u32>>,
    /// Ring members including the initiator.
    pub workers: usize,
    /// Message / chunk bytes (ctx-switch: the token).
    pub size_bytes: usize,
    pub working_set_bytes: usize,
    /// ctx-switch: every member sums one shared buffer instead of its own.
    pub shared_ws: bool,
    /// latency over every CPU pair: this case's (from, to) CPUs, recorded
    /// as the variant `pair <from>-<to>`.
    pub pair: Option<(u32, u32)>,
    pub samples: usize,
    /// bandwidth: send untouched buffers and check only their headers,
    /// so the stream measures the transfer alone (channels that copy).
    pub transfer_only: bool,
}

impl RingCase {
    /// The ring workload this case measures.
    pub fn shape(&self) -> &'static dyn RingWorkload {
        shape_of(self.workload).expect("a ring case's workload is a ring workload")
    }

    fn message_bytes(&self) -> usize {
        self.shape().message_bytes(self.size_bytes)
    }

    /// Whether every message crosses a channel in one piece, so the switch
    /// count of one operation is fixed. A message larger than a page may
    /// cross in pieces (a pipe holds 64 KiB, a socket its buffer), each
    /// piece its own hand-off.
    pub fn one_piece(&self) -> bool {
        self.message_bytes() <= ONE_PIECE_BYTES
    }
}

/// The ring workload of kind `w`, if it is one (found in the registry:
/// the engine names none of them).
pub fn shape_of(w: Workload) -> Option<&'static dyn RingWorkload> {
    super::REGISTRY
        .iter()
        .find(|r| r.kind() == w)
        .and_then(|r| r.ring())
}

/// What one ring workload's record says: its metric, unit and values, and
/// how its switch counts read.
pub struct Figures {
    pub metric: Metric,
    pub unit: Unit,
    pub values: Vec<f64>,
    /// What one value is, for the switch counts ("hop", "operation").
    pub per: &'static str,
    /// Hops in one operation (the switch counts are per hop).
    pub hops_per_op: f64,
    /// Switches one operation is expected to take, when fixed.
    pub expected_switches: Option<f64>,
}

/// Everything that differs between the ring workloads, so the engine
/// names none of them: a ring workload implements this, says so through
/// [`super::Workload::ring`], and its file alone holds its rules.
pub trait RingWorkload: Sync {
    /// Messages each link may hold in flight.
    fn slots(&self) -> usize {
        1
    }
    /// Bytes of each message, for a case of `size_bytes`.
    fn message_bytes(&self, size_bytes: usize) -> usize {
        size_bytes
    }
    /// What members do with each message.
    fn role(&self, case: &RingCase) -> Role;
    /// Whether the channel must block (a spinning receiver never switches).
    fn needs_blocking(&self) -> bool {
        false
    }
    /// Whether the no-switch overhead (one thread, a loopback link, the
    /// same working-set sum) is measured first and subtracted.
    fn subtracts_overhead(&self) -> bool {
        false
    }
    /// Whether a memcpy of one message is the floor the figure is read
    /// against.
    fn memcpy_floor(&self) -> bool {
        false
    }
    /// Whether the initiator streams: each sample is one window of
    /// chunks, at least [`STREAM_CAPACITIES`] × the channel's capacity,
    /// ending when the receiver acknowledges the last (the channel's
    /// capacity is measured first and recorded).
    fn streams(&self) -> bool {
        false
    }
    /// The two CPUs between which a cache-line round trip is measured
    /// just before each round's members start and just after they end
    /// ([`Beside::line_floor`]), if the figure is read against it.
    fn line_floor_cpus(&self, _case: &RingCase) -> Option<(u32, u32)> {
        None
    }
    /// The case's label after `<workload> <backend> <channel> <placement>`.
    fn label_tail(&self, case: &RingCase) -> String;
    /// Measures `case` (every channel): [`measure`] with this workload's
    /// initiator operation.
    fn measure(&self, case: &RingCase, ctx: &Context) -> Result<Record>;
    /// The record's figures from the samples and what was measured
    /// beside them; may fill in `checks`.
    fn figures(
        &self,
        case: &RingCase,
        s: &Sampled,
        beside: &Beside,
        checks: &mut Checks,
    ) -> Figures;
}

impl Case for RingCase {
    /// A round measures at least 20 ms after its members start: a ring of
    /// switches or round trips (a 1 MiB trip is two copies at ~4 GB/s),
    /// or a stream's windows of 20 ms each and about two of warm-up.
    fn expected_round(&self) -> std::time::Duration {
        use std::time::Duration;
        let min = Duration::from_millis(20);
        let setup = super::member_setup(self.backend) * self.workers as u32;
        let trip = |size: usize| Duration::from_nanos(10_000 + size as u64 / 2);
        let measuring = match self.workload {
            Workload::Bandwidth => min.mul_f64(self.samples as f64 + 2.0),
            Workload::Latency => (trip(self.size_bytes) * self.samples as u32).max(min),
            _ => min + Duration::from_millis(12),
        };
        let floors = match self.shape().line_floor_cpus(self) {
            Some(_) => 2 * crate::measure::floors::paired_line_floor_expected(),
            None => Duration::ZERO,
        };
        setup + measuring + floors
    }

    fn workload(&self) -> Workload {
        self.workload
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        let mut s = format!(
            "{} {} {} {} {}",
            self.workload,
            self.backend,
            self.channel,
            self.placement,
            self.shape().label_tail(self)
        );
        if self.transfer_only {
            s += " transfer-only";
        }
        if let Some((a, b)) = self.pair {
            s += &format!(" cpu {a}→{b}");
        }
        s
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        let links = self.workers as u64;
        let per_link =
            crate::channel::link_bytes(self.channel, self.message_bytes(), self.shape().slots());
        links * per_link + self.workers as u64 * self.working_set_bytes as u64
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        Ok(vec![self.shape().measure(self, ctx)?])
    }

    fn memcpy_sizes(&self) -> Vec<u64> {
        match self.shape().memcpy_floor() {
            true => vec![self.message_bytes() as u64],
            false => Vec::new(),
        }
    }
}

/// What the initiator does for one measured operation.
pub trait InitiatorOp {
    /// Batches samples to at least this long (ctx-switch: per-round spread
    /// is not the question); zero times single operations where the clock
    /// allows, to keep the tail.
    const MIN_SAMPLE: Duration;
    fn op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, ws: &[u8], i: u64) -> Result<()>;
    /// Operations `first..first + n`, returning when all are done (a
    /// stream: when the receiver has acknowledged the last). One sample
    /// times exactly one call.
    fn batch<T: Tx, R: Rx>(
        tx: &mut T,
        rx: &mut R,
        size: usize,
        ws: &[u8],
        first: u64,
        n: u64,
    ) -> Result<()> {
        for i in first..first + n {
            Self::op(tx, rx, size, ws, i)?;
        }
        Ok(())
    }
}

/// A stream's window holds at least this many times the channel's
/// capacity, so the bytes buffered when the clock starts or stops are a
/// small share of the bytes timed.
pub const STREAM_CAPACITIES: u64 = 64;

fn spec<O: InitiatorOp>(case: &RingCase, ctx: &Context) -> SampleSpec {
    SampleSpec {
        samples: case.samples,
        warmup: WARMUP,
        warmup_ops: WARMUP_OPS,
        min_sample: O::MIN_SAMPLE,
        clock_ns: ctx.clock_ns,
        deadline: ctx.deadline,
        min_time: ctx.min_round_time,
    }
}

/// The ctx-switch overhead: one thread doing a hop to itself on a loopback
/// link of the same channel, with the same working-set sum. Median ns.
fn hop_overhead<C: Channel, O: InitiatorOp>(
    opts: LinkOpts,
    size: usize,
    ws: &[u8],
    spec: &SampleSpec,
) -> Result<f64> {
    let (mut tx, mut rx) = C::link(opts)?;
    let s = run_samples(spec, |i| O::op(&mut tx, &mut rx, size, ws, i))?;
    Ok(summarize(&s.per_op_ns).median)
}

/// Fewest and most initiator operations the counted pass runs (a stream
/// runs at least its window): a per-op rate to three digits, in a few
/// milliseconds.
const COUNTED_OPS_MIN: u64 = 200;
const COUNTED_OPS_MAX: u64 = 1000;

/// One pass of `n` operations with fresh members and the kernel's
/// counters on (opened before the members start, so they inherit them;
/// on over the `n` operations only, after a quarter as many to warm up). Returns
/// the counts per initiator operation.
fn counted<C: Channel, O: InitiatorOp>(
    members: &Launch,
    size: usize,
    ws: &[u8],
    n: u64,
) -> Result<mpmt_schema::KernelEvents> {
    let phase = crate::measure::events::Phase::open(true);
    let (mut tx, mut rx, team) = launch::<C>(members)?;
    let ran = (|| -> Result<()> {
        let warm = (n / 4).max(1);
        O::batch(&mut tx, &mut rx, size, ws, 0, warm)?;
        phase.begin();
        let r = O::batch(&mut tx, &mut rx, size, ws, warm, n);
        phase.end();
        r?;
        stop(&mut tx, &mut rx, size, members.role.reply_bytes())
    })();
    drop(tx);
    drop(rx);
    if let Err(e) = ran {
        return Err(team.abort(e));
    }
    team.join()?;
    Ok(phase.per_op(n))
}

/// Measures one ring case over channel `C`, the initiator doing `O` per
/// operation: the engine every ring workload's [`RingWorkload::measure`]
/// calls.
pub fn measure<C: Channel, O: InitiatorOp>(case: &RingCase, ctx: &Context) -> Result<Record> {
    let shape = case.shape();
    let size = case.message_bytes();
    let opts = LinkOpts {
        max_message_bytes: size,
        slots: shape.slots(),
        for_exec: false,
    };
    let spec = spec::<O>(case, ctx);
    let _pin = AffinityGuard::pin(case.cpus[0]).map_err(|e| {
        Error::io(
            format!("pinning the initiator to CPU {:?}", case.cpus[0]),
            e,
        )
    })?;
    // The working set the initiator sums (and the overhead measures): its
    // own, or the one every member shares.
    let shared = match (case.shared_ws, case.working_set_bytes) {
        (true, n) if n > 0 => {
            let m = SharedMem::new(n, case.backend == Backend::Spawn)
                .map_err(|e| Error::io("mapping the shared working set", e))?;
            // SAFETY: the mapping is n bytes, ours alone until members start.
            unsafe { std::ptr::write_bytes(m.as_ptr(), 1, n) };
            Some(Arc::new(m))
        }
        _ => None,
    };
    let private = match &shared {
        Some(_) => Vec::new(),
        None => vec![1u8; case.working_set_bytes],
    };
    let ws: &[u8] = match &shared {
        Some(m) => m.bytes(),
        None => &private,
    };
    // The overhead is one thread alone: no hand-off to be unlucky with, so
    // the planned samples suffice.
    let alone = SampleSpec {
        min_time: Duration::ZERO,
        ..spec
    };
    let overhead = match shape.subtracts_overhead() {
        true => Some(hop_overhead::<C, O>(opts, size, ws, &alone)?),
        false => None,
    };
    // What a plain copy of one chunk reaches, at this chunk size (a 64 KiB
    // chunk stays in cache, a 16 MiB one does not): the run's floor at
    // this size, measured before the cases (or here, outside a run).
    let memcpy = match shape.memcpy_floor() {
        true => Some(
            mpmt_schema::SizedFloor::at(&ctx.memcpy_at, size as u64)
                .cloned()
                .unwrap_or_else(|| crate::measure::floors::memcpy_floor_at(size)),
        ),
        false => None,
    };
    // A stream's window is sized by what the channel buffers.
    let capacity = match shape.streams() {
        true => Some(
            crate::channel::capacity::capacity(C::KIND, size, shape.slots()).map_err(
                |e| match e {
                    ChanError::Interrupted => Error::interrupted(),
                    e => Error::Setup(format!(
                        "measuring how many bytes a {} link holds in flight: {e}",
                        C::KIND
                    )),
                },
            )?,
        ),
        false => None,
    };
    let min_batch = capacity
        .map(|c| (STREAM_CAPACITIES * c).div_ceil(size as u64).max(1))
        .unwrap_or(1);
    let role = shape.role(case);

    // The line floor beside this round, before its members start (a
    // spinning member would hold the CPU the floor's echo needs).
    let paired = |(a, b): (u32, u32)| crate::measure::floors::paired_line_floor_ns(a, b);
    let line_cpus = shape.line_floor_cpus(case);
    let floor_before = line_cpus.map(paired).transpose()?;

    let members = Launch {
        backend: case.backend,
        members: case.workers,
        role,
        cpus: case.cpus.clone(),
        opts,
        working_set: case.working_set_bytes,
        shared_ws: shared.clone(),
    };
    let t0 = Instant::now();
    let (mut tx, mut rx, team) = launch::<C>(&members)?;
    let setup_ns = t0.elapsed().as_nanos() as u64;

    let measured = (|| -> Result<Sampled> {
        let s = run_batches(&spec, min_batch, |first, n| {
            O::batch(&mut tx, &mut rx, size, ws, first, n)
        })?;
        stop(&mut tx, &mut rx, size, role.reply_bytes())?;
        Ok(s)
    })();
    drop(tx);
    drop(rx);
    let sampled = match measured {
        Ok(s) => s,
        Err(e) => return Err(team.abort(e)),
    };
    let reports = team.join()?;
    let floor_after = line_cpus.map(paired).transpose()?;
    let line_floor = floor_before.zip(floor_after).map(|(b, a)| (b + a) / 2.0);
    // The kernel's counts, over a pass of its own with fresh members:
    // the counters cost something at every switch of a counted task, so
    // they stay out of the timed samples above.
    let counted_ops = sampled
        .ops_per_sample
        .clamp(COUNTED_OPS_MIN, COUNTED_OPS_MAX)
        .max(min_batch);
    let kernel = match ctx.count_events {
        true => counted::<C, O>(&members, size, ws, counted_ops)?,
        false => Default::default(),
    };
    let beside = Beside {
        overhead,
        memcpy,
        capacity,
        kernel,
        line_floor,
    };
    Ok(ring_record(case, &sampled, &reports, &beside, setup_ns))
}

/// What the engine measured beside a case's samples, for
/// [`RingWorkload::figures`].
pub struct Beside {
    /// The no-switch overhead ([`RingWorkload::subtracts_overhead`]).
    pub overhead: Option<f64>,
    /// memcpy at the message size ([`RingWorkload::memcpy_floor`]).
    pub memcpy: Option<Floor>,
    /// Bytes the channel holds in flight ([`RingWorkload::streams`]).
    pub capacity: Option<u64>,
    /// The kernel's counts per initiator operation, from the counted pass.
    pub kernel: mpmt_schema::KernelEvents,
    /// The cache-line round trip between the case's two CPUs, the mean
    /// of one block just before the round's members started and one just
    /// after they ended ([`RingWorkload::line_floor_cpus`]).
    pub line_floor: Option<f64>,
}

fn ring_record(
    case: &RingCase,
    s: &Sampled,
    reports: &[Report],
    beside: &Beside,
    setup_ns: u64,
) -> Record {
    let rounds = s.measured_ops().max(1) as f64;
    let mut vol = s.switches.voluntary as f64 / rounds;
    let mut invol = s.switches.involuntary as f64 / rounds;
    for r in reports {
        let ops = r.ops.max(1) as f64;
        vol += r.voluntary as f64 / ops;
        invol += r.involuntary as f64 / ops;
    }
    let mut checks = Checks {
        payload_verified: Some(true),
        // Every member verified every message it received.
        messages_verified: Some(s.ops_total + reports.iter().map(|r| r.ops).sum::<u64>()),
        ..Default::default()
    };
    let f = case.shape().figures(case, s, beside, &mut checks);
    // Per the record's unit (a hop, for ctx-switch), as its figure is.
    checks.kernel = beside.kernel.scaled(1.0 / f.hops_per_op.max(1.0));
    record::build(Measured {
        workload: case.workload,
        backend: case.backend,
        channel: Some(case.channel),
        variant: if case.transfer_only {
            Some(Variant::TransferOnly)
        } else if let Some((a, b)) = case.pair {
            Some(Variant::Pair(a, b))
        } else if case.shared_ws {
            Some(Variant::SharedWs)
        } else {
            None
        },
        placement: case.placement,
        cpus: case.cpus.clone(),
        workers: case.workers as u32,
        size_bytes: case.message_bytes() as u64,
        working_set_bytes: case.working_set_bytes as u64,
        metric: f.metric,
        unit: f.unit,
        ops_per_sample: s.ops_per_sample,
        values: f.values,
        setup_ns,
        checks,
        switches: Some(SwitchCounts {
            voluntary: vol / f.hops_per_op,
            involuntary: invol / f.hops_per_op,
            expected: f.expected_switches,
            per: f.per,
            blocking: caps(case.channel).blocks,
        }),
    })
}

/// Tiny cases of a ring workload: every valid backend × channel, unpinned,
/// a few samples (the conformance suite's share of this workload).
pub fn tiny_cases(workload: Workload, size_bytes: usize, workers: usize) -> Vec<Box<dyn Case>> {
    boxed(tiny_rings(workload, size_bytes, workers))
}

/// Ring cases as cases.
pub fn boxed(v: Vec<RingCase>) -> Vec<Box<dyn Case>> {
    v.into_iter()
        .map(|r| Box::new(r) as Box<dyn Case>)
        .collect()
}

/// Tiny ring cases of `workload`: every valid backend × channel,
/// unpinned, a few samples, no working set.
pub fn tiny_rings(workload: Workload, size_bytes: usize, workers: usize) -> Vec<RingCase> {
    let mut v = Vec::new();
    for &backend in Backend::ALL {
        for channel in crate::channel::channels_for(backend) {
            if check_combination(workload, backend, channel, Placement::Os).is_err() {
                continue;
            }
            if caps(channel).max_message.is_some_and(|m| size_bytes > m) {
                continue;
            }
            v.push(RingCase {
                workload,
                backend,
                channel,
                placement: Placement::Os,
                cpus: vec![None; workers],
                workers,
                size_bytes,
                working_set_bytes: 0,
                shared_ws: false,
                samples: 3,
                transfer_only: false,
                pair: None,
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_sums_words_and_tail() {
        let mut v = vec![0u8; 17];
        v[0] = 1;
        v[8] = 2;
        v[16] = 5;
        assert_eq!(touch(&v), 8);
    }

    #[test]
    fn heap_is_threads_only() {
        let e = check_combination(
            Workload::Latency,
            Backend::Fork,
            ChannelKind::Heap,
            Placement::SameCpu,
        )
        .unwrap_err();
        let fork: Vec<&str> = crate::channel::channels_for(Backend::Fork)
            .iter()
            .map(|c| c.name())
            .collect();
        assert!(!fork.contains(&"heap"));
        assert!(
            e.contains(&format!("Valid channels for fork: {}", fork.join(", "))),
            "{e}"
        );
        assert!(check_combination(
            Workload::Latency,
            Backend::Thread,
            ChannelKind::Heap,
            Placement::SameCpu
        )
        .is_ok());
    }

    #[test]
    fn spin_same_cpu_refused_with_reason() {
        let e = check_combination(
            Workload::Latency,
            Backend::Thread,
            ChannelKind::ShmSpin,
            Placement::SameCpu,
        )
        .unwrap_err();
        assert!(e.contains("time slice"), "{e}");
    }

    #[test]
    fn ctx_switch_needs_blocking_channels() {
        let e = check_combination(
            Workload::CtxSwitch,
            Backend::Spawn,
            ChannelKind::ShmSpin,
            Placement::CrossCpu,
        )
        .unwrap_err();
        let blocking: Vec<&str> = crate::channel::channels_for(Backend::Spawn)
            .into_iter()
            .filter(|&c| caps(c).blocks)
            .map(|c| c.name())
            .collect();
        assert!(blocking.contains(&"pipe") && !blocking.contains(&"shm-spin"));
        assert!(e.contains(&blocking.join(", ")), "{e}");
        assert!(!e.contains("heap"), "{e}");
    }
}
