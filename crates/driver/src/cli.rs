//! Command-line flags, as the user types them. Values are parsed here;
//! checking them against each other and the machine is `plan`'s job.

use clap::{Args, Parser, Subcommand};
use mpmt_core::{BackendKind, ChannelKind, Placement, Workload};
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

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    BackendKind::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a backend; expected one of: {}",
            BackendKind::ALL.map(|b| b.name()).join(", ")
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
    /// What to measure: ctx-switch, latency or bandwidth
    #[arg(value_parser = parse_workload)]
    pub workload: Workload,

    /// How workers are born: thread, fork, spawn [default: all]
    #[arg(long, value_delimiter = ',', value_parser = parse_backend)]
    pub backend: Vec<BackendKind>,

    /// How workers talk: pipe, unix-socket, shm-futex, shm-spin, ipc-channel, heap
    /// [default: every channel valid for the workload and backend]
    #[arg(long, value_delimiter = ',', value_parser = parse_channel)]
    pub channel: Vec<ChannelKind>,

    /// Where workers run: same-cpu, cross-cpu, os [default: same-cpu,cross-cpu]
    #[arg(long, value_delimiter = ',', value_parser = parse_placement)]
    pub placement: Vec<Placement>,

    /// ctx-switch: ring sizes, counting the initiator (at least 2) [default: 2]
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,

    /// latency: message sizes [default: 8,64,512,4K,32K,256K,1M];
    /// bandwidth: chunk sizes [default: 4K,64K,1M,16M]. At least 8 bytes.
    #[arg(long, value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<u64>,

    /// ctx-switch: private bytes each worker sums before passing the token
    /// [default: 0]
    #[arg(long = "working-set", value_delimiter = ',', value_parser = parse_size)]
    pub working_set: Vec<u64>,

    /// Samples per case [default: ctx-switch 300, latency 1000, bandwidth 60]
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

#[derive(Args, Debug, Clone)]
pub struct EnvArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Also measure the floors (clock, syscall, cache line, memcpy; ~1 s)
    #[arg(long)]
    pub floors: bool,
}
