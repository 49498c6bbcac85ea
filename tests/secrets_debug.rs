//! [PRIM-8] No `Debug` output shows a secret: every type that holds a
//! plaintext, an `auth` value, a bearer token or a key is formatted (`{:?}`
//! and `{:#?}`), and none of the secret's bytes may appear, as hex (either
//! case), as raw text, or as the decimal list `Debug` prints for byte arrays.

use blindsync::chain::create_account;
use blindsync::client::{Client, Transport};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig, Storage};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

struct World {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for World {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap()
    }
}

/// Every way `Debug` output could carry `secret`: a window of 6 bytes as hex (lower and upper
/// case), as a decimal list, and the raw bytes when they are text.
fn assert_hidden(what: &str, out: &str, secret: &[u8]) {
    assert!(secret.len() >= 6, "{what}: secret too short to test");
    for w in secret.windows(6) {
        let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!out.contains(&hex), "{what}: hex of the secret in {out}");
        assert!(!out.contains(&hex.to_uppercase()), "{what}: HEX of the secret in {out}");
        let dec = format!("{w:?}");
        assert!(!out.contains(dec.trim_matches(['[', ']'])), "{what}: decimal bytes of the secret in {out}");
    }
    if let Ok(text) = std::str::from_utf8(secret) {
        assert!(!out.contains(text), "{what}: the secret as text in {out}");
    }
}

fn both<T: std::fmt::Debug>(what: &str, v: &T, secrets: &[&[u8]]) {
    for out in [format!("{v:?}"), format!("{v:#?}")] {
        for s in secrets {
            assert_hidden(what, &out, s);
        }
    }
}

// [PRIM-8] [SYNC-4] [SRV-1] the client, requests, responses, sessions and the server's storage.
#[test]
fn no_secret_in_debug_output() {
    let mut rng = SeededRng::from_label("secrets-debug");
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"pw").unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut w = World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label("secrets-debug/server"),
        now: 1_767_225_600_000,
    };
    let auth = *pw.auth.expose();
    let register = Request::Register {
        email: b"owner@example.org".to_vec(),
        kdf: kdf.encode(),
        auth,
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    };
    both("Register", &register, &[&auth]);
    assert_eq!(w.call(register), Response::Ok);
    let login = Request::LoginPassword { email: b"owner@example.org".to_vec(), auth };
    both("LoginPassword", &login, &[&auth]);
    let resp = w.call(login);
    let Response::Token { token, .. } = resp.clone() else { panic!("no token: {resp:?}") };
    both("Response::Token", &resp, &[&token]);
    for r in [
        Request::SetPassword { token, kdf: kdf.encode(), auth, password_wrap: vec![1; 72] },
        Request::GetChain { token },
        Request::ListSince { token, cursor: 0, limit: 10 },
        Request::ReportEvent { token, batch_id: [1; 32], event_hash: [2; 32], signature: [3; 64] },
    ] {
        both("Request", &r, &[&token, &auth]);
    }
    // A device client with a decrypted record whose value is the secret.
    let mut client = Client::new(dev.clone(), acct.state.clone(), acct.umks());
    client.login(&mut w).unwrap();
    client.subscribe("notes").unwrap();
    let value = b"diagnosis: very private text 0123456789";
    client.write(&mut w, "notes", RecordId([1; 16]), value, &mut rng).unwrap();
    client.sync(&mut w).unwrap();
    let dev_token = client.token().unwrap();
    both("Client", &client, &[value, &dev_token, dev.signing_seed().expose(), dev.hpke_key().expose()]);
    let sessions = w.server.store.sessions().clone();
    assert!(!sessions.is_empty());
    for s in sessions.values() {
        both("Session", s, &[&token, &dev_token, &s.credential]);
    }
    both("MemoryStorage", &w.server.store, &[&token, &dev_token, &auth]);
    // Review of issue 14: the decrypted records, and the server's account (auth hash, wraps).
    both("Client::records", client.records(), &[value]);
    let account = w.server.store.account(&client.account()).unwrap();
    both(
        "Account",
        account,
        &[&pw.auth.server_hash(), &acct.recovery_wrap[..], &acct.password_wrap[..], b"owner@example.org"],
    );
}

// [PRIM-8] review of issue 14: events and opened batches show lengths, never the bytes.
#[test]
fn no_event_bytes_in_debug_output() {
    use blindsync::batch::sealed::{BatchLink, BatchMeta, OpenedBatch, Window};
    use blindsync::batch::{BatchId, Event, EventKind};
    use blindsync::device::{ChainHead, DeviceId};
    use blindsync::envelope::Suite;
    let line = b"password=hunter2 for the bank";
    let shot = [0xa5u8, 0x17, 0x99, 0x03, 0xfe, 0x42, 0x10, 0x77];
    let events = vec![
        Event { t_ms: 1, kind: EventKind::Log, data: line.to_vec() },
        Event { t_ms: 2, kind: EventKind::Screenshot, data: shot.to_vec() },
    ];
    both("Event", &events[0], &[line]);
    both("Event", &events[1], &[&shot]);
    let meta = BatchMeta {
        batch_id: BatchId([1; 16]),
        writer: DeviceId([2; 32]),
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: 0, end_ms: 5, expires_ms: 9 },
        event_count: 2,
        link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: ChainHead { len: 1, hash: [3; 32] } },
        recipients: vec![[4; 32]],
        slots_digest: [5; 32],
        manifest_digest: [6; 32],
        signature: [7; 64],
    };
    both("OpenedBatch", &OpenedBatch { meta, events }, &[line, &shot]);
}
