//! The core's error type. Messages are written for the person running mpmt:
//! they say what failed, for which worker, and what to do where that helps.

use crate::channel::ChanError;

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

    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            Error::Interrupted(_) | Error::Chan(ChanError::Interrupted)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
