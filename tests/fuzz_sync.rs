//! Bolero targets: the sync decoders and the server never panic on arbitrary
//! bytes, and a refused request changes nothing (spec 11.2, 11.7).

use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};

// [SYNC-2] [SRV-12] arbitrary bytes through both decoders and the server.
#[test]
fn decoders_and_server_never_panic() {
    let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([1; 32]));
    let mut rng = SeededRng::from_label("fuzz-sync");
    bolero::check!().for_each(|input: &[u8]| {
        let _ = Request::decode(input);
        let _ = Response::decode(input);
        let out = server.handle_bytes(input, 1, &mut rng);
        assert!(Response::decode(&out).is_ok());
    });
}

// [SYNC-2] [SRV-12] mutations of valid requests (label kept, body XORed, cut) never panic;
// a decodable request re-encodes to the same bytes; a refused one leaves the storage unchanged.
#[test]
fn mutated_requests_never_panic() {
    let samples = [
        Request::GetKdf { email: b"a@example.org".to_vec() },
        Request::ListSince { token: [3; 32], cursor: 7, limit: 100 },
        Request::AppendChain { token: [3; 32], statements: vec![vec![1, 2], vec![]] },
        Request::PutBatch { token: [3; 32], batch_id: [4; 32], blob: vec![5; 3], slots: vec![vec![6; 2]] },
        Request::PostPending { account: [1; 32], ed25519: [2; 32], x25519: [3; 32] },
    ];
    let encoded: Vec<Vec<u8>> = samples.iter().map(Request::encode).collect();
    let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([1; 32]));
    let mut rng = SeededRng::from_label("fuzz-sync/mutate");
    bolero::check!().for_each(|input: &[u8]| {
        let Some((&pick, rest)) = input.split_first() else { return };
        let mut m = encoded[pick as usize % encoded.len()].clone();
        let skip = 4 + "blindsync/v1/sync/request".len();
        for (b, x) in m.iter_mut().skip(skip).zip(rest) {
            *b ^= x;
        }
        if let Some(&cut) = rest.first() {
            m.truncate(m.len().saturating_sub(cut as usize % 4));
        }
        if let Ok(r) = Request::decode(&m) {
            assert_eq!(r.encode(), m);
        }
        let before = server.store.clone();
        let out = Response::decode(&server.handle_bytes(&m, 1, &mut rng)).unwrap();
        if matches!(out, Response::Error(_)) {
            assert!(before == server.store);
        }
    });
}
