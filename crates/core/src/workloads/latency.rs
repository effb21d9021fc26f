//! latency: the round trip of an M-byte message between the initiator and
//! one member. The request is written with a pattern that depends on the
//! iteration and verified byte for byte by the member, whose reply is
//! written and verified the same way, so no message can pass for another.

use super::ring::{self, Beside, Figures, InitiatorOp, RingCase, RingWorkload, Role};
use super::{Case, Context, Workload};
use crate::channel::pattern::{self, SALT_REPLY, SALT_REQUEST};
use crate::channel::{Rx, Tx};
use crate::error::{Error, Result};
use crate::measure::sampler::Sampled;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{summarize, Checks, Metric, Record, Unit, Workload as Kind};
use std::time::Duration;

/// The latency workload.
pub struct Latency;

/// One verified round trip.
pub struct RoundTrip;

impl InitiatorOp for RoundTrip {
    const MIN_SAMPLE: Duration = Duration::ZERO;

    fn op<T: Tx, R: Rx>(tx: &mut T, rx: &mut R, size: usize, _ws: &[u8], i: u64) -> Result<()> {
        tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))?;
        if !rx.recv(size, |m| pattern::verify(m, i, SALT_REPLY))? {
            return Err(Error::Corrupt {
                op: i,
                who: "the initiator",
            });
        }
        Ok(())
    }
}

/// Messages up to this size get a paired line floor: a 64-byte message
/// and its stamp fill two lines, a larger one is bandwidth's question.
pub const LINE_FLOOR_MAX_BYTES: usize = 64;

impl RingWorkload for Latency {
    fn role(&self, case: &RingCase) -> Role {
        Role::Echo {
            size: case.size_bytes,
        }
    }

    fn label_tail(&self, case: &RingCase) -> String {
        fmt_bytes(case.size_bytes as u64)
    }

    fn measure(&self, case: &RingCase, ctx: &Context) -> Result<Record> {
        crate::with_channel!(case.channel, C => ring::measure::<C, RoundTrip>(case, ctx))
    }

    /// A message of a line or two between two CPUs is read against the
    /// line's own round trip between them.
    fn line_floor_cpus(&self, case: &RingCase) -> Option<(u32, u32)> {
        match case.cpus.as_slice() {
            [Some(a), Some(b), ..] if a != b && case.size_bytes <= LINE_FLOOR_MAX_BYTES => {
                Some((*a, *b))
            }
            _ => None,
        }
    }

    fn figures(
        &self,
        case: &RingCase,
        s: &Sampled,
        beside: &Beside,
        checks: &mut Checks,
    ) -> Figures {
        if let Some(floor) = beside.line_floor.filter(|f| *f > 0.0) {
            checks.line_floor_ns = Some(floor);
            checks.line_floor_ratio = Some(summarize(&s.per_op_ns).median / floor);
        }
        Figures {
            metric: Metric::Rtt,
            unit: Unit::Ns,
            values: s.per_op_ns.clone(),
            per: "operation",
            hops_per_op: 1.0,
            // A request and a reply: two hand-offs.
            expected_switches: case.one_piece().then_some(2.0),
        }
    }
}

impl Workload for Latency {
    fn kind(&self) -> Kind {
        Kind::Latency
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        ring::tiny_cases(Kind::Latency, 100, 2)
    }

    fn ring(&self) -> Option<&'static dyn RingWorkload> {
        Some(&Latency)
    }
}
