//! ipc-channel (Servo's IPC crate) bytes channels: on Linux a SOCK_SEQPACKET
//! socketpair per link, with large messages fragmented by the crate. The
//! sender fills a preallocated buffer and sends it; the receiver gets a
//! freshly allocated `Vec` per message (the crate's API), which it verifies.
//!
//! A large message to a dead or stopped peer can block the sender forever
//! (the crate sends the fragments of a big message over a dedicated socket
//! whose reader may never read again). The stall watchdog
//! ([`crate::sys::watchdog`]) ends that wait: its one-shot timer interrupts
//! the blocked `sendmsg`/`send` with EINTR, which the crate returns (it
//! does not retry), and [`ChanError::halted`] turns it into `Stalled`.
//! Retrying an EINTR only when nothing halted is safe because nothing else
//! interrupts these calls: SIGINT/SIGTERM and the watchdog both halt, and
//! SIGCHLD is ignored by default (it restarts nothing and interrupts
//! nothing), so a half-sent fragmented message is never resent.
//!
//! This is the one channel whose receive path allocates; a forked child using
//! it relies on having been forked from a single-threaded process (which
//! mpmt guarantees), so malloc's locks are in a consistent state.

use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx};
use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender};
use ipc_channel::IpcError;
use std::io::ErrorKind;

/// Sending end of an ipc-channel link.
pub struct IpcTx {
    tx: IpcBytesSender,
    buf: super::PageBuf,
}

/// Receiving end of an ipc-channel link.
pub struct IpcRx {
    rx: IpcBytesReceiver,
}

fn io_error(e: &std::io::Error) -> Option<ChanError> {
    match e.kind() {
        ErrorKind::Interrupted => ChanError::halted(),
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => Some(ChanError::Closed),
        _ => Some(ChanError::Os(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

/// Takes the handle at `remote`'s slot out of `slots` (each is taken once).
fn take<T>(slots: &mut [Option<T>], remote: &RemoteEnd) -> Result<T, ChanError> {
    remote
        .ipc
        .and_then(|i| slots.get_mut(i))
        .and_then(Option::take)
        .ok_or(ChanError::Os(libc::EINVAL))
}

impl End for IpcTx {
    fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        carry.ipc_tx.push(Some(self.tx));
        Ok(RemoteEnd {
            ipc: Some(carry.ipc_tx.len() - 1),
            ..Default::default()
        })
    }
    fn from_remote(remote: RemoteEnd, carry: &mut ExecFds) -> Result<Self, ChanError> {
        Ok(IpcTx {
            tx: take(&mut carry.ipc_tx, &remote)?,
            buf: super::PageBuf::new(0),
        })
    }
}

impl End for IpcRx {
    fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        carry.ipc_rx.push(Some(self.rx));
        Ok(RemoteEnd {
            ipc: Some(carry.ipc_rx.len() - 1),
            ..Default::default()
        })
    }
    fn from_remote(remote: RemoteEnd, carry: &mut ExecFds) -> Result<Self, ChanError> {
        Ok(IpcRx {
            rx: take(&mut carry.ipc_rx, &remote)?,
        })
    }
}

impl Tx for IpcTx {
    #[inline]
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        if self.buf.len() < len {
            self.buf.grow(len);
        }
        fill(&mut self.buf[..len]);
        loop {
            match self.tx.send(&self.buf[..len]) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if let Some(err) = io_error(&e) {
                        return Err(err);
                    }
                }
            }
        }
    }
}

impl Rx for IpcRx {
    #[inline]
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        loop {
            match self.rx.recv() {
                Ok(msg) if msg.len() == len => return Ok(read(&msg)),
                Ok(_) => return Err(ChanError::Truncated),
                Err(IpcError::Disconnected) => return Err(ChanError::Closed),
                Err(IpcError::Io(e)) => {
                    if let Some(err) = io_error(&e) {
                        return Err(err);
                    }
                }
                Err(IpcError::SerializationError(_)) => return Err(ChanError::Os(libc::EBADMSG)),
            }
        }
    }
}

/// ipc-channel bytes channel.
pub struct IpcChannel;

impl Channel for IpcChannel {
    const KIND: ChannelKind = ChannelKind::IpcChannel;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    const COPIES: bool = true;
    type Tx = IpcTx;
    type Rx = IpcRx;
    fn link(opts: LinkOpts) -> Result<(IpcTx, IpcRx), ChanError> {
        let (tx, rx) = ipc::bytes_channel()?;
        Ok((
            IpcTx {
                tx,
                buf: super::PageBuf::new(opts.max_message_bytes),
            },
            IpcRx { rx },
        ))
    }
}
