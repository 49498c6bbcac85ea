//! Batch metadata decoding (spec 10.4 [BAT-5]): total, typed errors, and
//! decode then encode gives back the bytes.

use blindsync::Error;
use blindsync::batch::sealed::BatchMeta;

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 1024;

/// Runs one input.
// [BAT-5] one encoding per metadata value; errors are the decoder's typed ones.
pub fn run(data: &[u8]) {
    match BatchMeta::decode(data) {
        Ok(m) => {
            assert_eq!(m.encode(), data, "decode then encode is the identity");
            assert!(m.window.start_ms <= m.window.end_ms && m.window.end_ms <= m.window.expires_ms);
            assert!(!m.recipients.is_empty() && m.recipients.windows(2).all(|w| w[0] < w[1]));
        }
        Err(e) => assert!(
            matches!(
                e,
                Error::DecodeTruncated
                    | Error::DecodeTrailing
                    | Error::DecodeLabel
                    | Error::DecodeValue
                    | Error::EnvVersion
                    | Error::EnvSuite
                    | Error::BatchRange
            ),
            "unexpected error {e:?}"
        ),
    }
}

/// The metadata of the `batch_meta_decode` vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    v.of_kind("batch_meta_decode").filter_map(|x| hex_field(x, "input", "meta")).collect()
}
