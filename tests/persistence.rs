//! The reference server over both stores, crash injection at every write point, a real
//! process kill, and the stored format's version 1 fixture (spec 11.4, 11.8: [SRV-1],
//! [SRV-12], [SRV-14], [PERSIST-1], [PERSIST-2], [PERSIST-3]).
//!
//! The server test suite is the server-script vectors of `vectors/sync.json` (every request
//! kind the reference server handles, with the responses it must give): each runs against
//! `MemoryStorage`, `KvStorage<MemoryStore>` and `KvStorage<DiskStore>`, and the responses
//! must be the vector's, byte for byte.

#![cfg(feature = "disk")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindsync::error::Error;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::account_codec::{self, ACCOUNTS, AUDIT, ITEMS, NONCES, RECORDS};
use blindsync::server::wire::{Request, Response};
use blindsync::server::{Account, KvStorage, MemoryStorage, Server, ServerConfig, Storage};
use blindsync::store::schema::META_TABLE;
use blindsync::store::{Crash, DiskStore, FaultyStore, KvStore, MemoryStore, WriteBatch};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One server-script vector.
struct Script {
    description: String,
    secret: [u8; 32],
    rng_label: String,
    steps: Vec<(u64, Vec<u8>)>,
    /// The expected responses (ok vectors) …
    responses: Option<Vec<String>>,
    /// … or the expected error code of the last one.
    error: Option<String>,
}

fn scripts() -> Vec<Script> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/sync.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let out: Vec<Script> = json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "sync_server_script")
        .map(|v| {
            let i = &v["input"];
            Script {
                description: v["description"].as_str().unwrap().to_owned(),
                secret: unhex(i["decoy_secret"].as_str().unwrap()).try_into().unwrap(),
                rng_label: i["rng_label"].as_str().unwrap().to_owned(),
                steps: i["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| (s["now_ms"].as_u64().unwrap(), unhex(s["request"].as_str().unwrap())))
                    .collect(),
                responses: v["output"]["responses"]
                    .as_array()
                    .map(|a| a.iter().map(|r| r.as_str().unwrap().to_owned()).collect()),
                error: v["error"].as_str().map(str::to_owned),
            }
        })
        .collect();
    assert!(out.len() >= 20, "server scripts: {}", out.len());
    out
}

/// The vectors' scripts, then one that goes on from "batch, one event, fetch" through every
/// request kind they do not use (bundles, device metadata, wraps, a password change,
/// password logins, shared reads, pending lists, the audit log, a retention sweep). Its
/// responses are checked by [`check_extended`]; across stores they must be equal.
fn all_scripts() -> Vec<Script> {
    let mut all = scripts();
    let base = all.iter().find(|s| s.description == "batch, one event, fetch").unwrap();
    let reqs: Vec<Request> = base.steps.iter().map(|(_, r)| Request::decode(r).unwrap()).collect();
    let (responses, _) = run(base, MemoryStorage::default());
    let token = responses
        .iter()
        .find_map(|r| match Response::decode(r).unwrap() {
            Response::Token { token, .. } => Some(token),
            _ => None,
        })
        .unwrap();
    let Some(Request::Register { email, kdf, genesis, .. }) = reqs.first() else { panic!("register first") };
    let (email, kdf) = (email.clone(), kdf.clone());
    let account = blindsync::chain::ChainState::from_genesis(genesis).unwrap().account().0;
    let batch_id = reqs
        .iter()
        .find_map(|r| if let Request::PutBatch { batch_id, .. } = r { Some(*batch_id) } else { None })
        .unwrap();
    let later = [
        Request::PutBundle { token, device: [5; 32], bundle: vec![1, 2, 3] },
        Request::GetBundle { account, device: [5; 32] },
        Request::PutDeviceMeta { token, meta: vec![9; 10] },
        Request::SetRecoveryWrap { token, recovery_wrap: vec![7; 72] },
        Request::GetWraps { token },
        Request::SetPassword { token, kdf, auth: [3; 32], password_wrap: vec![8; 72] },
        Request::LoginPassword { email: email.clone(), auth: [4; 32] },
        Request::LoginPassword { email: email.clone(), auth: [3; 32] },
        Request::GetSharedChain { account },
        Request::GetSharedBatch { account, batch_id },
        Request::ListPending { token },
        Request::GetChain { token },
        Request::ListSince { token, cursor: 0, limit: 10 },
        Request::GetAudit { token },
    ];
    let mut steps = base.steps.clone();
    let mut now = steps.last().unwrap().0;
    for r in later {
        now += 1;
        steps.push((now, r.encode()));
    }
    // 30 days on: the batch is past retention, the session has expired. [SRV-9]
    steps.push((now + 30 * 86_400_000, Request::GetSharedBatch { account, batch_id }.encode()));
    steps.push((now + 30 * 86_400_000 + 1, Request::LoginPassword { email, auth: [3; 32] }.encode()));
    all.push(Script {
        description: EXTENDED.to_owned(),
        secret: base.secret,
        rng_label: base.rng_label.clone(),
        steps,
        responses: None,
        error: None,
    });
    all
}

