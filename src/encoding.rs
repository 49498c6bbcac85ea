//! Canonical binary encoding (spec chapter 2, `spec/02-encoding.md`).
//!
//! Every AAD, every signed message and every HKDF `info` is built with
//! [`Encoder`], which always starts with the structure's label, and every
//! wire structure is read back with [`Reader`], whose [`Reader::finish`]
//! rejects trailing bytes (rustls' `Codec::read` discipline).
//!
//! ```
//! use blindsync::encoding::{Encoder, Reader};
//! let bytes = Encoder::new("blindsync/v1/example").u32(7).bytes(b"abc").finish();
//! let mut r = Reader::new(&bytes);
//! r.expect_label("blindsync/v1/example")?;
//! assert_eq!(r.u32()?, 7);
//! assert_eq!(r.bytes(16)?, b"abc");
//! r.finish()?;
//! # Ok::<(), blindsync::Error>(())
//! ```

use crate::error::{Error, Result};

/// Declares a one-byte wire enum from a single table (rustls'
/// `enum_builder!`): each variant's tag, and optionally its name, is
/// written once; `from_u8` maps an unknown tag to the error the table names.
///
/// Generates `#[repr(u8)]`, `ALL` (table order), `to_u8`, `from_u8` and,
/// with names, `name`.
macro_rules! wire_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident (unknown: $err:expr) {
            $( $(#[$vm:meta])* $variant:ident = $tag:literal $(=> $label:literal)?, )*
        }
    ) => {
        $(#[$m])*
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vm])* $variant = $tag, )*
        }

        impl $name {
            /// Every variant, in table order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The variant's wire tag.
            pub const fn to_u8(self) -> u8 {
                self as u8
            }

            /// The variant with wire tag `v`; an unknown tag is the table's error.
            pub fn from_u8(v: u8) -> $crate::error::Result<Self> {
                match v {
                    $( $tag => Ok($name::$variant), )*
                    _ => Err($err),
                }
            }

            wire_enum!(@names $name $( $variant $($label)? ),*);
        }
    };
    (@names $name:ident $( $variant:ident $label:literal ),+) => {
        /// The variant's name (vectors, narration, logs).
        pub const fn name(self) -> &'static str {
            match self { $( $name::$variant => $label, )+ }
        }
    };
    (@names $name:ident $( $variant:ident ),*) => {};
}

