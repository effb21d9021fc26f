//! The versioned result schema: what `results.json` holds and what
//! `mpmt report` reads. Names carry units (`size_bytes`, `setup_ns`).
//! Bump [`SCHEMA_VERSION`] on any incompatible change, and teach
//! [`Results::from_json`] to read the old one.
//!
//! Version 5 (this one) types a record's warnings: each is `{kind, text}`
//! (`kind` one of [`WarningKind`]'s names) instead of a string whose
//! prefix told the kind. Version 4 measures each case in rounds: a record's median
//! and CI come from its rounds' medians (`round_medians`), its
//! distribution (p99, …) from all their samples, and `modes` says when the
//! rounds fall into separate groups; `run.rounds` records the round policy
//! and the seed of the shuffled order. Version 3 recorded how the run ended
//! in `run.outcome` (running, complete, interrupted or failed, with each
//! failed case and its error), in place of version 2's `run.interrupted`
//! note. Version 2
//! typed every kind; the creation workload is `create` (its method in
//! `variant`, its backend `thread`, `fork` or `spawn`), and `channel` is
//! null where workers share memory in place instead of passing messages.
//! Files of versions 1 to 4 are upgraded on reading.

use crate::kinds::{Backend, Channel, Metric, Placement, Unit, WarningKind, Workload};
use crate::stats::Stats;
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 6;
/// Oldest version [`Results::from_json`] still reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// One run: everything in `reports/<run-id>/results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    pub run: RunInfo,
    pub env: EnvInfo,
    pub floors: Floors,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    /// RFC 3339, UTC.
    pub start_time: String,
    pub command_line: Vec<String>,
    pub mpmt_version: String,
    pub git_revision: Option<String>,
    /// How the run ended (rewritten after every round).
    pub outcome: Outcome,
    /// How cases were split into rounds and in what order they ran (absent
    /// in files from before rounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<RoundPolicy>,
    /// How the run was planned to a time budget, and what that left out
    /// (absent in files from before budgets, and in a run still going).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetReport>,
}

/// A run planned to a time budget: what it was given, what it forecast,
/// what it took and which sweep points it left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// Measuring time allowed (floors and cases), seconds; null: none.
    pub limit_s: Option<f64>,
    /// The base rounds (every case's first rounds) as forecast before the
    /// first case, floors included, seconds.
    pub forecast_s: f64,
    /// Measuring time taken, floors and cases, seconds.
    pub measured_s: f64,
    /// Sweep points left out to fit the budget, in the order dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedPoint>,
    /// Why the run was forecast to take longer than its budget even so
    /// (a case no budget cut may drop is longer), said before it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrun: Option<String>,
}

/// One sweep point a budget left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedPoint {
    /// The point: "bandwidth 1M cross-cpu".
    pub point: String,
    /// Cases it held (every backend and channel at that point).
    pub cases: usize,
    /// Why: "not enough budget on this machine …".
    pub why: String,
}

impl DroppedPoint {
    /// The sentence the terminal and the page say.
    pub fn sentence(&self) -> String {
        format!(
            "dropped {} ({} cases): {}",
            self.point, self.cases, self.why
        )
    }
}

/// How a run measures each case in rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundPolicy {
    /// Rounds every case gets.
    pub min_rounds: u32,
    /// Rounds a case may get while its CI is wider than `ci_target`.
    pub max_rounds: u32,
    /// Target width of the median's 95 % CI, relative to the median.
    pub ci_target: f64,
    /// Seed of the shuffled order of rounds.
    pub seed: u64,
}

/// Where a run stands: `running` while cases remain (a run whose process
/// was killed outright stays so), then `complete` (every case measured),
/// `interrupted` (SIGINT, SIGTERM or SIGHUP, or output closed) or `failed` (at least one case
/// failed; with --keep-going the others still ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    #[default]
    Running,
    Complete,
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub status: RunStatus,
    /// Cases in the plan, and cases measured (records come from these).
    pub cases_planned: usize,
    pub cases_measured: usize,
    /// The signal that stopped an interrupted run (`SIGINT`, `SIGTERM`,
    /// `SIGHUP`; `SIGPIPE` when its output was closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Every case that failed, in order, with its error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

/// One failed case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub case: String,
    pub error: String,
}

