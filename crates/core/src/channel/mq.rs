//! `mq`: a POSIX message queue per link. The queue is created with a
//! unique name (`O_CREAT | O_EXCL`, mode 0600), opened once for writing
//! and once for reading, and unlinked at once, so nothing is left in
//! /dev/mqueue whatever happens next. A message is one `mq_send` and one
//! `mq_receive` (the kernel copies it in and out, and keeps its
//! boundaries); the largest message the kernel accepts is
//! `/proc/sys/fs/mqueue/msgsize_max` ([`max_message_bytes`]), and larger
//! sizes are refused before anything starts.
//!
//! A queue has no notion of a closed peer: a dropped sender queues an
//! empty message, which the receiver reads as the end; a receiver waits at
//! most [`RECHECK`] at a time (`mq_timedreceive`) to look at interrupts
//! and at the peers it watches, so a peer that died is an error, never a
//! hang. Under Linux a queue descriptor is a file descriptor: threads
//! share it, `fork` inherits it, an exec'd worker receives it like a pipe.

use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx, Watch};
use crate::sys::errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const RECHECK: Duration = Duration::from_millis(50);

/// The largest message a queue may hold here, as the kernel allows it
/// (`/proc/sys/fs/mqueue/msgsize_max`; 8 KiB unless raised).
pub fn max_message_bytes() -> usize {
    std::fs::read_to_string("/proc/sys/fs/mqueue/msgsize_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(8192)
}

/// How many messages a queue may hold here (`msg_max`; 10 unless raised).
fn max_messages() -> usize {
    std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(10)
}

/// Bytes of messages a queue may buffer at the kernel's default depth
/// before it takes the link's own (a pipe's worth).
const DEFAULT_DEPTH_BYTES: usize = 64 << 10;

/// Messages a queue of `size`-byte messages holds: the kernel's default
/// depth (`msg_max`, 10 unless raised), as a pipe or a socket buffers what
/// the kernel gives it, while that is at most a pipe's worth of bytes;
/// past that (each queue counts against the user's RLIMIT_MSGQUEUE, 800
/// KiB by default, and a ring has one per member) the link's `slots`,
/// plus one for the end-of-stream mark.
fn depth(size: usize, slots: usize) -> usize {
    let kernel = max_messages().max(1);
    let own = (slots.max(1) + 1).min(kernel);
    match kernel * size <= DEFAULT_DEPTH_BYTES {
        true => kernel.max(own),
        false => own,
    }
}

/// An absolute CLOCK_REALTIME time `d` from now (mq waits take one).
fn deadline(d: Duration) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the kernel to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let ns = now.tv_nsec as u64 + d.subsec_nanos() as u64;
    libc::timespec {
        tv_sec: now.tv_sec + d.as_secs() as libc::time_t + (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

/// The deadline of an end's waits, read from the clock once every
/// [`RENEW_EVERY`] waits (and after a wait times out or is interrupted), not before every
/// message. The bound is the point, not the clock read, but a timed wait
/// costs: the plain C stream loop at 4 KiB on one CPU read 3.97 and 3.94
/// GB/s untimed, 3.69 and 3.83 with a deadline renewed every 1000
/// messages, 3.51 and 3.64 with one read per message (validation.md).
/// The deadline is at most [`RECHECK`] away when set and only comes
/// nearer, so no wait lasts longer. Renewed only once it had passed, it
/// did pass mid-stream every 50 ms, and each spurious time-out cost that
/// stream's next window 5–10 %; renewed by count, a flowing stream never
/// reaches it.
struct Recheck {
    until: libc::timespec,
    waits: u32,
}

/// Waits between two clock reads of a [`Recheck`].
const RENEW_EVERY: u32 = 256;

impl Recheck {
    fn new() -> Recheck {
        Recheck {
            until: deadline(RECHECK),
            waits: 0,
        }
    }
    /// The deadline for the next wait.
    fn until(&mut self) -> &libc::timespec {
        self.waits += 1;
        if self.waits >= RENEW_EVERY {
            self.renew();
        }
        &self.until
    }
    fn renew(&mut self) {
        self.until = deadline(RECHECK);
        self.waits = 0;
    }
}

/// Opens a new queue (unique name, exclusive, 0600) for sending and for
/// receiving, then unlinks the name. Returns both ends and the name.
fn open_pair(msgsize: usize, maxmsg: usize) -> Result<(OwnedFd, OwnedFd, CString), ChanError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut attr: libc::mq_attr = {
        // SAFETY: mq_attr is plain data; all-zero is a valid value.
        unsafe { std::mem::zeroed() }
    };
    attr.mq_maxmsg = maxmsg as libc::c_long;
    attr.mq_msgsize = msgsize as libc::c_long;
    loop {
        let name = CString::new(format!(
            "/mpmt-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ))
        .map_err(|_| ChanError::Os(libc::EINVAL))?;
        // SAFETY: a NUL-terminated name and a valid attribute block.
        let w = unsafe {
            libc::mq_open(
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                0o600 as libc::mode_t,
                &attr as *const libc::mq_attr,
            )
        };
        if w < 0 {
            match errno() {
                libc::EEXIST => continue,
                e => return Err(ChanError::Os(e)),
            }
        }
        // SAFETY: mq_open returned a new descriptor that only we hold.
        let w = unsafe { OwnedFd::from_raw_fd(w) };
        // SAFETY: the same name, opened again for reading.
        let r = unsafe { libc::mq_open(name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        let opened = if r < 0 {
            Err(ChanError::Os(errno()))
        } else {
            Ok(())
        };
        // SAFETY: unlinking a name we created; the open descriptors stay.
        unsafe { libc::mq_unlink(name.as_ptr()) };
        opened?;
        // SAFETY: as above, a new descriptor of our own.
        return Ok((w, unsafe { OwnedFd::from_raw_fd(r) }, name));
    }
}

/// Sending end of a queue link.
pub struct MqTx {
    fd: OwnedFd,
    buf: super::PageBuf,
    wait: Recheck,
    watch: Watch,
    /// Whether dropping it tells the receiver (not after a fork's release).
    close_on_drop: bool,
}

/// Receiving end of a queue link.
pub struct MqRx {
    fd: OwnedFd,
    /// As long as the queue's message size (mq_receive needs that much).
    buf: super::PageBuf,
    wait: Recheck,
    watch: Watch,
}

/// The queue's message size, for sizing a rebuilt end's buffer.
fn msgsize(fd: &OwnedFd) -> Result<usize, ChanError> {
    // SAFETY: mq_attr is plain data; the kernel fills it.
    let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
    // SAFETY: a valid queue descriptor and attribute block.
    if unsafe { libc::mq_getattr(fd.as_raw_fd(), &mut attr) } != 0 {
        return Err(ChanError::Os(errno()));
    }
    Ok(attr.mq_msgsize.max(0) as usize)
}

fn from_remote(remote: RemoteEnd) -> Result<OwnedFd, ChanError> {
    match remote.fds.as_slice() {
        [fd] => ExecFds::inherited(*fd),
        _ => Err(ChanError::Os(libc::EINVAL)),
    }
}

impl End for MqTx {
    fn release(mut self) {
        self.close_on_drop = false;
    }
    fn into_remote(mut self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        self.close_on_drop = false;
        let fd = self.fd.try_clone()?;
        Ok(RemoteEnd {
            fds: vec![carry.keep(fd)],
            ..Default::default()
        })
    }
    fn from_remote(remote: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
        let fd = from_remote(remote)?;
        let n = msgsize(&fd)?;
        Ok(MqTx {
            fd,
            buf: super::PageBuf::new(n),
            wait: Recheck::new(),
            watch: Watch::Nothing,
            close_on_drop: true,
        })
    }
    fn watch(&mut self, watch: Watch) {
        self.watch = watch;
    }
}

impl End for MqRx {
    fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        Ok(RemoteEnd {
            fds: vec![carry.keep(self.fd)],
            ..Default::default()
        })
    }
    fn from_remote(remote: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
        let fd = from_remote(remote)?;
        let n = msgsize(&fd)?;
        Ok(MqRx {
            fd,
            buf: super::PageBuf::new(n),
            wait: Recheck::new(),
            watch: Watch::Nothing,
        })
    }
    fn watch(&mut self, watch: Watch) {
        self.watch = watch;
    }
}

impl Drop for MqTx {
    fn drop(&mut self) {
        if self.close_on_drop {
            // The end-of-stream mark: an empty message, queued behind the
            // data. A full queue (a receiver that stopped reading) gets none.
            let t = deadline(Duration::ZERO);
            // SAFETY: a valid descriptor; a zero-length message.
            unsafe { libc::mq_timedsend(self.fd.as_raw_fd(), [].as_ptr(), 0, 0, &t) };
        }
    }
}

impl Tx for MqTx {
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        if len > self.buf.len() || len == 0 {
            return Err(ChanError::TooLarge);
        }
        fill(&mut self.buf[..len]);
        loop {
            let t = self.wait.until();
            // SAFETY: `buf[..len]` is valid readable memory; a valid queue.
            let r = unsafe {
                libc::mq_timedsend(self.fd.as_raw_fd(), self.buf.as_ptr().cast(), len, 0, t)
            };
            if r == 0 {
                return Ok(());
            }
            match errno() {
                libc::ETIMEDOUT | libc::EINTR => {
                    self.wait.renew();
                    if let Some(e) = ChanError::halted() {
                        return Err(e);
                    }
                    if !self.watch.alive() {
                        return Err(ChanError::PeerDied);
                    }
                }
                e => return Err(ChanError::Os(e)),
            }
        }
    }
}

impl Rx for MqRx {
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        if len > self.buf.len() {
            return Err(ChanError::TooLarge);
        }
        loop {
            let t = self.wait.until();
            // SAFETY: `buf` is valid writable memory of the queue's
            // message size; a valid queue descriptor.
            let n = unsafe {
                libc::mq_timedreceive(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    std::ptr::null_mut(),
                    t,
                )
            };
            if n >= 0 {
                return match n as usize {
                    0 => Err(ChanError::Closed),
                    n if n == len => Ok(read(&self.buf[..len])),
                    _ => Err(ChanError::Truncated),
                };
            }
            match errno() {
                libc::ETIMEDOUT | libc::EINTR => {
                    self.wait.renew();
                    if let Some(e) = ChanError::halted() {
                        return Err(e);
                    }
                    if !self.watch.alive() {
                        return Err(ChanError::PeerDied);
                    }
                }
                e => return Err(ChanError::Os(e)),
            }
        }
    }
}

/// POSIX message queue.
pub struct Mq;

impl Channel for Mq {
    const KIND: ChannelKind = ChannelKind::Mq;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    const COPIES: bool = true;
    fn max_message_bytes() -> Option<usize> {
        Some(max_message_bytes())
    }
    type Tx = MqTx;
    type Rx = MqRx;
    fn link(opts: LinkOpts) -> Result<(MqTx, MqRx), ChanError> {
        let size = opts.max_message_bytes.max(1);
        if size > max_message_bytes() {
            return Err(ChanError::TooLarge);
        }
        let maxmsg = depth(size, opts.slots);
        let (w, r, _) = open_pair(size, maxmsg)?;
        Ok((
            MqTx {
                fd: w,
                buf: super::PageBuf::new(size),
                wait: Recheck::new(),
                watch: Watch::Nothing,
                close_on_drop: true,
            },
            MqRx {
                fd: r,
                buf: super::PageBuf::new(size),
                wait: Recheck::new(),
                watch: Watch::Nothing,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_gone_once_both_ends_are_open() {
        let (mut tx, mut rx) = Mq::link(LinkOpts {
            max_message_bytes: 64,
            slots: 1,
            for_exec: false,
        })
        .unwrap();
        tx.send(64, |b| b.fill(7)).unwrap();
        assert!(rx.recv(64, |m| m.iter().all(|&b| b == 7)).unwrap());
        let (_w, _r, name) = open_pair(64, 1).unwrap();
        // SAFETY: a NUL-terminated name; a failed open returns -1.
        let again = unsafe { libc::mq_open(name.as_ptr(), libc::O_RDONLY) };
        assert_eq!(
            (again, errno()),
            (-1, libc::ENOENT),
            "{name:?} was not unlinked"
        );
        // A sender that goes away ends the stream for the receiver.
        drop(tx);
        assert!(matches!(rx.recv(64, |_| ()), Err(ChanError::Closed)));
    }

    #[test]
    fn a_wait_past_a_stale_deadline_renews_it_and_still_gets_the_message() {
        let (mut tx, mut rx) = Mq::link(LinkOpts {
            max_message_bytes: 64,
            slots: 1,
            for_exec: false,
        })
        .unwrap();
        let set = rx.wait.until;
        // Both ends' deadlines pass before anything is sent.
        std::thread::sleep(RECHECK + Duration::from_millis(10)); // untimed: a unit test letting the deadline go stale
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20)); // untimed: the receiver must block first
            tx.send(64, |b| b.fill(9)).unwrap();
            tx
        });
        assert!(rx.recv(64, |m| m.iter().all(|&b| b == 9)).unwrap());
        let renewed = rx.wait.until;
        assert!(
            (renewed.tv_sec, renewed.tv_nsec) > (set.tv_sec, set.tv_nsec),
            "the receiver's deadline was not renewed"
        );
        drop(sender.join().unwrap());
        assert!(matches!(rx.recv(64, |_| ()), Err(ChanError::Closed)));
    }

    #[test]
    fn a_message_over_the_kernel_limit_is_refused() {
        let too_big = LinkOpts {
            max_message_bytes: max_message_bytes() + 1,
            slots: 1,
            for_exec: false,
        };
        assert!(matches!(Mq::link(too_big), Err(ChanError::TooLarge)));
    }
}
