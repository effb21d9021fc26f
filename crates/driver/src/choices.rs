//! Every flag that takes a list of named values, in one table: what
//! `mpmt list` prints for it, what `mpmt run <workload> --help` shows
//! (clap's "possible values", each with its description), what clap
//! accepts, and the error for anything else. All four come from the
//! kinds' own `ALL` and `describe`, so they cannot drift apart; a test
//! (`crates/driver/tests/choices.rs`) holds the printed lists together.

use clap::builder::{PossibleValue, TypedValueParser};
use mpmt_core::schema::{
    CounterLayout, CounterMode, CounterWrite, CowWriter, CrashFault, CreateMethod, Recovery, VmOp,
};
use mpmt_core::workloads::data_parallel::{splits, Split};
use mpmt_core::{Backend, ChannelKind, Placement, WorkloadKind as W};

/// One list flag of some workloads: its values, named and described.
pub struct ListFlag {
    /// The heading in `mpmt list`.
    pub heading: &'static str,
    pub flag: &'static str,
    /// The `mpmt run` workloads that take it (empty: `suite`'s flag).
    pub workloads: &'static [W],
    /// Each value's name and description, in listing order.
    pub values: fn() -> Vec<(String, String)>,
}

fn described<K: Copy>(
    all: &[K],
    name: fn(K) -> &'static str,
    desc: fn(K) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|&k| (name(k).to_string(), desc(k).to_string()))
        .collect()
}

/// `pairs`, the latency-only placement of the ring workloads.
pub const PAIRS: &str = "pairs";

/// Every list flag.
pub static LIST_FLAGS: &[ListFlag] = &[
    ListFlag {
        heading: "backends",
        flag: "--backend",
        workloads: &[
            W::CtxSwitch,
            W::Latency,
            W::Bandwidth,
            W::Counter,
            W::Messaging,
            W::FalseSharing,
            W::VmOps,
            W::Memory,
            W::Crash,
        ],
        values: || described(Backend::ALL, Backend::name, Backend::describe),
    },
    ListFlag {
        heading: "channels",
        flag: "--channel",
        workloads: &[W::CtxSwitch, W::Latency, W::Bandwidth],
        values: || {
            described(ChannelKind::ALL, ChannelKind::name, ChannelKind::describe)
                .into_iter()
                .map(|(n, d)| {
                    let k = mpmt_core::channel::caps(ChannelKind::parse(&n).expect("a channel"));
                    let how = match (k.blocks, k.threads_only) {
                        (true, true) => "blocks; threads only",
                        (true, false) => "blocks",
                        (false, _) => "spins",
                    };
                    (n, format!("{d} [{how}]"))
                })
                .collect()
        },
    },
    ListFlag {
        heading: "messaging channels (one stream many senders write to)",
        flag: "--channel",
        workloads: &[W::Messaging],
        values: || {
            mpmt_core::workloads::messaging::CHANNELS
                .iter()
                .map(|c| (c.name().to_string(), c.describe().to_string()))
                .collect()
        },
    },
    ListFlag {
        heading: "placements of the ring workloads",
        flag: "--placement",
        workloads: &[W::CtxSwitch, W::Latency, W::Bandwidth],
        values: || {
            let mut v = described(Placement::ALL, Placement::name, Placement::describe);
            v.push((
                PAIRS.into(),
                "latency only: cross-cpu over every ordered pair of CPUs in turn".into(),
            ));
            v
        },
    },
    ListFlag {
        heading: "placements",
        flag: "--placement",
        workloads: &[
            W::DataParallel,
            W::Counter,
            W::Messaging,
            W::FalseSharing,
            W::Create,
            W::VmOps,
            W::Memory,
            W::Cow,
            W::Crash,
        ],
        values: || described(Placement::ALL, Placement::name, Placement::describe),
    },
    ListFlag {
        heading: "working-set sharing",
        flag: "--working-set-sharing",
        workloads: &[W::CtxSwitch],
        values: || {
            vec![
                ("private".into(), "each member sums its own buffer".into()),
                (
                    "shared".into(),
                    "every member sums one buffer shared through a mapping: the same bytes and cache footprint for threads and processes, so process − thread is the address-space switch alone".into(),
                ),
            ]
        },
    },
    ListFlag {
        heading: "data-parallel variants (<backend>-<heap|shm|channel>)",
        flag: "--variant",
        workloads: &[W::DataParallel],
        values: || {
            splits()
                .into_iter()
                .map(|v| (v.name(), v.describe()))
                .collect()
        },
    },
    ListFlag {
        heading: "counter modes",
        flag: "--mode",
        workloads: &[W::Counter],
        values: || described(CounterMode::ALL, CounterMode::name, CounterMode::describe),
    },
    ListFlag {
        heading: "false-sharing variants",
        flag: "--variant",
        workloads: &[W::FalseSharing],
        values: || {
            described(
                CounterLayout::ALL,
                CounterLayout::name,
                CounterLayout::describe,
            )
        },
    },
    ListFlag {
        heading: "false-sharing writes",
        flag: "--write",
        workloads: &[W::FalseSharing],
        values: || {
            described(
                CounterWrite::ALL,
                CounterWrite::name,
                CounterWrite::describe,
            )
        },
    },
    ListFlag {
        heading: "create methods",
        flag: "--method",
        workloads: &[W::Create],
        values: || {
            described(
                CreateMethod::ALL,
                CreateMethod::name,
                CreateMethod::describe,
            )
        },
    },
    ListFlag {
        heading: "vm-ops operations",
        flag: "--op",
        workloads: &[W::VmOps],
        values: || described(VmOp::ALL, VmOp::name, VmOp::describe),
    },
    ListFlag {
        heading: "cow writers",
        flag: "--writer",
        workloads: &[W::Cow],
        values: || described(CowWriter::ALL, CowWriter::name, CowWriter::describe),
    },
    ListFlag {
        heading: "crash faults",
        flag: "--fault",
        workloads: &[W::Crash],
        values: || described(CrashFault::ALL, CrashFault::name, CrashFault::describe),
    },
    ListFlag {
        heading: "crash recoveries",
        flag: "--policy",
        workloads: &[W::Crash],
        values: || described(Recovery::ALL, Recovery::name, Recovery::describe),
    },
    ListFlag {
        heading: "suite profiles",
        flag: "--profile",
        workloads: &[],
        values: || {
            Profile::ALL
                .iter()
                .map(|p| (p.name().to_string(), p.describe().to_string()))
                .collect()
        },
    },
];

