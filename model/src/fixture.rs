//! The world every model run starts from (spec 12.2), built once with the
//! real library: an account, its devices paired through the reference
//! server, a pinned partner, a sealed stream, the keys of a device that
//! will pair and of one that will enroll by recovery code during the run,
//! and the adversary's material (a foreign account's envelope, the
//! server's own keys, its counterfeit chain).

use blindsync::chain::statement::Body;
use blindsync::chain::{
    ChainState, UnlockPath, UnlockPathKeys, accept_pairing, approve_device, epoch_wrap, extend, genesis,
    next_statement, possession_message,
};
use blindsync::client::DEVICES_COLLECTION;
use blindsync::client::{Client, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::{Error, Result};
use blindsync::keys::{AccountId, Epoch, EpochKeys, Umk};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The server's clock during the whole run: sessions never expire.
pub const NOW_MS: u64 = 1_000_000;
/// The account's password (the person's; never sent, scanned for in every request).
pub const PASSWORD: &[u8] = b"model password";
/// The collection every record of the model lives in.
pub const COLLECTION: &str = "notes";
/// Another collection of the same account (for bucket swaps).
pub const OTHER_COLLECTION: &str = "photos";

/// A record id of the model: record `n`.
pub fn record(n: u8) -> RecordId {
    RecordId([n; 16])
}

/// The fixture's side of the wire: the server's randomness (login nonces and tokens, one seeded
/// stream, so every session gets its own token) and every request the fixture's devices sent,
/// wire-encoded, which [`Fixture::build`] scans for secrets as a run's requests are. [MODEL-2]
pub struct Traffic {
    /// The server's randomness.
    pub rng: SeededRng,
    /// Every request sent, in order.
    pub requests: Vec<Vec<u8>>,
}

/// A transport straight to the server, at the model's fixed clock, that keeps every request.
pub struct InProcessTransport<'a>(pub &'a mut Server<MemoryStorage>, pub &'a mut Traffic);

impl Transport for InProcessTransport<'_> {
    fn call(&mut self, r: Request) -> Response {
        self.1.requests.push(r.encode());
        self.0.handle(r, NOW_MS, &mut self.1.rng)
    }
}

/// [MODEL-2] Whether `bytes` carry a secret: a 32-byte key among `keys` (sorted: each window is a
/// binary search, and a window whose first byte begins no key is passed without one), or one of
/// the shorter secrets (the recovery code, the password) anywhere. Every request of the fixture
/// and of every action is scanned with it.
pub fn carries_secret<S: AsRef<[u8]>>(bytes: &[u8], keys: &[[u8; 32]], short: &[S]) -> bool {
    debug_assert!(keys.is_sorted());
    let mut first = [false; 256];
    for k in keys {
        first[k[0] as usize] = true;
    }
    bytes.windows(32).any(|w| first[w[0] as usize] && keys.binary_search_by(|k| k.as_slice().cmp(w)).is_ok())
        || short.iter().map(AsRef::as_ref).any(|s| !s.is_empty() && bytes.windows(s.len()).any(|w| w == s))
}

