//! messaging: backends × channels × placements × group counts.

use super::{cpu_map, placements, samples, Machine, MAX_WORKERS};
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::workloads::messaging::{MessagingCase, CHANNELS, MAX_MESSAGE, MIN_MESSAGE};
use mpmt_core::workloads::Case;
use mpmt_core::{Backend, Placement};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::ChannelKind;
use mpmt_core::WorkloadKind as W;

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


pub const DEFAULT_SAMPLES: usize = 1;
pub const DEFAULT_GROUPS: [usize; 3] = [1, 2, 4];
/// hackbench's defaults: 20 senders and 20 receivers a group, 100
/// messages of 100 bytes from each sender to each receiver.
pub const DEFAULT_FDS: usize = 20;
pub const DEFAULT_LOOPS: u64 = 100;
pub const DEFAULT_SIZE: u64 = 100;
/// Most members one case starts (threads or processes, all groups).
pub const MAX_MEMBERS: usize = 4 * MAX_WORKERS;

pub fn cases(a: &MessagingArgs, cpus: &[u32], _: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let backends = super::given_or(&a.backend, Backend::ALL);
    for c in &a.channel {
        if !CHANNELS.contains(c) {
            return Err(format!(
                "--channel {c}: messaging feeds each receiver from many senders over one stream, which only pipe and unix-socket do; allowed: {}",
                super::list(&CHANNELS)
            ));
        }
    }
    let channels = super::given_or(&a.channel, &CHANNELS);
    let senders = a.senders.unwrap_or(DEFAULT_FDS);
    let receivers = a.receivers.unwrap_or(DEFAULT_FDS);
    super::bounded("--senders", senders as u64, 1, MAX_WORKERS as u64, false)?;
    super::bounded(
        "--receivers",
        receivers as u64,
        1,
        MAX_WORKERS as u64,
        false,
    )?;
    let loops = a.loops.unwrap_or(DEFAULT_LOOPS);
    super::bounded("--loops", loops, 1, u32::MAX as u64, false)?;
    let size = a.size.unwrap_or(DEFAULT_SIZE);
    if !(MIN_MESSAGE as u64..=MAX_MESSAGE as u64).contains(&size) {
        return Err(format!(
            "--size {}: a message needs its 8-byte header and must fit one atomic pipe write (PIPE_BUF); allowed: {} to {}",
            fmt_count(size),
            fmt_bytes(MIN_MESSAGE as u64),
            fmt_bytes(MAX_MESSAGE as u64)
        ));
    }
    let groups = super::given_or(&a.groups, &DEFAULT_GROUPS);
    for &g in &groups {
        let members = g.saturating_mul(senders + receivers);
        if g == 0 || members > MAX_MEMBERS {
            return Err(format!(
                "--groups {g}: {g} × ({senders} senders + {receivers} receivers) = {members} workers; allowed: 1 to {} workers in one case",
                MAX_MEMBERS
            ));
        }
    }
    let places = placements(&a.placement, cpus, &[Placement::Os, Placement::SameCpu]);
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &g in &groups {
        for &backend in &backends {
            for &channel in &channels {
                for &p in &places {
                    let n = g * (senders + receivers);
                    cases.push(Box::new(MessagingCase {
                        backend,
                        channel,
                        groups: g,
                        senders,
                        receivers,
                        loops,
                        message_bytes: size as usize,
                        placement: p,
                        cpus: cpu_map(p, n, cpus)?,
                        samples,
                    }));
                }
            }
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_core::ChannelKind;

    #[test]
    fn defaults_and_refusals() {
        let m = super::super::machine();
        let c = cases(&MessagingArgs::default(), &[0, 1], &m).unwrap();
        assert_eq!(
            c.len(),
            3 * 3 * 2 * 2,
            "groups × backends × channels × placements"
        );
        assert_eq!(c[0].workers(), 40);
        let a = MessagingArgs {
            channel: vec![ChannelKind::ShmFutex],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--channel shm-futex") && e.contains("allowed: pipe,unix-socket"),
            "{e}"
        );
        let a = MessagingArgs {
            size: Some(8192),
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--size 8K") && e.contains("PIPE_BUF"), "{e}");
        let a = MessagingArgs {
            groups: vec![100],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(
            e.contains("--groups 100") && e.contains("4000 workers"),
            "{e}"
        );
    }
}
