//! Sync responses (spec 11.2, [SYNC-2]): what a (malicious) server sends,
//! through the total decoder; decode then encode gives back the bytes, and
//! encode then decode is the identity for responses built from the input.

use blindsync::server::wire::Response;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;
use crate::wire::{is_decode_error, response};

/// Longest input worth trying.
pub const MAX_LEN: usize = 2048;

/// Runs one input.
// [SYNC-2] [SYNC-3] total decoder; decode then encode and encode then decode are identities.
pub fn run(data: &[u8]) {
    match Response::decode(data) {
        Ok(r) => assert_eq!(r.encode(), data, "decode then encode"),
        Err(e) => assert!(is_decode_error(e), "{e:?} is not a decoding error"),
    }
    let r = response(&mut Bytes::new(data));
    assert_eq!(Response::decode(&r.encode()), Ok(r), "encode then decode");
}

/// The responses of the vectors (decoding vectors and server scripts).
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        v.of_kind("sync_response_decode").filter_map(|x| hex_field(x, "input", "bytes")).collect();
    for s in v.of_kind("sync_server_script") {
        let responses = s.get("output").and_then(|o| o.get("responses")).and_then(|r| r.as_array());
        for r in responses.into_iter().flatten() {
            if let Some(r) = r.as_str().and_then(blindsync_testkit::hex::decode) {
                out.push(r);
            }
        }
    }
    out.retain(|r| r.len() <= MAX_LEN);
    out
}
