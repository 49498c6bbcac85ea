//! The scenarios' scripts: an account with three devices on the reference
//! server, the device under test (a joined device that never wrote), and
//! the server's behaviour per step: honest, or one of the malicious
//! server's attack classes (spec 1.5 and chapter 12) with every defence on,
//! so that the expected outcome is the alert. [CONF-4]

use std::collections::BTreeSet;

use blindsync::chain::rotate;
use blindsync::client::{Client, Joining, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::payload::Schema;
use blindsync::envelope::{RecordId, RecordMeta, Suite};
use blindsync::keys::EpochKeys;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, MAX_ITEMS, Request, Response};

use super::{Expect, Material, Op, Scenario, Step};
use crate::net::{Net, register};

type R<T> = Result<T, String>;

/// A scenario's script, in the envelope suite its writers seal with.
type Script = fn(Suite) -> R<Scenario>;

fn err<E: core::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

/// How the server answers one request: the honest server's answer, changed or replaced.
type Tamper<'a> = dyn FnMut(&mut Net, Request) -> Response + 'a;

fn honest(net: &mut Net, r: Request) -> Response {
    net.call(r)
}

/// An account: first device `a`, a second writer `b`, and the device under test.
struct World {
    net: Net,
    rng: SeededRng,
    a: Client,
    b: Client,
    material: Material,
    player: super::Player,
    steps: Vec<Step>,
    /// The suite `a` and `b` seal with.
    suite: Suite,
}

fn join(net: &mut Net, a: &mut Client, rng: &mut SeededRng) -> R<Client> {
    let mut j = Joining::new(Volatile, DeviceKeys::generate(rng), a.account(), a.id());
    let _ = run(&mut j, net); // the bundle is not there yet
    for p in a.list_pending(net).map_err(err("list pending"))? {
        a.approve(net, &p, rng).map_err(err("approve"))?;
    }
    j.retry();
    let mut c = run(&mut j, net).map_err(err("join"))?;
    c.login(net).map_err(err("login"))?;
    c.subscribe("notes").map_err(err("subscribe"))?;
    Ok(c)
}

impl World {
    fn new(label: &str, suite: Suite) -> R<World> {
        let mut rng = SeededRng::from_label(&format!("scenario/{label}"));
        let mut net = Net::new(&format!("scenario/{label}"));
        net.page = Some(2); // every listing takes several pages
        let mut a = register(&mut net, b"scenario@example.org", b"scenario password", &mut rng)
            .map_err(err("register"))?
            .client;
        a.subscribe("notes").map_err(err("subscribe"))?;
        let b = join(&mut net, &mut a, &mut rng)?;
        let t = join(&mut net, &mut a, &mut rng)?;
        let material = Material {
            ed25519_seed: *t.device().signing_seed().expose(),
            x25519_secret: *t.device().hpke_key().expose(),
            chain: t.chain().encoded(),
            umks: t.umks().iter().map(|(e, k)| (*e, *k.expose())).collect(),
            collections: vec!["notes".to_owned()],
        };
        let player = super::Player::new(&material)?;
        Ok(World { net, rng, a, b, material, player, steps: Vec::new(), suite })
    }

    fn write(&mut self, who: char, record: u8, value: &str) -> R<()> {
        let c = if who == 'a' { &mut self.a } else { &mut self.b };
        if self.suite == Suite::Aes256Gcm {
            return c
                .write(&mut self.net, "notes", RecordId([record; 16]), value.as_bytes(), &mut self.rng)
                .map(|_| ())
                .map_err(err("write"));
        }
        write_in_suite(c, &mut self.net, &mut self.rng, RecordId([record; 16]), value.as_bytes(), self.suite)
    }

    /// A write `who` signs but never sends: its envelope bytes.
    fn sealed_unsent(c: &mut Client, record: u8, value: &str, rng: &mut SeededRng) -> R<Vec<u8>> {
        c.start_write("notes", RecordId([record; 16]), value.as_bytes(), rng).map_err(err("start write"))?;
        use blindsync::client::Exchange;
        match &c.poll_request() {
            Some(Request::PutRecord { envelope, .. }) => Ok(envelope.clone()),
            _ => Err("no PutRecord".into()),
        }
    }

