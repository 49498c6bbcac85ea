//! The recovery code (spec 5.3, `spec/05-keys.md`).
//!
//! 128 random bits, shown to people as 28 Crockford base32 symbols in seven
//! groups of four (26 data symbols and 2 check symbols):
//!
//! ```text
//! 0RKV-8W3J-QX7N-...-XXCC
//! ```
//!
//! The check symbols catch every single-symbol typo and every swap of two
//! adjacent different data symbols before any key is derived. Keys come from HKDF
//! only: the code has full entropy, so no password hashing is needed.
//!
//! ```
//! use blindsync::unlock::recovery::RecoveryCode;
//! use blindsync::primitives::SeededRng;
//! let code = RecoveryCode::generate(&mut SeededRng::from_label("doc"));
//! let text = code.to_text();
//! let again = RecoveryCode::parse(&text)?;
//! assert!(again == code);
//! # Ok::<(), blindsync::Error>(())
//! ```

use zeroize::{Zeroize, Zeroizing};

use super::AuthoritySeed;
use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::keys::Kek;
use crate::labels;
use crate::primitives::{CryptoRng, hkdf_expand32, hkdf_extract};
use crate::secret::Secret32;
use crate::secret_type;

/// Crockford base32 alphabet. [KEY-3]
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Data symbols (130 bits, of which the last 2 are zero). [KEY-3]
pub const DATA_SYMBOLS: usize = 26;
/// Data plus check symbols. [KEY-3]
pub const SYMBOLS: usize = 28;

secret_type!(
    /// A 128-bit recovery code. [KEY-3]
    RecoveryCode,
    16
);

/// What the recovery code derives, with the PRK for test vectors. [KEY-4]
pub struct RecoveryKeys {
    /// `HKDF-Extract(enc(RECOVERY_EXTRACT), code)`.
    pub prk: Secret32,
    /// The KEK that wraps the UMK.
    pub kek: Kek,
    /// The seed of the recovery authority's Ed25519 key.
    pub authority: AuthoritySeed,
}

