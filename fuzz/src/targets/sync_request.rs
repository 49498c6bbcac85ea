//! Sync requests (spec 11.2, [SYNC-2]): the total decoder on arbitrary
//! bytes and on mutations of valid requests (was `mutated_requests_never_panic`
//! in `tests/fuzz_sync.rs`), decode then encode giving back the bytes, and
//! encode then decode for requests built from the input.

use blindsync::Error;
use blindsync::server::wire::{MAX_EMAIL, Request};

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;
use crate::wire::{Known, is_decode_error, request};

/// Longest input worth trying.
pub const MAX_LEN: usize = 2048;

fn check(bytes: &[u8]) {
    match Request::decode(bytes) {
        Ok(r) => assert_eq!(r.encode(), bytes, "decode then encode"),
        Err(e) => assert!(is_decode_error(e), "{e:?} is not a decoding error"),
    }
}

/// Runs one input.
// [SYNC-2] [SYNC-3] total decoder; decode then encode and encode then decode are identities.
pub fn run(data: &[u8]) {
    check(data);
    let mut b = Bytes::new(data);
    let r = request(&mut b, &Known::default());
    let enc = r.encode();
    // The encoder writes any length; the decoder holds each field to its maximum. [SYNC-2]
    let long_email = matches!(&r,
        Request::Register { email, .. } | Request::GetKdf { email } | Request::LoginPassword { email, .. }
            if email.len() > MAX_EMAIL);
    let want = if long_email { Err(Error::DecodeLength) } else { Ok(r) };
    assert_eq!(Request::decode(&enc), want, "encode then decode");
    // The old mutation target: keep the label, XOR the rest, cut up to 3 bytes.
    let rest = b.rest();
    let mut m = enc;
    let skip = 4 + "blindsync/v1/sync/request".len();
    for (x, y) in m.iter_mut().skip(skip).zip(rest) {
        *x ^= y;
    }
    if let Some(&cut) = rest.first() {
        m.truncate(m.len().saturating_sub(usize::from(cut) % 4));
    }
    check(&m);
}

/// The requests of the vectors (decoding vectors and server scripts).
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v.of_kind("sync_request_decode").filter_map(|x| hex_field(x, "input", "bytes")).collect();
    for s in v.of_kind("sync_server_script") {
        let steps = s.get("input").and_then(|i| i.get("steps")).and_then(|s| s.as_array());
        for st in steps.into_iter().flatten() {
            if let Some(r) = st.get("request").and_then(|r| r.as_str()).and_then(blindsync_testkit::hex::decode) {
                out.push(r);
            }
        }
    }
    out.retain(|r| r.len() <= MAX_LEN);
    out
}
