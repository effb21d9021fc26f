//! Kernel socket and pipe channels: an anonymous pipe, an AF_UNIX stream
//! socketpair and an AF_UNIX SOCK_SEQPACKET socketpair. The sender fills a
//! preallocated buffer and `write`s it; the receiver `read`s exactly one
//! message into its own preallocated buffer. Two copies through the
//! kernel, as real programs pay. A byte stream may split or join writes;
//! a seqpacket socket keeps each write one record, delivered whole or not
//! at all, and refuses a record larger than its send buffer, so a message
//! crosses it as records of at most [`SEQPACKET_RECORD`] bytes, each read
//! with a buffer of exactly its length (a shorter read would drop the
//! record's tail). Nothing here allocates after the link is built, so a
//! forked child can use it.

use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx};
use crate::sys::errno;
use std::os::fd::{AsRawFd, OwnedFd};

/// Largest record a seqpacket link writes: well inside the default
/// AF_UNIX send buffer (`net.core.wmem_default`, 208 KiB).
pub const SEQPACKET_RECORD: usize = 64 << 10;

/// Sending end of a pipe or socket link.
pub struct FdTx {
    fd: OwnedFd,
    buf: super::PageBuf,
    /// Record size of a seqpacket link; 0 for a byte stream.
    record: usize,
}

/// Receiving end of a pipe or socket link.
pub struct FdRx {
    fd: OwnedFd,
    buf: super::PageBuf,
    record: usize,
}

/// Writes `data`: as a byte stream (`record` 0), or as records of at most
/// `record` bytes, each one write that the kernel takes whole.
fn write_message(fd: &OwnedFd, data: &[u8], record: usize) -> Result<(), ChanError> {
    if record == 0 {
        return write_full(fd, data);
    }
    for r in data.chunks(record) {
        send_record(fd, r)?;
    }
    Ok(())
}

/// Sends one seqpacket record with `send(2)`, as socket programs do (and
/// the C loop it is checked against): `write(2)` reaches the same
/// `sock_sendmsg` through the VFS, and on one CPU that detour read 10 %
/// slower at 4 KiB (C loop both ways, five pairs: 1.26 against 1.13 GB/s).
/// The kernel takes a record whole or not at all.
fn send_record(fd: &OwnedFd, data: &[u8]) -> Result<(), ChanError> {
    loop {
        // SAFETY: `data` is a valid readable slice; `fd` is an open socket.
        let n = unsafe { libc::send(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0) };
        if n >= 0 {
            return match n as usize == data.len() {
                true => Ok(()),
                false => Err(ChanError::Truncated),
            };
        }
        failed_write()?;
    }
}

/// After a write or send returned -1: Ok to try again (a signal that did
/// not stop the run), else the error.
fn failed_write() -> Result<(), ChanError> {
    match errno() {
        libc::EINTR => match ChanError::halted() {
            Some(e) => Err(e),
            None => Ok(()),
        },
        libc::EPIPE | libc::ECONNRESET => Err(ChanError::Closed),
        e => Err(ChanError::Os(e)),
    }
}

/// Reads one message into `buf`: from a byte stream, or as the records
/// `write_message` cut it into, each read with a buffer of its length (a
/// record of another length is a corrupt message).
fn read_message(fd: &OwnedFd, buf: &mut [u8], record: usize) -> Result<(), ChanError> {
    if record == 0 {
        return read_full(fd, buf);
    }
    for (i, r) in buf.chunks_mut(record).enumerate() {
        match read_some(fd, r)? {
            0 if i == 0 => return Err(ChanError::Closed),
            n if n != r.len() => return Err(ChanError::Truncated),
            _ => {}
        }
        if let Some(e) = ChanError::halted() {
            return Err(e);
        }
    }
    Ok(())
}

