//! The idiomatic thread channel: message buffers live on the shared heap and
//! are handed over by pointer through std's bounded `mpsc::sync_channel`;
//! the receiver returns each buffer on a second channel for reuse, so no
//! bytes are copied and nothing is allocated after the first `slots`
//! messages. Threads only: there is no way to hand a heap to another process.

use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(50);

/// Sending end of a heap link.
pub struct HeapTx {
    full: SyncSender<super::PageBuf>,
    empty: Receiver<super::PageBuf>,
    spare: Vec<super::PageBuf>,
}

/// Receiving end of a heap link.
pub struct HeapRx {
    full: Receiver<super::PageBuf>,
    empty: SyncSender<super::PageBuf>,
}

fn recv_polling(rx: &Receiver<super::PageBuf>) -> Result<super::PageBuf, ChanError> {
    loop {
        match rx.recv_timeout(POLL) {
            Ok(b) => return Ok(b),
            Err(RecvTimeoutError::Disconnected) => return Err(ChanError::Closed),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(e) = ChanError::halted() {
                    return Err(e);
                }
            }
        }
    }
}

impl End for HeapTx {
    fn into_remote(self, _: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        Err(ChanError::Os(libc::EINVAL))
    }
    fn from_remote(_: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
        Err(ChanError::Os(libc::EINVAL))
    }
}

impl End for HeapRx {
    fn into_remote(self, _: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        Err(ChanError::Os(libc::EINVAL))
    }
    fn from_remote(_: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
        Err(ChanError::Os(libc::EINVAL))
    }
}

impl Tx for HeapTx {
    #[inline]
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        let mut buf = match self.spare.pop() {
            Some(b) => b,
            None => recv_polling(&self.empty)?,
        };
        if buf.len() < len {
            return Err(ChanError::TooLarge);
        }
        fill(&mut buf[..len]);
        let mut msg = buf;
        loop {
            // try_send + polling keeps an interrupt from hanging a full link.
            match self.full.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(ChanError::Closed),
                Err(TrySendError::Full(m)) => {
                    if let Some(e) = ChanError::halted() {
                        return Err(e);
                    }
                    msg = m;
                    std::thread::yield_now();
                }
            }
        }
    }
}

impl Rx for HeapRx {
    #[inline]
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        let buf = recv_polling(&self.full)?;
        let out = if buf.len() >= len {
            Ok(read(&buf[..len]))
        } else {
            Err(ChanError::TooLarge)
        };
        // The sender may have gone after its last message: losing the
        // returned buffer then is harmless.
        let _ = self.empty.send(buf);
        out
    }
}

/// Heap buffers handed over through std mpsc.
pub struct Heap;

impl Channel for Heap {
    const KIND: ChannelKind = ChannelKind::Heap;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = true;
    const CROSSES_EXEC: bool = false;
    fn declared_capacity(max_message: usize, slots: usize) -> Option<u64> {
        Some(max_message as u64 * slots.max(1) as u64)
    }
    type Tx = HeapTx;
    type Rx = HeapRx;
    fn link(opts: LinkOpts) -> Result<(HeapTx, HeapRx), ChanError> {
        let slots = opts.slots.max(1);
        let (full_tx, full_rx) = sync_channel(slots);
        let (empty_tx, empty_rx) = sync_channel(slots);
        let spare = (0..slots)
            .map(|_| super::PageBuf::new(opts.max_message_bytes))
            .collect();
        Ok((
            HeapTx {
                full: full_tx,
                empty: empty_rx,
                spare,
            },
            HeapRx {
                full: full_rx,
                empty: empty_tx,
            },
        ))
    }
}
