//! ctx-switch: a token passes around a ring of N members over a blocking
//! channel; on a shared CPU each hop is one switch. The same hop done by
//! one thread to itself (send then receive on one link, plus the
//! working-set sum) is measured first and subtracted (lmbench `lat_ctx`'s
//! method); both the raw hop and the overhead go in the record's checks.

use super::ring::{self, touch, InitiatorOp, TOKEN_BYTES};
use super::{Case, Workload};
use crate::channel::pattern::{self, SALT_REQUEST};
use crate::channel::{Rx, Tx};
use crate::error::{Error, Result};
use mpmt_schema::Workload as Kind;
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

impl Workload for CtxSwitch {
    fn kind(&self) -> Kind {
        Kind::CtxSwitch
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        ring::tiny_cases(Kind::CtxSwitch, TOKEN_BYTES, 3)
    }
}