const EXTENDED: &str = "every other request kind, then a retention sweep";

/// What the extended script must answer, step by step (from its last 16 steps).
fn check_extended(responses: &[Vec<u8>], store: &str) {
    let r: Vec<Response> = responses.iter().map(|b| Response::decode(b).unwrap()).collect();
    let tail = &r[r.len() - 16..];
    let ok = |i: usize| assert_eq!(tail[i], Response::Ok, "{store}: step {i}");
    ok(0);
    assert_eq!(tail[1], Response::Bundle { bundle: vec![1, 2, 3] }, "{store}");
    ok(2);
    ok(3);
    assert!(matches!(&tail[4], Response::Wraps { recovery_wrap, .. } if recovery_wrap == &vec![7; 72]), "{store}");
    ok(5);
    assert_eq!(tail[6], Response::Error(Error::SrvAuth), "{store}: the old password");
    assert!(matches!(tail[7], Response::Token { .. }), "{store}: the new password");
    assert!(matches!(&tail[8], Response::Chain { statements } if statements.len() == 1), "{store}");
    assert!(matches!(tail[9], Response::Batch { events: 1, .. }), "{store}");
    assert_eq!(tail[10], Response::Pending { devices: vec![] }, "{store}");
    assert!(matches!(&tail[11], Response::Chain { statements } if statements.len() == 1), "{store}");
    assert_eq!(tail[12], Response::Items { items: vec![] }, "{store}");
    assert!(matches!(&tail[13], Response::Audit { entries } if entries.len() >= 8), "{store}");
    assert_eq!(tail[14], Response::Error(Error::SrvNotFound), "{store}: swept");
    assert!(matches!(tail[15], Response::Token { .. }), "{store}");
}

