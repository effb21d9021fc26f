//! Channels: how workers talk. A *link* is one unidirectional, ordered,
//! message-at-a-time connection with a sending end ([`Tx`]) and a receiving
//! end ([`Rx`]). Every message of a link has the length both sides agreed
//! on; the sender writes it in place through `fill` and the receiver reads it
//! in place through `read`, so zero-copy channels (shared memory, heap) are
//! not charged a copy that the design does not need, and copying channels
//! (pipes, sockets, ipc-channel) pay exactly the copies they make.
//!
//! Contract, tested for every implementation by the conformance suite:
//! - `send` returns once the message is handed to the channel; `recv`
//!   returns only a whole message, in order.
//! - A peer that dropped its end (or died) makes a blocked `send`/`recv`
//!   return [`ChanError::Closed`] or [`ChanError::PeerDied`], never hang.
//! - An interrupt (SIGINT/SIGTERM) makes a blocked call return
//!   [`ChanError::Interrupted`].
//! - Ends can be moved to a thread, inherited across `fork` (then the parent
//!   calls [`End::release`] on the copies it handed over), or turned into a
//!   [`RemoteEnd`] for an exec'd worker.

pub mod fd;
pub mod heap;
pub mod ipc;
pub mod shm;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// How workers talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    Pipe,
    UnixSocket,
    ShmFutex,
    ShmSpin,
    IpcChannel,
    Heap,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        ChannelKind::Pipe,
        ChannelKind::UnixSocket,
        ChannelKind::ShmFutex,
        ChannelKind::ShmSpin,
        ChannelKind::IpcChannel,
        ChannelKind::Heap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Pipe => "pipe",
            ChannelKind::UnixSocket => "unix-socket",
            ChannelKind::ShmFutex => "shm-futex",
            ChannelKind::ShmSpin => "shm-spin",
            ChannelKind::IpcChannel => "ipc-channel",
            ChannelKind::Heap => "heap",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether a receiver waiting for a message blocks in the kernel (and so
    /// gives up its CPU) rather than spinning.
    pub fn blocks(self) -> bool {
        self != ChannelKind::ShmSpin
    }

    /// One-line description for `mpmt list`.
    pub fn describe(self) -> &'static str {
        match self {
            ChannelKind::Pipe => "anonymous pipe (kernel copy in and out)",
            ChannelKind::UnixSocket => "AF_UNIX stream socketpair (kernel copy in and out)",
            ChannelKind::ShmFutex => "shared mapping, blocking wait on a futex word",
            ChannelKind::ShmSpin => "shared mapping, busy-polling the same word (no switch)",
            ChannelKind::IpcChannel => "ipc-channel bytes channel (SOCK_SEQPACKET, Servo's IPC)",
            ChannelKind::Heap => "threads only: buffers on the shared heap handed over by std mpsc",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a channel operation failed. Carries no heap data so a forked child
/// can produce and report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChanError {
    /// The peer closed its end at a message boundary.
    Closed,
    /// The peer closed its end in the middle of a message.
    Truncated,
    /// A watched peer process exited.
    PeerDied,
    /// SIGINT or SIGTERM arrived.
    Interrupted,
    /// A message longer than the link was built for.
    TooLarge,
    /// A system call failed with this errno.
    Os(i32),
}

impl fmt::Display for ChanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChanError::Closed => f.write_str("peer closed the channel"),
            ChanError::Truncated => f.write_str("peer closed the channel mid-message"),
            ChanError::PeerDied => f.write_str("peer process exited"),
            ChanError::Interrupted => f.write_str("interrupted"),
            ChanError::TooLarge => f.write_str("message larger than the link capacity"),
            ChanError::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
        }
    }
}

impl std::error::Error for ChanError {}

impl ChanError {
    /// Stable numeric code for worker reports (and its inverse).
    pub fn code(self) -> u64 {
        match self {
            ChanError::Closed => 1,
            ChanError::Truncated => 2,
            ChanError::PeerDied => 3,
            ChanError::Interrupted => 4,
            ChanError::TooLarge => 5,
            ChanError::Os(e) => 1000 + e as u64,
        }
    }

    pub fn from_code(c: u64) -> ChanError {
        match c {
            1 => ChanError::Closed,
            2 => ChanError::Truncated,
            3 => ChanError::PeerDied,
            4 => ChanError::Interrupted,
            5 => ChanError::TooLarge,
            c => ChanError::Os(c.saturating_sub(1000) as i32),
        }
    }
}

