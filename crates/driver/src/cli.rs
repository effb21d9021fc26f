//! Command-line flags, as the user types them. `mpmt run <workload>` is one
//! subcommand per workload, each taking only the flags that workload uses,
//! so clap itself refuses a flag that does not apply. Values are parsed
//! into typed kinds here; checking them against each other and the machine
//! is `plan`'s job.

use crate::choices;
pub use crate::choices::{Profile, RingPlacement, Sharing};
use clap::{Args, Parser, Subcommand};
use mpmt_core::schema::{CounterLayout, CounterMode, CreateMethod};
use mpmt_core::workloads::data_parallel::Split;
use mpmt_core::{Backend, ChannelKind, Placement, WorkloadKind as W};
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
    Run(RunCommand),
    /// Measure every workload with a profile's sweeps, then write the report
    Suite(SuiteArgs),
    /// Draw the SVG charts and index.html of a run folder from its results.json
    Report {
        /// A run folder holding results.json (e.g. reports/latest)
        run_dir: PathBuf,
    },
    /// Compare two or more runs (e.g. one per machine): environment
    /// differences, headline figures side by side, every case against a
    /// baseline
    Compare(CompareArgs),
    /// Write a run's records in another format (stdout, or --output FILE)
    Export(ExportArgs),
    /// Print a shell completion script: mpmt completions bash|zsh|fish
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check the harness on this machine: `aa` runs one profile twice and
    /// reports how many cases `compare` flags between identical runs
    Selftest {
        #[command(subcommand)]
        test: Selftest,
    },
    /// List workloads, backends, channels, placements and which combinations are valid
    List,
    /// Print the machine facts a run records (and optionally the floors)
    Env(EnvArgs),
}

/// `mpmt run <workload>`.
#[derive(Args, Debug, Clone)]
pub struct RunCommand {
    #[command(subcommand)]
    pub workload: WorkloadArgs,
}

/// One subcommand per workload.
#[derive(Subcommand, Debug, Clone)]
pub enum WorkloadArgs {
    /// Token around a ring of N workers; ns per switch minus the no-switch overhead
    CtxSwitch(CtxSwitchArgs),
    /// Round trip of an M-byte message, payload written and verified both ways
    Latency(MessageArgs),
    /// One-way stream of M-byte chunks, written and verified; bytes/s
    Bandwidth(MessageArgs),
    /// Double every element of an array across W workers; setup/compute/teardown
    DataParallel(DataParallelArgs),
    /// W workers add 1 to one shared counter K times; lost updates per mode
    Counter(CounterArgs),
    /// G groups of S senders and R receivers, every sender to every receiver (hackbench's shape)
    Messaging(MessagingArgs),
    /// W workers add 1 to their own counter K times, packed in one cache line or padded apart
    FalseSharing(FalseSharingArgs),
    /// Create a worker, run an empty body, join/reap it; memory per live worker
    #[command(alias = "spawn")]
    Create(CreateArgs),
}

/// A size or count: a whole number with an optional K, M or G (1024-powers).
pub fn size(s: &str) -> Result<u64, String> {
    mpmt_core::schema::units::parse_bytes(s)
}

/// Flags every workload takes. Negative numbers are values, so that
/// `--rounds -1` is refused naming the flag, not taken for a flag.
#[derive(Args, Debug, Clone, Default)]
#[command(allow_negative_numbers = true)]
pub struct Common {
    /// Samples per round, more if a round would measure for under 20 ms
    /// [default: the workload's own]
    #[arg(long)]
    pub samples: Option<usize>,

    /// CPUs to pin to (same-cpu uses the first, cross-cpu round-robins)
    /// [default: every CPU this process may use]
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<u32>,

    /// Directory that receives the run folder <out>/<run-id>/ and <out>/latest
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,

    #[command(flatten)]
    pub run: RunFlags,
}

/// How a run treats stalls and failures (`run` and `suite`).
#[derive(Args, Debug, Clone, Default)]
#[command(allow_negative_numbers = true)]
pub struct RunFlags {
    /// Longest any wait of a case may last before a worker counts as
    /// stalled (stopped, wedged) and the case fails, e.g. 2s, 500ms
    /// [default: 10 × the case's own time per sample, at least 5 s]
    #[arg(long, value_parser = deadline)]
    pub deadline: Option<std::time::Duration>,

    /// Run the remaining cases after one fails (the run is still marked
    /// failed and exits 1)
    #[arg(long)]
    pub keep_going: bool,

    /// Rounds every case gets, each with fresh workers and buffers, in a
    /// shuffled order with other cases' rounds; the median and CI come
    /// from the rounds' medians [default: 3]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: Option<u32>,

    /// Rounds a case may get while its CI is wider than --ci-target
    /// (within a time cap) [default: 3 × --rounds, at least 8]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_rounds: Option<u32>,

