//! A task: one fully resolved case of any workload, and how to run it.
//! The driver plans a list of tasks; each run yields one or more records.

use crate::counter::CounterCase;
use crate::creation::SpawnCase;
use crate::dataparallel::DpCase;
use crate::error::Result;
use crate::schema::Record;
use crate::workload::{Case, Context};

#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// ctx-switch, latency, bandwidth.
    Ring(Case),
    DataParallel(DpCase),
    Counter(CounterCase),
    Spawn(SpawnCase),
}

impl Task {
    pub fn label(&self) -> String {
        match self {
            Task::Ring(c) => c.label(),
            Task::DataParallel(c) => c.label(),
            Task::Counter(c) => c.label(),
            Task::Spawn(c) => c.label(),
        }
    }

    /// Measures the task.
    pub fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        Ok(match self {
            Task::Ring(c) => vec![crate::workload::run_case(c, ctx)?],
            Task::DataParallel(c) => vec![crate::dataparallel::run_case(c)?],
            Task::Counter(c) => vec![crate::counter::run_case(c)?],
            Task::Spawn(c) => crate::creation::run_case(c)?,
        })
    }
}