/// Machine facts recorded with every run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EnvInfo {
    pub cpu_model: String,
    pub online_cpus: u32,
    /// CPUs this process may run on (its affinity mask).
    pub allowed_cpus: Vec<u32>,
    /// "on", "off", "notsupported" or "unknown".
    pub smt: String,
    pub kernel: String,
    /// "none", or what the machine says it runs under.
    pub hypervisor: String,
    pub governor: String,
    /// cgroup v2 cpu.max ("max 100000" = no quota).
    pub cgroup_cpu_quota: String,
    pub load_average: [f64; 3],
    pub rustc: String,
    pub clocksource: String,
    pub mem_total_bytes: u64,
    pub page_size_bytes: u64,
    /// Transparent huge pages for anonymous memory and for shmem/memfd
    /// (the bracketed choice of `/sys/kernel/mm/transparent_hugepage/*`).
    #[serde(default)]
    pub thp_enabled: String,
    #[serde(default)]
    pub thp_shmem_enabled: String,
    /// `/proc/sys/kernel/sched_autogroup_enabled`: "1", "0" or "n/a".
    #[serde(default)]
    pub sched_autogroup: String,
    /// CPU 0's caches, smallest level first.
    #[serde(default)]
    pub caches: Vec<Cache>,
    /// CPU flags that decide whether an address-space switch flushes the
    /// TLB: "pcid invpcid", "pcid" or "none".
    #[serde(default)]
    pub tlb_flags: String,
    /// Whether hardware event counters can be opened here: "available",
    /// or "unavailable: <why>".
    #[serde(default)]
    pub perf_counters: String,
    /// Each CPU vulnerability and its mitigation, as the kernel states it
    /// (`/sys/devices/system/cpu/vulnerabilities/*`), in name order.
    #[serde(default)]
    pub mitigations: Vec<Mitigation>,
    /// Each kernel event a record counts (its `checks` key), and why it
    /// is not counted here, if it is not.
    #[serde(default)]
    pub kernel_events: Vec<KernelEventState>,
    /// What mpmt did about tracefs (mounted it, or why it is missing);
    /// empty when it was already mounted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tracefs: String,
}

/// One kernel event: its `checks` key, how `perf stat -e` spells it, and
/// why it is not counted (`None`: counted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelEventState {
    pub key: String,
    pub perf: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s.to_string()
    }
}

/// One cache of CPU 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cache {
    pub level: u32,
    /// "Data", "Instruction" or "Unified".
    pub kind: String,
    pub size_bytes: u64,
    /// How many CPUs share it (from `shared_cpu_list`).
    pub shared_by_cpus: u32,
}

/// One CPU vulnerability and the kernel's word on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mitigation {
    pub name: String,
    pub status: String,
}

