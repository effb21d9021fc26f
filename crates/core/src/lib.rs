//! mpmt-core: the measuring half of mpmt. It never prints and never parses
//! command-line flags. Layers, each importing only from those below it:
//!
//! ```text
//! workloads/  what one measured operation is: Workload + Case + Job per
//!             workload, one registry (the worker binary dispatches on it)
//! backend/    how a member is born (thread, fork, spawn): Job, Team, the
//!             worker protocol; never names a workload
//! channel/    how members talk: the Channel contract, one file per channel,
//!             capabilities as constants, the registry macro
//! shm/        shared mappings and the start gate
//! measure/    clock, sampler, floors, environment, the one Record builder
//! sys/        raw Linux: futex, affinity, fds, children, /proc, signals
//! ```
//!
//! The result types themselves (records, kinds, statistics) live in
//! `mpmt-schema`, which the report reads without linking any of this.
//! `tests/imports.rs` holds the layers to this diagram and every crate to
//! having no import circle.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod backend;
pub mod channel;
pub mod error;
pub mod measure;
pub mod shm;
pub mod sys;
pub mod workloads;

pub use error::{Error, Result};
pub use mpmt_schema as schema;
pub use mpmt_schema::{Backend, Channel as ChannelKind, Placement, Workload as WorkloadKind};