/// The entry of `flag` for workload `w` (`None`: `suite`'s).
fn entry(w: Option<W>, flag: &str) -> &'static ListFlag {
    LIST_FLAGS
        .iter()
        .find(|f| {
            f.flag == flag
                && match w {
                    Some(w) => f.workloads.contains(&w),
                    None => f.workloads.is_empty(),
                }
        })
        .unwrap_or_else(|| panic!("no list flag {flag} for {w:?} in LIST_FLAGS"))
}

/// A clap parser of one list flag's values into `T`: its possible values
/// (with their descriptions, for `--help`) are the table's; anything else
/// is refused naming the value, what it should be and every allowed one.
#[derive(Clone)]
pub struct Choices<T: Clone> {
    what: &'static str,
    values: Vec<(String, String)>,
    parse: fn(&str) -> Option<T>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Choices<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let s = value.to_string_lossy();
        let listed = self.values.iter().any(|(n, _)| *n == s);
        match (listed, (self.parse)(&s)) {
            (true, Some(t)) => Ok(t),
            _ => {
                let all: Vec<&str> = self.values.iter().map(|(n, _)| n.as_str()).collect();
                let arg = arg.map(|a| a.to_string()).unwrap_or_default();
                let msg = format!(
                    "invalid value '{s}' for '{arg}': `{s}` is not a {}; expected one of: {}\n",
                    self.what,
                    all.join(", ")
                );
                let mut e = clap::Error::raw(clap::error::ErrorKind::ValueValidation, msg);
                e = e.with_cmd(cmd);
                Err(e)
            }
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.values
                .iter()
                .map(|(n, d)| PossibleValue::new(n.clone()).help(d.clone())),
        ))
    }
}

fn choices<T: Clone>(
    w: Option<W>,
    flag: &str,
    what: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Choices<T> {
    Choices {
        what,
        values: (entry(w, flag).values)(),
        parse,
    }
}

pub fn backend(w: W) -> Choices<Backend> {
    choices(Some(w), "--backend", "backend", Backend::parse)
}

pub fn channel(w: W) -> Choices<ChannelKind> {
    choices(Some(w), "--channel", "channel", ChannelKind::parse)
}

pub fn placement(w: W) -> Choices<Placement> {
    choices(Some(w), "--placement", "placement", Placement::parse)
}

/// A ring workload's `--placement`: a placement, or every CPU pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingPlacement {
    At(Placement),
    /// latency: cross-cpu over every ordered pair of CPUs.
    Pairs,
}