impl EnvInfo {
    /// Every fact as (name, value), in the order `mpmt env` and the report
    /// show them.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("cpu model", self.cpu_model.clone()),
            ("online cpus", self.online_cpus.to_string()),
            ("allowed cpus", format!("{:?}", self.allowed_cpus)),
            ("smt", self.smt.clone()),
            ("caches", self.caches_text()),
            ("kernel", self.kernel.clone()),
            ("hypervisor", self.hypervisor.clone()),
            ("governor", self.governor.clone()),
            ("cgroup cpu.max", self.cgroup_cpu_quota.clone()),
            ("load average", format!("{:?}", self.load_average)),
            ("clocksource", self.clocksource.clone()),
            ("memory", crate::units::fmt_bytes(self.mem_total_bytes)),
            ("page size", self.page_size_bytes.to_string()),
            (
                "transparent huge pages",
                format!(
                    "{} (shmem: {})",
                    or_unknown(&self.thp_enabled),
                    or_unknown(&self.thp_shmem_enabled)
                ),
            ),
            ("sched autogroup", or_unknown(&self.sched_autogroup)),
            ("tlb tags (pcid)", or_unknown(&self.tlb_flags)),
            ("hardware counters", or_unknown(&self.perf_counters)),
            ("kernel events", self.kernel_events_text()),
            ("mitigations", self.mitigations_text()),
            ("rustc", self.rustc.clone()),
        ]
    }

    /// The kernel events as one line: how many are counted, then each
    /// reason for the rest and the events it keeps out, and what became
    /// of tracefs.
    pub fn kernel_events_text(&self) -> String {
        if self.kernel_events.is_empty() {
            return "unknown (written by an older mpmt)".into();
        }
        let counted = self
            .kernel_events
            .iter()
            .filter(|e| e.missing.is_none())
            .count();
        let mut s = format!("{counted} of {} counted", self.kernel_events.len());
        let mut by: Vec<(&str, Vec<&str>)> = Vec::new();
        for e in &self.kernel_events {
            if let Some(why) = &e.missing {
                match by.iter_mut().find(|(w, _)| w == why) {
                    Some((_, k)) => k.push(&e.key),
                    None => by.push((why, vec![&e.key])),
                }
            }
        }
        for (why, keys) in by {
            s += &format!("; {}: {why}", keys.join(", "));
        }
        if !self.tracefs.is_empty() {
            s += &format!("; {}", self.tracefs);
        }
        s
    }

    /// The size of the largest data (or unified) cache at `level`.
    pub fn cache_bytes(&self, level: u32) -> Option<u64> {
        self.caches
            .iter()
            .filter(|c| c.level == level && c.kind != "Instruction")
            .map(|c| c.size_bytes)
            .max()
    }

    /// Caches as one line: `L1d 32 KiB, L1i 32 KiB, L2 1 MiB, L3 32 MiB (2 CPUs)`.
    pub fn caches_text(&self) -> String {
        if self.caches.is_empty() {
            return "unknown".into();
        }
        self.caches
            .iter()
            .map(|c| {
                let suffix = match c.kind.as_str() {
                    "Data" => "d",
                    "Instruction" => "i",
                    _ => "",
                };
                let shared = if c.shared_by_cpus > 1 {
                    format!(" ({} CPUs)", c.shared_by_cpus)
                } else {
                    String::new()
                };
                format!(
                    "L{}{suffix} {}{shared}",
                    c.level,
                    crate::units::fmt_bytes(c.size_bytes)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The mitigations in force, as one line: every vulnerability whose
    /// status is not "Not affected", with its status.
    pub fn mitigations_text(&self) -> String {
        let v: Vec<String> = self
            .mitigations
            .iter()
            .filter(|m| m.status != "Not affected")
            .map(|m| format!("{}: {}", m.name, m.status))
            .collect();
        if self.mitigations.is_empty() {
            "unknown".into()
        } else if v.is_empty() {
            "none needed (not affected by any listed vulnerability)".into()
        } else {
            v.join("; ")
        }
    }
}

/// One machine limit measured in this run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Floor {
    /// The median.
    pub value: f64,
    pub unit: Unit,
    pub stats: Stats,
    pub samples: usize,
    pub ops_per_sample: u64,
    /// How it was measured.
    pub method: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Floors {
    pub clock_read_ns: Option<Floor>,
    pub null_syscall_ns: Option<Floor>,
    /// Round trip of one cache line between two pinned threads (spinning).
    pub cacheline_rtt_ns: Option<Floor>,
    /// The same round trip measured again after the cases (a run that
    /// measured any): a host that moved the vCPUs meanwhile shows here,
    /// and `notes` says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacheline_rtt_after_ns: Option<Floor>,
    pub memcpy_bytes_per_s: Option<Floor>,
    /// The least a process costs: fork, the child `_exit(0)`s, the parent
    /// blocks in `waitpid` (pinned to the run's first CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_exit_wait_ns: Option<Floor>,
    /// The least a thread costs: `pthread_create` of an empty function and
    /// `pthread_join` (pinned to the run's first CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_create_join_ns: Option<Floor>,
    /// memcpy at each chunk size the run's streams use, measured once
    /// before the cases on the run's first CPU: every record of one size
    /// is read against the same figure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memcpy_at: Vec<SizedFloor>,
    /// Why a floor is missing (e.g. one CPU: no cache-line round trip).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A floor measured at one size (memcpy of a chunk of `size_bytes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizedFloor {
    pub size_bytes: u64,
    pub floor: Floor,
}

impl SizedFloor {
    /// The floor of `list` measured at `size` bytes, if there is one.
    pub fn at(list: &[SizedFloor], size: u64) -> Option<&Floor> {
        list.iter().find(|f| f.size_bytes == size).map(|f| &f.floor)
    }
}

impl Floors {
    /// The memcpy floor measured at `size` bytes, if there is one.
    pub fn memcpy_of(&self, size: u64) -> Option<&Floor> {
        SizedFloor::at(&self.memcpy_at, size)
    }
}

/// How a stream's median reads against memcpy of its chunk size done
/// `copies` times (the passes over the chunk its path makes): the
/// fraction, or exactly 1 with `at_floor` when the fraction is above 1
/// but the two 95 % intervals overlap (not a finding: within noise of
/// the floor).
pub fn memcpy_reading(stats: &Stats, floor: f64, floor_ci_high: f64, copies: u32) -> (f64, bool) {
    let k = copies.max(1) as f64;
    let fraction = stats.median / (floor / k);
    let overlaps = stats.ci95_low <= floor_ci_high / k;
    match fraction > 1.0 && overlaps {
        true => (1.0, true),
        false => (fraction, false),
    }
}

/// Checks and side measurements of one case. Every field is optional: a
/// workload fills what it verifies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    /// Every message received was the one sent (pattern verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_verified: Option<bool>,
    /// Messages verified by all members together, warm-up included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_verified: Option<u64>,
    /// Voluntary context switches per operation, all members together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voluntary_switches_per_op: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub involuntary_switches_per_op: Option<f64>,
    /// ctx-switch: the same hop done by one thread without switching (median).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overhead_ns: Option<f64>,
    /// ctx-switch: measured time per hop before subtracting the overhead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_ns: Option<f64>,
    /// bandwidth: memcpy of one chunk (the run's floor at this chunk
    /// size, the same in every record of that size), bytes/s, and its
    /// 95 % interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memcpy_bytes_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memcpy_ci95: Option<[f64; 2]>,
    /// bandwidth: passes over each chunk the stream's path makes, each
    /// read as one memcpy (a kernel channel copies in and out: 2; a
    /// touched stream adds its fill and verify: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memcpy_copies: Option<u32>,
    /// bandwidth: median as a fraction of memcpy ÷ copies; 1 when above
    /// it within noise (see `at_memcpy_floor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction_of_memcpy: Option<f64>,
    /// bandwidth: the median is above the floor but its 95 % interval
    /// overlaps the floor's: at the floor, not beyond it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_memcpy_floor: Option<bool>,
    /// bandwidth: bytes the channel holds in flight before the sender
    /// blocks, for messages of this size (declared by a shared-memory
    /// channel, measured for a kernel one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_capacity_bytes: Option<u64>,
    /// bandwidth: chunks per timed window (each window ends when the
    /// receiver acknowledges its last chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_per_window: Option<u64>,
    /// latency of a message of at most a cache line or two between two
    /// CPUs: the cache-line round trip between the same two CPUs, measured
    /// just before each round's workers start and just after they end
    /// (the mean of the two; the median over rounds), so that a host that
    /// moves its vCPUs between rounds moves the floor with the figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_floor_ns: Option<f64>,
    /// The round's median over its own paired floor (the median over
    /// rounds of these per-round ratios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_floor_ratio: Option<f64>,
    /// data-parallel: array elements, and elements verified over all runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements_verified: Option<u64>,
    /// data-parallel: median compute and teardown (setup is `setup_ns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teardown_ns: Option<f64>,
    /// data-parallel: throughput over the whole run and over compute alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_elements_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_s: Option<f64>,
    /// data-parallel: wall time at one worker over wall time here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup: Option<f64>,
    /// counter: workers × increments, the value reached, and the difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_value: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_value: Option<u64>,
    /// counter: median lost updates over the runs, and the largest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_updates: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_updates_max: Option<f64>,
    /// counter: increments per worker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increments: Option<u64>,
    /// messaging: groups, messages each sender sends each receiver of its
    /// group, and messages delivered per second (at the median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loops: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_s: Option<f64>,
    /// create: workers created and joined or reaped in this case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_reaped: Option<u64>,
    /// create: median RSS of a live worker (PSS is the record's value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<f64>,
    /// create: the parent's RSS while it created workers (fork copies the
    /// page tables of all of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_rss_bytes: Option<u64>,
    /// Share of the measured CPUs' time that other tasks took while the
    /// case ran (the largest over its rounds), from the kernel's per-CPU
    /// accounting less this run's own CPU time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cpu_share: Option<f64>,
    /// vm-ops: operations whose effect was checked (the page read back
    /// zero after MADV_DONTNEED, the protection refused a write, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_verified: Option<u64>,
    /// memory: the parent's figure of this record's metric before the
    /// workers were made and while they lived (a forked worker takes a
    /// share of the parent's pages, which the parent's PSS gives up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_before_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_after_bytes: Option<f64>,
    /// memory: what the workers added to the machine, per worker: their
    /// sum plus the parent's change, over W (nothing counted twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_per_worker_bytes: Option<f64>,
    /// memory: swap per worker (median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_bytes: Option<f64>,
    /// memory: bytes of working sets and shared region checked after the
    /// weighing, every worker, every round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_verified: Option<u64>,
    /// cow: pages written per run (one byte each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_written: Option<u64>,
    /// cow: the writer's minor faults (getrusage) per page written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_faults_per_page: Option<f64>,
    /// cow: the child's PSS and USS after the fork, before and after the
    /// writes (medians).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_pss_before_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_pss_after_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_uss_before_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_uss_after_bytes: Option<f64>,
    /// cow: median fork of the parent with its heap (the `fork` record's
    /// value, beside each cow-fault record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_ns: Option<f64>,
    /// cow: the heap's bytes mapped by huge pages when it was forked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huge_page_bytes: Option<f64>,
    /// cow: pages whose contents were checked after the writes, in the
    /// writer and in the side that must not see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_verified: Option<u64>,
    /// crash: units of work (64 KiB blocks written and checked) each
    /// worker is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units_per_worker: Option<u64>,
    /// crash: how the crashed worker (a thread team: its host process)
    /// ended, as the supervisor saw it ("was killed by signal 11
    /// (SIGSEGV)", "thread panicked; its process lived").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_end: Option<String>,
    /// crash: runs whose crashed worker left the words its fault prints
    /// (the panic message, the allocator's) on its stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_words_seen: Option<u64>,
    /// crash: lockers that got EOWNERDEAD and repaired the shared
    /// ledger, over all runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_dead_recoveries: Option<u64>,
    /// crash: verified work the restart policy threw away (median bytes):
    /// every block done before the team was stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_discarded_bytes: Option<f64>,
    /// crash: workers started to recover (one run's, median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_restarted: Option<f64>,
    /// What the kernel counted over the timed phase, per operation.
    #[serde(flatten, default)]
    pub kernel: KernelEvents,
}

/// The kernel's counts over a case's timed phase, per operation, for its
/// parent and every worker together (perf_event_open, inherited): the
/// software events, the tracepoints that explain a cost without a PMU,
/// and hardware counters where a PMU exists. An event not counted is
/// absent, and `kernel_events_missing` says why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelEvents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_switches_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrations_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_faults_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major_faults_per_op: Option<f64>,
    /// `tlb:tlb_flush` reason task-switch: switches to another address
    /// space (flushing or, with PCID, not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mm_switches_per_op: Option<f64>,
    /// `tlb:tlb_flush` with pages ≠ 0 (reason "remote IPI send" aside:
    /// it marks a send, not a flush): flushes that dropped entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlb_flushes_per_op: Option<f64>,
    /// `tlb:tlb_flush` reason "remote IPI send": shootdowns sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shootdowns_sent_per_op: Option<f64>,
    /// `tlb:tlb_flush` reason "remote shootdown": shootdowns taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shootdowns_received_per_op: Option<f64>,
    /// `ipi:ipi_send_cpu` + `ipi:ipi_send_cpumask`: IPIs sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipis_sent_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtlb_misses_per_op: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llc_misses_per_op: Option<f64>,
    /// The events not counted and why (`cycles_per_op, …: no hardware
    /// PMU`), one clause per reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_events_missing: Option<String>,
}

impl KernelEvents {
    /// Every per-op field by its key (the same names as in JSON).
    pub fn fields_mut(&mut self) -> [(&'static str, &mut Option<f64>); 13] {
        [
            ("context_switches_per_op", &mut self.context_switches_per_op),
            ("migrations_per_op", &mut self.migrations_per_op),
            ("minor_faults_per_op", &mut self.minor_faults_per_op),
            ("major_faults_per_op", &mut self.major_faults_per_op),
            ("mm_switches_per_op", &mut self.mm_switches_per_op),
            ("tlb_flushes_per_op", &mut self.tlb_flushes_per_op),
            ("shootdowns_sent_per_op", &mut self.shootdowns_sent_per_op),
            (
                "shootdowns_received_per_op",
                &mut self.shootdowns_received_per_op,
            ),
            ("ipis_sent_per_op", &mut self.ipis_sent_per_op),
            ("cycles_per_op", &mut self.cycles_per_op),
            ("instructions_per_op", &mut self.instructions_per_op),
            ("dtlb_misses_per_op", &mut self.dtlb_misses_per_op),
            ("llc_misses_per_op", &mut self.llc_misses_per_op),
        ]
    }

    /// Every per-op field's value by its key.
    pub fn fields(&self) -> [(&'static str, Option<f64>); 13] {
        let mut c = self.clone();
        c.fields_mut().map(|(k, v)| (k, *v))
    }

    /// The value of the per-op field `key`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.fields()
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v)
    }

    /// Every count times `f` (per hop instead of per round trip).
    pub fn scaled(&self, f: f64) -> KernelEvents {
        let mut out = self.clone();
        for (_, v) in out.fields_mut() {
            *v = v.map(|x| x * f);
        }
        out
    }

    /// Over rounds: the median of each count, the first reason given.
    pub fn merge(rounds: &[&KernelEvents]) -> KernelEvents {
        let each: Vec<_> = rounds.iter().map(|k| k.fields()).collect();
        let mut out = KernelEvents {
            kernel_events_missing: rounds.iter().find_map(|k| k.kernel_events_missing.clone()),
            ..Default::default()
        };
        for (i, (_, slot)) in out.fields_mut().into_iter().enumerate() {
            let v: Vec<f64> = each.iter().filter_map(|f| f[i].1).collect();
            *slot = (!v.is_empty()).then(|| crate::stats::summarize(&v).median);
        }
        out
    }
}

impl Checks {
    /// The checks of one case over its rounds: counts add up, per-round
    /// medians become the median over rounds, a worst case stays the worst
    /// (the largest loss, the lowest final value), a verification holds
    /// only if it held in every round.
    pub fn merge(rounds: &[Checks]) -> Checks {
        fn med(v: Vec<f64>) -> Option<f64> {
            (!v.is_empty()).then(|| crate::stats::summarize(&v).median)
        }
        let f = |get: fn(&Checks) -> Option<f64>| med(rounds.iter().filter_map(get).collect());
        let all_u = |get: fn(&Checks) -> Option<u64>| -> Vec<u64> {
            rounds.iter().filter_map(get).collect()
        };
        let sum = |get: fn(&Checks) -> Option<u64>| {
            let v = all_u(get);
            (!v.is_empty()).then(|| v.iter().sum())
        };
        let first = |get: fn(&Checks) -> Option<u64>| all_u(get).first().copied();
        Checks {
            payload_verified: rounds
                .iter()
                .filter_map(|c| c.payload_verified)
                .reduce(|a, b| a && b),
            messages_verified: sum(|c| c.messages_verified),
            voluntary_switches_per_op: f(|c| c.voluntary_switches_per_op),
            involuntary_switches_per_op: f(|c| c.involuntary_switches_per_op),
            overhead_ns: f(|c| c.overhead_ns),
            hop_ns: f(|c| c.hop_ns),
            memcpy_bytes_per_s: f(|c| c.memcpy_bytes_per_s),
            memcpy_ci95: rounds.iter().find_map(|c| c.memcpy_ci95),
            memcpy_copies: rounds.iter().find_map(|c| c.memcpy_copies),
            fraction_of_memcpy: f(|c| c.fraction_of_memcpy),
            at_memcpy_floor: rounds.iter().find_map(|c| c.at_memcpy_floor),
            channel_capacity_bytes: first(|c| c.channel_capacity_bytes),
            chunks_per_window: all_u(|c| c.chunks_per_window).into_iter().min(),
            line_floor_ns: f(|c| c.line_floor_ns),
            line_floor_ratio: f(|c| c.line_floor_ratio),
            elements: first(|c| c.elements),
            elements_verified: sum(|c| c.elements_verified),
            compute_ns: f(|c| c.compute_ns),
            teardown_ns: f(|c| c.teardown_ns),
            elements_per_s: f(|c| c.elements_per_s),
            compute_elements_per_s: f(|c| c.compute_elements_per_s),
            bytes_per_s: f(|c| c.bytes_per_s),
            speedup: f(|c| c.speedup),
            expected_value: first(|c| c.expected_value),
            final_value: all_u(|c| c.final_value).into_iter().min(),
            lost_updates: f(|c| c.lost_updates),
            lost_updates_max: rounds
                .iter()
                .filter_map(|c| c.lost_updates_max)
                .reduce(f64::max),
            increments: first(|c| c.increments),
            groups: first(|c| c.groups),
            loops: first(|c| c.loops),
            messages_per_s: f(|c| c.messages_per_s),
            workers_reaped: sum(|c| c.workers_reaped),
            rss_bytes: f(|c| c.rss_bytes),
            parent_rss_bytes: f(|c| c.parent_rss_bytes.map(|b| b as f64)).map(|b| b as u64),
            other_cpu_share: rounds
                .iter()
                .filter_map(|c| c.other_cpu_share)
                .reduce(f64::max),
            ops_verified: sum(|c| c.ops_verified),
            parent_before_bytes: f(|c| c.parent_before_bytes),
            parent_after_bytes: f(|c| c.parent_after_bytes),
            extra_per_worker_bytes: f(|c| c.extra_per_worker_bytes),
            swap_bytes: f(|c| c.swap_bytes),
            bytes_verified: sum(|c| c.bytes_verified),
            pages_written: first(|c| c.pages_written),
            minor_faults_per_page: f(|c| c.minor_faults_per_page),
            child_pss_before_bytes: f(|c| c.child_pss_before_bytes),
            child_pss_after_bytes: f(|c| c.child_pss_after_bytes),
            child_uss_before_bytes: f(|c| c.child_uss_before_bytes),
            child_uss_after_bytes: f(|c| c.child_uss_after_bytes),
            fork_ns: f(|c| c.fork_ns),
            huge_page_bytes: f(|c| c.huge_page_bytes),
            pages_verified: sum(|c| c.pages_verified),
            units_per_worker: first(|c| c.units_per_worker),
            crash_end: rounds.iter().find_map(|c| c.crash_end.clone()),
            fault_words_seen: sum(|c| c.fault_words_seen),
            owner_dead_recoveries: sum(|c| c.owner_dead_recoveries),
            work_discarded_bytes: f(|c| c.work_discarded_bytes),
            workers_restarted: f(|c| c.workers_restarted),
            kernel: KernelEvents::merge(&rounds.iter().map(|c| &c.kernel).collect::<Vec<_>>()),
        }
    }

    /// Whether the record carries a verification of what it measured:
    /// payloads checked, elements checked, a counter total compared, or
    /// workers reaped.
    pub fn verified(&self) -> bool {
        self.payload_verified == Some(true) && self.messages_verified.is_some_and(|n| n > 0)
            || self.elements_verified.is_some_and(|n| n > 0)
            || self.expected_value.is_some() && self.final_value.is_some()
            || self.workers_reaped.is_some_and(|n| n > 0)
            || self.ops_verified.is_some_and(|n| n > 0)
            || self.bytes_verified.is_some_and(|n| n > 0)
            || self.pages_verified.is_some_and(|n| n > 0)
    }
}

/// Why a record's figure should be read with care: its kind, and what
/// was seen, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub text: String,
}

