//! latency: the round trip of an M-byte message between the initiator and
//! one member. The request is written with a pattern that depends on the
//! iteration and verified byte for byte by the member, whose reply is
//! written and verified the same way, so no message can pass for another.

use super::ring::{self, InitiatorOp};
use super::{Case, Workload};
use crate::channel::pattern::{self, SALT_REPLY, SALT_REQUEST};
use crate::channel::{Rx, Tx};
use crate::error::{Error, Result};
use mpmt_schema::Workload as Kind;
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

impl Workload for Latency {
    fn kind(&self) -> Kind {
        Kind::Latency
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        ring::tiny_cases(Kind::Latency, 100, 2)
    }
}