/// Everything a run starts from.
#[derive(Clone)]
pub struct Fixture {
    /// The honest devices, logged in and synced, `devices[0]` the owner.
    pub devices: Vec<Client>,
    /// The device that will be revoked and colludes with the server.
    pub revoked: Client,
    /// The reference server holding the account.
    pub server: Server<MemoryStorage>,
    /// The account.
    pub account: AccountId,
    /// The partner's HPKE public key, pinned in the chain.
    pub partner: [u8; 32],
    /// The server's own HPKE public key (what it substitutes).
    pub server_hpke: [u8; 32],
    /// The server's own Ed25519 key (what it substitutes for a device's).
    pub server_ed25519: [u8; 32],
    /// The account's real KDF parameters (at the floor) and weaker ones.
    pub kdf_honest: Vec<u8>,
    /// Parameters below the floor, as a downgrading server offers them.
    pub kdf_weak: Vec<u8>,
    /// A stream the owner sealed: manifest, body, plaintext, open context, key source.
    pub stream: (Vec<u8>, Vec<u8>, Vec<u8>, StreamOpenContext, StreamKeySource),
    /// An envelope of another account on the same server (same collection name and record id).
    pub foreign: Vec<u8>,
    /// Every secret key that must never reach the server (device seeds, HPKE keys, UMKs,
    /// the recovery path's authority, sealing key and KEK).
    pub secrets: Vec<[u8; 32]>,
    /// Device N: generated, not yet pending; it pairs during the run (`Action::Pair`).
    pub pending: DeviceKeys,
    /// The device that enrolls with the recovery code during the run (`Action::Enroll`).
    pub restored: DeviceKeys,
    /// The account's recovery code (what the person types on the restored device).
    pub recovery_code: [u8; 16],
    /// The server's counterfeit chain for enrollment (spec 12.2, `counterfeit-chain`): its own
    /// genesis, then a replace-authority statement it signed that installs the account's real
    /// recovery authority and sealing public keys with no valid proof of possession, and wraps
    /// a UMK_0 of the server's to that sealing key.
    pub counterfeit: Vec<Vec<u8>>,
    /// The UMK_0 of the counterfeit chain (the server made it).
    pub counterfeit_umk: Umk,
    /// The server's own device keys (its Ed25519 and X25519 keys above are their public halves).
    pub server_keys: DeviceKeys,
    /// A device the server controls, which R (still active) adds to the account under
    /// `compromise-then-install` (spec 12.2): the sleeper.
    pub sleeper: DeviceKeys,
    /// Secrets shorter than a key, scanned for anywhere in a request: the recovery code (its
    /// bytes and its text) and the password. [MODEL-2]
    pub short_secrets: Vec<Vec<u8>>,
    /// How many requests the fixture sent (all scanned, [`carries_secret`]).
    pub traffic: usize,
}

/// What [`account`] returns: the owner's client, the KDF, the recovery code, the password path's
/// keys, and the other secrets the person's inputs derive (never sent).
type Registered = (Client, PasswordKdf, RecoveryCode, UnlockPathKeys, Vec<[u8; 32]>);

/// One account on `server`: its owner's client, registered and logged in.
fn account(
    server: &mut Server<MemoryStorage>,
    srng: &mut Traffic,
    email: &[u8],
    rng: &mut SeededRng,
) -> Result<Registered> {
    let owner = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(PASSWORD)?;
    let mut registration = Registration::new(Volatile, owner, email, &code.derive(), &pw, &kdf, rng)?;
    let c = run(&mut registration, &mut InProcessTransport(server, srng))?;
    let path = UnlockPathKeys::from_password(&pw, &kdf);
    // the password's Argon2id output and PRK, and the recovery code's PRK: never sent either
    let stretched = vec![*pw.stretched.expose(), *pw.prk.expose(), *code.derive().prk.expose()];
    Ok((c, kdf, code, path, stretched))
}

/// The secrets one epoch's UMK derives ([KEY-3]): the UMK, the epoch PRK, the routing key and
/// the collection key of every collection of the model. [MODEL-2]
pub fn derived_secrets(account: &AccountId, epoch: Epoch, umk: &Umk) -> Vec<[u8; 32]> {
    let mut out = vec![*umk.expose()];
    let keys = EpochKeys::derive(umk, account, epoch);
    out.push(*keys.prk().expose());
    out.push(*keys.routing_key().expose());
    for name in [COLLECTION, OTHER_COLLECTION, DEVICES_COLLECTION] {
        if let Ok(k) = keys.collection_key(name) {
            out.push(*k.expose());
        }
    }
    out
}

/// Pairs a new device, approved by `approver` (spec 8.5 through the server).
fn pair(
    server: &mut Server<MemoryStorage>,
    srng: &mut Traffic,
    approver: &mut Client,
    rng: &mut SeededRng,
) -> Result<Client> {
    let new = DeviceKeys::generate(rng);
    let approval =
        approve_device(approver.chain(), approver.device(), &new.pending(&approver.account()), approver.umks(), rng)?;
    approver.append_chain(&mut InProcessTransport(server, srng), vec![approval.statement.clone()])?;
    let statements: Vec<Vec<u8>> = server.store_chain(&approver.account());
    let (state, umks) = accept_pairing(&new, &approver.account(), &approver.id(), &approval.bundle_wrap, &statements)?;
    let mut c = Client::new(new, state, umks);
    c.login(&mut InProcessTransport(server, srng))?;
    Ok(c)
}