impl Warning {
    pub fn new(kind: WarningKind, text: impl Into<String>) -> Warning {
        Warning {
            kind,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.text)
    }
}

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub workload: Workload,
    pub backend: Backend,
    /// The channel that carried the data; null where workers share memory
    /// in place (counter, data-parallel's in-place variants) or never talk
    /// (create).
    pub channel: Option<Channel>,
    /// What tells this record apart from others of its workload, backend,
    /// channel and placement: data-parallel's split (`fork-shm`, …),
    /// counter's mode, create's method, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<crate::Variant>,
    pub placement: Placement,
    /// CPU of each member (0 = the initiator); null = unpinned.
    pub cpus: Vec<Option<u32>>,
    pub workers: u32,
    pub size_bytes: u64,
    pub working_set_bytes: u64,
    /// What one value is: "switch" (per switch), "rtt" (round trip),
    /// "bandwidth" (one-way stream), "wall" (one data-parallel run),
    /// "increment" (counter, per increment), "create" (create + join),
    /// "pss" (memory of one live worker).
    pub metric: Metric,
    pub unit: Unit,
    pub ops_per_sample: u64,
    /// Samples over all rounds.
    pub samples: usize,
    /// `median` and the CI are over `round_medians` when there are two or
    /// more rounds (over the samples of the one round otherwise); the
    /// other statistics are over every sample of every round.
    pub stats: Stats,
    /// Rounds measured: each with fresh workers and buffers, interleaved
    /// with other cases' rounds.
    #[serde(default = "one")]
    pub rounds: u32,
    /// Each round's median, in the order they ran.
    #[serde(default)]
    pub round_medians: Vec<f64>,
    /// Separate groups the round medians fall into (empty: one group).
    /// When present, the median lies between groups and is not a typical
    /// value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<Mode>,
    pub setup_ns: u64,
    pub checks: Checks,
    pub warnings: Vec<Warning>,
    /// This round's samples (in `unit`), kept in memory only, to merge
    /// rounds.
    #[serde(skip)]
    pub values: Vec<f64>,
}

