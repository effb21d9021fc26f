//! Command-line flags, as the user types them. `mpmt run <workload>` is one
//! subcommand per workload (registered in `plan`, each with its flags in
//! its plan file), each taking only the flags that workload uses, so clap
//! itself refuses a flag that does not apply. Values are parsed into typed
//! kinds by clap; checking them against each other and the machine is
//! `plan`'s job.

use crate::choices;
pub use crate::choices::Profile;
pub use crate::flags::RunFlags;
use clap::{Args, Parser, Subcommand};
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
    pub workload: crate::plan::WorkloadArgs,
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

    /// Measuring time to plan the run to (floors and cases; the report
    /// is drawn after it), e.g. 4m30s, 270s, or none: sweep points a
    /// verdict does not read are dropped if every case's base rounds
    /// would not fit, and extra rounds fill what is left [default: the
    /// profile's: smoke none, quick 50s, default 4m30s, full none]
    #[arg(long, value_parser = crate::budget::arg)]
    pub budget: Option<crate::budget::BudgetArg>,

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
