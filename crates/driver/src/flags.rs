//! The flag groups every workload's subcommand shares (`Common`, the
//! ring workloads' `RingFlags`), how a run treats stalls and failures
//! (`RunFlags`, also `suite`'s), and the parsers of sizes, per cents and
//! durations. A workload's own flags live with its plan (`plan/<name>.rs`).

use crate::choices::{self, RingPlacement};
use clap::Args;
use mpmt_core::{Backend, ChannelKind, WorkloadKind as W};
use std::path::PathBuf;

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

/// Range of `--ci-target`, in %.
pub const CI_TARGET_RANGE: (f64, f64) = (0.1, 100.0);

pub fn ci_target(s: &str) -> Result<f64, String> {
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
pub fn deadline(s: &str) -> Result<std::time::Duration, String> {
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
