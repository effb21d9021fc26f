//! bandwidth: a one-way stream of M-byte chunks from the initiator to one
//! member, two chunks in flight. A sample is one window of chunks, at
//! least [`ring::STREAM_CAPACITIES`] × what the channel buffers and
//! sized for at least 20 ms (the sampler grows a window that fell short),
//! timed from the first write until the receiver has read
//! (and checked) the last chunk and said so: the figure is the window's
//! bytes over its time, so a write that returns once the kernel holds the
//! chunk is never timed alone. Two figures: *touched*, each chunk written
//! by the sender and verified by the receiver (what a program that
//! produces and consumes its data sees), and, over channels whose kernel
//! copies the bytes, *transfer-only*, untouched buffers with only their
//! 8-byte header written and checked (lmbench's bw_pipe). Both in bytes/s
//! and against memcpy of the same chunk size, once per pass the stream
//! makes over each chunk.

use super::ring::{self, Beside, Figures, InitiatorOp, RingCase, RingWorkload, Role};
use super::{Case, Context, Workload};
use crate::channel::pattern::{self, SALT_LAST, SALT_REPLY, SALT_REQUEST};
use crate::channel::{caps, Rx, Tx};
use crate::error::{Error, Result};
use crate::measure::sampler::Sampled;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{memcpy_reading, summarize, Checks, Metric, Record, Unit, Workload as Kind};
use std::time::Duration;

/// The bandwidth workload.
pub struct Bandwidth;

/// The least time one window (one sample) streams.
pub const MIN_WINDOW: Duration = Duration::from_millis(20);

/// A stream of chunks; `TOUCH`: each written whole (else its header only).
pub struct Stream<const TOUCH: bool>;

impl<const TOUCH: bool> Stream<TOUCH> {
    fn write(b: &mut [u8], i: u64, salt: u64) {
        match TOUCH {
            true => pattern::fill(b, i, salt),
            false => pattern::fill_header(b, i, salt),
        }
    }
}

impl<const TOUCH: bool> InitiatorOp for Stream<TOUCH> {
    const MIN_SAMPLE: Duration = MIN_WINDOW;

    /// A window of one chunk.
    fn op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, ws: &[u8], i: u64) -> Result<()> {
        Self::batch(tx, rx, size, ws, i, 1)
    }

    /// Chunks `first..first + n`, the last marked for acknowledgement;
    /// returns once the receiver's acknowledgement of it has arrived.
    fn batch<T: Tx, R: Rx>(
        tx: &mut T,
        rx: &mut R,
        size: usize,
        _ws: &[u8],
        first: u64,
        n: u64,
    ) -> Result<()> {
        let last = first + n.max(1) - 1;
        for i in first..last {
            tx.send(size, |b| Self::write(b, i, SALT_REQUEST))?;
        }
        tx.send(size, |b| Self::write(b, last, SALT_LAST))?;
        let ack = pattern::MIN_MESSAGE_BYTES;
        if !rx.recv(ack, |m| pattern::verify(m, last, SALT_REPLY))? {
            return Err(Error::Corrupt {
                op: last,
                who: "the initiator (a window's acknowledgement)",
            });
        }
        Ok(())
    }
}

/// Passes over each chunk a stream makes, each read as one memcpy of it:
/// a kernel channel copies it in and out (2), and a touched stream's fill
/// and verify are one more write and read (1). Shared memory is written
/// and read in place: its touched stream is that one pass alone.
pub fn memcpy_copies(case: &RingCase) -> u32 {
    let kernel = if caps(case.channel).copies { 2 } else { 0 };
    kernel + u32::from(!case.transfer_only)
}

impl RingWorkload for Bandwidth {
    /// Two chunks in flight, so the sender writes one while the receiver
    /// reads the other.
    fn slots(&self) -> usize {
        2
    }

    fn role(&self, case: &RingCase) -> Role {
        let size = case.size_bytes;
        match case.transfer_only {
            true => Role::Drain { size },
            false => Role::Sink { size },
        }
    }