    /// Runs one step of the device under test, the server answering through `tamper`.
    fn step(&mut self, op: Op, tamper: &mut Tamper<'_>) -> R<&Expect> {
        let mut exchanges = Vec::new();
        let net = &mut self.net;
        let result = self.player.run(&op, &mut |_, bytes| {
            let req = Request::decode(&bytes).map_err(err("request"))?;
            let resp = tamper(net, req).encode();
            exchanges.push((bytes, resp.clone()));
            Ok(resp)
        })?;
        let expect = Expect {
            error: result.error,
            alerts: result.alerts,
            state_digest: result.state_digest,
            state_digest_input: result.state_digest_input,
        };
        self.steps.push(Step { op, exchanges, expect });
        self.steps.last().map(|s| &s.expect).ok_or_else(|| "no step".into())
    }

    fn honest_step(&mut self, op: Op) -> R<()> {
        let name = op.name();
        let e = self.step(op, &mut honest)?;
        if e.error.is_some() || !e.alerts.is_empty() {
            return Err(format!("an honest {name} step ended with {:?} {:?}", e.error, e.alerts));
        }
        Ok(())
    }

    /// A step that must end with exactly these alerts (and no error).
    fn attacked(&mut self, op: Op, alerts: &[&str], tamper: &mut Tamper<'_>) -> R<()> {
        let e = self.step(op, tamper)?;
        let want: BTreeSet<&str> = alerts.iter().copied().collect();
        let got: BTreeSet<&str> = e.alerts.iter().map(String::as_str).collect();
        if e.error.is_some() || want != got {
            return Err(format!("expected alerts {alerts:?}, got {:?} {:?}", e.error, e.alerts));
        }
        Ok(())
    }

    fn done(self, id: &str, description: &str, flags: &[&str], requirements: &[&str]) -> Scenario {
        let mut req: Vec<String> = vec!["CONF-1".into(), "CONF-2".into(), "CONF-4".into(), "CONF-6".into()];
        req.extend(requirements.iter().map(|r| (*r).to_owned()));
        let (id, description) = match self.suite {
            Suite::Aes256Gcm => (id.to_owned(), description.to_owned()),
            _ => {
                req.push("ENV-3".into());
                (format!("{id}-chacha"), format!("{description} The writers seal in suite 2 (ChaCha20-Poly1305)."))
            }
        };
        Scenario {
            id,
            description,
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            requirements: req,
            device: self.material,
            steps: self.steps,
        }
    }
}

/// A write sealed in `suite` by the client's own rule (spec 11.8: the next revision of what the
/// writer accepted, its next sequence number, `prev` its last identity, the current epoch and
/// head), stored, then taken back by a sync of the writer (which is how it learns its own
/// write here). [ENV-3] [SYNC-6]
fn write_in_suite(
    c: &mut Client,
    net: &mut Net,
    rng: &mut SeededRng,
    record_id: RecordId,
    value: &[u8],
    suite: Suite,
) -> R<()> {
    c.sync(net).map_err(err("sync before"))?;
    let account = c.account();
    let umk0 = c.umks().get(&0).ok_or("no epoch 0")?;
    let bucket = EpochKeys::derive(umk0, &account, 0).routing_key().bucket("notes").map_err(err("bucket"))?;
    let me = c.id();
    let revision = c.state().accepted().get(&(bucket, record_id)).map_or(1, |(r, _)| r + 1);
    let last = c.last_seq(&me);
    let prev = if last == 0 { [0; 32] } else { c.envelope_identity(&me, last).ok_or("no identity")? };
    let epoch = c.chain().epoch();
    let umk = c.umks().get(&epoch).ok_or("no umk")?;
    let ck = EpochKeys::derive(umk, &account, epoch).collection_key("notes").map_err(err("collection key"))?;
    let meta = RecordMeta {
        suite,
        bucket,
        record_id,
        revision,
        writer: me,
        writer_seq: last + 1,
        epoch,
        schema: Schema::Raw,
        chain_head: c.chain().head().hash,
        prev,
    };
    let sk = ed25519_dalek::SigningKey::from_bytes(c.device().signing_seed().expose());
    let envelope = blindsync::envelope::seal(&account, &meta, &ck, &sk, value, rng).map_err(err("seal"))?;
    let token = c.token().ok_or("not logged in")?;
    match net.call(Request::PutRecord { token, envelope }) {
        Response::Stored { .. } => {}
        r => return Err(format!("not stored: {:?}", r.encode())),
    }
    let report = c.sync(net).map_err(err("sync after"))?;
    if !report.alerts.is_empty() {
        return Err(format!("writer alerts: {:?}", report.alerts));
    }
    Ok(())
}

