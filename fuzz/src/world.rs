//! A small world for the server and sync targets: the reference server
//! with two registered accounts, one of them with two paired, logged-in
//! devices, built once per process (Argon2id at the floor takes a moment).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use blindsync::chain::{accept_pairing, approve_device};
use blindsync::client::{Client, Exchange, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response, Token};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The collections both devices read and write.
pub const COLLECTIONS: [&str; 2] = ["notes", "todo"];

/// The server behind the byte encoding, with its clock and RNG.
pub struct Net {
    /// The reference server.
    pub server: Server<MemoryStorage>,
    /// Its RNG (tokens, nonces).
    pub rng: SeededRng,
    /// Its clock, ms; one tick per request.
    pub now: u64,
}

impl Net {
    /// Sends request bytes; the response bytes always decode. [SRV-12]
    pub fn bytes(&mut self, request: &[u8]) -> Vec<u8> {
        self.now += 1;
        self.server.handle_bytes(request, self.now, &mut self.rng)
    }
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        let out = self.bytes(&r.encode());
        match Response::decode(&out) {
            Ok(r) => r,
            Err(e) => panic!("the server sent an undecodable response: {e:?}"),
        }
    }
}

/// The snapshot every input starts from.
#[derive(Clone)]
pub struct Snapshot {
    /// The server's state.
    pub server: Server<MemoryStorage>,
    /// Account A's two devices (logged in, subscribed to [`COLLECTIONS`]).
    pub clients: Vec<Client>,
    /// Account A.
    pub account_a: AccountId,
    /// A password-path session of account A.
    pub password_token: Token,
    /// Account B: registered, but nobody holds its credentials.
    pub account_b: AccountId,
    /// Account B's device's Ed25519 key.
    pub b_ed25519: [u8; 32],
    /// Account B's email.
    pub b_email: Vec<u8>,
    /// The registration of a third account, not yet sent.
    pub register_c: Request,
}

impl Snapshot {
    /// A fresh world from the snapshot.
    pub fn start(&self) -> (Net, Vec<Client>) {
        let net = Net { server: self.server.clone(), rng: SeededRng::from_label("fuzz/world/run"), now: 10_000 };
        (net, self.clients.clone())
    }
}

/// A registration ([`Registration`]), its request not yet handed out, and the
/// password's `auth` value and the device's Ed25519 key.
fn register(rng: &mut SeededRng, email: &[u8]) -> Option<(Registration<Volatile>, [u8; 32], [u8; 32])> {
    let dev = DeviceKeys::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"fuzz password").ok()?;
    let code = RecoveryCode::generate(rng).derive();
    let ed25519 = dev.public().ed25519;
    let reg = Registration::new(Volatile, dev, email, &code, &pw, &kdf, rng).ok()?;
    Some((reg, *pw.auth.expose(), ed25519))
}

fn build() -> Option<Snapshot> {
    let mut rng = SeededRng::from_label("fuzz/world");
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        rng: SeededRng::from_label("fuzz/world/server"),
        now: 1_000,
    };
    let (mut reg, auth, _) = register(&mut rng, b"a@example.org")?;
    let mut a = run(&mut reg, &mut net).ok()?;
    // Pairing through the server, as tests/sync_e2e.rs does.
    let new = DeviceKeys::generate(&mut rng);
    let account = a.account();
    let p = new.pending(&account);
    let posted = net.call(Request::PostPending {
        account: account.0,
        ed25519: p.public.ed25519,
        x25519: p.public.x25519,
        pop: p.pop,
    });
    (posted == Response::Ok).then_some(())?;
    let approval = approve_device(a.chain(), a.device(), &p, a.umks(), &mut rng).ok()?;
    a.append_chain(&mut net, vec![approval.statement.clone()]).ok()?;
    let put = net.call(Request::PutBundle { token: a.token()?, device: new.id().0, bundle: approval.bundle_wrap });
    (put == Response::Ok).then_some(())?;
    let Response::Bundle { bundle } = net.call(Request::GetBundle { account: account.0, device: new.id().0 }) else {
        return None;
    };
    let mut probe = Client::new(new.clone(), a.chain().clone(), BTreeMap::new());
    probe.login(&mut net).ok()?;
    let Response::Chain { statements } = net.call(Request::GetChain { token: probe.token()? }) else { return None };
    let (state, umks) = accept_pairing(&new, &account, &a.id(), &bundle, &statements).ok()?;
    let mut b = Client::new(new, state, umks);
    b.login(&mut net).ok()?;
    for c in [&mut a, &mut b] {
        for name in COLLECTIONS {
            c.subscribe(name).ok()?;
        }
        c.sync(&mut net).ok()?;
    }
    let Response::Token { token: password_token, .. } =
        net.call(Request::LoginPassword { email: b"a@example.org".to_vec(), auth })
    else {
        return None;
    };
    // B is registered but never logged in: only its Register request is sent.
    let (mut breg, _, b_ed25519) = register(&mut rng, b"b@example.org")?;
    let account_b = breg.chain().account();
    (net.call(breg.poll_request()?) == Response::Ok).then_some(())?;
    let (mut creg, _, _) = register(&mut rng, b"c@example.org")?;
    let register_c = creg.poll_request()?;
    Some(Snapshot {
        server: net.server,
        clients: vec![a, b],
        account_a: account,
        password_token,
        account_b,
        b_ed25519,
        b_email: b"b@example.org".to_vec(),
        register_c,
    })
}

/// The snapshot, built on first use.
pub fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Option<Snapshot>> = OnceLock::new();
    match S.get_or_init(build) {
        Some(s) => s,
        None => panic!("building the fuzz world failed"),
    }
}
