//! Workloads: what one measured operation is. Each ring workload has an
//! initiator side (here: runs in the calling thread, times itself, returns
//! samples) and a responder side ([`crate::serve`], identical under every
//! backend). [`run_case`] turns one [`Case`] into one [`Record`].
//!
//! - `ctx-switch`: a token passes around a ring of N members over a blocking
//!   channel; one hop is one switch on a shared CPU. The same hop done by one
//!   thread to itself (send then receive on one link, plus the working-set
//!   sum) is measured first and subtracted (lmbench `lat_ctx`'s method).
//! - `latency`: round trip of an M-byte message, both directions verified.
//! - `bandwidth`: a one-way stream of M-byte chunks, each written by the
//!   sender and verified by the receiver; two chunks may be in flight.

use crate::backend::{launch, BackendKind, Launch};
use crate::channel::{Channel, ChannelKind, LinkOpts, Rx, Tx};
use crate::error::{Error, Result};
use crate::pattern::{self, SALT_REPLY, SALT_REQUEST};
use crate::placement::Placement;
use crate::schema::{Checks, Record};
use crate::serve::{touch, Role, WorkerReport};
use crate::stats::summarize;
use crate::sys::AffinityGuard;
use crate::timing::{run_samples, SampleSpec, Sampled};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What one measured operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    CtxSwitch,
    Latency,
    Bandwidth,
    DataParallel,
    Counter,
    Spawn,
}

/// CV above which a case is flagged noisy.
pub const NOISY_CV: f64 = 0.25;
/// Involuntary switches per operation above which a case is flagged.
pub const PREEMPTED_PER_OP: f64 = 0.05;
/// Size of the ctx-switch token.
pub const TOKEN_BYTES: usize = 8;

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::CtxSwitch,
        Workload::Latency,
        Workload::Bandwidth,
        Workload::DataParallel,
        Workload::Counter,
        Workload::Spawn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::CtxSwitch => "ctx-switch",
            Workload::Latency => "latency",
            Workload::Bandwidth => "bandwidth",
            Workload::DataParallel => "data-parallel",
            Workload::Counter => "counter",
            Workload::Spawn => "spawn",
        }
    }

    /// ctx-switch, latency and bandwidth: a ring over a channel.
    pub fn is_ring(self) -> bool {
        matches!(
            self,
            Workload::CtxSwitch | Workload::Latency | Workload::Bandwidth
        )
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Workload::CtxSwitch => {
                "token around a ring of N workers; ns per switch minus the no-switch overhead"
            }
            Workload::Latency => {
                "round trip of an M-byte message, payload written and verified both ways"
            }
            Workload::Bandwidth => "one-way stream of M-byte chunks, written and verified; bytes/s",
            Workload::DataParallel => {
                "double every element of an array across W workers; setup/compute/teardown"
            }
            Workload::Counter => {
                "W workers add 1 to one shared counter K times; lost updates per mode"
            }
            Workload::Spawn => {
                "create a worker, run an empty body, join/reap it; memory per live worker"
            }
        }
    }

    /// Channels this workload can use at all.
    pub fn channels(self) -> Vec<ChannelKind> {
        match self {
            Workload::CtxSwitch => ChannelKind::ALL
                .into_iter()
                .filter(|c| c.blocks())
                .collect(),
            _ => ChannelKind::ALL.to_vec(),
        }
    }

    /// Default samples per case.
    pub fn default_samples(self) -> usize {
        match self {
            Workload::CtxSwitch => 300,
            Workload::Latency => 1000,
            Workload::Bandwidth => 60,
            Workload::DataParallel => 5,
            Workload::Counter => 3,
            Workload::Spawn => 50,
        }
    }

    /// Shortest sample: ctx-switch batches rounds into ≥ 50 µs samples (its
    /// per-round spread is not the question); latency times single round
    /// trips where the clock allows, to keep the tail.
    fn min_sample(self) -> Duration {
        match self {
            Workload::CtxSwitch => Duration::from_micros(50),
            _ => Duration::ZERO,
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Channels valid with `backend`.
pub fn channels_for(backend: BackendKind) -> Vec<ChannelKind> {
    ChannelKind::ALL
        .into_iter()
        .filter(|&c| backend == BackendKind::Thread || c != ChannelKind::Heap)
        .collect()
}

fn names(v: &[ChannelKind]) -> String {
    v.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

/// Why this combination cannot be measured, if it cannot.
pub fn check_combination(
    workload: Workload,
    backend: BackendKind,
    channel: ChannelKind,
    placement: Placement,
) -> std::result::Result<(), String> {
    if !channels_for(backend).contains(&channel) {
        return Err(format!(
            "channel `{channel}` cannot be used with backend `{backend}`: a heap is shared only by threads of one process. Valid channels for {backend}: {}",
            names(&channels_for(backend))
        ));
    }
    if !workload.channels().contains(&channel) {
        let valid: Vec<ChannelKind> = workload
            .channels()
            .into_iter()
            .filter(|c| channels_for(backend).contains(c))
            .collect();
        return Err(format!(
            "channel `{channel}` cannot be used with workload `{workload}`: a spinning receiver never gives up its CPU, so there is no switch to measure. Valid channels for {workload} with {backend}: {}",
            names(&valid)
        ));
    }
    if channel == ChannelKind::ShmSpin && placement == Placement::SameCpu {
        return Err(
            "channel `shm-spin` with placement `same-cpu` is refused: a spinner and its peer on one CPU measure the scheduler's time slice, not communication. Use --placement cross-cpu, or a blocking channel such as shm-futex"
                .into(),
        );
    }
    Ok(())
}

/// One case of the matrix, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub workload: Workload,
    pub backend: BackendKind,
    pub channel: ChannelKind,
    pub placement: Placement,
    /// CPU of each member (0 = initiator).
    pub cpus: Vec<Option<u32>>,
    /// Ring members including the initiator.
    pub workers: usize,
    /// Message / chunk bytes (ctx-switch: the token).
    pub size_bytes: usize,
    pub working_set_bytes: usize,
    pub samples: usize,
}

impl Case {
    /// Short label for progress lines.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{} {} {} {}",
            self.workload, self.backend, self.channel, self.placement
        );
        match self.workload {
            Workload::CtxSwitch => {
                s += &format!(" n={}", self.workers);
                if self.working_set_bytes > 0 {
                    s += &format!(
                        " ws={}",
                        crate::units::fmt_bytes(self.working_set_bytes as u64)
                    );
                }
            }
            _ => s += &format!(" {}", crate::units::fmt_bytes(self.size_bytes as u64)),
        }
        s
    }

    /// Bytes of memory the case maps or allocates, at most (for the
    /// free-memory check before anything starts).
    pub fn memory_bytes(&self) -> u64 {
        let links = self.workers as u64;
        let per_link = match self.channel {
            ChannelKind::ShmFutex | ChannelKind::ShmSpin => {
                crate::channel::shm::mapping_bytes(self.size_bytes, self.slots()) as u64
            }
            // Sender and receiver buffers, plus the heap's in-flight copies.
            _ => 2 * self.size_bytes as u64 * self.slots() as u64,
        };
        links * per_link + self.workers as u64 * self.working_set_bytes as u64
    }

    fn slots(&self) -> usize {
        match self.workload {
            Workload::Bandwidth => 2,
            _ => 1,
        }
    }
}