/// A `write` step of the device under test: `value` into record `[record; 16]` of `notes`,
/// its salt and nonce drawn from `SeededRng::from_seed([seed; 32])`. [CONF-7]
fn own_write(record: u8, value: &str, seed: u8) -> Op {
    Op::Write(super::Write {
        collection: "notes".to_owned(),
        record_id: [record; 16],
        value: value.as_bytes().to_vec(),
        rng_seed: [seed; 32],
    })
}

/// Applies `f` to the items of every `Items` answer.
fn on_items(net: &mut Net, r: Request, f: &mut dyn FnMut(u64, &mut Vec<Item>)) -> Response {
    let cursor = if let Request::ListSince { cursor, .. } = &r { *cursor } else { 0 };
    match net.call(r) {
        Response::Items { mut items } => {
            f(cursor, &mut items);
            Response::Items { items }
        }
        other => other,
    }
}

fn honest_sync(suite: Suite) -> R<Scenario> {
    let mut w = World::new("honest-sync", suite)?;
    w.write('a', 1, "a: first")?;
    w.write('b', 2, "b: first")?;
    w.write('b', 1, "b: over a")?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?;
    w.write('a', 3, "a: later")?;
    w.write('a', 2, "a: over b")?;
    w.honest_step(Op::Sync)?;
    w.honest_step(Op::Sync)?; // nothing new
    // the device writes a new record, then over another device's, then lists its own writes
    w.honest_step(own_write(7, "t: mine", 7))?;
    w.honest_step(own_write(2, "t: over a", 8))?;
    w.write('b', 7, "b: over t")?;
    w.honest_step(Op::Sync)?;
    Ok(w.done(
        "honest-sync",
        "Honest server: two writers, three records, listings of two items per page; a second sync takes only what is new, a third finds nothing; then the device writes twice (a new record, then over another device's) and a sync lists its own writes and another device's overwrite.",
        &["honest"],
        &["SYNC-4", "SYNC-6", "SYNC-7", "SYNC-8", "SYNC-13", "CONF-7"],
    ))
}

fn withhold_write(suite: Suite) -> R<Scenario> {
    let mut w = World::new("withhold-write", suite)?;
    w.write('b', 1, "b: one")?;
    w.write('b', 2, "b: two")?;
    w.honest_step(Op::Login)?;
    // the server leaves out b's first write and lists its second
    w.attacked(Op::Sync, &["E_SYNC_WITHHELD"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == 0 && !items.is_empty() {
                items.remove(0);
            }
        })
    })?;
    Ok(w.done(
        "withhold-write",
        "The server withholds a writer's first write and lists its second: the gap in the writer's sequence is an alert, nothing of that writer is applied and the cursor stays.",
        &["withhold"],
        &["SYNC-9"],
    ))
}

fn replay_old_revision(suite: Suite) -> R<Scenario> {
    let mut w = World::new("replay-old-revision", suite)?;
    w.write('b', 1, "b: old")?;
    // the envelope as first stored (once superseded, the server lists its stub)
    let token = w.a.token().ok_or("a not logged in")?;
    let old = match w.net.call(Request::ListSince { token, cursor: 0, limit: MAX_ITEMS as u32 }) {
        Response::Items { items } => items.into_iter().next().ok_or("nothing listed")?,
        _ => return Err("listing failed".into()),
    };
    w.write('b', 1, "b: new")?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?;
    // later the server serves the old revision again as if it were new
    w.attacked(Op::Sync, &["E_SYNC_ROLLBACK"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if items.is_empty() && cursor < 100 {
                items.push(Item { seq: cursor + 100, kind: ItemKind::Envelope, bytes: old.bytes.clone() });
            }
        })
    })?;
    Ok(w.done(
        "replay-old-revision",
        "After the device took revision 2 of a record, the server lists the writer's revision 1 again under a new server sequence number: a rollback alert, the accepted value stays.",
        &["replay"],
        &["SYNC-10"],
    ))
}

