//! The worker protocol: what a member says when its job ends. A
//! [`Report`] is small and fixed-size ([`Report::BYTES`]) so a forked child
//! writes it with one raw `write`; its [`Status`] is a typed enum, encoded
//! as two words on the wire.

use crate::channel::ChanError;

/// How a member's job ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    Ok,
    /// A channel operation failed.
    Channel(ChanError),
    /// Message `op` was not the one sent.
    Corrupt { op: u64 },
    /// Pinning to the member's CPU failed with this errno.
    PinFailed { errno: i32 },
    /// The job panicked.
    Panicked,
    /// Setting the job up failed with this errno.
    SetupFailed { errno: i32 },
    /// The start gate never opened.
    GateNeverOpened,
    /// An exec'd worker received a job it could not read.
    BadJob,
}

impl Status {
    fn encode(self) -> (u64, u64) {
        match self {
            Status::Ok => (0, 0),
            Status::Channel(e) => (1, e.code()),
            Status::Corrupt { op } => (2, op),
            Status::PinFailed { errno } => (3, errno as u64),
            Status::Panicked => (4, 0),
            Status::SetupFailed { errno } => (5, errno as u64),
            Status::GateNeverOpened => (6, 0),
            Status::BadJob => (7, 0),
        }
    }

    fn decode(code: u64, detail: u64) -> Option<Status> {
        Some(match code {
            0 => Status::Ok,
            1 => Status::Channel(ChanError::from_code(detail)),
            2 => Status::Corrupt { op: detail },
            3 => Status::PinFailed {
                errno: detail as i32,
            },
            4 => Status::Panicked,
            5 => Status::SetupFailed {
                errno: detail as i32,
            },
            6 => Status::GateNeverOpened,
            7 => Status::BadJob,
            _ => return None,
        })
    }

    /// An I/O error as a setup failure.
    pub fn setup(e: &std::io::Error) -> Status {
        Status::SetupFailed {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

/// Outcome of a member's job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub status: Status,
    /// Operations the member completed (messages verified, elements
    /// doubled, increments made).
    pub ops: u64,
    /// The member's own context switches over its measured loop.
    pub voluntary: u64,
    pub involuntary: u64,
}

impl Report {
    const MAGIC: u64 = 0x6D70_6D74_7265_7032; // "mpmtrep2"
    pub const BYTES: usize = 48;

    pub fn ok(ops: u64) -> Report {
        Report {
            ops,
            ..Default::default()
        }
    }

    pub fn failed(status: Status) -> Report {
        Report {
            status,
            ..Default::default()
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let (code, detail) = self.status.encode();
        let words = [
            Self::MAGIC,
            code,
            detail,
            self.ops,
            self.voluntary,
            self.involuntary,
        ];
        let mut out = [0u8; Self::BYTES];
        for (i, w) in words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Report> {
        if b.len() != Self::BYTES {
            return None;
        }
        let w = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(a)
        };
        if w(0) != Self::MAGIC {
            return None;
        }
        Some(Report {
            status: Status::decode(w(1), w(2))?,
            ops: w(3),
            voluntary: w(4),
            involuntary: w(5),
        })
    }

    /// Why the job failed, in words; None if it succeeded.
    pub fn failure(&self) -> Option<String> {
        let os = |e: i32| std::io::Error::from_raw_os_error(e);
        match self.status {
            Status::Ok => None,
            Status::Channel(e) => {
                Some(format!("channel failed after {} operations: {e}", self.ops))
            }
            Status::Corrupt { op } => Some(format!(
                "payload check failed at operation {op}: the message received was not the one sent"
            )),
            Status::PinFailed { errno } => Some(format!("could not pin to its CPU: {}", os(errno))),
            Status::Panicked => Some("panicked".to_string()),
            Status::SetupFailed { errno } => Some(format!("setup failed: {}", os(errno))),
            Status::GateNeverOpened => Some("the start gate never opened".to_string()),
            Status::BadJob => Some("received a job it could not read".to_string()),
        }
    }

    /// True when the failure is only a consequence of another's: its
    /// channel closed, or the gate never opened (the parent abandons the
    /// gate when it gives up on a case, so a member waiting there reports
    /// this after a sibling was killed). Another member's own account, or
    /// the parent's, is more telling.
    pub fn is_consequence(&self) -> bool {
        matches!(self.status, Status::Channel(_) | Status::GateNeverOpened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_followers_failures_are_consequences() {
        for (status, follows) in [
            (Status::Channel(ChanError::Closed), true),
            (Status::GateNeverOpened, true),
            (Status::Corrupt { op: 3 }, false),
            (Status::PinFailed { errno: 22 }, false),
            (Status::Panicked, false),
            (Status::SetupFailed { errno: 12 }, false),
            (Status::BadJob, false),
        ] {
            assert_eq!(
                Report::failed(status).is_consequence(),
                follows,
                "{status:?}"
            );
        }
    }

    #[test]
    fn every_status_round_trips_through_bytes() {
        for status in [
            Status::Ok,
            Status::Channel(ChanError::Closed),
            Status::Channel(ChanError::Os(libc::EPIPE)),
            Status::Corrupt { op: 77 },
            Status::PinFailed { errno: 22 },
            Status::Panicked,
            Status::SetupFailed { errno: 12 },
            Status::GateNeverOpened,
            Status::BadJob,
        ] {
            let r = Report {
                status,
                ops: 1000,
                voluntary: 999,
                involuntary: 3,
            };
            assert_eq!(Report::from_bytes(&r.to_bytes()), Some(r));
        }
        assert_eq!(Report::from_bytes(&[0u8; 48]), None);
        assert_eq!(Report::from_bytes(&[0u8; 47]), None);
    }

    #[test]
    fn failure_texts_name_the_cause() {
        assert_eq!(Report::default().failure(), None);
        let c = Report::failed(Status::Corrupt { op: 12 })
            .failure()
            .unwrap();
        assert!(c.contains("operation 12"), "{c}");
        let ch = Report::failed(Status::Channel(ChanError::Closed))
            .failure()
            .unwrap();
        assert!(ch.contains("peer closed"), "{ch}");
    }
}