fn write_full(fd: &OwnedFd, mut data: &[u8]) -> Result<(), ChanError> {
    while !data.is_empty() {
        // SAFETY: `data` is a valid readable slice; `fd` is open.
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n < 0 {
            failed_write()?;
            continue;
        }
        data = &data[n as usize..];
        // A signal that lands mid-message ends the write short instead of
        // with EINTR: look at the stop flags before blocking again.
        if !data.is_empty() {
            if let Some(e) = ChanError::halted() {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// One `read` into `buf`, retried after a signal that did not stop the
/// run; the bytes read (0 at end of stream).
fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, ChanError> {
    loop {
        // SAFETY: `buf` is a valid writable slice; `fd` is open.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match errno() {
            libc::EINTR => match ChanError::halted() {
                Some(e) => return Err(e),
                None => continue,
            },
            libc::ECONNRESET => return Err(ChanError::Closed),
            e => return Err(ChanError::Os(e)),
        }
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<(), ChanError> {
    let mut got = 0;
    while got < buf.len() {
        let n = read_some(fd, &mut buf[got..])?;
        if n == 0 {
            return Err(if got == 0 {
                ChanError::Closed
            } else {
                ChanError::Truncated
            });
        }
        got += n;
        if got < buf.len() {
            if let Some(e) = ChanError::halted() {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The fd and record size of an end rebuilt in an exec'd worker.
fn fd_from_remote(remote: RemoteEnd) -> Result<(OwnedFd, usize), ChanError> {
    match (remote.fds.as_slice(), remote.params.as_slice()) {
        ([fd], [record]) => Ok((ExecFds::inherited(*fd)?, *record as usize)),
        _ => Err(ChanError::Os(libc::EINVAL)),
    }
}

macro_rules! fd_end {
    ($T:ident) => {
        impl End for $T {
            fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
                Ok(RemoteEnd {
                    fds: vec![carry.keep(self.fd)],
                    params: vec![self.record as u64],
                    ..Default::default()
                })
            }
            fn from_remote(remote: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
                let (fd, record) = fd_from_remote(remote)?;
                Ok($T {
                    fd,
                    buf: super::PageBuf::new(0),
                    record,
                })
            }
        }
    };
}
fd_end!(FdTx);
fd_end!(FdRx);

impl Tx for FdTx {
    #[inline]
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        if self.buf.len() < len {
            // Only an exec'd worker's first message reaches this: its buffer
            // is sized on first use, outside any fork child.
            self.buf.grow(len);
        }
        fill(&mut self.buf[..len]);
        write_message(&self.fd, &self.buf[..len], self.record)
    }
}

impl Rx for FdRx {
    #[inline]
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        if self.buf.len() < len {
            self.buf.grow(len);
        }
        read_message(&self.fd, &mut self.buf[..len], self.record)?;
        Ok(read(&self.buf[..len]))
    }
}

fn ends(r: OwnedFd, w: OwnedFd, opts: LinkOpts, record: usize) -> (FdTx, FdRx) {
    (
        FdTx {
            fd: w,
            buf: super::PageBuf::new(opts.max_message_bytes),
            record,
        },
        FdRx {
            fd: r,
            buf: super::PageBuf::new(opts.max_message_bytes),
            record,
        },
    )
}

/// Anonymous pipe.
pub struct Pipe;

impl Channel for Pipe {
    const KIND: ChannelKind = ChannelKind::Pipe;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    const COPIES: bool = true;
    type Tx = FdTx;
    type Rx = FdRx;
    fn link(opts: LinkOpts) -> Result<(FdTx, FdRx), ChanError> {
        let (r, w) = crate::sys::fd::pipe()?;
        Ok(ends(r, w, opts, 0))
    }
}

/// AF_UNIX SOCK_STREAM socketpair (one direction of it is used per link).
pub struct UnixSocket;

impl Channel for UnixSocket {
    const KIND: ChannelKind = ChannelKind::UnixSocket;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    const COPIES: bool = true;
    type Tx = FdTx;
    type Rx = FdRx;
    fn link(opts: LinkOpts) -> Result<(FdTx, FdRx), ChanError> {
        let (a, b) = crate::sys::fd::socketpair()?;
        Ok(ends(b, a, opts, 0))
    }
}

/// AF_UNIX SOCK_SEQPACKET socketpair: message boundaries kept by the
/// kernel, a message of more than [`SEQPACKET_RECORD`] bytes sent as
/// several records.
pub struct Seqpacket;

impl Channel for Seqpacket {
    const KIND: ChannelKind = ChannelKind::Seqpacket;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    const COPIES: bool = true;
    type Tx = FdTx;
    type Rx = FdRx;
    fn link(opts: LinkOpts) -> Result<(FdTx, FdRx), ChanError> {
        let (a, b) = crate::sys::fd::socketpair_of(libc::SOCK_SEQPACKET)?;
        Ok(ends(b, a, opts, SEQPACKET_RECORD))
    }
}