/// Checks a script's responses against its vector.
fn check(script: &Script, responses: &[Vec<u8>], store: &str) {
    let what = format!("{} over {store}", script.description);
    if script.description == EXTENDED {
        check_extended(responses, store);
    }
    if let Some(want) = &script.responses {
        let got: Vec<String> = responses.iter().map(|r| hex(r)).collect();
        assert_eq!(&got, want, "{what}");
    }
    if let Some(code) = &script.error {
        match Response::decode(responses.last().unwrap()).unwrap() {
            Response::Error(e) => assert_eq!(e.code(), code, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

fn run<S: Storage>(script: &Script, storage: S) -> (Vec<Vec<u8>>, S) {
    let mut server = Server::new(storage, ServerConfig::new(script.secret));
    let mut rng = SeededRng::from_label(&script.rng_label);
    let out = script.steps.iter().map(|(now, req)| server.handle_bytes(req, *now, &mut rng)).collect();
    (out, server.into_storage())
}

/// Accounts and used nonces: what the server persists. [SRV-1] [SRV-14]
type Persisted = (BTreeMap<AccountId, Account>, BTreeMap<[u8; 32], u64>);

fn persisted<S: Storage>(s: &mut S) -> Persisted {
    let accounts = s.account_ids().into_iter().filter_map(|id| s.account(&id).map(|a| (id, a.clone()))).collect();
    (accounts, s.used_nonces().clone())
}

fn disk(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.redb"))
}

fn open_disk(path: &Path) -> KvStorage<DiskStore> {
    KvStorage::open(DiskStore::open_or_create(path).unwrap()).unwrap()
}

// [SRV-1] [SRV-12] the same suite, the same bytes, over the three storages (boxed: the
// server runs over `Box<dyn Storage>` as an application choosing at run time would).
#[test]
fn server_scripts_over_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (i, script) in all_scripts().iter().enumerate() {
        let path = disk(dir.path(), &format!("script-{i}"));
        let stores: Vec<(&str, Box<dyn Storage>)> = vec![
            ("MemoryStorage", Box::new(MemoryStorage::default())),
            ("KvStorage<MemoryStore>", Box::new(KvStorage::open(MemoryStore::default()).unwrap())),
            ("KvStorage<DiskStore>", Box::new(open_disk(&path))),
        ];
        let mut results = Vec::new();
        for (name, storage) in stores {
            let (responses, mut storage) = run(script, storage);
            check(script, &responses, name);
            results.push((responses, persisted(&mut storage)));
        }
        for (responses, state) in &results[1..] {
            assert_eq!((responses, state), (&results[0].0, &results[0].1), "{}", script.description);
        }
        drop(results);
        // what a restarted server finds is what the memory server holds
        assert_eq!(persisted(&mut open_disk(&path)), results_state(script), "{}", script.description);
    }
}

fn results_state(script: &Script) -> Persisted {
    reference_states(script).pop().unwrap()
}

// [PERSIST-1] a restart after every request: the reopened state equals the reference
// server's (sessions are carried over by hand: they live in memory on purpose).
#[test]
fn restart_after_every_request() {
    let dir = tempfile::tempdir().unwrap();
    for (i, script) in all_scripts().iter().enumerate() {
        let path = disk(dir.path(), &format!("restart-{i}"));
        let config = ServerConfig::new(script.secret);
        let mut reference = Server::new(MemoryStorage::default(), config.clone());
        let mut server = Server::new(open_disk(&path), config.clone());
        let (mut rng_a, mut rng_b) =
            (SeededRng::from_label(&script.rng_label), SeededRng::from_label(&script.rng_label));
        for (now, req) in &script.steps {
            let want = reference.handle_bytes(req, *now, &mut rng_a);
            assert_eq!(server.handle_bytes(req, *now, &mut rng_b), want, "{}", script.description);
            let mut storage = server.into_storage();
            let sessions = storage.sessions().clone();
            drop(storage);
            let mut reopened = open_disk(&path);
            assert_eq!(persisted(&mut reopened), persisted(&mut reference.store), "{}", script.description);
            *reopened.sessions() = sessions;
            server = Server::new(reopened, config.clone());
        }
    }
}

/// Runs `script` over a store that crashes at commit `k`; returns the index of the request
/// that crashed (if any) and the storage, stopped.
fn crash_run<K: KvStore>(script: &Script, store: FaultyStore<K>) -> (Option<usize>, K) {
    let Ok(storage) = KvStorage::open(store) else {
        panic!("a new store's first commit (its version record) is commit 0, never crashed here")
    };
    let mut server = Server::new(storage, ServerConfig::new(script.secret));
    let mut rng = SeededRng::from_label(&script.rng_label);
    let mut crashed = None;
    for (j, (now, req)) in script.steps.iter().enumerate() {
        let r = Response::decode(&server.handle_bytes(req, *now, &mut rng)).unwrap();
        if crashed.is_none() && server.store.inner().crashed() {
            crashed = Some(j);
            // [PERSIST-1] the request whose commit failed is not acknowledged
            assert_eq!(r, Response::Error(Error::SrvUnavailable), "{}: request {j}", script.description);
        } else if crashed.is_some() {
            // a stopped store answers nothing but E_SRV_UNAVAILABLE [PERSIST-2] [SRV-12]
            assert_eq!(r, Response::Error(Error::SrvUnavailable));
        }
    }
    (crashed, server.into_storage().into_inner().into_inner())
}

/// The persisted state before the first request of `script` and after each.
fn reference_states(script: &Script) -> Vec<Persisted> {
    let mut reference = Server::new(MemoryStorage::default(), ServerConfig::new(script.secret));
    let mut rng = SeededRng::from_label(&script.rng_label);
    let mut states = vec![persisted(&mut reference.store)];
    for (now, req) in &script.steps {
        reference.handle_bytes(req, *now, &mut rng);
        states.push(persisted(&mut reference.store));
    }
    states
}

/// Crashes `script` at every commit (`fresh` makes the store and its reopening); returns the
/// number of crash points.
fn crash_everywhere<K: KvStore>(
    script: &Script,
    mut fresh: impl FnMut(usize, Crash) -> FaultyStore<K>,
    mut reopen: impl FnMut(K) -> KvStorage<K>,
) -> usize {
    let states = reference_states(script);
    let mut points = 0;
    for mode in [Crash::BeforeCommit, Crash::AfterCommit] {
        // commit 0 is the version record of the new store; 1.. are requests'
        for k in 1.. {
            let (crashed, inner) = crash_run(script, fresh(k, mode));
            let Some(j) = crashed else { break };
            points += 1;
            let want = if mode == Crash::BeforeCommit { &states[j] } else { &states[j + 1] };
            let got = persisted(&mut reopen(inner));
            assert_eq!(&got, want, "{}: crash at commit {k} ({mode:?})", script.description);
        }
    }
    points
}

// [PERSIST-1] a crash at every write point of every script, before and after the commit is
// durable: reopened, the state is the one before the crashed request or the one after it.
#[test]
fn crash_at_every_commit() {
    let mut points = 0;
    for script in &all_scripts() {
        points += crash_everywhere(
            script,
            |k, mode| FaultyStore::crash_at(MemoryStore::default(), k, mode),
            |inner| KvStorage::open(inner).unwrap(),
        );
    }
    assert!(points > 200, "crash points exercised: {points}");
}

// [PERSIST-1] the same on disk, the crash tearing the transaction in flight (written, never
// committed), for the scripts that write most (every point costs a file and its fsyncs).
#[test]
fn crash_at_every_commit_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut points = 0;
    let chosen = [EXTENDED, "audit log after a record put", "two revisions; the first becomes a stub"];
    for (i, script) in all_scripts().iter().filter(|s| chosen.contains(&s.description.as_str())).enumerate() {
        let mut n = 0;
        let path = std::cell::RefCell::new(PathBuf::new());
        points += crash_everywhere(
            script,
            |k, mode| {
                n += 1;
                let p = disk(dir.path(), &format!("crash-{i}-{n}-{k}-{mode:?}"));
                let store = DiskStore::create(&p).unwrap();
                *path.borrow_mut() = p;
                FaultyStore::crash_at(store, k, mode).with_torn_write(DiskStore::write_then_abandon)
            },
            |inner| {
                drop(inner); // the process is gone; a new one opens the file
                open_disk(&path.borrow())
            },
        );
    }
    assert!(points >= 20, "crash points exercised: {points}");
}

// [SRV-14] the used-nonce cache survives a restart: a login captured before it is not
// replayable after it. Sessions do not survive (bearer tokens never reach the disk).
#[test]
fn restart_keeps_nonces_not_sessions() {
    let script = scripts()
        .into_iter()
        .find(|s| s.description == "a challenge login replayed within the nonce's lifetime")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = disk(dir.path(), "replay");
    let (n, login) = (script.steps.len(), script.steps[script.steps.len() - 1].clone());
    // everything but the replay, then a restart, then the replay
    let partial = Script { steps: script.steps[..n - 1].to_vec(), responses: None, error: None, ..script };
    let (responses, storage) = run(&partial, open_disk(&path));
    let Response::Token { token, .. } = Response::decode(responses.last().unwrap()).unwrap() else {
        panic!("the first login succeeds")
    };
    drop(storage);
    let mut server = Server::new(open_disk(&path), ServerConfig::new(partial.secret));
    let mut rng = SeededRng::from_label("after restart");
    let replay = server.handle_bytes(&login.1, login.0, &mut rng);
    assert_eq!(Response::decode(&replay).unwrap(), Response::Error(Error::SrvAuth));
    let r = server.handle(Request::ListSince { token, cursor: 0, limit: 10 }, login.0, &mut rng);
    assert_eq!(r, Response::Error(Error::SrvAuth));
}

/// Rows of a state with one account, from a script.
fn one_account_store() -> MemoryStore {
    let script = scripts().into_iter().find(|s| s.description == "audit log after a record put").unwrap();
    let (_, storage) = run(&script, KvStorage::open(MemoryStore::default()).unwrap());
    storage.into_inner()
}

fn rewrite(store: &MemoryStore, table: &'static str, f: impl Fn(&mut Vec<u8>, &mut Vec<u8>)) -> MemoryStore {
    let mut s = store.clone();
    let mut b = WriteBatch::default();
    let (mut k, mut v) = s.scan(table).unwrap().into_iter().next().unwrap();
    b.delete(table, &k);
    f(&mut k, &mut v);
    b.put(table, &k, &v);
    s.commit(b).unwrap();
    s
}

// [PERSIST-2] decoders are total: each change of one thing is E_STORE_CORRUPT.
#[test]
fn malformed_rows_are_corrupt() {
    let good = one_account_store();
    assert!(KvStorage::open(good.clone()).is_ok());
    for table in [ACCOUNTS, RECORDS, ITEMS, AUDIT] {
        assert!(!good.scan(table).unwrap().is_empty(), "{table}");
    }
    let cases: Vec<(&str, MemoryStore)> = vec![
        ("account: trailing byte", rewrite(&good, ACCOUNTS, |_, v| v.push(0))),
        (
            "account: truncated",
            rewrite(&good, ACCOUNTS, |_, v| {
                v.pop();
            }),
        ),
        ("account: key of another account", rewrite(&good, ACCOUNTS, |k, _| k[0] ^= 1)),
        (
            "account: short key",
            rewrite(&good, ACCOUNTS, |k, _| {
                k.pop();
            }),
        ),
        (
            "account: genesis signature",
            rewrite(&good, ACCOUNTS, |_, v| {
                // the last byte of the first statement's signature: email, kdf, auth hash, two
                // wraps, then the statement list
                let mut at = 0;
                for _ in 0..2 {
                    at += 4 + u32::from_be_bytes(v[at..at + 4].try_into().unwrap()) as usize;
                }
                at += 32;
                for _ in 0..2 {
                    at += 4 + u32::from_be_bytes(v[at..at + 4].try_into().unwrap()) as usize;
                }
                at += 4; // count
                let len = u32::from_be_bytes(v[at..at + 4].try_into().unwrap()) as usize;
                v[at + 4 + len - 1] ^= 1;
            }),
        ),
        ("item: unknown kind", rewrite(&good, ITEMS, |_, v| v[0] = 3)),
        ("item: trailing byte", rewrite(&good, ITEMS, |_, v| v.push(0))),
        ("item: unknown account", rewrite(&good, ITEMS, |k, _| k[0] ^= 1)),
        (
            "record: truncated",
            rewrite(&good, RECORDS, |_, v| {
                v.pop();
            }),
        ),
        ("record: key length", rewrite(&good, RECORDS, |k, _| k.push(0))),
        ("audit: gap", rewrite(&good, AUDIT, |k, _| k[39] = 7)),
        ("audit: unknown action", rewrite(&good, AUDIT, |_, v| v[41] = 12)),
        ("audit: anonymous with an id", rewrite(&good, AUDIT, |_, v| v[9] = 1)),
    ];
    for (what, store) in cases {
        assert_eq!(KvStorage::open(store).err(), Some(Error::StoreCorrupt), "{what}");
    }
    // a used nonce whose expiry is not 8 bytes
    let mut s = good.clone();
    let mut b = WriteBatch::default();
    b.put(NONCES, &[1; 32], &[0; 7]);
    s.commit(b).unwrap();
    assert_eq!(KvStorage::open(s).err(), Some(Error::StoreCorrupt));
    // data without a version record
    let mut s = good.clone();
    let mut b = WriteBatch::default();
    b.delete(META_TABLE, b"server");
    s.commit(b).unwrap();
    assert_eq!(KvStorage::open(s).err(), Some(Error::StoreCorrupt));
}

// [SRV-12] a failed commit: the request answers E_SRV_UNAVAILABLE, the in-memory state is the last
// committed one, and the storage stops.
#[test]
fn failed_commit_is_not_acknowledged() {
    let script =
        scripts().into_iter().find(|s| s.description == "register, then the real salt and parameters").unwrap();
    // commit 0: version record; commit 1: the Register
    let store = FaultyStore::crash_at(MemoryStore::default(), 1, Crash::BeforeCommit);
    let mut server = Server::new(KvStorage::open(store).unwrap(), ServerConfig::new(script.secret));
    let mut rng = SeededRng::from_label(&script.rng_label);
    let r = server.handle_bytes(&script.steps[0].1, script.steps[0].0, &mut rng);
    assert_eq!(Response::decode(&r).unwrap(), Response::Error(Error::SrvUnavailable));
    assert!(server.store.account_ids().is_empty());
    assert_eq!(server.store.account_by_email(b"vector@example.org"), None);
    assert!(server.store.stopped());
    let r = server.handle(Request::GetKdf { email: b"x@example.org".to_vec() }, 3, &mut rng);
    assert_eq!(r, Response::Error(Error::SrvUnavailable));
}

const FIXTURE: &str = "tests/fixtures/server-v1.redb";
const FIXTURE_SCRIPT: &str = "audit log after a record put";

/// Writes the version-1 fixture. Run once, by hand, when the fixture is made:
/// `BLINDSYNC_WRITE_FIXTURE=1 cargo test --test persistence write_v1_fixture`. Version 1 is
/// frozen: the fixture must never be rewritten by code of a later version.
#[test]
fn write_v1_fixture() {
    if std::env::var_os("BLINDSYNC_WRITE_FIXTURE").is_none() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let _ = std::fs::remove_file(&path);
    let script = scripts().into_iter().find(|s| s.description == FIXTURE_SCRIPT).unwrap();
    let (_, storage) = run(&script, open_disk(&path));
    drop(storage);
}

fn fixture_copy(dir: &Path) -> PathBuf {
    let path = dir.join("v1.redb");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), &path).unwrap();
    path
}

