//! The responder side of every ring workload, identical in a thread, a
//! forked child and an exec'd worker: receive message `i`, verify it, do the
//! role's work, pass a message on; stop when the in-band stop message
//! arrives (and pass it on, so the initiator knows every member finished).
//!
//! Allocation-free for every channel but ipc-channel (see its module), so a
//! forked child may run it. Counts its own context switches with
//! `getrusage(RUSAGE_THREAD)` across the loop.

use crate::channel::{ChanError, Rx, Tx};
use crate::pattern::{self, SALT_REPLY, SALT_REQUEST};
use crate::signal::interrupted;
use crate::sys::Switches;
use serde::{Deserialize, Serialize};

/// What a worker does with each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// latency: reply to request `i` with reply `i`.
    Echo { size: usize },
    /// bandwidth: consume chunk `i`; reply only to the stop message.
    Sink { size: usize },
    /// ctx-switch: sum the private working set, then pass token `i` on.
    Forward { size: usize },
}

impl Role {
    pub fn size(self) -> usize {
        match self {
            Role::Echo { size } | Role::Sink { size } | Role::Forward { size } => size,
        }
    }
}

/// Outcome of a worker, small and fixed-size so a forked child can write it
/// to a pipe with one raw `write`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub status: u64,
    pub detail: u64,
    pub ops: u64,
    pub voluntary: u64,
    pub involuntary: u64,
}

impl WorkerReport {
    pub const OK: u64 = 0;
    pub const CHANNEL: u64 = 1;
    pub const CORRUPT: u64 = 2;
    pub const PIN_FAILED: u64 = 3;
    pub const PANICKED: u64 = 4;
    pub const SETUP_FAILED: u64 = 5;
    const MAGIC: u64 = 0x6D70_6D74_7265_7031; // "mpmtrep1"
    pub const BYTES: usize = 48;

    pub fn failed(status: u64, detail: u64) -> WorkerReport {
        WorkerReport {
            status,
            detail,
            ..Default::default()
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        let words = [
            Self::MAGIC,
            self.status,
            self.detail,
            self.ops,
            self.voluntary,
            self.involuntary,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<WorkerReport> {
        if b.len() != Self::BYTES {
            return None;
        }
        let w = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(a)
        };
        (w(0) == Self::MAGIC).then(|| WorkerReport {
            status: w(1),
            detail: w(2),
            ops: w(3),
            voluntary: w(4),
            involuntary: w(5),
        })
    }

    /// Why the worker failed, in words; None if it succeeded.
    pub fn failure(&self) -> Option<String> {
        match self.status {
            Self::OK => None,
            Self::CHANNEL => Some(format!(
                "channel failed after {} operations: {}",
                self.ops,
                ChanError::from_code(self.detail)
            )),
            Self::CORRUPT => Some(format!(
                "payload check failed at operation {}: the message received was not the one sent",
                self.detail
            )),
            Self::PIN_FAILED => Some(format!(
                "could not pin to its CPU: {}",
                std::io::Error::from_raw_os_error(self.detail as i32)
            )),
            Self::PANICKED => Some("panicked".to_string()),
            Self::SETUP_FAILED => Some(format!(
                "setup failed: {}",
                std::io::Error::from_raw_os_error(self.detail as i32)
            )),
            s => Some(format!("unknown status {s}")),
        }
    }
}

/// Sums a working set as 64-bit words (reads every byte once).
#[inline]
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

enum Got {
    Next,
    Stop,
    Bad,
}

/// Serves `role` until the stop message (or an error).
pub fn serve<T: Tx, R: Rx>(role: Role, rx: &mut R, tx: &mut T, ws: &[u8]) -> WorkerReport {
    let size = role.size();
    let start = Switches::now();
    let mut rep = WorkerReport::default();
    let mut i = 0u64;
    let outcome: Result<(), (u64, u64)> = loop {
        let got = rx.recv(size, |m| {
            if pattern::is_stop(m) {
                Got::Stop
            } else if pattern::verify(m, i, SALT_REQUEST) {
                Got::Next
            } else {
                Got::Bad
            }
        });
        let sent = match got {
            Err(e) => break Err((WorkerReport::CHANNEL, e.code())),
            Ok(Got::Bad) => break Err((WorkerReport::CORRUPT, i)),
            Ok(Got::Stop) => match tx.send(size, pattern::fill_stop) {
                Ok(()) => break Ok(()),
                Err(e) => break Err((WorkerReport::CHANNEL, e.code())),
            },
            Ok(Got::Next) => match role {
                Role::Echo { .. } => tx.send(size, |b| pattern::fill(b, i, SALT_REPLY)),
                Role::Sink { .. } => Ok(()),
                Role::Forward { .. } => {
                    std::hint::black_box(touch(ws));
                    tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))
                }
            },
        };
        if let Err(e) = sent {
            break Err((WorkerReport::CHANNEL, e.code()));
        }
        i += 1;
        if interrupted() {
            break Err((WorkerReport::CHANNEL, ChanError::Interrupted.code()));
        }
    };
    if let Err((status, detail)) = outcome {
        rep.status = status;
        rep.detail = detail;
    }
    let sw = Switches::now().since(start);
    rep.ops = i;
    rep.voluntary = sw.voluntary;
    rep.involuntary = sw.involuntary;
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_through_bytes() {
        let r = WorkerReport {
            status: 2,
            detail: 77,
            ops: 1000,
            voluntary: 999,
            involuntary: 3,
        };
        assert_eq!(WorkerReport::from_bytes(&r.to_bytes()), Some(r));
        assert_eq!(WorkerReport::from_bytes(&[0u8; 48]), None);
        assert_eq!(WorkerReport::from_bytes(&[0u8; 47]), None);
    }

    #[test]
    fn failure_texts_name_the_cause() {
        assert_eq!(WorkerReport::default().failure(), None);
        let c = WorkerReport::failed(WorkerReport::CORRUPT, 12)
            .failure()
            .unwrap();
        assert!(c.contains("operation 12"), "{c}");
        let ch = WorkerReport::failed(WorkerReport::CHANNEL, ChanError::Closed.code())
            .failure()
            .unwrap();
        assert!(ch.contains("peer closed"), "{ch}");
    }

    #[test]
    fn touch_sums_words_and_tail() {
        let mut v = vec![0u8; 17];
        v[0] = 1;
        v[8] = 2;
        v[16] = 5;
        assert_eq!(touch(&v), 8);
    }
}