/// Run-wide inputs of every case.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub clock_ns: f64,
    pub memcpy_bytes_per_s: Option<f64>,
}

/// Measures one case.
pub fn run_case(case: &Case, ctx: &Context) -> Result<Record> {
    crate::with_channel!(case.channel, C => run_ring::<C>(case, ctx))
}

fn spec(case: &Case, ctx: &Context) -> SampleSpec {
    SampleSpec {
        samples: case.samples,
        warmup: Duration::from_millis(20),
        warmup_ops: 4,
        min_sample: case.workload.min_sample(),
        clock_ns: ctx.clock_ns,
    }
}

fn latency_op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, i: u64) -> Result<()> {
    tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))?;
    if !rx.recv(size, |m| pattern::verify(m, i, SALT_REPLY))? {
        return Err(Error::Corrupt {
            op: i,
            who: "the initiator",
        });
    }
    Ok(())
}

fn ring_op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, ws: &[u8], i: u64) -> Result<()> {
    std::hint::black_box(touch(ws));
    tx.send(TOKEN_BYTES, |b| pattern::fill(b, i, SALT_REQUEST))?;
    if !rx.recv(TOKEN_BYTES, |m| pattern::verify(m, i, SALT_REQUEST))? {
        return Err(Error::Corrupt {
            op: i,
            who: "the initiator",
        });
    }
    Ok(())
}

