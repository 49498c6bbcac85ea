//! The world every model run starts from (spec 12.2), built once with the
//! real library: an account, its devices paired through the reference
//! server, a pinned partner, a sealed stream, and the adversary's material
//! (a foreign account's envelope, the server's own keys).

use blindsync::chain::statement::Body;
use blindsync::chain::{ChainState, accept_pairing, approve_device, create_account, extend};
use blindsync::client::{Client, Transport};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::{Error, Result};
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The server's clock during the whole run: sessions never expire.
pub const NOW_MS: u64 = 1_000_000;
/// The collection every record of the model lives in.
pub const COLLECTION: &str = "notes";
/// Another collection of the same account (for bucket swaps).
pub const OTHER_COLLECTION: &str = "photos";

/// A record id of the model: record `n`.
pub fn record(n: u8) -> RecordId {
    RecordId([n; 16])
}

/// A transport straight to the server, at the model's fixed clock. Its
/// randomness (login nonces and tokens) comes from one seeded stream, so
/// every session gets its own token.
pub struct Direct<'a>(pub &'a mut Server<MemoryStorage>, pub &'a mut SeededRng);

impl Transport for Direct<'_> {
    fn call(&mut self, r: Request) -> Response {
        self.0.handle(r, NOW_MS, self.1)
    }
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
    /// Every secret key that must never reach the server (device seeds, HPKE keys, UMKs).
    pub secrets: Vec<[u8; 32]>,
}

fn ok(r: Response) -> Result<()> {
    match r {
        Response::Ok => Ok(()),
        Response::Error(e) => Err(e),
        _ => Err(Error::DecodeValue),
    }
}

/// One account on `server`: its owner's client, registered and logged in.
fn account(
    server: &mut Server<MemoryStorage>,
    srng: &mut SeededRng,
    email: &[u8],
    rng: &mut SeededRng,
) -> Result<(Client, PasswordKdf)> {
    let owner = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"model password")?;
    let acct = create_account(&owner, &code.derive(), &pw, &kdf, rng)?;
    ok(Direct(server, srng).call(Request::Register {
        email: email.to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    }))?;
    let mut c = Client::new(owner, acct.state.clone(), acct.umks());
    c.login(&mut Direct(server, srng))?;
    Ok((c, kdf))
}

/// Pairs a new device, approved by `approver` (spec 8.5 through the server).
fn pair(
    server: &mut Server<MemoryStorage>,
    srng: &mut SeededRng,
    approver: &mut Client,
    rng: &mut SeededRng,
) -> Result<Client> {
    let new = DeviceKeys::generate(rng);
    let approval =
        approve_device(approver.chain(), approver.device(), &new.pending(&approver.account()), approver.umks(), rng)?;
    approver.append_chain(&mut Direct(server, srng), vec![approval.statement.clone()])?;
    let statements: Vec<Vec<u8>> = server.store_chain(&approver.account());
    let (state, umks) = accept_pairing(&new, &approver.account(), &approver.id(), &approval.bundle_wrap, &statements)?;
    let mut c = Client::new(new, state, umks);
    c.login(&mut Direct(server, srng))?;
    Ok(c)
}

impl Fixture {
    /// Builds the world with `honest` honest devices (2 or 3). Deterministic.
    pub fn build(honest: usize) -> Result<Fixture> {
        let mut rng = SeededRng::from_label("blindsync/model/fixture");
        let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([7; 32]));
        let mut srng = SeededRng::from_label("blindsync/model/fixture/server");
        let (mut owner, kdf) = account(&mut server, &mut srng, b"owner@example.org", &mut rng)?;
        let mut devices = Vec::new();
        for _ in 1..honest.max(2) {
            devices.push(pair(&mut server, &mut srng, &mut owner, &mut rng)?);
        }
        let mut revoked = pair(&mut server, &mut srng, &mut owner, &mut rng)?;
        // the partner, pinned by the owner [CHAIN-5]
        let partner = DeviceKeys::generate(&mut rng).public().x25519;
        let (pin, _) =
            extend(owner.chain(), Body::PinPartner { key: partner, label: "auditor".into() }, owner.device())?;
        owner.append_chain(&mut Direct(&mut server, &mut srng), vec![pin])?;
        devices.insert(0, owner);
        for c in devices.iter_mut().chain(std::iter::once(&mut revoked)) {
            c.subscribe(COLLECTION)?;
            c.subscribe(OTHER_COLLECTION)?;
            let r = c.sync(&mut Direct(&mut server, &mut srng))?;
            if !r.alerts.is_empty() {
                return Err(Error::DecodeValue);
            }
        }
        let adversary = DeviceKeys::generate(&mut rng);
        // a foreign account's envelope for the same collection and record
        let (mut other, _) = account(&mut server, &mut srng, b"other@example.org", &mut rng)?;
        other.subscribe(COLLECTION)?;
        other.write(&mut Direct(&mut server, &mut srng), COLLECTION, record(0), b"foreign", &mut rng)?;
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
        let weak = PasswordKdf { params: KdfParams { m_kib: 1024, t: 1, ..KdfParams::FLOOR }, ..kdf };
        let mut secrets = Vec::new();
        for c in devices.iter().chain(std::iter::once(&revoked)) {
            secrets.push(*c.device().signing_seed().expose());
            secrets.push(*c.device().hpke_key().expose());
            secrets.extend(c.umks().values().map(|u| *u.expose()));
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
        })
    }
}

/// The Ed25519 signing key of a device (to seal streams and forgeries).
pub fn ed25519_signing(d: &DeviceKeys) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(d.signing_seed().expose())
}

/// The chain's statements, as the server stores them.
pub fn statements(state: &ChainState) -> Vec<Vec<u8>> {
    state.encoded()
}
