//! messaging: many senders, many receivers, in hackbench's shape. G
//! groups, each of S senders and R receivers (20 × 20 by default, as
//! hackbench); every sender sends L messages of M bytes (100 × 100 B) to
//! every receiver of its group, in hackbench's order (for each loop, one
//! message to each receiver in turn). A receiver owns the reading end of
//! one pipe or AF_UNIX stream socketpair; every sender of its group writes
//! to the other end. One run is the wall time from the start gate opening
//! until the last receiver has all its S × L messages, verified.
//!
//! Verified: each message carries its sender and its sequence number in
//! an 8-byte header and a body that depends on both; a receiver checks
//! that every sender's messages arrive complete and in order. A message
//! of at most `PIPE_BUF` (4 KiB) bytes is written whole by one `write`
//! (a pipe guarantees it; an AF_UNIX stream queues one write as one
//! buffer), so messages from different senders never interleave, and a
//! receiver that reads exactly M bytes at a time stays on message
//! boundaries. Members are the same [`Job`] under every backend; each
//! counts its own context switches over its loop.
//! A member that is done holds at the gate until every member is, so no
//! exit lands inside the others' timed phase.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::{ExecFds, ChanError, ChannelKind};
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::events::Phase;
use crate::measure::record::{self, Measured, SwitchCounts};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::SharedMem;
use crate::sys::{self, Switches};
use mpmt_schema::{KernelEvents, Checks, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// The messaging workload.
pub struct Messaging;

/// The largest message: a pipe writes at most `PIPE_BUF` bytes atomically,
/// so larger messages from several senders could interleave.
pub const MAX_MESSAGE: usize = libc::PIPE_BUF;
/// The smallest: the header (sender, sequence number).
pub const MIN_MESSAGE: usize = 8;
/// The channels a receiver can be fed over by many senders.
pub const CHANNELS: [ChannelKind; 2] = [ChannelKind::Pipe, ChannelKind::UnixSocket];

/// One messaging case.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagingCase {
    pub backend: Backend,
    pub channel: ChannelKind,
    pub groups: usize,
    pub senders: usize,
    pub receivers: usize,
    /// Messages each sender sends to each receiver of its group.
    pub loops: u64,
    pub message_bytes: usize,
    pub placement: Placement,
    /// CPU of each member: group by group, its receivers then its senders.
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
}

impl MessagingCase {
    pub fn members(&self) -> usize {
        self.groups * (self.senders + self.receivers)
    }

    /// Messages every receiver gets in one run, over all groups.
    pub fn messages(&self) -> u64 {
        (self.groups * self.senders * self.receivers) as u64 * self.loops
    }
}

/// The byte at `i` of message `seq` from `sender` (the header aside).
#[inline(always)]
fn body_byte(sender: u32, seq: u32, i: usize) -> u8 {
    (sender.wrapping_mul(31) ^ seq.wrapping_mul(7)).wrapping_add(i as u32) as u8
}

fn fill(buf: &mut [u8], sender: u32, seq: u32) {
    buf[..4].copy_from_slice(&sender.to_le_bytes());
    buf[4..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf.iter_mut().enumerate().skip(MIN_MESSAGE) {
        *b = body_byte(sender, seq, i);
    }
}

/// The message's sender if it is the next one `next` expects from it.
fn check(buf: &[u8], next: &[u32]) -> Option<usize> {
    let sender = u32::from_le_bytes(buf[..4].try_into().ok()?);
    let seq = u32::from_le_bytes(buf[4..8].try_into().ok()?);
    let s = sender as usize;
    (s < next.len()
        && next[s] == seq
        && buf
            .iter()
            .enumerate()
            .skip(MIN_MESSAGE)
            .all(|(i, &b)| b == body_byte(sender, seq, i)))
    .then_some(s)
}

/// What one member does.
enum Role {
    /// Sender `index` of its group: writes to every receiver of the group.
    Sender { index: u32, to: Arc<Vec<OwnedFd>> },
    /// Reads every message of every sender of its group.
    Receiver { from: OwnedFd, senders: u32 },
}

/// One member: wait at the gate, send or receive, stamp the timed phase.
pub struct MessagingJob {
    gate: Gate,
    member: usize,
    role: Role,
    loops: u64,
    buf: Vec<u8>,
    /// Receiver: the next sequence number expected from each sender.
    next: Vec<u32>,
}

/// A member as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessagingRemote {
    gate: RemoteGate,
    member: u32,
    /// Sender: its index; receiver: None.
    sender: Option<u32>,
    /// Receiver: the senders of its group.
    senders: u32,
    fds: Vec<i32>,
    loops: u64,
    message_bytes: u64,
}