/// A wire structure (rustls' `Codec`): [`Codec::read`] reads one from a
/// [`Reader`], and [`Codec::decode`] reads one from bytes and then refuses
/// any trailing byte with `E_DECODE_TRAILING`. [ENC-5]
///
/// The check order inside `read` is the spec's; `decode` only adds the final
/// "nothing may follow" step, so every decoder shares that rule.
///
/// ```
/// use blindsync::encoding::Codec;
/// use blindsync::unlock::password::PasswordKdf;
/// let kdf = PasswordKdf { salt: [5; 16], params: blindsync::unlock::password::KdfParams::DEFAULT };
/// let mut bytes = Codec::encode(&kdf);
/// assert_eq!(<PasswordKdf as Codec>::decode(&bytes)?, kdf);
/// bytes.push(0);
/// assert_eq!(<PasswordKdf as Codec>::decode(&bytes), Err(blindsync::Error::DecodeTrailing));
/// # Ok::<(), blindsync::Error>(())
/// ```
pub trait Codec<'a>: Sized {
    /// The canonical encoding.
    fn encode(&self) -> Vec<u8>;

    /// Reads one structure from `r`, leaving what follows it.
    fn read(r: &mut Reader<'a>) -> Result<Self>;

    /// Reads exactly one structure from `bytes`: trailing bytes are
    /// `E_DECODE_TRAILING`. [ENC-5]
    fn decode(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// Longest label the encoding accepts, in bytes. [ENC-4]
pub const MAX_LABEL_LEN: usize = 64;

/// Builds a canonical, label-first byte string. [ENC-1] [ENC-2] [ENC-3] [ENC-4]
///
/// For one label the encoding is injective ([ENC-6]): [`Reader`] recovers the
/// unique field tuple from the bytes.
#[derive(Clone, Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// Starts a structure with its label: `u32(len) ‖ label`. [ENC-4]
    pub fn new(label: &str) -> Self {
        let mut e = Encoder { buf: Vec::with_capacity(128) };
        e = e.bytes(label.as_bytes());
        e
    }

    /// Starts a structure with no label (wire formats that begin with a version byte).
    pub fn raw() -> Self {
        Encoder::default()
    }

    /// [`Encoder::raw`] with room for `len` bytes (a structure of fixed length, written
    /// without growing).
    pub fn raw_with_capacity(len: usize) -> Self {
        Encoder { buf: Vec::with_capacity(len) }
    }

    /// One byte. [ENC-1]
    pub fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }

    /// Big-endian u16. [ENC-1]
    pub fn u16(mut self, v: u16) -> Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Big-endian u32. [ENC-1]
    pub fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Big-endian u64. [ENC-1]
    pub fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A fixed-length field whose length the structure defines: raw bytes. [ENC-2]
    pub fn fixed(mut self, v: &[u8]) -> Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// A variable-length field: `u32(len) ‖ bytes`. [ENC-3]
    ///
    /// Lengths above `u32::MAX` cannot occur: every caller bounds its fields
    /// far below that, and the spec's limits are enforced on decode.
    pub fn bytes(mut self, v: &[u8]) -> Self {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
        self
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a canonical structure; every read is bounds-checked and returns a
/// typed error, never panics. [ENC-5] Decoders interleave reads and value
/// checks in the order of their check lists, never reading ahead. [ENC-7]
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::DecodeTruncated)?;
        let out = self.buf.get(self.pos..end).ok_or(Error::DecodeTruncated)?;
        self.pos = end;
        Ok(out)
    }

    /// One byte. [ENC-1]
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Big-endian u16. [ENC-1]
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Big-endian u32. [ENC-1]
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Big-endian u64. [ENC-1]
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A fixed-length field of `N` bytes. [ENC-2]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// A fixed-length field of `n` bytes, borrowed. [ENC-2]
    pub fn fixed(&mut self, n: usize) -> Result<&'a [u8]> {
        self.take(n)
    }

    /// A variable-length field of at most `max` bytes. [ENC-3] [ENC-5]
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(Error::DecodeLength);
        }
        self.take(len)
    }

    /// A variable-length field whose length prefix must be exactly `len`
    /// (`E_DECODE_LENGTH` otherwise, before its bytes are read). [ENC-3]
    pub fn bytes_exact(&mut self, len: usize) -> Result<&'a [u8]> {
        if self.u32()? as usize != len {
            return Err(Error::DecodeLength);
        }
        self.take(len)
    }

    /// Checks that the next field is exactly `label`. [ENC-4]
    pub fn expect_label(&mut self, label: &str) -> Result<()> {
        let got = self.bytes(MAX_LABEL_LEN).map_err(|e| match e {
            Error::DecodeLength => Error::DecodeLabel,
            other => other,
        })?;
        if got == label.as_bytes() { Ok(()) } else { Err(Error::DecodeLabel) }
    }

    /// Ends the structure: trailing bytes are an error. [ENC-5]
    pub fn finish(self) -> Result<()> {
        if self.remaining() == 0 { Ok(()) } else { Err(Error::DecodeTrailing) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // [SYNC-2] [ENV-3] every wire enum's table: tags distinct, round trip, every other byte is the table's error.
    #[test]
    fn wire_enum_tables_round_trip_and_refuse_unknown_tags() {
        macro_rules! check {
            ($t:ty, $err:expr) => {{
                let tags: Vec<u8> = <$t>::ALL.iter().map(|v| v.to_u8()).collect();
                let mut sorted = tags.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), tags.len(), "duplicate tag in {}", stringify!($t));
                for v in <$t>::ALL {
                    assert_eq!(<$t>::from_u8(v.to_u8()), Ok(*v));
                }
                for b in 0..=255u8 {
                    if !tags.contains(&b) {
                        assert_eq!(<$t>::from_u8(b), Err($err), "{} tag {b}", stringify!($t));
                    }
                }
            }};
        }
        use crate::server::wire::{Action, ItemKind, RequestKind, ResponseKind};
        check!(RequestKind, Error::DecodeValue);
        check!(ResponseKind, Error::DecodeValue);
        check!(Action, Error::DecodeValue);
        check!(ItemKind, Error::DecodeValue);
        check!(crate::envelope::Suite, Error::EnvSuite);
        check!(crate::batch::EventKind, Error::DecodeValue);
        check!(crate::chain::statement::UnlockPath, Error::DecodeValue);
        check!(crate::unlock::wrap::WrapKind, Error::DecodeValue);
        assert_eq!(RequestKind::ListSince.name(), "list_since");
        assert_eq!(RequestKind::ListSince.to_u8(), 10, "spec 11.3's tag of ListSince");
        assert_eq!(ResponseKind::Items.to_u8(), 8, "spec 11.3's tag of Items");
    }

    // [ENC-1] [ENC-3] [ENC-4] known bytes, written out by hand from the spec.
    #[test]
    fn known_bytes() {
        let got = Encoder::new("ab").u8(1).u16(0x0203).u32(4).u64(5).fixed(&[9, 9]).bytes(b"xyz").finish();
        let want: Vec<u8> = vec![
            0, 0, 0, 2, b'a', b'b', // label
            1,    // u8
            2, 3, // u16
            0, 0, 0, 4, // u32
            0, 0, 0, 0, 0, 0, 0, 5, // u64
            9, 9, // fixed
            0, 0, 0, 3, b'x', b'y', b'z', // bytes
        ];
        assert_eq!(got, want);
    }

    // [ENC-5] truncated, trailing, overlong and wrong-label inputs are typed errors.
    #[test]
    fn reader_errors() {
        let bytes = Encoder::new("lbl").bytes(b"hello").finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.expect_label("other"), Err(Error::DecodeLabel));
        let mut r = Reader::new(&bytes);
        r.expect_label("lbl").unwrap();
        assert_eq!(r.clone().bytes(4), Err(Error::DecodeLength));
        assert_eq!(r.bytes(5).unwrap(), b"hello");
        assert_eq!(r.finish(), Ok(()));

        let mut extended = bytes.clone();
        extended.push(0);
        let mut r = Reader::new(&extended);
        r.expect_label("lbl").unwrap();
        r.bytes(5).unwrap();
        assert_eq!(r.finish(), Err(Error::DecodeTrailing));

        for cut in 0..bytes.len() {
            let mut r = Reader::new(&bytes[..cut]);
            let res = r.expect_label("lbl").and_then(|_| r.bytes(5).map(|_| ()));
            assert!(matches!(res, Err(Error::DecodeTruncated) | Err(Error::DecodeLabel)), "cut {cut}");
        }
        // A length prefix near u32::MAX must not overflow.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]);
        assert_eq!(r.bytes(usize::MAX), Err(Error::DecodeTruncated));
    }

    #[derive(Clone, Debug, PartialEq)]
    enum Field {
        U8(u8),
        U32(u32),
        U64(u64),
        Bytes(Vec<u8>),
    }

    fn encode(label: &str, fields: &[Field]) -> Vec<u8> {
        fields
            .iter()
            .fold(Encoder::new(label), |e, f| match f {
                Field::U8(v) => e.u8(*v),
                Field::U32(v) => e.u32(*v),
                Field::U64(v) => e.u64(*v),
                Field::Bytes(v) => e.bytes(v),
            })
            .finish()
    }

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![
            any::<u8>().prop_map(Field::U8),
            any::<u32>().prop_map(Field::U32),
            any::<u64>().prop_map(Field::U64),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(Field::Bytes),
        ]
    }

    fn kinds(fields: &[Field]) -> Vec<u8> {
        fields
            .iter()
            .map(|f| match f {
                Field::U8(_) => 0,
                Field::U32(_) => 1,
                Field::U64(_) => 2,
                Field::Bytes(_) => 3,
            })
            .collect()
    }

    fn decode(label: &str, shape: &[u8], bytes: &[u8]) -> Result<Vec<Field>> {
        let mut r = Reader::new(bytes);
        r.expect_label(label)?;
        let mut out = Vec::new();
        for k in shape {
            out.push(match k {
                0 => Field::U8(r.u8()?),
                1 => Field::U32(r.u32()?),
                2 => Field::U64(r.u64()?),
                _ => Field::Bytes(r.bytes(64)?.to_vec()),
            });
        }
        r.finish()?;
        Ok(out)
    }

    proptest! {
        // [ENC-6] decode(encode(x)) == x for every shape.
        #[test]
        fn round_trip(fields in proptest::collection::vec(field(), 0..8)) {
            let bytes = encode("blindsync/v1/test", &fields);
            prop_assert_eq!(decode("blindsync/v1/test", &kinds(&fields), &bytes)?, fields);
        }

        // [ENC-6] injectivity: two different tuples of one shape never share bytes,
        // and two different labels never share bytes.
        #[test]
        fn injective(a in proptest::collection::vec(field(), 0..6),
                     b in proptest::collection::vec(field(), 0..6),
                     la in "[a-z/]{0,8}", lb in "[a-z/]{0,8}") {
            if kinds(&a) == kinds(&b) && (a != b || la != lb) {
                prop_assert_ne!(encode(&la, &a), encode(&lb, &b));
            }
        }
    }
}
