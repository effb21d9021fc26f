//! The core's error types, below every layer that returns them: [`Error`]
//! (messages written for the person running mpmt: what failed, for which
//! worker, what to do where that helps) and [`ChanError`], why one channel
//! operation failed (small and `Copy`, so a forked child can report it).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("channel: {0}")]
    Chan(#[from] ChanError),
    #[error("worker {index} ({backend}): {detail}")]
    Worker {
        index: usize,
        backend: &'static str,
        detail: String,
    },
    #[error("payload check failed at operation {op}: {who} received a message that was not the one sent")]
    Corrupt { op: u64, who: &'static str },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error("result check failed: {0}")]
    Verify(String),
    #[error("interrupted by {0}")]
    Interrupted(&'static str),
    /// A wait outlasted the stall deadline; `detail` says what each worker
    /// was doing then.
    #[error("{}{detail}", stall_text(*.limit, *.bound))]
    Stalled {
        limit: std::time::Duration,
        /// Which limit fired: a measured wait's, or a worker's start.
        bound: crate::sys::watchdog::Bound,
        detail: String,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The interrupt error, naming the signal that caused it.
    pub fn interrupted() -> Error {
        Error::Interrupted(
            crate::sys::signal::interrupting_signal()
                .map(crate::sys::child::signal_name)
                .unwrap_or("signal"),
        )
    }

    /// The stall error, before anyone has said what the workers were doing.
    pub fn stalled() -> Error {
        Error::stalled_with(String::new())
    }

    /// The stall error of the deadline that fired, with what was stuck.
    pub fn stalled_with(detail: String) -> Error {
        Error::Stalled {
            limit: crate::sys::watchdog::limit(),
            bound: crate::sys::watchdog::bound(),
            detail,
        }
    }

    /// A wait gave up at the stall deadline.
    pub fn is_stall(&self) -> bool {
        matches!(
            self,
            Error::Stalled { .. } | Error::Chan(ChanError::Stalled)
        )
    }

    /// The error for a wait that must give up now, if it must (an
    /// interrupt or the stall deadline).
    pub fn halted() -> Option<Error> {
        use crate::sys::signal::{halted, Halt};
        halted().map(|h| match h {
            Halt::Interrupted => Error::interrupted(),
            Halt::Stalled => Error::stalled(),
        })
    }

    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            Error::Interrupted(_) | Error::Chan(ChanError::Interrupted)
        )
    }
}

/// What a stall error says of the limit that fired.
fn stall_text(limit: std::time::Duration, bound: crate::sys::watchdog::Bound) -> String {
    use crate::sys::watchdog::Bound;
    let s = limit.as_secs_f64();
    match bound {
        Bound::Stall => {
            format!("no progress within {s:.1} s (the stall deadline, set with --deadline)")
        }
        Bound::WorkerStart => format!(
            "a worker did not start within {s:.1} s (the worker start limit: {}× the median start time seen in this run, at least {} s)",
            crate::sys::watchdog::START_FACTOR,
            crate::sys::watchdog::START_FLOOR.as_secs()
        ),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    /// The stall watchdog's deadline passed while waiting.
    Stalled,
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
            ChanError::Stalled => f.write_str("no progress before the deadline"),
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
            ChanError::Stalled => 6,
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
            6 => ChanError::Stalled,
            c => ChanError::Os(c.saturating_sub(1000) as i32),
        }
    }
}

impl ChanError {
    /// The error for a wait that must give up, if it must
    /// ([`crate::sys::signal::halted`]).
    #[inline]
    pub fn halted() -> Option<ChanError> {
        use crate::sys::signal::{halted, Halt};
        halted().map(|h| match h {
            Halt::Interrupted => ChanError::Interrupted,
            Halt::Stalled => ChanError::Stalled,
        })
    }
}

impl From<std::io::Error> for ChanError {
    fn from(e: std::io::Error) -> Self {
        ChanError::Os(e.raw_os_error().unwrap_or(libc::EIO))
    }
}
