//! `PasswordKdf::decode` and `check` on bytes a server serves (spec 5.4).
//!
//! Checks: decoding is total, accepts exactly the 32-byte inputs and
//! re-encodes them to the same bytes; `check` applies version, floor and
//! ceiling in the order [KEY-6] gives.

use blindsync::Error;
use blindsync::unlock::password::{ARGON2_VERSION, ENCODED_LEN, KdfParams, PasswordKdf};

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 64;

/// [KEY-6] as the spec states it.
fn policy(p: &KdfParams) -> Result<(), Error> {
    let (f, c) = (KdfParams::FLOOR, KdfParams::CEILING);
    if p.version != ARGON2_VERSION {
        Err(Error::KdfVersion)
    } else if p.m_kib < f.m_kib || p.t < f.t || p.p < f.p {
        Err(Error::KdfParamsTooWeak)
    } else if p.m_kib > c.m_kib || p.t > c.t || p.p > c.p {
        Err(Error::KdfParamsTooLarge)
    } else {
        Ok(())
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    match PasswordKdf::decode(data) {
        Ok(kdf) => {
            assert_eq!(data.len(), ENCODED_LEN);
            // Decode then encode gives back the bytes.
            assert_eq!(kdf.encode(), data);
            assert_eq!(kdf.check(), policy(&kdf.params));
        }
        Err(e) => {
            let want = if data.len() < ENCODED_LEN { Error::DecodeTruncated } else { Error::DecodeTrailing };
            assert_eq!(e, want, "{} bytes", data.len());
        }
    }
}

/// The encodings in the vectors: decode inputs and every `kdf` the password vectors name.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v.of_kind("password_kdf_decode").filter_map(|x| hex_field(x, "input", "bytes")).collect();
    for kind in ["password_derive", "password_unlock"] {
        for x in v.of_kind(kind) {
            let Some(kdf) = x.get("input").and_then(|i| i.get("kdf")) else { continue };
            let get = |k: &str| kdf.get(k)?.as_u64().and_then(|n| u32::try_from(n).ok());
            let salt = kdf.get("salt").and_then(|s| s.as_str()).and_then(blindsync_testkit::hex::decode);
            let (Some(version), Some(m_kib), Some(t), Some(p), Some(salt)) =
                (get("version"), get("m_kib"), get("t"), get("p"), salt)
            else {
                continue;
            };
            let Ok(salt) = <[u8; 16]>::try_from(salt) else { continue };
            out.push(PasswordKdf { salt, params: KdfParams { version, m_kib, t, p } }.encode());
        }
    }
    out
}
