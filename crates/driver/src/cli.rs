//! Command-line flags, as the user types them. Values are parsed here;
//! checking them against each other and the machine is `plan`'s job.

use clap::{Args, Parser, Subcommand};
use mpmt_core::{ChannelKind, Placement, Workload};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "mpmt",
    version,
    about = "Threads or processes: what each costs on this machine",
    long_about = "mpmt runs the same workload code as threads sharing a heap, as fork()ed \
processes and as exec'd mpmt-worker processes, over the same channels, pinned the same way, \
and reports medians with confidence intervals next to the machine's own floors.\n\n\
Lists are comma-separated (--backend thread,fork). Sizes accept K, M and G (powers of 1024)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure one workload over a matrix of backends, channels and placements
    Run(Box<RunArgs>),
    /// Measure every workload with a profile's sweeps, then write the report
    Suite(SuiteArgs),
    /// Draw the SVG charts and index.html of a run folder from its results.json
    Report {
        /// A run folder holding results.json (e.g. reports/latest)
        run_dir: PathBuf,
    },
    /// Compare two runs (e.g. two machines): environment diff and B/A per case
    Compare {
        /// Run folder A (the baseline)
        a: PathBuf,
        /// Run folder B
        b: PathBuf,
        /// Where compare.md and compare.svg go [default: run folder B]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List workloads, backends, channels, placements and which combinations are valid
    List,
    /// Print the machine facts a run records (and optionally the floors)
    Env(EnvArgs),
}

fn parse_workload(s: &str) -> Result<Workload, String> {
    Workload::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a workload; expected one of: {}",
            Workload::ALL.map(|w| w.name()).join(", ")
        )
    })
}

fn parse_channel(s: &str) -> Result<ChannelKind, String> {
    ChannelKind::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a channel; expected one of: {}",
            ChannelKind::ALL.map(|c| c.name()).join(", ")
        )
    })
}

fn parse_placement(s: &str) -> Result<Placement, String> {
    Placement::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a placement; expected one of: {}",
            Placement::ALL.map(|p| p.name()).join(", ")
        )
    })
}

fn parse_size(s: &str) -> Result<u64, String> {
    mpmt_core::units::parse_bytes(s)
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// What to measure: ctx-switch, latency, bandwidth, data-parallel, counter, spawn
    #[arg(value_parser = parse_workload)]
    pub workload: Workload,

    /// How workers are born: thread, fork, spawn; for the spawn workload:
    /// thread, fork, fork-exec, posix-spawn [default: all]
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<String>,

    /// How workers talk: pipe, unix-socket, shm-futex, shm-spin, ipc-channel, heap
    /// [default: every channel valid for the workload and backend]
    #[arg(long, value_delimiter = ',', value_parser = parse_channel)]
    pub channel: Vec<ChannelKind>,

    /// Where workers run: same-cpu, cross-cpu, os [default: same-cpu,cross-cpu;
    /// data-parallel and spawn: os]
    #[arg(long, value_delimiter = ',', value_parser = parse_placement)]
    pub placement: Vec<Placement>,

    /// ctx-switch: ring sizes counting the initiator (≥ 2) [default: 2];
    /// data-parallel: workers [default: 1,2,4… up to 2 × CPUs];
    /// counter: workers [default: 50]; spawn: workers alive at once for the
    /// memory measurement [default: 4]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// data-parallel: thread-heap, thread-shm, fork-shm, spawn-shm, fork-pipe,
    /// spawn-ipc-channel [default: all]
    #[arg(long, value_delimiter = ',')]
    pub variant: Vec<String>,

    /// data-parallel: array lengths in u64 elements, K/M/G = 1024-powers
    /// [default: 1K,32K,1M,16M]
    #[arg(long, value_delimiter = ',', value_parser = parse_size)]
    pub elements: Vec<u64>,

    /// counter: racy, atomic, mutex, mutex-batch [default: all]
    #[arg(long, value_delimiter = ',')]
    pub mode: Vec<String>,

    /// counter: increments per worker [default: 100000]
    #[arg(long, value_parser = parse_size)]
    pub increments: Option<u64>,

    /// spawn: resident parent heap sizes to fork from [default: 0,64M,1G]
    #[arg(long = "parent-heap", value_delimiter = ',', value_parser = parse_size)]
    pub parent_heap: Vec<u64>,

    /// latency: message sizes [default: 8,64,512,4K,32K,256K,1M];
    /// bandwidth: chunk sizes [default: 4K,64K,1M,16M]. At least 8 bytes.
    #[arg(long, value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<u64>,

    /// ctx-switch: private bytes each worker sums before passing the token
    /// [default: 0]
    #[arg(long = "working-set", value_delimiter = ',', value_parser = parse_size)]
    pub working_set: Vec<u64>,

    /// Samples per case [default: ctx-switch 300, latency 1000, bandwidth 60,
    /// data-parallel 5, counter 3, spawn 50]
    #[arg(long)]
    pub samples: Option<usize>,

    /// CPUs to pin to (same-cpu uses the first, cross-cpu round-robins)
    /// [default: every CPU this process may use]
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<u32>,

    /// Directory that receives the run folder <out>/<run-id>/
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
}

impl RunArgs {
    /// Every flag at its default, for `workload`, writing under `out`.
    pub fn defaults(workload: Workload, out: &std::path::Path) -> RunArgs {
        RunArgs {
            workload,
            backend: vec![],
            channel: vec![],
            placement: vec![],
            workers: vec![],
            variant: vec![],
            elements: vec![],
            mode: vec![],
            increments: None,
            parent_heap: vec![],
            sizes: vec![],
            working_set: vec![],
            samples: None,
            cpus: vec![],
            out: out.to_path_buf(),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SuiteArgs {
    /// smoke (seconds), quick (< 1 min), default (< 5 min; `make bench`), full
    #[arg(long, value_enum, default_value = "default")]
    pub profile: crate::suite::Profile,
    /// Directory that receives the run folder <out>/<run-id>/ and <out>/latest
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct EnvArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Also measure the floors (clock, syscall, cache line, memcpy; ~1 s)
    #[arg(long)]
    pub floors: bool,
}