fn reorder_page(suite: Suite) -> R<Scenario> {
    let mut w = World::new("reorder-listing-page", suite)?;
    for n in 1..=3 {
        w.write('b', n, "b")?;
    }
    w.honest_step(Op::Login)?;
    w.attacked(Op::Sync, &["E_SYNC_ORDER"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == 0 && items.len() >= 2 {
                items.swap(0, 1);
            }
        })
    })?;
    Ok(w.done(
        "reorder-listing-page",
        "The server lists a page out of order (server sequence numbers not ascending): the page is refused whole and the sync ends with the alert.",
        &["reorder"],
        &["SYNC-7"],
    ))
}

fn shorter_chain(suite: Suite) -> R<Scenario> {
    let mut w = World::new("shorter-chain", suite)?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?;
    w.attacked(Op::Sync, &["E_CHAIN_ROLLBACK"], &mut |net, r| match net.call(r) {
        Response::Chain { mut statements } => {
            statements.pop();
            Response::Chain { statements }
        }
        other => other,
    })?;
    Ok(w.done(
        "shorter-chain",
        "The server serves the account chain without its last statement (the one that added this device): a chain rollback, the verified chain stays.",
        &["stale-chain"],
        &["CHAIN-10", "SYNC-11"],
    ))
}

fn forked_chain(suite: Suite) -> R<Scenario> {
    let mut w = World::new("forked-chain", suite)?;
    let x = rotate(w.a.chain(), w.a.device(), &mut w.rng).map_err(err("rotate"))?;
    let y = rotate(w.a.chain(), w.a.device(), &mut w.rng).map_err(err("rotate"))?;
    w.a.append_chain(&mut w.net, x.statements).map_err(err("append"))?;
    w.a.add_umk(x.state.epoch(), x.umk);
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?;
    // the server shows another rotation at the same position: two chains
    let other = y.statements.clone();
    w.attacked(Op::Sync, &["E_CHAIN_FORK"], &mut |net, r| match net.call(r) {
        Response::Chain { mut statements } => {
            statements.pop();
            statements.extend(other.iter().cloned());
            Response::Chain { statements }
        }
        other => other,
    })?;
    Ok(w.done(
        "forked-chain",
        "The device took a rotation; the server then serves a chain with a different, validly signed rotation at the same position: a fork alert, the verified chain and its epoch keys stay.",
        &["fork-chain"],
        &["CHAIN-10", "SYNC-11"],
    ))
}

fn swapped_record(suite: Suite) -> R<Scenario> {
    let mut w = World::new("swap-envelope-record", suite)?;
    w.write('b', 1, "b: one")?;
    w.honest_step(Op::Login)?;
    // the server moves b's envelope to another record: it changes the record id in the header
    w.attacked(Op::Sync, &["E_ENV_SIGNATURE"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == 0
                && let Some(it) = items.first_mut()
            {
                // header ([ENV-2]): record_id at offset 34, 16 bytes: flip its last byte
                if let Some(b) = it.bytes.get_mut(34 + 15) {
                    *b ^= 1;
                }
            }
        })
    })?;
    Ok(w.done(
        "swap-envelope-record",
        "The server serves an envelope under another record id: the writer's signature does not cover the changed header, the item is refused with an alert and nothing is applied.",
        &["swap-record"],
        &["SYNC-12", "ENV-12"],
    ))
}

fn swapped_bucket(suite: Suite) -> R<Scenario> {
    let mut w = World::new("swap-envelope-bucket", suite)?;
    w.write('b', 1, "b: one")?;
    w.honest_step(Op::Login)?;
    // the server moves b's envelope to another collection: it changes the bucket in the header
    w.attacked(Op::Sync, &["E_ENV_SIGNATURE"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == 0
                && let Some(it) = items.first_mut()
            {
                // header ([ENV-2]): bucket at offset 2, 32 bytes
                if let Some(b) = it.bytes.get_mut(2) {
                    *b ^= 1;
                }
            }
        })
    })?;
    Ok(w.done(
        "swap-envelope-bucket",
        "The server serves an envelope under another bucket (another collection): the signature covers the header, the item is refused with an alert.",
        &["swap-bucket"],
        &["SYNC-12", "ENV-15"],
    ))
}

