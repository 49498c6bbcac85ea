//! Chain statements, pairing payloads and identity bundles (spec 8.1, 8.5):
//! decoding is total and what decodes re-encodes to the same bytes.

use blindsync::chain::Statement;
use blindsync::device::{IdentityBundle, PairingPayload};

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 8192;

/// Runs one input.
// [CHAIN-1] [CHAIN-17] [DEV-3] [DEV-5] decoders are total and canonical.
pub fn run(data: &[u8]) {
    if let Ok(s) = Statement::decode(data) {
        assert_eq!(s.encode(), data);
    }
    if let Ok(p) = PairingPayload::decode(data) {
        assert_eq!(p.encode(), data);
    }
    if let Ok(b) = IdentityBundle::decode(data) {
        assert_eq!(&b.encode()[..], data);
    }
}

/// Statements and pairing payloads of the vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        v.of_kind("chain_statement_decode").filter_map(|x| hex_field(x, "input", "statement")).collect();
    out.extend(v.of_kind("pairing_payload_decode").filter_map(|x| hex_field(x, "input", "payload")));
    out
}