fn one() -> u32 {
    1
}

/// One group of round medians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mode {
    /// Median of the group's round medians.
    pub median: f64,
    pub rounds: u32,
}

impl Record {
    /// The variant's spelling, or "" for none (tables, CSV).
    pub fn variant_name(&self) -> String {
        self.variant.map(|v| v.name()).unwrap_or_default()
    }

    /// The key that identifies a case across runs.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}/w{}/s{}/ws{}",
            self.workload,
            self.metric,
            self.backend,
            self.channel.map(|c| c.name()).unwrap_or("-"),
            self.variant.map(|v| v.name()).unwrap_or_else(|| "-".into()),
            self.placement,
            self.workers,
            self.size_bytes,
            self.working_set_bytes
        )
    }
}

/// The text of top-level field `name`'s scalar value as written in `text`
/// (serde_json would print 1e308 as 1e+308), if it can be found.
fn raw_field(text: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\"");
    let at = text.find(&key)? + key.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

/// The magnitudes a figure may have to be drawn and tabled: zero, or
/// between these (a hostile or corrupt file with 1e308 or 5e-324 in it
/// once wedged the chart axes for ever). Far outside anything mpmt
/// measures: 1e18 ns is 31 years, 1e18 bytes/s an exabyte a second.
pub const FIGURE_RANGE: (f64, f64) = (1e-12, 1e18);