    fn memcpy_floor(&self) -> bool {
        true
    }

    fn streams(&self) -> bool {
        true
    }

    fn label_tail(&self, case: &RingCase) -> String {
        fmt_bytes(case.size_bytes as u64)
    }

    fn measure(&self, case: &RingCase, ctx: &Context) -> Result<Record> {
        match case.transfer_only {
            true => {
                crate::with_channel!(case.channel, C => ring::measure::<C, Stream<false>>(case, ctx))
            }
            false => {
                crate::with_channel!(case.channel, C => ring::measure::<C, Stream<true>>(case, ctx))
            }
        }
    }

    fn figures(
        &self,
        case: &RingCase,
        s: &Sampled,
        beside: &Beside,
        checks: &mut Checks,
    ) -> Figures {
        // One value per window: its bytes over its time.
        let v: Vec<f64> = s
            .per_op_ns
            .iter()
            .map(|ns| case.size_bytes as f64 / (ns * 1e-9))
            .collect();
        if let Some(floor) = &beside.memcpy {
            let copies = memcpy_copies(case);
            let (fraction, at_floor) = memcpy_reading(&summarize(&v), floor.value, floor.stats.ci95_high, copies);
            checks.memcpy_bytes_per_s = Some(floor.value);
            checks.memcpy_ci95 = Some([floor.stats.ci95_low, floor.stats.ci95_high]);
            checks.memcpy_copies = Some(copies);
            checks.fraction_of_memcpy = Some(fraction);
            checks.at_memcpy_floor = at_floor.then_some(true);
        }
        checks.channel_capacity_bytes = beside.capacity;
        checks.chunks_per_window = Some(s.ops_per_sample);
        Figures {
            metric: Metric::Bandwidth,
            unit: Unit::BytesPerS,
            values: v,
            per: "chunk",
            hops_per_op: 1.0,
            // A chunk may wait for the receiver or not: no fixed count.
            expected_switches: None,
        }
    }
}

impl Workload for Bandwidth {
    fn kind(&self) -> Kind {
        Kind::Bandwidth
    }

