//! Padding (spec 7.6, `spec/07-envelope.md`).
//!
//! ```text
//! framed  = u32(len(payload)) ‖ payload
//! padded  = framed ‖ zeros(bucket(len(framed)) - len(framed))
//! bucket(n) = the smallest of 256, 1024, 4096, 16384, 65536 that is >= n,
//!             else n rounded up to a multiple of 65536
//! unpad(padded): len = u32 prefix; 4 + len <= len(padded);
//!                bucket(4 + len) == len(padded); every padding byte is zero
//! ```

use crate::error::{Error, Result};

/// The fixed padding buckets below 64 KiB. [PAD-1]
pub const BUCKETS: [usize; 5] = [256, 1024, 4096, 16384, 65536];

/// Above the last fixed bucket, padded lengths are multiples of this. [PAD-1]
pub const BUCKET_STEP: usize = 65536;

/// Length of the big-endian length prefix inside the padded plaintext. [PAD-2]
pub const LEN_PREFIX: usize = 4;

/// Largest padded length an envelope may carry: 16 MiB. [ENV-14]
pub const MAX_PADDED_LEN: usize = 256 * BUCKET_STEP;

/// Largest payload an envelope may carry: `MAX_PADDED_LEN - 4`. [ENV-14]
pub const MAX_PAYLOAD_LEN: usize = MAX_PADDED_LEN - LEN_PREFIX;

/// `bucket(n)`: the padded length for `n` framed bytes. [PAD-1]
///
/// ```
/// use blindsync::envelope::padding::bucket;
/// assert_eq!(bucket(0), 256);
/// assert_eq!(bucket(257), 1024);
/// assert_eq!(bucket(65537), 131072);
/// ```
pub const fn bucket(n: usize) -> usize {
    let mut i = 0;
    while i < BUCKETS.len() {
        if n <= BUCKETS[i] {
            return BUCKETS[i];
        }
        i += 1;
    }
    n.div_ceil(BUCKET_STEP).saturating_mul(BUCKET_STEP)
}

/// The padded length of a payload of `payload_len` bytes, or
/// [`Error::EnvTooLarge`] above [`MAX_PAYLOAD_LEN`]. [PAD-1] [ENV-14]
pub fn padded_len(payload_len: usize) -> Result<usize> {
    if payload_len > MAX_PAYLOAD_LEN {
        return Err(Error::EnvTooLarge);
    }
    Ok(bucket(payload_len + LEN_PREFIX))
}

/// True when `n` is a padded length some payload can have: one of the fixed
/// buckets or a multiple of 65536, at most [`MAX_PADDED_LEN`]. [PAD-1]
pub fn is_bucket(n: usize) -> bool {
    n <= MAX_PADDED_LEN && n > 0 && bucket(n) == n
}

/// Writes `u32(len) ‖ payload ‖ zeros` to the end of `out`, growing it by
/// `padded_len(payload.len())` bytes: the one copy of the payload on seal. [PAD-2]
pub fn pad_into(out: &mut Vec<u8>, payload: &[u8]) -> Result<usize> {
    let padded = padded_len(payload.len())?;
    // payload.len() <= MAX_PAYLOAD_LEN < u32::MAX, so the cast is exact.
    let len = u32::try_from(payload.len()).map_err(|_| Error::EnvTooLarge)?;
    out.reserve(padded);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (padded - LEN_PREFIX - payload.len()), 0);
    Ok(padded)
}

/// `pad(payload)` as a fresh vector. [PAD-2]
pub fn pad(payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    pad_into(&mut out, payload)?;
    Ok(out)
}

/// Checks a decrypted padded plaintext and returns the payload's range in it.
/// Any deviation (length prefix too large, not the minimal bucket, a non-zero
/// padding byte) is [`Error::EnvPadding`]. [PAD-3]
pub fn unpad(padded: &[u8]) -> Result<core::ops::Range<usize>> {
    let prefix: [u8; LEN_PREFIX] = padded.get(..LEN_PREFIX).and_then(|p| p.try_into().ok()).ok_or(Error::EnvPadding)?;
    let len = u32::from_be_bytes(prefix) as usize;
    let end = len.checked_add(LEN_PREFIX).ok_or(Error::EnvPadding)?;
    if end > padded.len() || bucket(end) != padded.len() {
        return Err(Error::EnvPadding);
    }
    let tail = padded.get(end..).ok_or(Error::EnvPadding)?;
    // Not secret-dependent in a way that matters (the length is public via
    // the bucket), but fold all bytes anyway so the time does not depend on
    // where a non-zero byte is.
    if tail.iter().fold(0u8, |acc, b| acc | b) != 0 {
        return Err(Error::EnvPadding);
    }
    Ok(LEN_PREFIX..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // [PAD-1] the bucket table at and around every edge.
    #[test]
    fn buckets() {
        let cases = [
            (0, 256),
            (1, 256),
            (256, 256),
            (257, 1024),
            (1024, 1024),
            (1025, 4096),
            (4097, 16384),
            (16385, 65536),
            (65536, 65536),
            (65537, 131072),
            (131072, 131072),
            (131073, 196608),
        ];
        for (n, b) in cases {
            assert_eq!(bucket(n), b, "{n}");
        }
        assert!(is_bucket(256) && is_bucket(196608) && is_bucket(MAX_PADDED_LEN));
        assert!(!is_bucket(0) && !is_bucket(255) && !is_bucket(2048) && !is_bucket(MAX_PADDED_LEN + BUCKET_STEP));
        assert_eq!(padded_len(252), Ok(256));
        assert_eq!(padded_len(253), Ok(1024));
        assert_eq!(padded_len(MAX_PAYLOAD_LEN), Ok(MAX_PADDED_LEN));
        assert_eq!(padded_len(MAX_PAYLOAD_LEN + 1), Err(Error::EnvTooLarge));
    }

    // [PAD-3] every malformed padding is refused.
    #[test]
    fn unpad_rejects() {
        let mut p = pad(b"hello").unwrap();
        assert_eq!(unpad(&p), Ok(4..9));
        p[100] = 1;
        assert_eq!(unpad(&p), Err(Error::EnvPadding));
        let mut p = pad(b"hello").unwrap();
        p[3] = 253; // claims 253 bytes: would need the 1024 bucket
        assert_eq!(unpad(&p), Err(Error::EnvPadding));
        p[3] = 255;
        p[2] = 255;
        assert_eq!(unpad(&p), Err(Error::EnvPadding));
        // over-padded: 5 bytes in a 1024 bucket
        let mut big = pad(b"hello").unwrap();
        big.resize(1024, 0);
        assert_eq!(unpad(&big), Err(Error::EnvPadding));
        assert_eq!(unpad(&[0, 0, 0]), Err(Error::EnvPadding));
        assert_eq!(unpad(&[0xff; 4]), Err(Error::EnvPadding));
    }

    proptest! {
        // [PAD-2] [PAD-3] unpad(pad(x)) == x and the padded length is the bucket.
        #[test]
        fn round_trip(v in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            let p = pad(&v).unwrap();
            prop_assert_eq!(p.len(), bucket(v.len() + 4));
            prop_assert!(is_bucket(p.len()));
            let r = unpad(&p).unwrap();
            prop_assert_eq!(&p[r], &v[..]);
        }
    }
}
