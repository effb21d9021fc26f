//! bandwidth: a one-way stream of M-byte chunks from the initiator to one
//! member, two chunks in flight. Two figures: *touched*, each chunk
//! written by the sender and verified by the receiver (what a program that
//! produces and consumes its data sees), and, over channels whose kernel
//! copies the bytes, *transfer-only*, untouched buffers with only their
//! 8-byte header written and checked (lmbench's bw_pipe). Both in bytes/s
//! and as a fraction of a memcpy of the same chunk size on the same CPU.

use super::ring::{self, InitiatorOp};
use super::{Case, Workload};
use crate::channel::pattern::{self, SALT_REQUEST};
use crate::channel::{Rx, Tx};
use crate::error::Result;
use mpmt_schema::Workload as Kind;
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

impl Workload for Bandwidth {
    fn kind(&self) -> Kind {
        Kind::Bandwidth
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v = ring::tiny_cases(Kind::Bandwidth, 64 << 10, 2);
        v.extend(ring::tiny_transfer_only_cases(64 << 10));
        v
    }
}