// [PERSIST-3] a version-1 file, committed bytes, opens with the current code and holds what
// the reference server holds after the same requests.
#[test]
fn version_1_fixture_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_copy(dir.path());
    let script = scripts().into_iter().find(|s| s.description == FIXTURE_SCRIPT).unwrap();
    let (_, mut reference) = run(&script, MemoryStorage::default());
    let mut opened = open_disk(&path);
    assert_eq!(persisted(&mut opened), persisted(&mut reference));
    // independent of the code: the account is the vector's email with one record
    let id = opened.account_by_email(b"vector@example.org").unwrap();
    let a = opened.account(&id).unwrap();
    assert_eq!((a.items.len(), a.records.len(), a.last_seq), (1, 1, 1));
    assert_eq!(opened.inner().get(META_TABLE, b"server").unwrap(), Some(1u32.to_be_bytes().to_vec()));
    assert_eq!(opened.inner().layout_version().unwrap(), 1);
}

// [PERSIST-3] a file claiming server format 99 is refused, and left as it was.
#[test]
fn version_99_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_copy(dir.path());
    {
        let mut store = DiskStore::open(&path).unwrap();
        let mut b = WriteBatch::default();
        b.put(META_TABLE, b"server", &99u32.to_be_bytes());
        store.commit(b).unwrap();
    }
    assert_eq!(KvStorage::open(DiskStore::open(&path).unwrap()).err(), Some(Error::StoreVersion));
    let store = DiskStore::open(&path).unwrap();
    assert_eq!(store.get(META_TABLE, b"server").unwrap(), Some(99u32.to_be_bytes().to_vec()));
    assert!(!store.scan(account_codec::ITEMS).unwrap().is_empty());
}