/// Sends the stop message and waits for it to come back round.
fn stop<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize) -> Result<()> {
    tx.send(size, pattern::fill_stop)?;
    if !rx.recv(size, pattern::is_stop)? {
        return Err(Error::Corrupt {
            op: u64::MAX,
            who: "the initiator (stop)",
        });
    }
    Ok(())
}

/// The ctx-switch overhead: one thread doing a hop to itself on a loopback
/// link of the same channel, with the same working-set sum. Median ns.
fn hop_overhead<C: Channel>(opts: LinkOpts, ws: &[u8], spec: &SampleSpec) -> Result<f64> {
    let (mut tx, mut rx) = C::link(opts)?;
    let s = run_samples(spec, |i| ring_op(&mut tx, &mut rx, ws, i))?;
    Ok(summarize(&s.per_op_ns).median)
}

fn run_ring<C: Channel>(case: &Case, ctx: &Context) -> Result<Record> {
    let members = case.workers;
    let size = match case.workload {
        Workload::CtxSwitch => TOKEN_BYTES,
        _ => case.size_bytes,
    };
    let role = match case.workload {
        Workload::CtxSwitch => Role::Forward { size },
        Workload::Latency => Role::Echo { size },
        Workload::Bandwidth => Role::Sink { size },
        w => return Err(Error::Setup(format!("{w} is not a ring workload"))),
    };
    let opts = LinkOpts {
        max_message_bytes: size,
        slots: case.slots(),
        for_exec: false,
    };
    let spec = spec(case, ctx);
    let _pin = AffinityGuard::pin(case.cpus[0]).map_err(|e| {
        Error::io(
            format!("pinning the initiator to CPU {:?}", case.cpus[0]),
            e,
        )
    })?;
    let ws = vec![1u8; case.working_set_bytes];
    let overhead = match case.workload {
        Workload::CtxSwitch => Some(hop_overhead::<C>(opts, &ws, &spec)?),
        _ => None,
    };

    let t0 = Instant::now();
    let (mut tx, mut rx, crew) = launch::<C>(&Launch {
        backend: case.backend,
        members,
        role,
        cpus: case.cpus.clone(),
        opts,
        working_set: case.working_set_bytes,
    })?;
    let setup_ns = t0.elapsed().as_nanos() as u64;

    let measured = (|| -> Result<Sampled> {
        let s = match case.workload {
            Workload::Latency => run_samples(&spec, |i| latency_op(&mut tx, &mut rx, size, i))?,
            Workload::CtxSwitch => run_samples(&spec, |i| ring_op(&mut tx, &mut rx, &ws, i))?,
            Workload::Bandwidth => run_samples(&spec, |i| {
                tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))?;
                Ok(())
            })?,
            w => return Err(Error::Setup(format!("{w} is not a ring workload"))),
        };
        stop(&mut tx, &mut rx, size)?;
        Ok(s)
    })();
    drop(tx);
    drop(rx);
    let sampled = match measured {
        Ok(s) => s,
        Err(e) => return Err(crew.abort(e)),
    };
    let reports = crew.join()?;
    Ok(record(case, ctx, &sampled, &reports, overhead, setup_ns))
}

