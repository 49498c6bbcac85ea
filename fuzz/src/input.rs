//! Carving structured inputs out of fuzzer bytes.

/// A cursor over fuzzer bytes. Every read is total: past the end it yields
/// zeros (or fewer bytes), so short inputs still reach the code under test.
#[derive(Clone, Debug)]
pub struct Bytes<'a> {
    buf: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the first byte.
    pub fn new(buf: &'a [u8]) -> Self {
        Bytes { buf }
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.buf.split_at(n.min(self.buf.len()));
        self.buf = b;
        a
    }

    /// Exactly `N` bytes, zero-padded.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let s = self.take(N);
        out[..s.len()].copy_from_slice(s);
        out
    }

    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A big-endian u32 (zero-padded).
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    /// Everything not yet read.
    pub fn rest(self) -> &'a [u8] {
        self.buf
    }
}

/// Bytes as text: the bytes themselves when they are UTF-8, else their lossy decoding.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}
