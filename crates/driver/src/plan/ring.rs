//! What the three ring workloads plan alike: backends × channels ×
//! placements × sizes (× ring sizes × working sets), leaving out what
//! cannot exist unless the user named it.

use super::{cpu_map, list, memory_error, placements, Machine};
use crate::choices::RingPlacement;
use crate::flags::RingFlags;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::channel::{caps, valid_for};
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::workloads::ring::{check_combination, RingCase};
use mpmt_core::workloads::{Case, SweepPoint, Swept};
use mpmt_core::{Backend, ChannelKind, Placement, WorkloadKind};

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

/// Sweeps of one ring workload.
pub struct Sweep<'a> {
    pub workload: WorkloadKind,
    pub flags: &'a RingFlags,
    pub members: Vec<usize>,
    pub sizes: Vec<u64>,
    pub working_sets: Vec<u64>,
    /// Whether the user gave the sizes (else they are the defaults, and
    /// those a channel cannot carry are left out).
    pub sizes_named: bool,
    /// ctx-switch: whether members sum private buffers (false) or one
    /// buffer they all share (true); one entry per variant to measure.
    pub shared: Vec<bool>,
    pub samples: usize,
}

pub fn cases(s: Sweep, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let f = s.flags;
    let backends = super::given_or(&f.backend, Backend::ALL);
    let channels = super::given_or(&f.channel, ChannelKind::ALL);
    let pairs = f.placement.contains(&RingPlacement::Pairs);
    let given: Vec<Placement> = f
        .placement
        .iter()
        .filter_map(|p| match p {
            RingPlacement::At(p) => Some(*p),
            RingPlacement::Pairs => None,
        })
        .collect();
    if pairs && s.workload != WorkloadKind::Latency {
        return Err(format!(
            "--placement pairs: only latency measures every ordered pair of CPUs; {} takes same-cpu, cross-cpu or os",
            s.workload
        ));
    }
    if pairs && cpus.len() < 2 {
        return Err(format!(
            "--placement pairs: a pair needs two CPUs, and this run may use {} ({}); give --cpus two or more",
            cpus.len(),
            list(cpus)
        ));
    }
    let places = if pairs && given.is_empty() {
        Vec::new()
    } else {
        placements(&given, cpus, &[Placement::SameCpu, Placement::CrossCpu])
    };
    let mut cases: Vec<RingCase> = Vec::new();
    for &n in &s.members {
        for (&ws, &shared) in s
            .working_sets
            .iter()
            .flat_map(|ws| s.shared.iter().map(move |sh| (ws, sh)))
        {
            for &size in &s.sizes {
                for &b in &backends {
                    for &c in &channels {
                        for &p in &places {
                            if let Err(why) = check_combination(s.workload, b, c, p) {
                                // Refuse only what the user asked for by
                                // name; defaults leave out what cannot exist.
                                let (b_named, c_named, p_named) = (
                                    !f.backend.is_empty(),
                                    !f.channel.is_empty(),
                                    !f.placement.is_empty(),
                                );
                                let named = if !valid_for(b, c) {
                                    b_named && c_named
                                } else if s.workload == WorkloadKind::CtxSwitch && !caps(c).blocks {
                                    c_named
                                } else {
                                    c_named && p_named
                                };
                                if named {
                                    return Err(why);
                                }
                                continue;
                            }
                            if let Err(why) = fits(c, size) {
                                if c_named_and_sizes(f, &s) {
                                    return Err(why);
                                }
                                continue;
                            }
                            cases.push(RingCase {
                                workload: s.workload,
                                backend: b,
                                channel: c,
                                placement: p,
                                cpus: cpu_map(p, n, cpus)?,
                                workers: n,
                                size_bytes: size as usize,
                                working_set_bytes: ws as usize,
                                shared_ws: shared,
                                samples: s.samples,
                                transfer_only: false,
                                pair: None,
                            });
                            // Bandwidth over a channel that copies: the
                            // transfer alone too (untouched buffers).
                            if s.workload == WorkloadKind::Bandwidth && caps(c).copies {
                                let touched = cases.last().expect("just pushed").clone();
                                cases.push(RingCase {
                                    transfer_only: true,
                                    ..touched
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    if pairs {
        cases.extend(pair_cases(&s, &backends, cpus)?);
    }
    if cases.is_empty() {
        return Err(format!(
            "no valid combination in --backend {} --channel {} --placement {}; run `mpmt list` to see which combinations exist",
            list(&backends),
            list(&channels),
            list(&places)
        ));
    }
    if let Some(c) = cases.iter().max_by_key(|c| c.memory_bytes()) {
        let flag = if s.workload == WorkloadKind::CtxSwitch {
            format!("--working-set {}", fmt_count(c.working_set_bytes as u64))
        } else {
            format!("--sizes {}", fmt_count(c.size_bytes as u64))
        };
        memory_error(c, m, flag)?;
    }
    Ok(cases
        .into_iter()
        .map(|c| match sweep_point(&c) {
            Some(point) => Swept::boxed(Box::new(c), point),
            None => Box::new(c) as Box<dyn Case>,
        })
        .collect())
}

/// The curve point a ring case only draws, or `None` for a case a claim
/// or a headline figure reads: every two-member ctx-switch case (the
/// switch and cache claims read them all), and the headline's pipe on
/// one CPU for a thread and a fork (latency at 8 B, bandwidth at 64 KiB).
/// No claim reads latency or bandwidth otherwise; a ring of more members
/// is an extra ring length.
pub fn sweep_point(c: &RingCase) -> Option<SweepPoint> {
    let headline_size = match c.workload {
        WorkloadKind::Latency => 8,
        WorkloadKind::Bandwidth => 64 << 10,
        _ if c.workers <= 2 => return None,
        _ => {
            return Some(SweepPoint::new(
                format!("{} ring of {} {}", c.workload, c.workers, c.placement),
                SweepPoint::RING_LENGTHS,
                c.workers as u64,
                c.placement,
            ))
        }
    };
    let headline = c.channel == ChannelKind::Pipe
        && c.placement == Placement::SameCpu
        && matches!(c.backend, Backend::Thread | Backend::Fork)
        && c.size_bytes == headline_size
        && !c.transfer_only
        && c.pair.is_none();
    if headline {
        return None;
    }
    let placement = if c.pair.is_some() {
        "pairs".to_string()
    } else {
        c.placement.to_string()
    };
    Some(SweepPoint::new(
        format!(
            "{} {} {placement}",
            c.workload,
            fmt_bytes(c.size_bytes as u64)
        ),
        SweepPoint::SIZES,
        c.size_bytes as u64,
        c.placement,
    ))
}

/// latency and bandwidth: sizes (`default_sizes` unless `--sizes`) ×
/// backends × channels × placements between two members.
pub fn message_cases(
    workload: WorkloadKind,
    a: &MessageArgs,
    default_sizes: &[u64],
    default_samples: usize,
    cpus: &[u32],
    m: &Machine,
) -> Result<Vec<Box<dyn Case>>, String> {
    check_sizes(&a.sizes)?;
    // Every CPU pair at every default size would be a long run: pairs
    // alone default to the smallest message.
    let pairs_only =
        !a.ring.placement.is_empty() && a.ring.placement.iter().all(|p| *p == RingPlacement::Pairs);
    let sizes = if !a.sizes.is_empty() {
        a.sizes.clone()
    } else if pairs_only {
        vec![8]
    } else {
        default_sizes.to_vec()
    };
    cases(
        Sweep {
            workload,
            flags: &a.ring,
            members: vec![2],
            sizes,
            sizes_named: !a.sizes.is_empty(),
            working_sets: vec![0],
            shared: vec![false],
            samples: super::samples(&a.common, default_samples)?,
        },
        cpus,
        m,
    )
}

/// The channels `--placement pairs` measures unless --channel names
/// others: a spinning one (the cache-line hand-off alone) and a blocking
/// one (the wake-up of another CPU).
pub const PAIR_CHANNELS: [ChannelKind; 2] = [ChannelKind::ShmSpin, ChannelKind::Pipe];

/// Every ordered pair (from, to) of distinct CPUs.
pub fn ordered_pairs(cpus: &[u32]) -> Vec<(u32, u32)> {
    cpus.iter()
        .flat_map(|&a| cpus.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
        .collect()
}

/// Latency between every ordered pair of CPUs: the initiator on the
/// first, its peer on the second; variant `pair <from>-<to>`.
fn pair_cases(s: &Sweep, backends: &[Backend], cpus: &[u32]) -> Result<Vec<RingCase>, String> {
    let channels = super::given_or(&s.flags.channel, &PAIR_CHANNELS);
    let mut out = Vec::new();
    for &size in &s.sizes {
        for &b in backends {
            for &c in &channels {
                if let Err(why) = check_combination(s.workload, b, c, Placement::CrossCpu) {
                    if !s.flags.channel.is_empty() && !s.flags.backend.is_empty() {
                        return Err(why);
                    }
                    continue;
                }
                if let Err(why) = fits(c, size) {
                    if c_named_and_sizes(s.flags, s) {
                        return Err(why);
                    }
                    continue;
                }
                for (from, to) in ordered_pairs(cpus) {
                    out.push(RingCase {
                        workload: s.workload,
                        backend: b,
                        channel: c,
                        placement: Placement::CrossCpu,
                        cpus: vec![Some(from), Some(to)],
                        workers: 2,
                        size_bytes: size as usize,
                        working_set_bytes: 0,
                        shared_ws: false,
                        samples: s.samples,
                        transfer_only: false,
                        pair: Some((from, to)),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Whether a message of `size` bytes fits one message of channel `c`.
fn fits(c: ChannelKind, size: u64) -> Result<(), String> {
    match caps(c).max_message {
        Some(max) if size > max as u64 => Err(format!(
            "--sizes {} with --channel {c}: a message of this channel carries at most {} here (for mq: /proc/sys/fs/mqueue/msgsize_max); choose sizes up to {}, or another channel",
            fmt_count(size),
            fmt_bytes(max as u64),
            fmt_bytes(max as u64)
        )),
        _ => Ok(()),
    }
}

/// Whether the user named both the channels and the sizes (then a size a
/// channel cannot carry is an error, not a silent omission).
fn c_named_and_sizes(f: &RingFlags, s: &Sweep) -> bool {
    !f.channel.is_empty() && s.sizes_named
}

/// Refuses message sizes below the 8-byte sequence header.
fn check_sizes(sizes: &[u64]) -> Result<(), String> {
    for &s in sizes {
        if s < mpmt_core::channel::pattern::MIN_MESSAGE_BYTES as u64 {
            return Err(format!(
                "--sizes {s}: every message carries an 8-byte sequence header, so sizes start at 8 bytes; allowed: 8 B to {}",
                fmt_bytes(super::MAX_MESSAGE_BYTES)
            ));
        }
        super::bounded("--sizes", s, 8, super::MAX_MESSAGE_BYTES, true)?;
    }
    Ok(())
}
