//! mpmt-core: the measurement core of mpmt. Backends (how a worker is born),
//! channels (how workers talk), workloads (what one operation is), timing,
//! statistics, floors, environment facts and the result schema. It never
//! prints and never parses command-line flags.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod backend;
pub mod channel;
pub mod counter;
pub mod creation;
pub mod dataparallel;
pub mod env;
pub mod error;
pub mod floors;
pub mod pattern;
pub mod placement;
pub mod process;
pub mod schema;
pub mod serve;
pub mod shmem;
pub mod signal;
pub mod stats;
pub mod sys;
pub mod task;
pub mod timing;
pub mod units;
pub mod workload;

pub use backend::BackendKind;
pub use channel::ChannelKind;
pub use error::{Error, Result};
pub use placement::Placement;
pub use task::Task;
pub use workload::{Case, Workload};