impl Fixture {
    /// Builds the world with `honest` honest devices (2 to 8). Deterministic.
    pub fn build(honest: usize) -> Result<Fixture> {
        let mut rng = SeededRng::from_label("blindsync/model/fixture");
        let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([7; 32]));
        let mut srng = Traffic { rng: SeededRng::from_label("blindsync/model/fixture/server"), requests: Vec::new() };
        let (mut owner, kdf, code, password_path, stretched) =
            account(&mut server, &mut srng, b"owner@example.org", &mut rng)?;
        let mut devices = Vec::new();
        for _ in 1..honest.max(2) {
            devices.push(pair(&mut server, &mut srng, &mut owner, &mut rng)?);
        }
        let mut revoked = pair(&mut server, &mut srng, &mut owner, &mut rng)?;
        // the partner, pinned by the owner [CHAIN-5]
        let partner = DeviceKeys::generate(&mut rng).public().x25519;
        let (pin, _) =
            extend(owner.chain(), Body::PinPartner { key: partner, label: "auditor".into() }, owner.device())?;
        owner.append_chain(&mut InProcessTransport(&mut server, &mut srng), vec![pin])?;
        devices.insert(0, owner);
        for c in devices.iter_mut().chain(std::iter::once(&mut revoked)) {
            c.subscribe(COLLECTION)?;
            c.subscribe(OTHER_COLLECTION)?;
            let r = c.sync(&mut InProcessTransport(&mut server, &mut srng))?;
            if !r.alerts.is_empty() {
                return Err(Error::DecodeValue);
            }
        }
        let adversary = DeviceKeys::generate(&mut rng);
        // a foreign account's envelope for the same collection and record
        let (mut other, _, _, _, _) = account(&mut server, &mut srng, b"other@example.org", &mut rng)?;
        other.subscribe(COLLECTION)?;
        other.write(&mut InProcessTransport(&mut server, &mut srng), COLLECTION, record(0), b"foreign", &mut rng)?;
        let foreign =
            server.store_items(&other.account()).first().map(|i| i.bytes.clone()).ok_or(Error::DecodeValue)?;
        // a three-chunk stream sealed by the owner
        let owner = &devices[0];
        let params = StreamParams {
            account: owner.account(),
            suite: blindsync::envelope::Suite::Aes256Gcm,
            stream_id: [5; 16],
            context: [6; 32],
        };
        let source = StreamKeySource::from_bytes([8; 32]);
        let sk = ed25519_signing(owner.device());
        let plaintext: Vec<u8> = (0..2 * stream::CHUNK_LEN + 100).map(|i| (i % 251) as u8).collect();
        let (manifest, body) = stream::seal(&params, &source, &sk, &plaintext, &mut rng)?;
        let ctx = StreamOpenContext { params, verifying_key: owner.device().public().ed25519 };
        // the devices that join during the run
        let pending = DeviceKeys::generate(&mut rng);
        let restored = DeviceKeys::generate(&mut rng);
        let recovery = UnlockPathKeys::from_recovery(&code.derive());
        let (counterfeit, counterfeit_umk) = counterfeit_chain(&adversary, &recovery, &mut rng)?;
        let weak = PasswordKdf { params: KdfParams { m_kib: 1024, t: 1, ..KdfParams::FLOOR }, ..kdf };
        // drawn last, so every key drawn before is what it was without it
        let sleeper = DeviceKeys::generate(&mut rng);
        let mut secrets = Vec::new();
        for c in devices.iter().chain(std::iter::once(&revoked)) {
            secrets.push(*c.device().signing_seed().expose());
            secrets.push(*c.device().hpke_key().expose());
            secrets.extend(c.umks().values().map(|u| *u.expose()));
        }
        for d in [&pending, &restored] {
            secrets.push(*d.signing_seed().expose());
            secrets.push(*d.hpke_key().expose());
        }
        for path in [&recovery, &password_path] {
            secrets.push(*path.authority.expose());
            secrets.push(*path.sealing.expose());
            secrets.push(*path.kek.expose());
        }
        secrets.push(*source.expose());
        secrets.extend(stretched);
        secrets.sort_unstable();
        secrets.dedup();
        // [MODEL-2] the fixture's own traffic (registration, pairings, the pin, the first syncs)
        // is scanned like a run's: for every secret above, every key epoch 0's UMK derives, the
        // recovery code and the password
        let account0 = devices[0].account();
        let mut scanned = secrets.clone();
        for c in devices.iter().chain(std::iter::once(&revoked)) {
            for (e, u) in c.umks() {
                scanned.extend(derived_secrets(&account0, *e, u));
            }
        }
        scanned.sort_unstable();
        scanned.dedup();
        let short = vec![code.expose().to_vec(), code.to_text().as_bytes().to_vec(), PASSWORD.to_vec()];
        if srng.requests.iter().any(|r| carries_secret(r, &scanned, &short)) {
            return Err(Error::ClientState); // a fixture device sent a secret: no run starts from it
        }
        Ok(Fixture {
            account: devices[0].account(),
            devices,
            revoked,
            server,
            partner,
            server_hpke: adversary.public().x25519,
            server_ed25519: adversary.public().ed25519,
            kdf_honest: kdf.encode(),
            kdf_weak: weak.encode(),
            stream: (manifest, body, plaintext, ctx, source),
            foreign,
            secrets,
            pending,
            restored,
            recovery_code: *code.expose(),
            counterfeit,
            counterfeit_umk,
            server_keys: adversary,
            sleeper,
            short_secrets: short,
            traffic: srng.requests.len(),
        })
    }
}