fn swapped_account(suite: Suite) -> R<Scenario> {
    let mut w = World::new("swap-envelope-account", suite)?;
    // another account on the same server, whose device writes
    let mut other =
        register(&mut w.net, b"other@example.org", b"other password", &mut w.rng).map_err(err("register"))?.client;
    other.write(&mut w.net, "notes", RecordId([1; 16]), b"theirs", &mut w.rng).map_err(err("write"))?;
    let token = other.token().ok_or("not logged in")?;
    let foreign = match w.net.call(Request::ListSince { token, cursor: 0, limit: MAX_ITEMS as u32 }) {
        Response::Items { items } => items.into_iter().next().ok_or("nothing listed")?,
        _ => return Err("listing failed".into()),
    };
    w.honest_step(Op::Login)?;
    w.attacked(Op::Sync, &["E_ENV_SIGNER_UNKNOWN"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == 0 && items.is_empty() {
                items.push(Item { seq: 1, kind: ItemKind::Envelope, bytes: foreign.bytes.clone() });
            }
        })
    })?;
    Ok(w.done(
        "swap-envelope-account",
        "The server serves another account's envelope in this account: its writer is no device of this account's chain, the item is refused with an alert.",
        &["swap-account"],
        &["SYNC-12", "ENV-12"],
    ))
}

fn substituted_device_key(suite: Suite) -> R<Scenario> {
    let mut w = World::new("substitute-device-key", suite)?;
    w.honest_step(Op::Login)?;
    // a fourth device joins after the device under test; the server swaps its Ed25519 key for its own
    let _d = join(&mut w.net, &mut w.a, &mut w.rng)?;
    let own = DeviceKeys::generate(&mut w.rng).public().ed25519;
    let label = blindsync::labels::CHAIN_STATEMENT.len();
    // add-device statement ([CHAIN-1]): label, u64 position, prev(32), u8 kind, then the device's ed25519 key
    let at = 4 + label + 8 + 32 + 1;
    w.attacked(Op::Sync, &["E_CHAIN_SIGNATURE"], &mut |net, r| match net.call(r) {
        Response::Chain { mut statements } => {
            if let Some(last) = statements.last_mut()
                && let Some(key) = last.get_mut(at..at + 32)
            {
                key.copy_from_slice(&own);
            }
            Response::Chain { statements }
        }
        other => other,
    })?;
    w.honest_step(Op::Sync)?;
    Ok(w.done(
        "substitute-device-key",
        "The server serves a new add-device statement with the device's Ed25519 key replaced by its own: the statement's signature fails, the chain is refused whole; served honestly later, it is taken.",
        &["substitute-device-key"],
        &["CHAIN-8", "SYNC-11"],
    ))
}

fn equivocation(suite: Suite) -> R<Scenario> {
    let mut w = World::new("equivocation", suite)?;
    let mut twin = w.b.clone();
    w.write('b', 1, "b: stored")?;
    let other = World::sealed_unsent(&mut twin, 2, "b: shown to some", &mut w.rng)?;
    w.honest_step(Op::Login)?;
    // the server lists a second envelope with the same writer sequence number
    w.attacked(Op::Sync, &["E_SYNC_EQUIVOCATION"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if let Some(last) = items.last().map(|i| i.seq)
                && last > cursor
                && items.len() < 2
            {
                items.push(Item { seq: last + 1, kind: ItemKind::Envelope, bytes: other.clone() });
            }
        })
    })?;
    Ok(w.done(
        "equivocation",
        "Two different envelopes signed with one writer sequence number are listed (a writer's history shown differently to different devices): an equivocation alert, neither is applied.",
        &["collude"],
        &["SYNC-14"],
    ))
}

fn equivocation_across_syncs(suite: Suite) -> R<Scenario> {
    let mut w = World::new("equivocation-across-syncs", suite)?;
    let mut twin = w.b.clone();
    w.write('b', 1, "b: stored")?;
    let other = World::sealed_unsent(&mut twin, 2, "b: shown later", &mut w.rng)?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?; // the device takes b's first write and remembers its identity
    // later the server lists another envelope b signed with the same sequence number
    w.attacked(Op::Sync, &["E_SYNC_EQUIVOCATION"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if items.is_empty() && cursor < 100 {
                items.push(Item { seq: cursor + 100, kind: ItemKind::Envelope, bytes: other.clone() });
            }
        })
    })?;
    Ok(w.done(
        "equivocation-across-syncs",
        "The device took a writer's first write; a later sync lists a different envelope the writer signed with the same sequence number: the remembered identity differs, an equivocation alert, nothing applied.",
        &["collude"],
        &["SYNC-14"],
    ))
}