const KILL_ENV: &str = "BLINDSYNC_KILL_CHILD_PATH";

/// The child of `kill_9_mid_commit`: commits batches in a loop, reporting each after it
/// returns; does nothing unless started by the test below.
#[test]
fn kill_child_writer() {
    let Some(path) = std::env::var_os(KILL_ENV) else { return };
    let mut store = DiskStore::open_or_create(PathBuf::from(path)).unwrap();
    for i in 0u64..100_000 {
        // one batch: a counter and a row per step, with a 4 KiB payload to make commits long
        let mut b = WriteBatch::default();
        b.put("t", b"counter", &i.to_be_bytes());
        b.put("rows", &i.to_be_bytes(), &vec![(i % 251) as u8; 4096]);
        store.commit(b).unwrap();
        println!("committed {i}");
    }
}

// [PERSIST-1] a real crash: a process writing in a loop is killed with SIGKILL; reopened,
// the store holds a prefix of the commits, at least every one reported, each whole.
#[cfg(unix)]
#[test]
fn kill_9_mid_commit() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = disk(dir.path(), "killed");
    for round in 0..3u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_child_writer", "--nocapture", "--test-threads=1"])
            .env(KILL_ENV, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut reported = None;
        // kill at a different depth each round
        while let Some(Ok(line)) = lines.next() {
            if let Some(n) = line.split("committed ").nth(1) {
                let n: u64 = n.parse().unwrap();
                reported = Some(n);
                if n >= 20 + 7 * round {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reported = reported.expect("the child committed");
        let store = DiskStore::open(&path).unwrap();
        let counter = u64::from_be_bytes(store.get("t", b"counter").unwrap().unwrap().try_into().unwrap());
        assert!(counter >= reported, "lost a reported commit: {counter} < {reported}");
        // the rows are exactly 0..=counter, each whole
        let rows = store.scan("rows").unwrap();
        assert_eq!(rows.len() as u64, counter + 1);
        for (i, (k, v)) in rows.iter().enumerate() {
            assert_eq!(k, &(i as u64).to_be_bytes());
            assert_eq!(v, &vec![(i as u64 % 251) as u8; 4096]);
        }
        // the next round starts from scratch
        drop(store);
        std::fs::remove_file(&path).unwrap();
    }
}

// [PRIM-8] the storages' Debug shows counts, never a token, an auth hash or stored bytes.
#[test]
fn debug_shows_no_secrets() {
    let script = all_scripts().into_iter().find(|s| s.description == EXTENDED).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (responses, mut storage) = run(&script, open_disk(&disk(dir.path(), "debug")));
    let shown = format!("{storage:?} {:?}", storage.inner());
    let tokens: Vec<[u8; 32]> = storage.sessions().keys().copied().collect();
    assert!(!tokens.is_empty());
    let id = storage.account_ids()[0];
    let a = storage.account(&id).unwrap().clone();
    for secret in tokens.iter().map(|t| t.to_vec()).chain([a.auth_hash.to_vec(), a.password_wrap.clone()]) {
        for form in [hex(&secret), format!("{:?}", secret), format!("{:?}", &secret[..4])] {
            assert!(!shown.contains(&form), "{shown}");
        }
    }
    assert!(responses.len() > 10);
}

const SERVER_KILL_ENV: &str = "BLINDSYNC_KILL_SERVER_PATH";

/// The child of `kill_9_server`: the extended script over a disk server, reporting each
/// response after `handle` returned it (as a real server would send it).
#[test]
fn kill_child_server() {
    let Some(path) = std::env::var_os(SERVER_KILL_ENV) else { return };
    let script = all_scripts().into_iter().find(|s| s.description == EXTENDED).unwrap();
    let mut server = Server::new(open_disk(Path::new(&path)), ServerConfig::new(script.secret));
    let mut rng = SeededRng::from_label(&script.rng_label);
    for (j, (now, req)) in script.steps.iter().enumerate() {
        server.handle_bytes(req, *now, &mut rng);
        println!("answered {j}");
    }
    println!("done");
}

// [SRV-12] [PERSIST-1] a real crash of a server: killed with SIGKILL after it answered
// request K, reopened, its state is the reference state after some request at or after K,
// never before (nothing answered is lost) and never a mix.
#[cfg(unix)]
#[test]
fn kill_9_server() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let script = all_scripts().into_iter().find(|s| s.description == EXTENDED).unwrap();
    let states = reference_states(&script);
    let dir = tempfile::tempdir().unwrap();
    for k in [0usize, 3, 9, 15] {
        let path = disk(dir.path(), &format!("server-{k}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_child_server", "--nocapture", "--test-threads=1"])
            .env(SERVER_KILL_ENV, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut answered = None;
        while let Some(Ok(line)) = lines.next() {
            // (the harness may print the test's name on the same line as the first report)
            if let Some(j) = line.split("answered ").nth(1) {
                answered = Some(j.parse::<usize>().unwrap());
                if answered == Some(k) {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL (or the child had finished)
        child.wait().unwrap();
        assert_eq!(answered, Some(k), "the child answered request {k}");
        let got = persisted(&mut open_disk(&path));
        let at = states.iter().skip(k + 1).position(|s| *s == got);
        assert!(at.is_some(), "killed after answering request {k}: the state is not one after it");
    }
}

// [PERSIST-3] the migration path on the real version-1 file: a (test) version 2 whose step
// moves the audit rows to another table runs in one commit; a crash in it leaves version 1 that
// today's code still opens; once migrated, today's code (version 1) refuses the file.
#[test]
fn migration_from_version_1_on_disk() {
    use blindsync::store::schema::{Migration, Schema};
    fn step(store: &mut dyn KvStore) -> blindsync::error::Result<()> {
        let mut b = WriteBatch::default();
        for (k, v) in store.scan(account_codec::AUDIT)? {
            b.put("srv.audit.v2", &k, &v);
            b.delete(account_codec::AUDIT, &k);
        }
        store.commit(b)
    }
    const V2: Schema = Schema {
        name: "server",
        current: 2,
        tables: account_codec::TABLES,
        migrations: &[Migration { from: 1, step }],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_copy(dir.path());
    let audit = DiskStore::open(&path).unwrap().scan(account_codec::AUDIT).unwrap();
    assert!(!audit.is_empty());
    // a crash in the middle of the migration's commit
    let mut torn = FaultyStore::crash_at(DiskStore::open(&path).unwrap(), 0, Crash::BeforeCommit)
        .with_torn_write(DiskStore::write_then_abandon);
    assert_eq!(V2.open(&mut torn), Err(Error::StoreIo));
    drop(torn);
    assert!(KvStorage::open(DiskStore::open(&path).unwrap()).is_ok(), "still version 1");
    // the migration itself
    let mut store = FaultyStore::new(DiskStore::open(&path).unwrap());
    assert_eq!(V2.open(&mut store), Ok(1));
    assert_eq!(store.commits(), 1, "one atomic commit");
    let store = store.into_inner();
    assert_eq!(store.scan("srv.audit.v2").unwrap(), audit);
    assert!(store.scan(account_codec::AUDIT).unwrap().is_empty());
    drop(store);
    assert_eq!(KvStorage::open(DiskStore::open(&path).unwrap()).err(), Some(Error::StoreVersion));
}

// [SRV-19] Register and SetPassword refuse a chapter 5 wrap that is not 72 bytes, as
// SetRecoveryWrap does; [SRV-18] GetAudit serves the newest 65536 entries of a longer log.
#[test]
fn wrap_lengths_and_the_audit_window() {
    use blindsync::server::wire::{Action, Actor, AuditEntry, MAX_LIST};
    let base = scripts().into_iter().find(|s| s.description == "batch, one event, fetch").unwrap();
    let register = Request::decode(&base.steps[0].1).unwrap();
    let Request::Register { email, kdf, auth, genesis, recovery_wrap, password_wrap } = &register else {
        panic!("register first")
    };
    let (email, kdf, auth, genesis) = (email.clone(), kdf.clone(), *auth, genesis.clone());
    for (rw, pw) in [(71, 72), (72, 73), (0, 72)] {
        let mut server = Server::new(MemoryStorage::default(), ServerConfig::new(base.secret));
        let req = Request::Register {
            email: email.clone(),
            kdf: kdf.clone(),
            auth,
            genesis: genesis.clone(),
            recovery_wrap: recovery_wrap.iter().copied().cycle().take(rw).collect(),
            password_wrap: password_wrap.iter().copied().cycle().take(pw).collect(),
        };
        let got = server.handle(req, base.steps[0].0, &mut SeededRng::from_label("wrap"));
        assert_eq!(got, Response::Error(Error::WrapLength), "wraps of {rw} and {pw} bytes");
    }
    let (responses, storage) = run(&base, MemoryStorage::default());
    let token = responses
        .iter()
        .find_map(|r| match Response::decode(r).unwrap() {
            Response::Token { token, .. } => Some(token),
            _ => None,
        })
        .unwrap();
    let account = blindsync::chain::ChainState::from_genesis(&genesis).unwrap().account();
    let mut server = Server::new(storage, ServerConfig::new(base.secret));
    let now = base.steps.last().unwrap().0 + 1;
    let mut rng = SeededRng::from_label("audit");
    let short = Request::SetPassword { token, kdf: kdf.clone(), auth: [3; 32], password_wrap: vec![8; 71] };
    assert_eq!(server.handle(short, now, &mut rng), Response::Error(Error::WrapLength));
    let logged = server.store.account(&account).unwrap().audit.len();
    let extra = MAX_LIST + 10 - logged;
    server.store.account_mut(&account).unwrap().audit.extend((0..extra as u64).map(|i| AuditEntry {
        at_ms: i,
        actor: Actor::Anonymous,
        action: Action::Expire,
    }));
    let Response::Audit { entries } = server.handle(Request::GetAudit { token }, now, &mut rng) else {
        panic!("audit")
    };
    assert_eq!(entries.len(), MAX_LIST);
    assert_eq!(entries.last().unwrap().at_ms, extra as u64 - 1, "the newest entry is served last");
    assert_eq!(entries[0], server.store.account(&account).unwrap().audit[10], "the 10 oldest are not served");
    assert!(Response::decode(&Response::Audit { entries }.encode()).is_ok(), "the window fits the response");
}