/// The server's counterfeit account for a device enrolling with the recovery code whose public
/// authority is `victim` ([CHAIN-13] attack of spec 8.8): a genesis of the server's own device
/// and unlock paths, then a replace-authority statement, signed by the server's own recovery
/// authority (only an unlock path may sign one, [CHAIN-6]), installing the victim's recovery
/// authority and sealing keys (public: they are in the victim's chain) with a proof of
/// possession the server made with its own authority key (it cannot make the real one), and
/// wrapping a UMK_0 of its own and the new epoch's UMK to the victim's sealing key. [MODEL-2]
fn counterfeit_chain(
    server_device: &DeviceKeys,
    victim: &UnlockPathKeys,
    rng: &mut SeededRng,
) -> Result<(Vec<Vec<u8>>, Umk)> {
    let victim = victim.public();
    let own_rec = UnlockPathKeys::from_recovery(&RecoveryCode::generate(rng).derive());
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let own_pw = UnlockPathKeys::from_password(&kdf.derive(b"the server's password")?, &kdf);
    let umk = Umk::random(rng);
    let g = genesis(server_device, &own_rec, &own_pw, &umk)?;
    let state = ChainState::from_genesis(&g)?;
    let account = state.account();
    let msg = possession_message(7, UnlockPath::Recovery.into(), &account.0, &victim.signing, &victim.sealing, &[]);
    let pop = blindsync::chain::ChainSigner::sign_message(&own_rec.authority, &msg);
    let umk1 = Umk::random(rng);
    let mut wraps = vec![epoch_wrap(&account, 0, &victim.sealing, &umk, rng)?];
    for x in [victim.sealing, server_device.public().x25519, own_pw.public().sealing] {
        wraps.push(epoch_wrap(&account, 1, &x, &umk1, rng)?);
    }
    blindsync::chain::statement::sort_wraps(&mut wraps);
    let body = Body::ReplaceAuthority {
        path: UnlockPath::Recovery,
        authority: victim,
        kdf: None,
        pop,
        reconfirm: vec![],
        epoch: 1,
        key_check: umk1.key_check(1),
        wraps,
    };
    let replace = next_statement(&state, body, &own_rec.authority).encode();
    Ok((vec![g, replace], umk))
}

/// The Ed25519 signing key of a device (to seal streams and forgeries).
pub fn ed25519_signing(d: &DeviceKeys) -> ed25519_dalek::SigningKey {
    d.signing_key().clone()
}

/// The chain's statements, as the server stores them.
pub fn statements(state: &ChainState) -> Vec<Vec<u8>> {
    state.encoded()
}