/// The symbol value of an ASCII character after normalization, if any. [KEY-3]
/// Works on bytes and folds ASCII letters only: a non-ASCII byte has no value. [KEY-15]
fn symbol_value(c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// The two check symbols over the 26 data symbols. [KEY-3]
///
/// ```text
/// c1 = (sum of v[i])           mod 32
/// c2 = (sum of (i + 1) * v[i]) mod 32      for i = 0 .. 25
/// ```
pub fn check_symbols(data: &[u8; DATA_SYMBOLS]) -> [u8; 2] {
    let mut c1: u32 = 0;
    let mut c2: u32 = 0;
    for (i, v) in data.iter().enumerate() {
        c1 += u32::from(*v);
        c2 += (i as u32 + 1) * u32::from(*v);
    }
    [(c1 % 32) as u8, (c2 % 32) as u8]
}

impl RecoveryCode {
    /// Draws a fresh code. [KEY-3]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::random(rng)
    }

    /// The human form: 7 groups of 4 symbols joined by `-`. [KEY-3]
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut syms = Zeroizing::new([0u8; SYMBOLS]);
        // 128 bits, big-endian, then two zero bits: 26 five-bit symbols.
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for b in self.expose() {
            acc = (acc << 8) | u32::from(*b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                syms[n] = ((acc >> bits) & 31) as u8;
                n += 1;
            }
        }
        syms[n] = ((acc << (5 - bits)) & 31) as u8;
        acc.zeroize();
        let mut data = [0u8; DATA_SYMBOLS];
        data.copy_from_slice(&syms[..DATA_SYMBOLS]);
        let check = check_symbols(&data);
        data.zeroize();
        syms[DATA_SYMBOLS] = check[0];
        syms[DATA_SYMBOLS + 1] = check[1];
        let mut out = Zeroizing::new(String::with_capacity(SYMBOLS + 6));
        for (i, s) in syms.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(*s)]));
        }
        out
    }

    /// Parses the human form. Hyphens and spaces are ignored, case is
    /// ignored, `O` reads as `0` and `I`/`L` as `1`. [KEY-3]
    ///
    /// Errors: [`Error::RecoveryFormat`] for a wrong length, a character
    /// outside the alphabet or non-zero padding bits;
    /// [`Error::RecoveryChecksum`] when the check symbols do not match.
    pub fn parse(text: &str) -> Result<Self> {
        let mut syms = Zeroizing::new([0u8; SYMBOLS]);
        let mut n = 0usize;
        for c in text.bytes() {
            if c == b'-' || c == b' ' {
                continue;
            }
            let v = symbol_value(c).ok_or(Error::RecoveryFormat)?;
            if n >= SYMBOLS {
                return Err(Error::RecoveryFormat);
            }
            syms[n] = v;
            n += 1;
        }
        if n != SYMBOLS {
            return Err(Error::RecoveryFormat);
        }
        let mut data = Zeroizing::new([0u8; DATA_SYMBOLS]);
        data.copy_from_slice(&syms[..DATA_SYMBOLS]);
        if check_symbols(&data) != [syms[DATA_SYMBOLS], syms[DATA_SYMBOLS + 1]] {
            return Err(Error::RecoveryChecksum);
        }
        // [KEY-3] the two padding bits of the last data symbol must be zero.
        if data[DATA_SYMBOLS - 1] & 0b11 != 0 {
            return Err(Error::RecoveryFormat);
        }
        let mut out = [0u8; 16];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut k = 0;
        for v in data.iter() {
            acc = (acc << 5) | u32::from(*v);
            bits += 5;
            if bits >= 8 && k < 16 {
                bits -= 8;
                out[k] = ((acc >> bits) & 0xff) as u8;
                k += 1;
            }
        }
        acc.zeroize();
        let code = RecoveryCode::from_bytes(out);
        out.zeroize();
        Ok(code)
    }

    /// Derives the recovery KEK and authority seed. [KEY-4]
    ///
    /// ```text
    /// PRK       = HKDF-Extract(salt = enc(RECOVERY_EXTRACT), IKM = code)
    /// KEK       = HKDF-Expand(PRK, enc(RECOVERY_KEK), 32)
    /// authority = HKDF-Expand(PRK, enc(RECOVERY_AUTHORITY), 32)
    /// ```
    pub fn derive(&self) -> RecoveryKeys {
        let prk = hkdf_extract(&Encoder::new(labels::RECOVERY_EXTRACT).finish(), self.expose());
        let kek = Kek::from_bytes(*hkdf_expand32(&prk, &Encoder::new(labels::RECOVERY_KEK).finish()).expose());
        let authority = AuthoritySeed::from_bytes(
            *hkdf_expand32(&prk, &Encoder::new(labels::RECOVERY_AUTHORITY).finish()).expose(),
        );
        RecoveryKeys { prk, kek, authority }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::SeededRng;
    use proptest::prelude::*;

    // [KEY-3] the all-zero and all-ones codes, written out by hand: 26 data
    // symbols of 0 give checks (0, 0); 16 bytes of 0xff give 25 symbols of
    // 31 and a last symbol 0b11100 = 28 ('W').
    #[test]
    fn known_texts() {
        let zero = RecoveryCode::from_bytes([0; 16]);
        assert_eq!(zero.to_text().as_str(), "0000-0000-0000-0000-0000-0000-0000");
        let ones = RecoveryCode::from_bytes([0xff; 16]);
        // c1 = 25*31 + 28 = 803 = 3 (mod 32) -> '3'
        // c2 = 31 * (1 + ... + 25) + 26 * 28 = 31*325 + 728 = 10803 = 19 (mod 32) -> 'K'
        assert_eq!(ones.to_text().as_str(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW3K");
        assert!(RecoveryCode::parse("zzzz zzzz zzzz zzzz zzzz zzzz zw3k").unwrap() == ones);
        assert!(RecoveryCode::parse("OOOO-oooo-0000-0000-0000-0000-0000").unwrap() == zero);
    }

    // [KEY-3] malformed codes get typed errors.
    #[test]
    fn malformed() {
        let t = "0000-0000-0000-0000-0000-0000-0000";
        assert_eq!(RecoveryCode::parse(&t[..t.len() - 1]).err(), Some(Error::RecoveryFormat));
        assert_eq!(RecoveryCode::parse(&format!("{t}0")).err(), Some(Error::RecoveryFormat));
        assert_eq!(RecoveryCode::parse("U000-0000-0000-0000-0000-0000-0000").err(), Some(Error::RecoveryFormat));
        assert_eq!(RecoveryCode::parse("").err(), Some(Error::RecoveryFormat));
        assert_eq!(RecoveryCode::parse("é").err(), Some(Error::RecoveryFormat));
        // Padding bits set, with check symbols made to match: last data symbol 1.
        let mut data = [0u8; DATA_SYMBOLS];
        data[DATA_SYMBOLS - 1] = 1;
        let c = check_symbols(&data);
        let mut s: String = data.iter().map(|v| char::from(ALPHABET[*v as usize])).collect();
        s.push(char::from(ALPHABET[c[0] as usize]));
        s.push(char::from(ALPHABET[c[1] as usize]));
        assert_eq!(RecoveryCode::parse(&s).err(), Some(Error::RecoveryFormat));
    }

    // [KEY-15] case folding is ASCII only: characters that a Unicode case mapping turns into an
    // alphabet letter (or into two) are outside the alphabet. The all-ones text has S-free
    // groups, so the code with 'S' in it is built from a code whose text contains S, I and K.
    #[test]
    fn case_folding_is_ascii_only() {
        let code = (0u8..=255)
            .map(|b| RecoveryCode::from_bytes([b; 16]))
            .find(|c| {
                let t = c.to_text();
                t.contains('S') && t.contains('K') && t.contains('1')
            })
            .unwrap();
        let text = code.to_text().to_string();
        assert!(RecoveryCode::parse(&text.to_ascii_lowercase()).unwrap() == code);
        assert!(RecoveryCode::parse(&text.replace('1', "i")).unwrap() == code);
        for (from, to) in [
            ("S", "\u{17f}"),  // long s: uppercases to S
            ("1", "\u{131}"),  // dotless i: uppercases to I
            ("K", "\u{212a}"), // Kelvin sign: lowercases to k
            ("S", "\u{ff33}"), // fullwidth S
        ] {
            let t = text.replacen(from, to, 1);
            assert_eq!(RecoveryCode::parse(&t).err(), Some(Error::RecoveryFormat), "{to}");
        }
        // sharp s uppercases to "SS": one character in place of two symbols is still refused.
        let t = text.replacen("SS", "\u{df}", 1);
        if t != text {
            assert_eq!(RecoveryCode::parse(&t).err(), Some(Error::RecoveryFormat));
        }
    }

    proptest! {
        // [KEY-3] round trip.
        #[test]
        fn round_trip(bytes in any::<[u8; 16]>()) {
            let code = RecoveryCode::from_bytes(bytes);
            prop_assert!(RecoveryCode::parse(&code.to_text()).unwrap() == code);
        }

        // [KEY-3] every single-symbol substitution is caught before any key is derived.
        #[test]
        fn single_substitution_caught(bytes in any::<[u8; 16]>(), pos in 0usize..SYMBOLS, delta in 1u8..32) {
            let text: Vec<u8> = RecoveryCode::from_bytes(bytes).to_text().bytes().filter(|c| *c != b'-').collect();
            let mut t = text.clone();
            let v = symbol_value(t[pos]).unwrap();
            t[pos] = ALPHABET[usize::from((v + delta) % 32)];
            let s = String::from_utf8(t).unwrap();
            prop_assert!(matches!(RecoveryCode::parse(&s), Err(Error::RecoveryChecksum) | Err(Error::RecoveryFormat)));
        }

        // [KEY-3] every swap of two adjacent different data symbols is caught.
        #[test]
        fn adjacent_swap_caught(bytes in any::<[u8; 16]>(), pos in 0usize..DATA_SYMBOLS - 1) {
            let mut t: Vec<u8> = RecoveryCode::from_bytes(bytes).to_text().bytes().filter(|c| *c != b'-').collect();
            prop_assume!(t[pos] != t[pos + 1]);
            t.swap(pos, pos + 1);
            let s = String::from_utf8(t).unwrap();
            prop_assert!(RecoveryCode::parse(&s).is_err());
        }
    }

    // [KEY-4] derivation separates KEK and authority, and is deterministic.
    #[test]
    fn derive_separates() {
        let code = RecoveryCode::generate(&mut SeededRng::from_label("t"));
        let a = code.derive();
        let b = code.derive();
        assert!(a.kek == b.kek);
        assert_ne!(a.kek.expose(), a.authority.expose());
    }
}
