//! Message payloads: every message starts with an 8-byte little-endian
//! header `seq ^ salt`, and every later 8-byte word k holds
//! `base(seq, salt) ^ k`, so a receiver can tell a stale, reordered,
//! truncated or echoed message (a request salt where a reply was due) from
//! the right one, even at 8 bytes. The stop message (`seq == STOP`, request
//! salt) marks the in-band end of a stream.
//!
//! Fill and verify run over whole words so the compiler vectorises them;
//! they are part of every measured operation (a message is written and read,
//! never just moved), and cost about one memory pass each.

/// Sequence header of the in-band stop message.
pub const STOP: u64 = u64::MAX;

/// Smallest message: the sequence header.
pub const MIN_MESSAGE_BYTES: usize = 8;

/// Salt of a request (initiator → responder) and of a reply.
pub const SALT_REQUEST: u64 = 0x5851_F42D_4C95_7F2D;
pub const SALT_REPLY: u64 = 0x1405_7B7E_F767_814F;
/// Salt of the last chunk of a stream's window: the receiver answers it.
pub const SALT_LAST: u64 = 0x2F6B_3C1D_9A4E_58B3;

#[inline]
fn base(seq: u64, salt: u64) -> u64 {
    seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt
}

#[inline]
fn word_at(b: u64, k: usize) -> u64 {
    b ^ (k as u64)
}

/// Writes message `seq` into `buf` (`buf.len() >= 8`).
#[inline]
pub fn fill(buf: &mut [u8], seq: u64, salt: u64) {
    debug_assert!(buf.len() >= MIN_MESSAGE_BYTES);
    let b = base(seq, salt);
    buf[..8].copy_from_slice(&(seq ^ salt).to_le_bytes());
    let body = &mut buf[8..];
    let tail_word = (body.len() / 8) + 1;
    let mut chunks = body.chunks_exact_mut(8);
    for (k, c) in (&mut chunks).enumerate() {
        c.copy_from_slice(&word_at(b, k + 1).to_le_bytes());
    }
    let rem = chunks.into_remainder();
    if !rem.is_empty() {
        let w = word_at(b, tail_word).to_le_bytes();
        rem.copy_from_slice(&w[..rem.len()]);
    }
}

/// The raw header of a message (`seq ^ salt`).
#[inline]
fn header(buf: &[u8]) -> u64 {
    let mut h = [0u8; 8];
    h.copy_from_slice(&buf[..8]);
    u64::from_le_bytes(h)
}

/// True if `buf` is exactly message `seq` with `salt`.
#[inline]
pub fn verify(buf: &[u8], seq: u64, salt: u64) -> bool {
    if buf.len() < MIN_MESSAGE_BYTES || header(buf) != seq ^ salt {
        return false;
    }
    let b = base(seq, salt);
    let body = &buf[8..];
    let chunks = body.chunks_exact(8);
    let rem = chunks.remainder();
    let mut diff = 0u64;
    for (k, c) in chunks.enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        diff |= u64::from_le_bytes(w) ^ word_at(b, k + 1);
    }
    if diff != 0 {
        return false;
    }
    if !rem.is_empty() {
        let k = (body.len() / 8) + 1;
        let w = word_at(b, k).to_le_bytes();
        return rem == &w[..rem.len()];
    }
    true
}

/// Writes only the header of message `seq`: the body stays as it was (a
/// transfer-only stream sends untouched buffers, as lmbench's bw_pipe).
#[inline]
pub fn fill_header(buf: &mut [u8], seq: u64, salt: u64) {
    buf[..8].copy_from_slice(&(seq ^ salt).to_le_bytes());
}

/// True if `buf` carries the header of message `seq` (the body unread).
#[inline]
pub fn header_is(buf: &[u8], seq: u64, salt: u64) -> bool {
    buf.len() >= MIN_MESSAGE_BYTES && header(buf) == seq ^ salt
}

/// True if `buf` is the stop message.
#[inline]
pub fn is_stop(buf: &[u8]) -> bool {
    buf.len() >= MIN_MESSAGE_BYTES && header(buf) == STOP ^ SALT_REQUEST
}

/// Writes the stop message.
#[inline]
pub fn fill_stop(buf: &mut [u8]) {
    fill(buf, STOP, SALT_REQUEST);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_small_lengths() {
        for len in 8..200 {
            let mut buf = vec![0u8; len];
            fill(&mut buf, 42, SALT_REQUEST);
            assert!(verify(&buf, 42, SALT_REQUEST), "len {len}");
            assert!(!verify(&buf, 43, SALT_REQUEST), "len {len}: wrong seq");
            assert!(!verify(&buf, 42, SALT_REPLY), "len {len}: wrong salt");
        }
    }

    #[test]
    fn any_flipped_byte_fails() {
        let mut buf = vec![0u8; 77];
        fill(&mut buf, 7, SALT_REPLY);
        for i in 0..buf.len() {
            buf[i] ^= 0x40;
            assert!(!verify(&buf, 7, SALT_REPLY), "flip at {i} passed");
            buf[i] ^= 0x40;
        }
        assert!(verify(&buf, 7, SALT_REPLY));
    }

    #[test]
    fn header_only_messages_are_told_apart() {
        let mut buf = vec![0u8; 64];
        fill_header(&mut buf, 9, SALT_REQUEST);
        assert!(header_is(&buf, 9, SALT_REQUEST));
        assert!(!header_is(&buf, 10, SALT_REQUEST));
        assert!(!verify(&buf, 9, SALT_REQUEST), "the body was not written");
        assert!(buf[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn stop_is_recognised() {
        let mut buf = vec![0u8; 64];
        fill_stop(&mut buf);
        assert!(is_stop(&buf));
        fill(&mut buf, 5, SALT_REQUEST);
        assert!(!is_stop(&buf));
    }

    #[test]
    fn consecutive_messages_differ_in_body() {
        let mut a = vec![0u8; 64];
        let mut b = vec![0u8; 64];
        fill(&mut a, 1, SALT_REQUEST);
        fill(&mut b, 2, SALT_REQUEST);
        assert_ne!(a[8..], b[8..]);
    }
}
