//! The device state digest of spec 13.2 ([CONF-1]): what a port reports after
//! every step of a scenario, so that two implementations can compare the
//! anti-rollback state they keep without exchanging it.

use blindsync::client::{Client, Persist};
use blindsync::encoding::Encoder;
use blindsync::labels::CONFORMANCE_STATE;
use blindsync::primitives::sha256;

/// The digest's input (spec 13.2, [CONF-1]):
///
/// ```text
/// enc("blindsync/v1/conformance/state",
///     u64 chain_length ‖ head_hash(32) ‖ u64 cursor,
///     u32 n ‖ (u32 epoch)*                                         UMKs held, ascending
///     u32 n ‖ (writer(32) ‖ u64 last_seq)*                         last_seq > 0, ascending by writer
///     u32 n ‖ (bucket(32) ‖ record_id(16) ‖ u64 revision ‖ writer(32))*        ascending by (bucket, record_id)
///     u32 n ‖ (bytes collection ‖ record_id(16) ‖ u64 revision ‖ writer(32) ‖ SHA-256(value))*
///                                                                  ascending by (collection bytes, record_id))
/// ```
pub fn state_digest_input<P: Persist>(client: &Client<P>) -> Vec<u8> {
    let state = client.state();
    let head = state.chain().head();
    let mut e = Encoder::new(CONFORMANCE_STATE).u64(head.len).fixed(&head.hash).u64(state.cursor());
    let epochs: Vec<u32> = client.umks().keys().copied().collect();
    e = e.u32(epochs.len() as u32);
    for epoch in epochs {
        e = e.u32(epoch);
    }
    let writers: Vec<_> = state.writer_seqs().iter().filter(|(_, s)| **s > 0).collect();
    e = e.u32(writers.len() as u32);
    for (w, s) in writers {
        e = e.fixed(&w.0).u64(*s);
    }
    e = e.u32(state.accepted().len() as u32);
    for ((bucket, id), (rev, w)) in state.accepted() {
        e = e.fixed(&bucket.0).fixed(&id.0).u64(*rev).fixed(&w.0);
    }
    e = e.u32(state.records().len() as u32);
    for ((collection, id), r) in state.records() {
        e = e.bytes(collection.as_bytes()).fixed(&id.0).u64(r.revision).fixed(&r.writer.0).fixed(&sha256(&[&r.value]));
    }
    e.finish()
}

/// `SHA-256(state_digest_input)`. [CONF-1]
pub fn state_digest<P: Persist>(client: &Client<P>) -> [u8; 32] {
    sha256(&[&state_digest_input(client)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use blindsync::client::Client;
    use blindsync::device::DeviceKeys;
    use blindsync::primitives::SeededRng;
    use sha2::{Digest, Sha256};

    // [CONF-1] a fresh device's digest, computed here byte by byte with another SHA-256
    // implementation from the spec's layout, not with the encoder under test.
    #[test]
    fn fresh_device_digest_matches_the_spec_layout() {
        let mut rng = SeededRng::from_label("conf-1");
        let mut net = crate::net::Net::new("conf-1");
        let acc = crate::net::register(&mut net, b"c@example.org", b"pw", &mut rng).unwrap();
        let seed = *acc.client.device().signing_seed().expose();
        let x = *acc.client.device().hpke_key().expose();
        let dev = DeviceKeys::from_seeds(
            blindsync::device::DeviceSigningSeed::from_bytes(seed),
            blindsync::hpke::HpkeSecretKey::from_bytes(x),
        );
        let c = Client::new(dev, acc.client.chain().clone(), acc.client.umks().clone());
        let label = b"blindsync/v1/conformance/state";
        let mut want = Vec::new();
        want.extend_from_slice(&(label.len() as u32).to_be_bytes());
        want.extend_from_slice(label);
        want.extend_from_slice(&1u64.to_be_bytes()); // the genesis only
        want.extend_from_slice(&c.chain().hash_at(0).unwrap());
        want.extend_from_slice(&0u64.to_be_bytes()); // cursor
        want.extend_from_slice(&1u32.to_be_bytes()); // one epoch: 0
        want.extend_from_slice(&0u32.to_be_bytes());
        want.extend_from_slice(&[0; 12]); // no writers, no accepted, no records
        assert_eq!(state_digest_input(&c), want);
        let d: [u8; 32] = Sha256::digest(&want).into();
        assert_eq!(state_digest(&c), d);
    }
}