fn stale_head(suite: Suite) -> R<Scenario> {
    let mut w = World::new("stale-head-after-revocation", suite)?;
    let mut frozen = w.a.clone();
    let stale = World::sealed_unsent(&mut frozen, 5, "a: sealed before the revocation", &mut w.rng)?;
    let target = w.b.id();
    w.a.revoke(&mut w.net, &target, &mut w.rng).map_err(err("revoke"))?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?; // the device takes the revocation
    let boundary = w.player.client().cursor();
    // then the server lists a write of a that cites the chain head before the revocation
    w.attacked(Op::Sync, &["E_SYNC_STALE_HEAD"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if cursor == boundary && items.is_empty() {
                items.push(Item { seq: boundary + 1, kind: ItemKind::Envelope, bytes: stale.clone() });
            }
        })
    })?;
    Ok(w.done(
        "stale-head-after-revocation",
        "After the device took a revocation, the server lists a write sealed at the chain head before it (a frozen view): the data is authentic and applied, with a stale-head alert.",
        &["freeze-view"],
        &["SYNC-17"],
    ))
}

fn revoked_above_bound(suite: Suite) -> R<Scenario> {
    let mut w = World::new("revoked-writer-above-bound", suite)?;
    w.write('b', 1, "b: before")?;
    w.a.sync(&mut w.net).map_err(err("sync"))?;
    let target = w.b.id();
    w.a.revoke(&mut w.net, &target, &mut w.rng).map_err(err("revoke"))?;
    let late = World::sealed_unsent(&mut w.b, 2, "b: after its revocation", &mut w.rng)?;
    w.honest_step(Op::Login)?;
    w.attacked(Op::Sync, &["E_ENV_WRITER_REVOKED"], &mut |net, r| {
        on_items(net, r, &mut |cursor, items| {
            if items.is_empty() && cursor > 0 && cursor < 100 {
                items.push(Item { seq: cursor + 100, kind: ItemKind::Envelope, bytes: late.clone() });
            }
        })
    })?;
    Ok(w.done(
        "revoked-writer-above-bound",
        "The server lists a write the revoked device signed above the bound its revocation fixed: refused with an alert; the writes up to the bound are applied.",
        &["collude"],
        &["SYNC-15", "CHAIN-20"],
    ))
}

fn withhold_revoked_tail(suite: Suite) -> R<Scenario> {
    let mut w = World::new("withhold-revoked-writer", suite)?;
    w.write('b', 1, "b: one")?;
    w.write('b', 2, "b: two")?;
    w.a.sync(&mut w.net).map_err(err("sync"))?;
    let target = w.b.id();
    w.a.revoke(&mut w.net, &target, &mut w.rng).map_err(err("revoke"))?;
    w.honest_step(Op::Login)?;
    // the server lists nothing at all: the revoke statement says b wrote up to 2
    w.attacked(Op::Sync, &["E_SYNC_WITHHELD"], &mut |net, r| on_items(net, r, &mut |_, items| items.clear()))?;
    w.honest_step(Op::Sync)?; // served honestly, everything to the bound is taken
    Ok(w.done(
        "withhold-revoked-writer",
        "A device was revoked after writing twice; the server withholds both writes. The chain's max_seq says they exist: after listing to the end the device alerts and keeps its cursor; served honestly, it takes them.",
        &["withhold"],
        &["SYNC-15", "CHAIN-20"],
    ))
}

