//! bandwidth: a one-way stream of M-byte chunks from the initiator to one
//! member, two chunks in flight. Two figures: *touched*, each chunk
//! written by the sender and verified by the receiver (what a program that
//! produces and consumes its data sees), and, over channels whose kernel
//! copies the bytes, *transfer-only*, untouched buffers with only their
//! 8-byte header written and checked (lmbench's bw_pipe). Both in bytes/s
//! and as a fraction of a memcpy of the same chunk size on the same CPU.

use super::ring::{self, Figures, InitiatorOp, RingCase, RingWorkload, Role};
use super::{Case, Context, Workload};
use crate::channel::pattern::{self, SALT_REQUEST};
use crate::channel::{caps, Rx, Tx};
use crate::error::Result;
use crate::measure::sampler::Sampled;
use mpmt_schema::units::fmt_bytes;
use mpmt_schema::{summarize, Checks, Metric, Record, Unit, Workload as Kind};
use std::time::Duration;

/// The bandwidth workload.
pub struct Bandwidth;

/// One chunk sent.
pub struct Chunk;

impl InitiatorOp for Chunk {
    const MIN_SAMPLE: Duration = Duration::ZERO;

    fn op<T: Tx, R: Rx>(tx: &mut T, _rx: &mut R, size: usize, _ws: &[u8], i: u64) -> Result<()> {
        tx.send(size, |b| pattern::fill(b, i, SALT_REQUEST))?;
        Ok(())
    }
}

/// One chunk sent untouched: only its header is written.
pub struct UntouchedChunk;

impl InitiatorOp for UntouchedChunk {
    const MIN_SAMPLE: Duration = Duration::ZERO;

    fn op<T: Tx, R: Rx>(tx: &mut T, _rx: &mut R, size: usize, _ws: &[u8], i: u64) -> Result<()> {
        tx.send(size, |b| pattern::fill_header(b, i, SALT_REQUEST))?;
        Ok(())
    }
}

impl RingWorkload for Bandwidth {
    /// Two chunks in flight, so the sender writes one while the receiver
    /// reads the other.
    fn slots(&self) -> usize {
        2
    }

    fn role(&self, case: &RingCase) -> Role {
        let size = case.size_bytes;
        match case.transfer_only {
            true => Role::Drain { size },
            false => Role::Sink { size },
        }
    }

    fn memcpy_floor(&self) -> bool {
        true
    }

    fn label_tail(&self, case: &RingCase) -> String {
        fmt_bytes(case.size_bytes as u64)
    }

    fn measure(&self, case: &RingCase, ctx: &Context) -> Result<Record> {
        match case.transfer_only {
            true => {
                crate::with_channel!(case.channel, C => ring::measure::<C, UntouchedChunk>(case, ctx))
            }
            false => crate::with_channel!(case.channel, C => ring::measure::<C, Chunk>(case, ctx)),
        }
    }

    fn figures(
        &self,
        case: &RingCase,
        s: &Sampled,
        _overhead: Option<f64>,
        memcpy: Option<f64>,
        checks: &mut Checks,
    ) -> Figures {
        let v: Vec<f64> = s
            .per_op_ns
            .iter()
            .map(|ns| case.size_bytes as f64 / (ns * 1e-9))
            .collect();
        checks.memcpy_bytes_per_s = memcpy;
        checks.fraction_of_memcpy = memcpy.map(|m| summarize(&v).median / m);
        Figures {
            metric: Metric::Bandwidth,
            unit: Unit::BytesPerS,
            values: v,
            per: "operation",
            hops_per_op: 1.0,
            // A chunk may wait for the receiver or not: no fixed count.
            expected_switches: None,
        }
    }
}

impl Workload for Bandwidth {
    fn kind(&self) -> Kind {
        Kind::Bandwidth
    }

    /// Every valid backend × channel, touched, and transfer-only over
    /// every channel that copies.
    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let touched = ring::tiny_rings(Kind::Bandwidth, 64 << 10, 2);
        let transfer_only: Vec<RingCase> = touched
            .iter()
            .filter(|r| caps(r.channel).copies)
            .map(|r| RingCase {
                transfer_only: true,
                ..r.clone()
            })
            .collect();
        let mut v = ring::boxed(touched);
        v.extend(ring::boxed(transfer_only));
        v
    }

    fn ring(&self) -> Option<&'static dyn RingWorkload> {
        Some(&Bandwidth)
    }
}