/// Refuses a record or floor whose number is out of [`FIGURE_RANGE`],
/// naming the field (`records[3].stats.median`) and the value as written.
fn check_figures(v: &serde_json::Value) -> Result<(), String> {
    fn walk(v: &serde_json::Value, at: &mut String) -> Result<(), String> {
        use serde_json::Value as V;
        match v {
            V::Number(n) => {
                let (lo, hi) = FIGURE_RANGE;
                // Integers are exact wherever they are; a float is drawn.
                if n.is_f64() {
                    let x = n.as_f64().unwrap_or(f64::NAN).abs();
                    if !(x == 0.0 || (lo..=hi).contains(&x)) {
                        return Err(format!(
                            "has {at} = {n}, outside what mpmt draws (0, or a magnitude from {lo:e} to {hi:e})"
                        ));
                    }
                } else if n.as_f64().is_some_and(|x| x.abs() > hi) {
                    return Err(format!(
                        "has {at} = {n}, outside what mpmt draws (a magnitude up to {hi:e})"
                    ));
                }
                Ok(())
            }
            V::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("[{i}]"));
                    walk(x, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            V::Object(o) => {
                for (k, x) in o {
                    let len = at.len();
                    at.push('.');
                    at.push_str(k);
                    walk(x, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    for part in ["records", "floors"] {
        if let Some(x) = v.get(part) {
            walk(x, &mut part.to_string())?;
        }
    }
    Ok(())
}

impl Results {
    /// Parses a results.json of this version or an older readable one
    /// (upgraded in memory). Errors say which version was found.
    pub fn from_json(text: &str) -> Result<Results, String> {
        let mut v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("is not valid JSON: {e}"))?;
        // As written (names the field the file has), then as upgraded.
        check_figures(&v)?;
        // As written in the file, for the message (a string "4", -1, 1e308).
        let given = match v.get("schema_version") {
            None => "(missing)".to_string(),
            Some(x) => raw_field(text, "schema_version").unwrap_or_else(|| x.to_string()),
        };
        let version = v.get("schema_version").and_then(|x| x.as_u64());
        match version {
            Some(n) if n == SCHEMA_VERSION as u64 => {}
            Some(n @ 1..=4) => {
                if n <= 1 {
                    crate::upgrade::v1_to_v2(&mut v)?;
                }
                if n <= 2 {
                    crate::upgrade::v2_to_v3(&mut v)?;
                }
                if n <= 3 {
                    crate::upgrade::v3_to_v4(&mut v)?;
                }
                crate::upgrade::v4_to_v5(&mut v)?;
                crate::upgrade::v5_to_v6(&mut v)?;
            }
            Some(5) => crate::upgrade::v5_to_v6(&mut v)?,
            _ => {
                return Err(format!(
                    "has schema_version {given}, but this mpmt reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}"
                ))
            }
        }
        check_figures(&v)?;
        serde_json::from_value(v).map_err(|e| format!("does not match the results schema: {e}"))
    }

    /// The records of one workload.
    pub fn of(&self, w: Workload) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.workload == w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::summarize;

    #[test]
    fn a_fraction_above_the_floor_is_a_finding_only_past_both_intervals() {
        let floor = 10.0;
        // A stream at 5.5 against 2 copies of memcpy at 10: 1.1 × the
        // floor, but its interval reaches down into the floor's.
        let close = summarize(&[4.9, 5.5, 5.6, 5.4, 5.7]);
        assert_eq!(memcpy_reading(&close, floor, 10.4, 2), (1.0, true));
        // Well past it: the fraction stands.
        let far = summarize(&[8.0, 8.1, 8.2, 8.0, 8.1]);
        let (f, at) = memcpy_reading(&far, floor, 10.4, 2);
        assert!(!at && (f - 8.1 / 5.0).abs() < 1e-9, "{f}");
        // Below the floor: the plain fraction.
        let below = summarize(&[2.0, 2.1, 2.0]);
        let (f, at) = memcpy_reading(&below, floor, 10.4, 1);
        assert!(!at && (f - 0.2).abs() < 1e-9, "{f}");
    }
}