impl From<std::io::Error> for ChanError {
    fn from(e: std::io::Error) -> Self {
        ChanError::Os(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// Who a blocking wait should check on while it waits, so a peer that dies
/// without closing its end (SIGKILL on a shared-memory link) is noticed.
#[derive(Clone, Default)]
pub enum Watch {
    /// Nothing to watch (the peer signals closure itself, or a parent-death
    /// signal takes care of us).
    #[default]
    Nothing,
    /// Child processes of this process; an abnormal exit is a failure (a
    /// clean exit only follows the stop message).
    Children(Arc<[i32]>),
}

impl Watch {
    /// True while every watched peer is alive.
    pub fn alive(&self) -> bool {
        match self {
            Watch::Nothing => true,
            Watch::Children(pids) => !pids.iter().any(|&p| crate::sys::child_failed(p)),
        }
    }
}

/// An end described for an exec'd worker. File descriptors travel by
/// inheritance (their numbers are in here); ipc-channel ends travel inside
/// the bootstrap message itself.
#[derive(Debug, Serialize, Deserialize)]
pub enum RemoteEnd {
    /// A pipe or socket fd, inherited at the same number.
    Fd {
        fd: i32,
    },
    /// A memfd holding one shared-memory link, inherited at the same number.
    Shm {
        fd: i32,
        len: u64,
        capacity: u64,
        slots: u32,
    },
    IpcTx(ipc_channel::ipc::IpcBytesSender),
    IpcRx(ipc_channel::ipc::IpcBytesReceiver),
}

/// What every end can do besides moving messages.
pub trait End: Send + Sized + 'static {
    /// Drops this copy of an end that now lives in another process, without
    /// telling the peer anything (the other process still holds it).
    fn release(self) {
        drop(self)
    }
    /// Describes this end for an exec'd worker. The returned fd, if any, must
    /// stay open until the worker has been spawned, then be closed.
    fn into_remote(self) -> Result<(RemoteEnd, Option<OwnedFd>), ChanError>;
    /// Rebuilds an end in an exec'd worker.
    fn from_remote(remote: RemoteEnd) -> Result<Self, ChanError>;
    /// Sets what blocking waits check on.
    fn watch(&mut self, _watch: Watch) {}
}

/// The sending end of a link.
pub trait Tx: End {
    /// Sends one message of `len` bytes, written in place by `fill`.
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError>;
}

/// The receiving end of a link.
pub trait Rx: End {
    /// Receives one message of `len` bytes and hands it to `read` in place.
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError>;
}

/// Link options: the largest message and how many may be in flight.
#[derive(Debug, Clone, Copy)]
pub struct LinkOpts {
    pub max_message_bytes: usize,
    /// Messages the sender may publish before the receiver takes one
    /// (shared memory and heap only; kernel channels buffer as they do).
    pub slots: usize,
    /// The link will be handed to an exec'd worker (shared memory must then
    /// be a memfd rather than an anonymous mapping).
    pub for_exec: bool,
}

/// A kind of channel: a factory of links.
pub trait Channel: 'static {
    const KIND: ChannelKind;
    type Tx: Tx;
    type Rx: Rx;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError>;
}

/// Calls `$body` with the type `C: Channel` matching `kind`.
#[macro_export]
macro_rules! with_channel {
    ($kind:expr, $C:ident => $body:expr) => {
        match $kind {
            $crate::channel::ChannelKind::Pipe => {
                type $C = $crate::channel::fd::Pipe;
                $body
            }
            $crate::channel::ChannelKind::UnixSocket => {
                type $C = $crate::channel::fd::UnixSocket;
                $body
            }
            $crate::channel::ChannelKind::ShmFutex => {
                type $C = $crate::channel::shm::ShmFutex;
                $body
            }
            $crate::channel::ChannelKind::ShmSpin => {
                type $C = $crate::channel::shm::ShmSpin;
                $body
            }
            $crate::channel::ChannelKind::IpcChannel => {
                type $C = $crate::channel::ipc::IpcChannel;
                $body
            }
            $crate::channel::ChannelKind::Heap => {
                type $C = $crate::channel::heap::Heap;
                $body
            }
        }
    };
}