fn record(
    case: &Case,
    ctx: &Context,
    s: &Sampled,
    reports: &[WorkerReport],
    overhead: Option<f64>,
    setup_ns: u64,
) -> Record {
    let members = case.workers as f64;
    // Operations per round of the ring: ctx-switch reports per hop.
    let hops_per_op = match case.workload {
        Workload::CtxSwitch => members,
        _ => 1.0,
    };
    let rounds = s.measured_ops().max(1) as f64;
    let mut vol = s.switches.voluntary as f64 / rounds;
    let mut invol = s.switches.involuntary as f64 / rounds;
    for r in reports {
        let ops = r.ops.max(1) as f64;
        vol += r.voluntary as f64 / ops;
        invol += r.involuntary as f64 / ops;
    }
    let (vol, invol) = (vol / hops_per_op, invol / hops_per_op);

    let mut checks = Checks {
        payload_verified: Some(true),
        // Every member verified every message it received.
        messages_verified: Some(s.ops_total + reports.iter().map(|r| r.ops).sum::<u64>()),
        voluntary_switches_per_op: Some(vol),
        involuntary_switches_per_op: Some(invol),
        ..Default::default()
    };
    let (metric, unit, values): (&str, &str, Vec<f64>) = match case.workload {
        Workload::CtxSwitch => {
            let o = overhead.unwrap_or(0.0);
            let hops: Vec<f64> = s.per_op_ns.iter().map(|v| v / members).collect();
            checks.overhead_ns = Some(o);
            checks.hop_ns = Some(summarize(&hops).median);
            ("switch", "ns", hops.iter().map(|h| h - o).collect())
        }
        Workload::Latency => ("rtt", "ns", s.per_op_ns.clone()),
        _ => (
            "bandwidth",
            "bytes/s",
            s.per_op_ns
                .iter()
                .map(|ns| case.size_bytes as f64 / (ns * 1e-9))
                .collect(),
        ),
    };
    let stats = summarize(&values);
    if case.workload == Workload::Bandwidth {
        checks.fraction_of_memcpy = ctx.memcpy_bytes_per_s.map(|m| stats.median / m);
    }
    let mut warnings = Vec::new();
    if stats.cv > NOISY_CV {
        warnings.push(format!(
            "noisy: coefficient of variation {:.2} > {NOISY_CV}",
            stats.cv
        ));
    }
    // On one CPU a blocking hand-off is exactly one switch per hop; the
    // kernel books it as voluntary (the sender blocked first) or involuntary
    // (the woken receiver preempted the sender), so only the sum is checked.
    let per = if case.workload == Workload::CtxSwitch {
        "hop"
    } else {
        "operation"
    };
    let expected = match case.workload {
        Workload::CtxSwitch => Some(1.0),
        Workload::Latency => Some(2.0),
        _ => None,
    };
    match (case.placement, case.channel.blocks(), expected) {
        (Placement::SameCpu, true, Some(exp)) => {
            let total = vol + invol;
            if total > exp * 1.25 {
                warnings.push(format!(
                    "extra switches: {total:.2} per {per} where the hand-off needs {exp}: something else ran on the CPU"
                ));
            } else if total < exp * 0.75 {
                warnings.push(format!(
                    "only {total:.2} switches per {per} where the hand-off needs {exp}: the members did not alternate"
                ));
            }
        }
        _ if invol > PREEMPTED_PER_OP => warnings.push(format!(
            "preempted: {invol:.3} involuntary switches per {per} (> {PREEMPTED_PER_OP})"
        )),
        _ => {}
    }
    Record {
        workload: case.workload.name().into(),
        backend: case.backend.name().into(),
        channel: case.channel.name().into(),
        variant: None,
        placement: case.placement.name().into(),
        cpus: case.cpus.clone(),
        workers: case.workers as u32,
        size_bytes: size_of_record(case),
        working_set_bytes: case.working_set_bytes as u64,
        metric: metric.into(),
        unit: unit.into(),
        ops_per_sample: s.ops_per_sample,
        samples: values.len(),
        stats,
        setup_ns,
        checks,
        warnings,
    }
}

fn size_of_record(case: &Case) -> u64 {
    match case.workload {
        Workload::CtxSwitch => TOKEN_BYTES as u64,
        _ => case.size_bytes as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_is_threads_only() {
        let e = check_combination(
            Workload::Latency,
            BackendKind::Fork,
            ChannelKind::Heap,
            Placement::SameCpu,
        )
        .unwrap_err();
        assert!(
            e.contains(
                "Valid channels for fork: pipe, unix-socket, shm-futex, shm-spin, ipc-channel"
            ),
            "{e}"
        );
        assert!(check_combination(
            Workload::Latency,
            BackendKind::Thread,
            ChannelKind::Heap,
            Placement::SameCpu
        )
        .is_ok());
    }

    #[test]
    fn spin_same_cpu_refused_with_reason() {
        let e = check_combination(
            Workload::Latency,
            BackendKind::Thread,
            ChannelKind::ShmSpin,
            Placement::SameCpu,
        )
        .unwrap_err();
        assert!(e.contains("time slice"), "{e}");
    }

    #[test]
    fn ctx_switch_needs_blocking_channels() {
        let e = check_combination(
            Workload::CtxSwitch,
            BackendKind::Spawn,
            ChannelKind::ShmSpin,
            Placement::CrossCpu,
        )
        .unwrap_err();
        assert!(
            e.contains("pipe, unix-socket, shm-futex, ipc-channel"),
            "{e}"
        );
        assert!(!e.contains("heap"), "{e}");
    }

    #[test]
    fn valid_pairs_count() {
        let n: usize = BackendKind::ALL
            .iter()
            .map(|&b| channels_for(b).len())
            .sum();
        assert_eq!(n, 6 + 5 + 5);
    }
}
