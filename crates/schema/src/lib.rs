//! mpmt-schema: the `results.json` contract, shared by the code that
//! measures (mpmt-core), the code that reads (mpmt-report) and the driver.
//! It depends on serde alone: the report can be built and tested without
//! linking anything that forks, maps or talks IPC.
//!
//! Every name a record carries is a typed kind ([`Workload`], [`Backend`],
//! [`Channel`], [`Placement`], [`Metric`], [`Unit`], and its [`Variant`]:
//! [`CounterMode`], [`CreateMethod`], [`CounterLayout`], [`ArraySplit`], …), so a producer and a
//! consumer cannot disagree on a spelling: a typo is a compile error. The
//! statistics ([`stats`]) are pure functions over slices; [`units`] parses
//! and prints sizes, counts, durations and rates.

pub mod kinds;
pub mod results;
pub mod stats;
pub mod units;
mod upgrade;
pub mod variant;

pub use kinds::{
    Backend, Channel, CounterLayout, CounterMode, CounterWrite, CowWriter, CrashFault,
    CreateMethod, Metric, Placement, Recovery, Unit, VmOp, WarningKind, Workload,
};
pub use results::*;
pub use stats::{summarize, Stats};
pub use variant::{ArrayAccess, ArraySplit, CowWrite, CrashRun, Variant};