pub fn ring_placement(w: W) -> Choices<RingPlacement> {
    choices(Some(w), "--placement", "placement", |s| match s {
        PAIRS => Some(RingPlacement::Pairs),
        s => Placement::parse(s).map(RingPlacement::At),
    })
}

/// `--working-set-sharing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Private,
    Shared,
}

pub fn sharing() -> Choices<Sharing> {
    choices(
        Some(W::CtxSwitch),
        "--working-set-sharing",
        "working-set sharing",
        |s| match s {
            "private" => Some(Sharing::Private),
            "shared" => Some(Sharing::Shared),
            _ => None,
        },
    )
}

pub fn mode() -> Choices<CounterMode> {
    choices(
        Some(W::Counter),
        "--mode",
        "counter mode",
        CounterMode::parse,
    )
}

pub fn method() -> Choices<CreateMethod> {
    choices(
        Some(W::Create),
        "--method",
        "creation method",
        CreateMethod::parse,
    )
}

pub fn layout() -> Choices<CounterLayout> {
    choices(
        Some(W::FalseSharing),
        "--variant",
        "false-sharing variant",
        CounterLayout::parse,
    )
}

pub fn counter_write() -> Choices<CounterWrite> {
    choices(
        Some(W::FalseSharing),
        "--write",
        "false-sharing write",
        CounterWrite::parse,
    )
}

pub fn vm_op() -> Choices<VmOp> {
    choices(Some(W::VmOps), "--op", "vm-ops operation", VmOp::parse)
}

pub fn writer() -> Choices<CowWriter> {
    choices(Some(W::Cow), "--writer", "cow writer", CowWriter::parse)
}

pub fn fault() -> Choices<CrashFault> {
    choices(Some(W::Crash), "--fault", "crash fault", CrashFault::parse)
}

pub fn policy() -> Choices<Recovery> {
    choices(
        Some(W::Crash),
        "--policy",
        "crash recovery",
        Recovery::parse,
    )
}

pub fn split() -> Choices<Split> {
    choices(
        Some(W::DataParallel),
        "--variant",
        "data-parallel variant",
        mpmt_core::workloads::data_parallel::parse_split,
    )
}

pub fn profile() -> Choices<Profile> {
    choices(None, "--profile", "suite profile", Profile::parse)
}

/// A suite profile (its sweeps are in `profiles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Smoke,
    Quick,
    Default,
    Full,
}

impl Profile {
    pub const ALL: &'static [Profile] = &[
        Profile::Smoke,
        Profile::Quick,
        Profile::Default,
        Profile::Full,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Quick => "quick",
            Profile::Default => "default",
            Profile::Full => "full",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Profile::Smoke => "seconds: every workload, tiny sweeps (the tests)",
            Profile::Quick => "under a minute: every workload and channel, short sweeps",
            Profile::Default => "under five minutes on 2 vCPUs: what `make bench` runs",
            Profile::Full => "every sweep at full width, as long as it takes",
        }
    }

    pub fn parse(s: &str) -> Option<Profile> {
        Profile::ALL.iter().copied().find(|p| p.name() == s)
    }
}

/// `mpmt list`'s sections of list flags.
pub fn list_text() -> String {
    let mut s = String::new();
    for f in LIST_FLAGS {
        let of = if f.workloads.is_empty() {
            "suite".to_string()
        } else {
            f.workloads
                .iter()
                .map(|w| w.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        s += &format!("\n{} ({} of {of}):\n", f.heading, f.flag);
        let values = (f.values)();
        let width = values.iter().map(|(n, _)| n.len()).max().unwrap_or(0) + 2;
        for (n, d) in values {
            s += &format!("  {n:<width$}{d}\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_flag_has_one_entry() {
        for f in LIST_FLAGS {
            for &w in f.workloads {
                let n = LIST_FLAGS
                    .iter()
                    .filter(|g| g.flag == f.flag && g.workloads.contains(&w))
                    .count();
                assert_eq!(n, 1, "{} of {w}", f.flag);
            }
            assert!(!(f.values)().is_empty(), "{}", f.heading);
        }
    }
}
