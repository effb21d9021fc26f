//! The headline figures: eighteen records that sum a run up, one per
//! classic question (a switch, a message, a stream, a doubling, an
//! increment, a creation, a memory operation, a live worker's page
//! tables, each for a thread and for a process; a fork of a resident
//! heap and a page copied after it), picked
//! from any run by what they measure. `compare` sets them side by side
//! across runs (typically one per machine) and `export` leads with them.

use mpmt_schema::{
    ArrayAccess, ArraySplit, Backend, Channel, CounterMode, CreateMethod, Metric, Placement,
    Record, Results, Variant, VmOp, Workload,
};

/// One headline figure: a label, and which records qualify (the one with
/// the largest size is taken, so the largest array of a sweep stands for
/// data-parallel).
pub struct Figure {
    pub label: &'static str,
    pub pick: fn(&Record) -> bool,
}

fn ring(r: &Record, w: Workload, b: Backend, size: u64) -> bool {
    r.workload == w
        && r.backend == b
        && r.channel == Some(Channel::Pipe)
        && r.placement == Placement::SameCpu
        && r.variant.is_none()
        && r.size_bytes == size
        && r.working_set_bytes == 0
}

fn switch(r: &Record, b: Backend) -> bool {
    ring(r, Workload::CtxSwitch, b, r.size_bytes) && r.workers == 2
}

fn variant(r: &Record, w: Workload, m: Metric, v: Variant) -> bool {
    r.workload == w && r.metric == m && r.variant == Some(v)
}

const THREAD_HEAP: Variant = Variant::Split(ArraySplit::new(Backend::Thread, ArrayAccess::Heap));
const FORK_SHM: Variant = Variant::Split(ArraySplit::new(Backend::Fork, ArrayAccess::Shm));
const ATOMIC: Variant = Variant::Mode(CounterMode::Atomic);

/// Every headline figure, in reading order.
pub const FIGURES: [Figure; 18] = [
    Figure {
        label: "switch, thread, pipe, one CPU",
        pick: |r| switch(r, Backend::Thread),
    },
    Figure {
        label: "switch, process (fork), pipe, one CPU",
        pick: |r| switch(r, Backend::Fork),
    },
    Figure {
        label: "round trip 8 B, thread, pipe, one CPU",
        pick: |r| ring(r, Workload::Latency, Backend::Thread, 8),
    },
    Figure {
        label: "round trip 8 B, process (fork), pipe, one CPU",
        pick: |r| ring(r, Workload::Latency, Backend::Fork, 8),
    },
    Figure {
        label: "stream 64 KiB, process (fork), pipe, one CPU",
        pick: |r| ring(r, Workload::Bandwidth, Backend::Fork, 64 << 10),
    },
    Figure {
        label: "doubling the largest array, thread-heap, 2 workers",
        pick: |r| variant(r, Workload::DataParallel, Metric::Wall, THREAD_HEAP) && r.workers == 2,
    },
    Figure {
        label: "doubling the largest array, fork-shm, 2 workers",
        pick: |r| variant(r, Workload::DataParallel, Metric::Wall, FORK_SHM) && r.workers == 2,
    },
    Figure {
        label: "increment, atomic, threads, one CPU",
        pick: |r| {
            variant(r, Workload::Counter, Metric::Increment, ATOMIC)
                && r.backend == Backend::Thread
                && r.placement == Placement::SameCpu
        },
    },
    Figure {
        label: "increment, atomic, processes, one CPU",
        pick: |r| {
            variant(r, Workload::Counter, Metric::Increment, ATOMIC)
                && r.backend == Backend::Fork
                && r.placement == Placement::SameCpu
        },
    },
    Figure {
        label: "create + join, thread, no extra heap",
        pick: |r| {
            variant(
                r,
                Workload::Create,
                Metric::Create,
                Variant::Method(CreateMethod::Thread),
            ) && r.size_bytes == 0
        },
    },
    Figure {
        label: "create + reap, fork, no extra heap",
        pick: |r| {
            variant(
                r,
                Workload::Create,
                Metric::Create,
                Variant::Method(CreateMethod::Fork),
            ) && r.size_bytes == 0
        },
    },
    Figure {
        label: "create + reap, fork-exec, no extra heap",
        pick: |r| {
            variant(
                r,
                Workload::Create,
                Metric::Create,
                Variant::Method(CreateMethod::ForkExec),
            ) && r.size_bytes == 0
        },
    },
    Figure {
        label: "madvise a page, 2 threads across CPUs",
        pick: |r| madvise(r, Backend::Thread),
    },
    Figure {
        label: "madvise a page, 2 processes (fork) across CPUs",
        pick: |r| madvise(r, Backend::Fork),
    },
    Figure {
        label: "page tables per live worker, 4 threads reading a shared region",
        pick: |r| tables(r, Backend::Thread),
    },
    Figure {
        label: "page tables per live worker, 4 processes (fork) reading a shared region",
        pick: |r| tables(r, Backend::Fork),
    },
    Figure {
        label: "fork of a parent with a resident heap (4 KiB pages)",
        pick: |r| cow(r, Metric::Fork, 0),
    },
    Figure {
        label: "a page the child writes after fork (copy-on-write, 4 KiB pages)",
        pick: |r| cow(r, Metric::CowFault, 1_000_000),
    },
];

fn tables(r: &Record, b: Backend) -> bool {
    r.workload == Workload::Memory
        && r.metric == Metric::PageTables
        && r.backend == b
        && r.workers == 4
        && r.working_set_bytes == 0
        && r.size_bytes > 0
}

fn cow(r: &Record, m: Metric, ppm: u32) -> bool {
    let write = mpmt_schema::CowWrite {
        writer: mpmt_schema::CowWriter::Child,
        ppm,
        huge: false,
    };
    variant(r, Workload::Cow, m, Variant::Cow(write))
}

fn madvise(r: &Record, b: Backend) -> bool {
    variant(r, Workload::VmOps, Metric::VmOp, Variant::Op(VmOp::Madvise))
        && r.backend == b
        && r.workers == 2
        && r.placement == Placement::CrossCpu
}

/// The record standing for `f` in `res`, if the run measured it.
pub fn find<'a>(res: &'a Results, f: &Figure) -> Option<&'a Record> {
    res.records
        .iter()
        .filter(|r| (f.pick)(r))
        .max_by_key(|r| r.size_bytes)
}

/// The figures any of `runs` measured, each with its record per run.
pub fn table<'a>(runs: &[&'a Results]) -> Vec<(&'static Figure, Vec<Option<&'a Record>>)> {
    FIGURES
        .iter()
        .map(|f| (f, runs.iter().map(|r| find(r, f)).collect::<Vec<_>>()))
        .filter(|(_, v)| v.iter().any(|x| x.is_some()))
        .collect()
}