    /// Every valid backend × channel, touched, and transfer-only over
    /// every channel that copies.
    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let touched = ring::tiny_rings(Kind::Bandwidth, 64 << 10, 2);
        let transfer_only: Vec<RingCase> = touched
            .iter()
            .filter(|r| caps(r.channel).copies)
            .map(|r| RingCase {
                transfer_only: true,
                ..r.clone()
            })
            .collect();
        let mut v = ring::boxed(touched);
        v.extend(ring::boxed(transfer_only));
        v
    }

    fn ring(&self) -> Option<&'static dyn RingWorkload> {
        Some(&Bandwidth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::heap::Heap;
    use crate::channel::{ChanError, Channel, End, ExecFds, LinkOpts, RemoteEnd};
    use std::sync::{Arc, Mutex};

    /// What happened, in the one order both threads append to.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Event {
        /// The initiator sent a chunk (its header).
        Sent(u64),
        /// The member received a chunk (its header).
        MemberGot(u64),
        /// The initiator received a reply (its header).
        Replied(u64),
        /// A window's batch returned: the sampler's clock stops here.
        WindowDone,
    }

    type Log = Arc<Mutex<Vec<Event>>>;

    fn header(b: &[u8]) -> u64 {
        u64::from_le_bytes(b[..8].try_into().unwrap())
    }

    /// A heap link end that logs every message it carries.
    struct Logged<E> {
        inner: E,
        log: Log,
        event: fn(u64) -> Event,
    }

    impl<E: End> End for Logged<E> {
        fn into_remote(self, _: &mut ExecFds) -> std::result::Result<RemoteEnd, ChanError> {
            Err(ChanError::Os(libc::EINVAL))
        }
        fn from_remote(_: RemoteEnd, _: &mut ExecFds) -> std::result::Result<Self, ChanError> {
            Err(ChanError::Os(libc::EINVAL))
        }
    }

    impl<E: Tx> Tx for Logged<E> {
        fn send<F: FnOnce(&mut [u8])>(
            &mut self,
            len: usize,
            fill: F,
        ) -> std::result::Result<(), ChanError> {
            let mut h = 0;
            self.inner.send(len, |b| {
                fill(b);
                h = header(b);
            })?;
            self.log.lock().unwrap().push((self.event)(h));
            Ok(())
        }
    }

    impl<E: Rx> Rx for Logged<E> {
        fn recv<R, F: FnOnce(&[u8]) -> R>(
            &mut self,
            len: usize,
            read: F,
        ) -> std::result::Result<R, ChanError> {
            let log = self.log.clone();
            let event = self.event;
            self.inner.recv(len, |m| {
                log.lock().unwrap().push(event(header(m)));
                read(m)
            })
        }
    }

    #[test]
    fn a_window_ends_with_the_receivers_acknowledgement_of_its_last_chunk() {
        let log: Log = Default::default();
        let size = 4096;
        let opts = LinkOpts {
            max_message_bytes: size,
            slots: 2,
            for_exec: false,
        };
        let (to_tx, to_rx) = Heap::link(opts).unwrap();
        let (back_tx, back_rx) = Heap::link(opts).unwrap();
        let mut to_member = Logged {
            inner: to_tx,
            log: log.clone(),
            event: Event::Sent,
        };
        let mut from_member = Logged {
            inner: back_rx,
            log: log.clone(),
            event: Event::Replied,
        };
        let mut member_rx = Logged {
            inner: to_rx,
            log: log.clone(),
            event: Event::MemberGot,
        };
        let mut member_tx = back_tx;
        let member = std::thread::spawn(move || {
            ring::serve(Role::Sink { size }, &mut member_rx, &mut member_tx, &[])
        });
        let windows = [(0u64, 5u64), (5, 1), (6, 3)];
        for &(first, n) in &windows {
            Stream::<true>::batch(&mut to_member, &mut from_member, size, &[], first, n).unwrap();
            log.lock().unwrap().push(Event::WindowDone);
        }
        ring::stop(&mut to_member, &mut from_member, size, pattern::MIN_MESSAGE_BYTES).unwrap();
        let report = member.join().unwrap();
        assert_eq!(report.ops, 9, "the member received every chunk");

        let log = log.lock().unwrap().clone();
        let at = |e: Event| log.iter().position(|&x| x == e).unwrap_or_else(|| panic!("{e:?} missing: {log:?}"));
        let mut done_before = 0;
        for &(first, n) in &windows {
            let last = first + n - 1;
            let done = done_before
                + log[done_before..]
                    .iter()
                    .position(|&e| e == Event::WindowDone)
                    .unwrap();
            // Every chunk of the window was sent and received inside it,
            // the last marked for acknowledgement.
            for i in first..last {
                let s = at(Event::Sent(i ^ SALT_REQUEST));
                assert!(s >= done_before && s < done, "{log:?}");
                assert!(at(Event::MemberGot(i ^ SALT_REQUEST)) < done, "{log:?}");
            }
            let got_last = at(Event::MemberGot(last ^ SALT_LAST));
            let ack = at(Event::Replied(last ^ SALT_REPLY));
            // The receiver had the last byte before it answered, and the
            // answer arrived before the window's clock stopped.
            assert!(got_last < ack && ack < done, "{log:?}");
            // Nothing of the next window was sent before this one ended.
            assert!(
                !log[..done].contains(&Event::Sent((last + 1) ^ SALT_REQUEST)),
                "{log:?}"
            );
            done_before = done + 1;
        }
        // Exactly one reply per window, plus the stop's.
        let replies = log.iter().filter(|e| matches!(e, Event::Replied(_))).count();
        assert_eq!(replies, windows.len() + 1);
    }
}
