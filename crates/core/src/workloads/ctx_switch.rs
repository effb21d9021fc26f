//! ctx-switch: a token passes around a ring of N members over a blocking
//! channel; on a shared CPU each hop is one switch. The same hop done by
//! one thread to itself (send then receive on one link, plus the
//! working-set sum) is measured first and subtracted (lmbench `lat_ctx`'s
//! method); both the raw hop and the overhead go in the record's checks.

use super::ring::{self, touch, Beside, Figures, InitiatorOp, RingCase, RingWorkload, Role, TOKEN_BYTES};
use super::{Case, Context, Workload};
use crate::channel::pattern::{self, SALT_REQUEST};
use crate::channel::{Rx, Tx};
use crate::error::{Error, Result};
use crate::measure::sampler::Sampled;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{summarize, Checks, Metric, Record, Unit, Workload as Kind};
use std::time::Duration;

/// The ctx-switch workload.
pub struct CtxSwitch;

/// One round of the ring, as the initiator sees it.
pub struct Hop;

impl InitiatorOp for Hop {
    const MIN_SAMPLE: Duration = Duration::from_micros(50);

    fn op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, _size: usize, ws: &[u8], i: u64) -> Result<()> {
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
}

impl RingWorkload for CtxSwitch {
    fn message_bytes(&self, _size_bytes: usize) -> usize {
        TOKEN_BYTES
    }

    fn role(&self, _case: &RingCase) -> Role {
        Role::Forward { size: TOKEN_BYTES }
    }

    fn needs_blocking(&self) -> bool {
        true
    }

    fn subtracts_overhead(&self) -> bool {
        true
    }

    fn label_tail(&self, case: &RingCase) -> String {
        let mut s = format!("n={}", case.workers);
        if case.working_set_bytes > 0 {
            s += &format!(" ws={}", fmt_bytes(case.working_set_bytes as u64));
        }
        if case.shared_ws {
            s += " shared";
        }
        s
    }

    fn measure(&self, case: &RingCase, ctx: &Context) -> Result<Record> {
        crate::with_channel!(case.channel, C => ring::measure::<C, Hop>(case, ctx))
    }

    fn figures(
        &self,
        case: &RingCase,
        s: &Sampled,
        beside: &Beside,
        checks: &mut Checks,
    ) -> Figures {
        let overhead = beside.overhead;
        // A round of the ring is `members` hops; the figure is per hop.
        let members = case.workers as f64;
        let o = overhead.unwrap_or(0.0);
        let hops: Vec<f64> = s.per_op_ns.iter().map(|v| v / members).collect();
        checks.overhead_ns = Some(o);
        checks.hop_ns = Some(summarize(&hops).median);
        Figures {
            metric: Metric::Switch,
            unit: Unit::Ns,
            values: hops.iter().map(|h| h - o).collect(),
            per: "hop",
            hops_per_op: members,
            expected_switches: case.one_piece().then_some(1.0),
        }
    }
}

impl Workload for CtxSwitch {
    fn kind(&self) -> Kind {
        Kind::CtxSwitch
    }

    /// Every valid backend × blocking channel, each with a small private
    /// working set and with one every member shares.
    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v = Vec::new();
        for r in ring::tiny_rings(Kind::CtxSwitch, TOKEN_BYTES, 3) {
            let private = RingCase {
                working_set_bytes: 4096,
                ..r
            };
            v.push(RingCase {
                shared_ws: true,
                ..private.clone()
            });
            v.insert(v.len() - 1, private);
        }
        ring::boxed(v)
    }

    fn ring(&self) -> Option<&'static dyn RingWorkload> {
        Some(&CtxSwitch)
    }
}