    /// Width of the median's 95 % CI, in % of the median, that ends a
    /// case's extra rounds [default: 5]
    #[arg(long, value_parser = ci_target)]
    pub ci_target: Option<f64>,

    /// Seed of the shuffled order of rounds, to repeat a run's order
    /// [default: from the clock; recorded in results.json]
    #[arg(long)]
    pub seed: Option<u64>,

    /// Also print every record's row at the end (`mpmt run` always prints
    /// its own; every row is in results.csv and on the page either way)
    #[arg(long, short)]
    pub verbose: bool,
}

/// `--threshold`: a per cent from 0 to 1000.
fn threshold_pct(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=1000.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!(
            "`{s}` is out of range; allowed: 0 to 1000 (per cent)"
        )),
        Err(_) => Err(format!("`{s}` is not a number; give a per cent, e.g. 10")),
    }
}

/// Range of `--ci-target`, in %.
pub const CI_TARGET_RANGE: (f64, f64) = (0.1, 100.0);

fn ci_target(s: &str) -> Result<f64, String> {
    let (lo, hi) = CI_TARGET_RANGE;
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        Ok(_) => Err(format!(
            "`{s}` is out of range; allowed: {lo} to {hi} (per cent of the median)"
        )),
        Err(_) => Err(format!(
            "`{s}` is not a number; give a per cent of the median, e.g. 5"
        )),
    }
}

/// Shortest and longest `--deadline`.
pub const DEADLINE_RANGE: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_millis(10),
    std::time::Duration::from_secs(24 * 3600),
);

/// A duration: a number with `ms` or `s` (seconds if bare).
fn deadline(s: &str) -> Result<std::time::Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let (lo, hi) = DEADLINE_RANGE;
    let secs = num
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * scale)
        .ok_or_else(|| {
            format!("`{s}` is not a duration; write seconds or milliseconds, e.g. 2s or 500ms")
        })?;
    if !(lo.as_secs_f64()..=hi.as_secs_f64()).contains(&secs) {
        return Err(format!(
            "`{s}` is out of range; allowed: {} ms to {} s",
            lo.as_millis(),
            hi.as_secs()
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Flags of the ring workloads.
#[derive(Args, Debug, Clone, Default)]
pub struct RingFlags {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::CtxSwitch))]
    pub backend: Vec<Backend>,

    /// How workers talk [default: every channel valid for the workload
    /// and backend]
    #[arg(long, value_delimiter = ',', value_parser = choices::channel(W::CtxSwitch))]
    pub channel: Vec<ChannelKind>,

    /// Where workers run [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::ring_placement(W::CtxSwitch))]
    pub placement: Vec<RingPlacement>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CtxSwitchArgs {
    #[command(flatten)]
    pub ring: RingFlags,

    /// Ring sizes counting the initiator (≥ 2) [default: 2]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Private bytes each worker sums before passing the token [default: 0]
    #[arg(long = "working-set", value_delimiter = ',', value_parser = size)]
    pub working_set: Vec<u64>,

    /// Whose working set a member sums [default: private]
    #[arg(long, value_delimiter = ',', value_parser = choices::sharing())]
    pub working_set_sharing: Vec<Sharing>,

    #[command(flatten)]
    pub common: Common,
}

/// latency and bandwidth.
#[derive(Args, Debug, Clone, Default)]
pub struct MessageArgs {
    #[command(flatten)]
    pub ring: RingFlags,

    /// Message (latency) or chunk (bandwidth) sizes, at least 8 bytes
    /// [default: latency 8,64,512,4K,32K,256K,1M; bandwidth 4K,64K,1M,16M]
    #[arg(long, value_delimiter = ',', value_parser = size)]
    pub sizes: Vec<u64>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DataParallelArgs {
    /// <backend>-<heap|shm|channel> [default: thread-heap, thread-shm,
    /// fork-shm, spawn-shm, fork-pipe, spawn-ipc-channel]
    #[arg(long, value_delimiter = ',', value_parser = choices::split())]
    pub variant: Vec<Split>,

    /// Array lengths in u64 elements, K/M/G = 1024-powers [default: 1K,32K,1M,16M]
    #[arg(long, value_delimiter = ',', value_parser = size)]
    pub elements: Vec<u64>,

    /// Workers [default: 1,2,4… up to 2 × CPUs]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Where workers run [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::DataParallel))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CounterArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::Counter))]
    pub backend: Vec<Backend>,

    /// How each worker adds 1 [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::mode())]
    pub mode: Vec<CounterMode>,

    /// Workers [default: 50]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Increments per worker [default: 100000]
    #[arg(long, value_parser = size)]
    pub increments: Option<u64>,

    /// Where workers run [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Counter))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone, Default)]
pub struct MessagingArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::Messaging))]
    pub backend: Vec<Backend>,

    /// How senders reach a receiver [default: both]
    #[arg(long, value_delimiter = ',', value_parser = choices::channel(W::Messaging))]
    pub channel: Vec<ChannelKind>,

    /// Groups, each of --senders senders and --receivers receivers
    /// [default: 1,2,4]
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<usize>,

    /// Senders per group [default: 20]
    #[arg(long)]
    pub senders: Option<usize>,

    /// Receivers per group [default: 20]
    #[arg(long)]
    pub receivers: Option<usize>,

    /// Messages each sender sends each receiver of its group [default: 100]
    #[arg(long, value_parser = size)]
    pub loops: Option<u64>,

    /// Bytes per message, 8 to 4K [default: 100]
    #[arg(long, value_parser = size)]
    pub size: Option<u64>,

    /// Where workers run [default: os,same-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Messaging))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone, Default)]