fn server_refuses(suite: Suite) -> R<Scenario> {
    let mut w = World::new("server-error", suite)?;
    w.write('b', 1, "b: one")?;
    w.honest_step(Op::Login)?;
    let e = w.step(Op::Sync, &mut |net, r| match r {
        Request::ListSince { .. } => Response::Error(blindsync::Error::SrvUnavailable),
        r => net.call(r),
    })?;
    if e.error.as_deref() != Some("E_SRV_UNAVAILABLE") {
        return Err(format!("expected E_SRV_UNAVAILABLE, got {:?}", e.error));
    }
    w.honest_step(Op::Sync)?; // tried again later: all is well
    Ok(w.done(
        "server-error",
        "The server answers the listing with an error: the sync ends with the server's code and moves nothing; the next sync succeeds.",
        &["refusal"],
        &["CLIENT-1"],
    ))
}

/// An honest race ([SYNC-11]): between the device's GetChain and its listing, another device
/// appends a chain statement (a partner pin) and writes at the new head. The listing cites a head
/// the device's chain lacks, so it fetches the chain once more and judges the listing against it:
/// no alert, the write is applied.
fn honest_race(suite: Suite) -> R<Scenario> {
    let mut w = World::new("honest-race", suite)?;
    w.write('b', 1, "b: one")?;
    w.honest_step(Op::Login)?;
    w.honest_step(Op::Sync)?;
    let mut a = w.a.clone();
    let mut rng = SeededRng::from_label("scenario/honest-race/a");
    let partner = blindsync::hpke::HpkeSecretKey::random(&mut rng).public_key();
    let mut raced = false;
    let mut failure: Option<String> = None;
    let e = w.step(Op::Sync, &mut |net, r| match r {
        Request::GetChain { .. } if !raced => {
            raced = true;
            let resp = net.call(r);
            // the other device acts while the answer is on its way
            if let Err(e) = a.pin_partner(net, partner, "race") {
                failure = Some(format!("pin: {}", e.code()));
            }
            if let Err(e) = a.write(net, "notes", RecordId([2; 16]), b"a: at the new head", &mut rng) {
                failure = Some(format!("write: {}", e.code()));
            }
            resp
        }
        r => net.call(r),
    })?;
    if let Some(f) = failure {
        return Err(f);
    }
    if e.error.is_some() || !e.alerts.is_empty() {
        return Err(format!("the honest race ended with {:?} {:?}", e.error, e.alerts));
    }
    let fetches = w.steps.last().map_or(0, |s| {
        s.exchanges.iter().filter(|(q, _)| matches!(Request::decode(q), Ok(Request::GetChain { .. }))).count()
    });
    if fetches != 2 {
        return Err(format!("expected the chain fetched twice, got {fetches}"));
    }
    w.a = a;
    w.honest_step(Op::Sync)?; // nothing new
    Ok(w.done(
        "honest-race",
        "Honest server, racing devices: between the device's GetChain and its listing another device pins a partner (a chain statement) and writes at the new head; the listing cites a head the device's chain lacks, so it fetches the chain once more, takes it, and applies the write with no alert.",
        &["honest"],
        &["SYNC-7", "SYNC-8", "SYNC-11"],
    ))
}

/// Every scenario, in file-name order. The scenarios whose writes all go
/// through the writers' ordinary write run in both envelope suites.
pub fn all() -> R<Vec<Scenario>> {
    let list: [(&str, Script, bool); 17] = [
        ("equivocation", equivocation, false),
        ("equivocation-across-syncs", equivocation_across_syncs, false),
        ("forked-chain", forked_chain, false),
        ("honest-race", honest_race, false),
        ("honest-sync", honest_sync, true),
        ("reorder-listing-page", reorder_page, true),
        ("replay-old-revision", replay_old_revision, true),
        ("revoked-writer-above-bound", revoked_above_bound, false),
        ("server-error", server_refuses, true),
        ("shorter-chain", shorter_chain, false),
        ("stale-head-after-revocation", stale_head, false),
        ("substitute-device-key", substituted_device_key, false),
        ("swap-envelope-account", swapped_account, false),
        ("swap-envelope-bucket", swapped_bucket, true),
        ("swap-envelope-record", swapped_record, true),
        ("withhold-revoked-writer", withhold_revoked_tail, true),
        ("withhold-write", withhold_write, true),
    ];
    let mut out = Vec::new();
    for (name, f, both) in list {
        out.push(f(Suite::Aes256Gcm).map_err(|e| format!("scenario {name}: {e}"))?);
        if both {
            out.push(f(Suite::ChaCha20Poly1305).map_err(|e| format!("scenario {name}-chacha: {e}"))?);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