/// Writes all of `data` (one message: the kernel takes it whole).
fn write_all(fd: &OwnedFd, data: &[u8]) -> std::result::Result<(), Status> {
    let mut off = 0;
    while off < data.len() {
        let rest = &data[off..];
        // SAFETY: `rest` is a valid readable slice; `fd` is open.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n < 0 {
            match sys::errno() {
                libc::EINTR => match ChanError::halted() {
                    Some(e) => return Err(Status::Channel(e)),
                    None => continue,
                },
                libc::EPIPE | libc::ECONNRESET => return Err(Status::Channel(ChanError::Closed)),
                e => return Err(Status::Channel(ChanError::Os(e))),
            }
        }
        off += n as usize;
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes.
fn read_exact(fd: &OwnedFd, buf: &mut [u8]) -> std::result::Result<(), Status> {
    let mut got = 0;
    while got < buf.len() {
        let rest = &mut buf[got..];
        // SAFETY: `rest` is a valid writable slice; `fd` is open.
        let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
        if n < 0 {
            match sys::errno() {
                libc::EINTR => match ChanError::halted() {
                    Some(e) => return Err(Status::Channel(e)),
                    None => continue,
                },
                libc::ECONNRESET => return Err(Status::Channel(ChanError::Closed)),
                e => return Err(Status::Channel(ChanError::Os(e))),
            }
        }
        if n == 0 {
            return Err(Status::Channel(if got == 0 {
                ChanError::Closed
            } else {
                ChanError::Truncated
            }));
        }
        got += n as usize;
    }
    Ok(())
}

impl MessagingJob {
    /// The member's loop; returns the messages it sent or verified.
    fn work(&mut self) -> std::result::Result<u64, Status> {
        let mut done = 0u64;
        match &self.role {
            Role::Sender { index, to } => {
                for seq in 0..self.loops {
                    for fd in to.iter() {
                        fill(&mut self.buf, *index, seq as u32);
                        write_all(fd, &self.buf)?;
                        done += 1;
                    }
                }
            }
            Role::Receiver { from, senders } => {
                let total = self.loops * u64::from(*senders);
                while done < total {
                    read_exact(from, &mut self.buf)?;
                    let s = check(&self.buf, &self.next).ok_or(Status::Corrupt { op: done })?;
                    self.next[s] += 1;
                    done += 1;
                }
            }
        }
        Ok(done)
    }
}

impl Job for MessagingJob {
    const NAME: &'static str = "messaging";
    type Remote = MessagingRemote;

    fn run(mut self) -> Report {
        if self.gate.arrive().is_err() {
            return Report::failed(Status::GateNeverOpened);
        }
        let t = mono_ns();
        let start = Switches::now();
        let done = self.work();
        let end = mono_ns();
        let sw = Switches::now().since(start);
        match done {
            Err(s) => Report::failed(s),
            Ok(n) => {
                self.gate.finish(self.member, t, end);
                self.gate.hold();
                Report {
                    status: Status::Ok,
                    ops: n,
                    voluntary: sw.voluntary,
                    involuntary: sw.involuntary,
                }
            }
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<MessagingRemote> {
        let gate = RemoteGate::of(&self.gate, carry)?;
        let (sender, senders, fds) = match self.role {
            Role::Sender { index, to } => {
                let mut fds = Vec::with_capacity(to.len());
                for fd in to.iter() {
                    let dup = fd
                        .try_clone()
                        .map_err(|e| Error::io("duplicating a receiver's fd", e))?;
                    fds.push(carry.keep(dup));
                }
                (Some(index), 0, fds)
            }
            Role::Receiver { from, senders } => (None, senders, vec![carry.keep(from)]),
        };
        Ok(MessagingRemote {
            gate,
            member: self.member as u32,
            sender,
            senders,
            fds,
            loops: self.loops,
            message_bytes: self.buf.len() as u64,
        })
    }

    fn from_remote(r: MessagingRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        let mut fds = Vec::with_capacity(r.fds.len());
        for &n in &r.fds {
            fds.push(ExecFds::inherited(n).map_err(Status::Channel)?);
        }
        let role = match r.sender {
            Some(index) => Role::Sender {
                index,
                to: Arc::new(fds),
            },
            None => Role::Receiver {
                from: fds.pop().ok_or(Status::BadJob)?,
                senders: r.senders,
            },
        };
        Ok(MessagingJob {
            gate: r.gate.attach(true)?,
            member: r.member as usize,
            role,
            loops: r.loops,
            buf: vec![0u8; r.message_bytes as usize],
            next: vec![0; r.senders as usize],
        })
    }
}

/// One run: (wall ns from the gate opening to the last receiver's end,
/// switches of all members, messages verified).
pub fn run_once(case: &MessagingCase) -> Result<(u64, Switches, u64)> {
    run_counted(case, false).map(|(r, _)| r)
}

/// [`run_once`], and (`count`) the kernel's counts per message over its
/// timed phase.
pub fn run_counted(
    case: &MessagingCase,
    count: bool,
) -> Result<((u64, Switches, u64), KernelEvents)> {
    let n = case.members();
    let mem = SharedMem::new(gate_bytes(n), case.backend == Backend::Spawn)
        .map_err(|e| Error::io("mapping the start gate", e))?;
    let gate = Gate::new(Arc::new(mem), n)?;
    // Opened before the first member starts, so every one inherits it.
    let phase = Phase::open(count);
    let mut team = Team::new(case.backend);
    let started = (|| -> Result<()> {
        let mut member = 0;
        for _ in 0..case.groups {
            // Each receiver's channel: it reads one end, the group's
            // senders write the other.
            let mut writers = Vec::with_capacity(case.receivers);
            for _ in 0..case.receivers {
                let (r, w) = match case.channel {
                    ChannelKind::Pipe => sys::fd::pipe(),
                    _ => sys::fd::socketpair(),
                }
                .map_err(|e| Error::io("opening a receiver's channel", e))?;
                writers.push(w);
                let job = MessagingJob {
                    gate: gate.clone(),
                    member,
                    role: Role::Receiver {
                        from: r,
                        senders: case.senders as u32,
                    },
                    loops: case.loops,
                    buf: vec![0u8; case.message_bytes],
                    next: vec![0; case.senders],
                };
                team.start(member, case.cpus[member], job)?;
                member += 1;
            }
            let writers = Arc::new(writers);
            for s in 0..case.senders {
                let job = MessagingJob {
                    gate: gate.clone(),
                    member,
                    role: Role::Sender {
                        index: s as u32,
                        to: writers.clone(),
                    },
                    loops: case.loops,
                    buf: vec![0u8; case.message_bytes],
                    next: Vec::new(),
                };
                team.start(member, case.cpus[member], job)?;
                member += 1;
            }
            // The parent's own copies of the write ends close here; thread
            // senders hold theirs until they end.
        }
        Ok(())
    })();
    let timed = started.and_then(|()| {
        super::gated(&gate, &phase, &mut || team.check_alive()).map(|(ready, _)| ready)
    });
    let ready = match timed {
        Ok(r) => r,
        Err(e) => {
            phase.end();
            return Err(team.abort_at(&gate, e));
        }
    };
    let end = gate.last_end();
    let reports = team.join()?;
    let mut sw = Switches::default();
    let mut verified = 0;
    for (r, i) in reports.iter().zip(0..) {
        sw.voluntary += r.voluntary;
        sw.involuntary += r.involuntary;
        // Members are laid out group by group, receivers first.
        if i % (case.senders + case.receivers) < case.receivers {
            verified += r.ops;
        }
    }
    if verified != case.messages() {
        return Err(Error::Verify(format!(
            "messaging: receivers verified {verified} messages, {} were sent",
            case.messages()
        )));
    }
    Ok((
        (end.saturating_sub(ready), sw, verified),
        phase.per_op(case.messages()),
    ))
}

impl Case for MessagingCase {
    /// Its members, and every message at ~1 µs, per sample.
    fn expected_round(&self) -> std::time::Duration {
        (super::member_setup(self.backend) * self.members() as u32
            + std::time::Duration::from_micros(self.messages()))
            * self.samples as u32
    }

    fn workload(&self) -> Kind {
        Kind::Messaging
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        format!(
            "messaging {} {} {} g={} {}x{} {}x{}B",
            self.backend,
            self.channel,
            self.placement,
            self.groups,
            self.senders,
            self.receivers,
            self.loops,
            self.message_bytes
        )
    }

    fn workers(&self) -> usize {
        self.members()
    }

    fn memory_bytes(&self) -> u64 {
        // Buffers, the gate, and what the kernel queues (64 KiB a channel).
        (gate_bytes(self.members()) + self.members() * self.message_bytes) as u64
            + (self.groups * self.receivers) as u64 * (64 << 10)
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        // Before the first run, a generous guess: 20 µs per message.
        let guess = std::time::Duration::from_nanos(self.messages().saturating_mul(20_000));
        let (runs, counted) =
            ctx.runs_counted(self.samples, self.memory_bytes(), guess, |count| {
                run_counted(self, count)
            })?;
        let runs: Vec<(u64, Switches, u64)> = runs.into_iter().map(|(r, _)| r).collect();
        let walls: Vec<f64> = runs.iter().map(|r| r.0 as f64).collect();
        let sw = runs.iter().fold(Switches::default(), |a, r| Switches {
            voluntary: a.voluntary + r.1.voluntary,
            involuntary: a.involuntary + r.1.involuntary,
        });
        let verified: u64 = runs.iter().map(|r| r.2).sum();
        let msgs = (self.messages() * self.samples as u64).max(1) as f64;
        let median = mpmt_schema::summarize(&walls).median;
        Ok(vec![record::build(Measured {
            workload: Kind::Messaging,
            backend: self.backend,
            channel: Some(self.channel),
            variant: Some(mpmt_schema::Variant::Fanout {
                senders: self.senders as u32,
                receivers: self.receivers as u32,
            }),
            placement: self.placement,
            cpus: self.cpus.clone(),
            workers: self.members() as u32,
            size_bytes: self.message_bytes as u64,
            working_set_bytes: 0,
            metric: Metric::Wall,
            unit: Unit::Ns,
            ops_per_sample: self.messages(),
            values: walls,
            setup_ns: 0,
            checks: Checks {
                payload_verified: Some(true),
                messages_verified: Some(verified),
                groups: Some(self.groups as u64),
                loops: Some(self.loops),
                messages_per_s: Some(self.messages() as f64 / (median / 1e9)),
                kernel: counted.map(|c| c.1).unwrap_or_default(),
                ..Default::default()
            },
            switches: Some(SwitchCounts {
                voluntary: sw.voluntary as f64 / msgs,
                involuntary: sw.involuntary as f64 / msgs,
                expected: None,
                per: "message",
                blocking: true,
            }),
        })])
    }
}

impl Workload for Messaging {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[(
            MessagingJob::NAME,
            crate::backend::run_remote::<MessagingJob>,
        )]
    }

    fn kind(&self) -> Kind {
        Kind::Messaging
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &backend in Backend::ALL {
            for channel in CHANNELS {
                let c = MessagingCase {
                    backend,
                    channel,
                    groups: 2,
                    senders: 3,
                    receivers: 2,
                    loops: 20,
                    message_bytes: 100,
                    placement: Placement::Os,
                    cpus: vec![None; 10],
                    samples: 1,
                };
                v.push(Box::new(c));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_its_sender_and_is_checked_in_order() {
        let mut buf = vec![0u8; 100];
        fill(&mut buf, 2, 5);
        let mut next = vec![0u32, 0, 5];
        assert_eq!(check(&buf, &next), Some(2));
        next[2] = 4;
        assert_eq!(check(&buf, &next), None, "out of order");
        next[2] = 5;
        buf[50] ^= 1;
        assert_eq!(check(&buf, &next), None, "corrupt body");
        fill(&mut buf, 9, 0);
        assert_eq!(check(&buf, &next), None, "unknown sender");
    }

    #[test]
    fn threads_deliver_every_message_over_pipes_and_sockets() {
        for channel in CHANNELS {
            let c = MessagingCase {
                backend: Backend::Thread,
                channel,
                groups: 2,
                senders: 4,
                receivers: 3,
                loops: 50,
                message_bytes: 100,
                placement: Placement::Os,
                cpus: vec![None; 14],
                samples: 1,
            };
            let (wall, _, verified) = run_once(&c).unwrap();
            assert_eq!(verified, 2 * 4 * 3 * 50, "{channel}");
            assert!(wall > 0);
        }
    }
}
