//! Regression test from the review of [SYNC-11]'s unknown-head path (commits 2aafd8f, 91e4d5d): fixed,
//! only the item's own epoch is offered now. The finding as the review wrote it:
//!
//! FINDING R16-1 (medium): src/client/verify.rs:136-138 builds, for an item whose chain head is not
//! in the verified chain, a Vec with one `EpochAccess` per epoch `0..=max(chain epoch,
//! header.epoch)` BEFORE any signature check. `header.epoch` is an unauthenticated u32 the server
//! chooses: one forged stub (no writer signature; any chain head the device has not verified)
//! with `epoch = u32::MAX` makes the device allocate 2^32 * size_of::<EpochAccess>() (~128 GiB):
//! the allocation fails and the process aborts (or, with overcommit, the machine is exhausted).
//! A server alone thus crashes every sync (no alert is ever reported, against "no panic on any
//! path an input can reach"). Expected: the forged item is a Forged alert (its signature fails),
//! as any other forgery, and the sync returns.
//!
//! The attack runs in a child process under `ulimit -v` (4 GiB), so a regression aborts the
//! child, not the shared machine.

use blindsync::client::{Client, Persistent, Registration, Transport, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::{Header, RecordId, Stub, header::Suite};
use blindsync::keys::Bucket;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::store::MemoryStore;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

struct Net {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

fn device() -> Client<Persistent<MemoryStore>> {
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label("review16/server"),
        now: 1_000_000,
    };
    let rng = &mut SeededRng::from_label("review16/device");
    let dev = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"review16 password").unwrap();
    let store = Persistent::new(MemoryStore::default()).unwrap();
    let mut reg = Registration::new(store, dev, b"r16@example.org", &code.derive(), &pw, &kdf, rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    a.subscribe("notes").unwrap();
    a
}

/// A stub the server forges alone: the device's own id as writer, a garbage signature, a chain
/// head nobody ever verified, and the greatest epoch.
fn forged_stub(writer: DeviceId, epoch: u32) -> Item {
    let header = Header {
        version: 1,
        suite: Suite::Aes256Gcm,
        bucket: Bucket([1; 32]),
        record_id: RecordId([2; 16]),
        revision: 1,
        writer,
        writer_seq: 1,
        epoch,
        schema: 1,
        padded_len: 256,
        chain_head: [0xEE; 32],
        salt: [3; 32],
        commitment: [4; 32],
        prev: [0; 32],
    };
    let stub = Stub { header, body_digest: [5; 32], signature: [6; 64] };
    Item { seq: 1, kind: ItemKind::Stub, bytes: stub.encode() }
}

const CHILD: &str = "BLINDSYNC_REVIEW16_CHILD";

#[test]
fn forged_unknown_head_item_with_huge_epoch_does_not_abort_the_device() {
    if std::env::var_os(CHILD).is_some() {
        let mut a = device();
        let id = a.id();
        let report = a.apply_items(&[forged_stub(id, u32::MAX)]);
        // a forgery: no fork alert (no authorized writer signed it), and the sync returned
        assert!(!format!("{:?}", report.alerts).contains("Fork"), "{:?}", report.alerts);
        assert_eq!(report.alerts.len(), 1, "{:?}", report.alerts);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304; exec \"$0\" \"$@\"")
        .arg(exe)
        .args(["--exact", "forged_unknown_head_item_with_huge_epoch_does_not_abort_the_device", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD, "1")
        .status()
        .unwrap();
    assert!(status.success(), "the device aborted on one forged item (child: {status})");
}