pub struct FalseSharingArgs {
    /// How workers are born [default: all]
    #[arg(long, value_delimiter = ',', value_parser = choices::backend(W::FalseSharing))]
    pub backend: Vec<Backend>,

    /// Where the counters sit [default: every one valid for the backend]
    #[arg(long, value_delimiter = ',', value_parser = choices::layout())]
    pub variant: Vec<CounterLayout>,

    /// Workers, each with its own counter (at least 2) [default: 2]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Increments per worker [default: 10000000]
    #[arg(long, value_parser = size)]
    pub increments: Option<u64>,

    /// Where workers run [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::FalseSharing))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CreateArgs {
    /// How a worker is created [default: all] (`--backend` is accepted as
    /// an alias for one release)
    #[arg(long, alias = "backend", value_delimiter = ',', value_parser = choices::method())]
    pub method: Vec<CreateMethod>,

    /// Resident parent heap sizes to create from [default: 0,64M,1G]
    #[arg(long = "parent-heap", value_delimiter = ',', value_parser = size)]
    pub parent_heap: Vec<u64>,

    /// Workers alive at once for the memory measurement [default: 4]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// Where the parent runs (same-cpu or os: a worker starts where its
    /// parent runs) [default: os]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Create))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

impl WorkloadArgs {
    /// The flags every workload takes.
    pub fn common(&self) -> &Common {
        match self {
            WorkloadArgs::CtxSwitch(a) => &a.common,
            WorkloadArgs::Latency(a) | WorkloadArgs::Bandwidth(a) => &a.common,
            WorkloadArgs::DataParallel(a) => &a.common,
            WorkloadArgs::Counter(a) => &a.common,
            WorkloadArgs::Messaging(a) => &a.common,
            WorkloadArgs::FalseSharing(a) => &a.common,
            WorkloadArgs::Create(a) => &a.common,
        }
    }

    pub fn common_mut(&mut self) -> &mut Common {
        match self {
            WorkloadArgs::CtxSwitch(a) => &mut a.common,
            WorkloadArgs::Latency(a) | WorkloadArgs::Bandwidth(a) => &mut a.common,
            WorkloadArgs::DataParallel(a) => &mut a.common,
            WorkloadArgs::Counter(a) => &mut a.common,
            WorkloadArgs::Messaging(a) => &mut a.common,
            WorkloadArgs::FalseSharing(a) => &mut a.common,
            WorkloadArgs::Create(a) => &mut a.common,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Run folders (two or more), e.g. one per machine
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// The run the others are compared with: one of RUNS, or another
    /// run folder (then compared first) [default: the first of RUNS]
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Where compare.md and compare.svg go [default: the last run folder]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Flag a case only if its medians differ by more than this many
    /// per cent (and the CIs do not overlap) [default: per kind of
    /// case, calibrated from A/A runs; see the README]
    #[arg(long, value_parser = threshold_pct)]
    pub threshold: Option<f64>,
    /// Exit 3 when any case got worse than the baseline (slower, or a
    /// lower rate) beyond the noise and by more than this many per cent:
    /// a CI gate
    #[arg(long, value_parser = threshold_pct)]
    pub fail_above: Option<f64>,
}

/// `mpmt export`'s formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A Markdown table of every record
    Markdown,
    /// results.csv's columns
    Csv,
    /// One JSON object per line: the run, then one per record
    JsonLines,
    /// Bencher Metric Format (JSON) for continuous-benchmarking dashboards
    Bmf,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// A run folder holding results.json (e.g. reports/latest)
    pub run_dir: PathBuf,
    /// The format
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write here instead of standard output
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct SuiteArgs {
    /// Which sweeps to run
    #[arg(long, value_parser = choices::profile(), default_value = "default")]
    pub profile: Profile,
    /// Directory that receives the run folder <out>/<run-id>/ and <out>/latest
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,

    #[command(flatten)]
    pub run: RunFlags,
}

#[derive(Subcommand, Debug)]
pub enum Selftest {
    /// A/A: the same profile twice, back to back, then `compare`: the share
    /// of cases flagged is the false-positive rate of a regression check
    /// on this machine, and the spread per kind of case calibrates
    /// `compare --threshold`
    Aa(SuiteArgs),
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
