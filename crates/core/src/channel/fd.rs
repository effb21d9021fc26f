//! Kernel byte-stream channels: an anonymous pipe and an AF_UNIX stream
//! socketpair. The sender fills a preallocated buffer and `write`s it; the
//! receiver `read`s exactly one message into its own preallocated buffer.
//! Two copies through the kernel, as real programs pay. Nothing here
//! allocates after the link is built, so a forked child can use it.

use super::{Carry, ChanError, Channel, ChannelKind, End, LinkOpts, RemoteEnd, Rx, Tx};
use crate::sys::errno;
use std::os::fd::{AsRawFd, OwnedFd};

/// Sending end of a pipe or socket link.
pub struct FdTx {
    fd: OwnedFd,
    buf: Vec<u8>,
}

/// Receiving end of a pipe or socket link.
pub struct FdRx {
    fd: OwnedFd,
    buf: Vec<u8>,
}

fn write_full(fd: &OwnedFd, mut data: &[u8]) -> Result<(), ChanError> {
    while !data.is_empty() {
        // SAFETY: `data` is a valid readable slice; `fd` is open.
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n < 0 {
            match errno() {
                libc::EINTR => match ChanError::halted() {
                    Some(e) => return Err(e),
                    None => continue,
                },
                libc::EPIPE | libc::ECONNRESET => return Err(ChanError::Closed),
                e => return Err(ChanError::Os(e)),
            }
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

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<(), ChanError> {
    let mut got = 0;
    while got < buf.len() {
        let rest = &mut buf[got..];
        // SAFETY: `rest` is a valid writable slice; `fd` is open.
        let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
        if n < 0 {
            match errno() {
                libc::EINTR => match ChanError::halted() {
                    Some(e) => return Err(e),
                    None => continue,
                },
                libc::ECONNRESET => return Err(ChanError::Closed),
                e => return Err(ChanError::Os(e)),
            }
        }
        if n == 0 {
            return Err(if got == 0 {
                ChanError::Closed
            } else {
                ChanError::Truncated
            });
        }
        got += n as usize;
        if got < buf.len() {
            if let Some(e) = ChanError::halted() {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn fd_from_remote(remote: RemoteEnd) -> Result<OwnedFd, ChanError> {
    match remote.fds.as_slice() {
        [fd] => Carry::inherited(*fd),
        _ => Err(ChanError::Os(libc::EINVAL)),
    }
}

macro_rules! fd_end {
    ($T:ident) => {
        impl End for $T {
            fn into_remote(self, carry: &mut Carry) -> Result<RemoteEnd, ChanError> {
                Ok(RemoteEnd {
                    fds: vec![carry.keep(self.fd)],
                    ..Default::default()
                })
            }
            fn from_remote(remote: RemoteEnd, _: &mut Carry) -> Result<Self, ChanError> {
                Ok($T {
                    fd: fd_from_remote(remote)?,
                    buf: Vec::new(),
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
            self.buf.resize(len, 0);
        }
        fill(&mut self.buf[..len]);
        write_full(&self.fd, &self.buf[..len])
    }
}

impl Rx for FdRx {
    #[inline]
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        read_full(&self.fd, &mut self.buf[..len])?;
        Ok(read(&self.buf[..len]))
    }
}

fn ends(r: OwnedFd, w: OwnedFd, opts: LinkOpts) -> (FdTx, FdRx) {
    (
        FdTx {
            fd: w,
            buf: vec![0u8; opts.max_message_bytes],
        },
        FdRx {
            fd: r,
            buf: vec![0u8; opts.max_message_bytes],
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
        Ok(ends(r, w, opts))
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
        Ok(ends(b, a, opts))
    }
}
