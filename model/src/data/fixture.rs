//! The data-path model's world at the start (spec 12.7, [MODEL-13]).
//!
//! Built once per run: an account on the real reference server with the
//! owner device W and a second device R (which the owner may revoke and
//! which colludes with the server), a partner whose HPKE key the owner
//! pinned and who fetched the account chain, a one-chunk stream W sealed
//! to a key R also holds (and R's same-tag forgery of it), and the
//! password's salt and parameters with the `auth` value the password gives
//! under the server's own common salt (what a dictionary pass targets).

use std::collections::BTreeMap;

use blindsync::chain::statement::Body;
use blindsync::chain::{ChainState, accept_pairing, approve_device, extend};
use blindsync::client::{Client, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::error::{Error, Result};
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::{AccountId, Epoch, Umk};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The server's clock (fixed: sessions never expire in a run).
pub const NOW_MS: u64 = 1_000_000;
/// The account's login email.
pub const EMAIL: &[u8] = b"owner@example.org";
/// The account's password.
pub const PASSWORD: &[u8] = b"model password";

/// The transport every device request takes: the real server, at [`NOW_MS`].
pub struct InProcessTransport<'a>(pub &'a mut Server<MemoryStorage>, pub &'a mut SeededRng);

impl Transport for InProcessTransport<'_> {
    fn call(&mut self, r: Request) -> Response {
        self.0.handle(r, NOW_MS, self.1)
    }
}

/// The world a data-path run starts from. [MODEL-13]
#[derive(Clone)]
pub struct DataFixture {
    /// The owner device W, logged in.
    pub owner: Client,
    /// Device R: its keys, the chain it holds (the account's before any revocation) and its UMKs.
    pub revoked: (DeviceKeys, ChainState, BTreeMap<Epoch, Umk>),
    /// The reference server holding the account.
    pub server: Server<MemoryStorage>,
    /// The account.
    pub account: AccountId,
    /// The partner's HPKE secret key (its public key is pinned in the chain).
    pub partner: HpkeSecretKey,
    /// The chain the partner fetched (GetSharedChain) and verified from genesis after the pin.
    pub partner_chain: ChainState,
    /// A one-chunk stream W sealed: manifest, body, plaintext, open context, key source (R holds it too).
    pub stream: (Vec<u8>, Vec<u8>, Vec<u8>, StreamOpenContext, StreamKeySource),
    /// R's forgery of that stream's body: two ciphertext blocks changed, the AES-GCM tag unchanged.
    pub forged_body: Vec<u8>,
    /// The account's salt and parameters (what the chain pins).
    pub kdf: Vec<u8>,
    /// The server's substitute: the same parameters with a salt it serves to every account.
    pub kdf_common: Vec<u8>,
    /// `auth` of the password under `kdf` and under `kdf_common` (memoized Argon2id: it is pure).
    pub auths: Vec<(Vec<u8>, [u8; 32])>,
}

impl DataFixture {
    /// Builds the world (about a second: real Argon2id at the floor, twice). Deterministic.
    pub fn build() -> Result<DataFixture> {
        let mut rng = SeededRng::from_label("blindsync/model/data/fixture");
        let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([7; 32]));
        let mut srng = SeededRng::from_label("blindsync/model/data/fixture/server");
        let w = DeviceKeys::generate(&mut rng);
        let code = RecoveryCode::generate(&mut rng);
        let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
        let pw = kdf.derive(PASSWORD)?;
        let mut registration = Registration::new(Volatile, w, EMAIL, &code.derive(), &pw, &kdf, &mut rng)?;
        let mut owner = run(&mut registration, &mut InProcessTransport(&mut server, &mut srng))?;
        let account = owner.account();
        // R pairs (spec 8.5), approved by W.
        let r = DeviceKeys::generate(&mut rng);
        let approval = approve_device(owner.chain(), owner.device(), &r.pending(&account), owner.umks(), &mut rng)?;
        owner.append_chain(&mut InProcessTransport(&mut server, &mut srng), vec![approval.statement.clone()])?;
        let (_, r_umks) =
            accept_pairing(&r, &account, &owner.id(), &approval.bundle_wrap, &server.store_chain(&account))?;
        // The partner's key, pinned by W after the out-of-band fingerprint check [CHAIN-5].
        let partner = HpkeSecretKey::random(&mut rng);
        let (pin, _) = extend(
            owner.chain(),
            Body::PinPartner { key: partner.public_key(), label: "partner".into() },
            owner.device(),
        )?;
        owner.append_chain(&mut InProcessTransport(&mut server, &mut srng), vec![pin])?;
        let Response::Chain { statements } =
            InProcessTransport(&mut server, &mut srng).call(Request::GetSharedChain { account: account.0 })
        else {
            return Err(Error::DecodeValue);
        };
        let partner_chain = ChainState::verify(&statements)?;
        let r_chain = partner_chain.clone();
        // A one-chunk stream W sealed; R holds its key source (a key holder, spec 9.11).
        let params = StreamParams {
            account,
            suite: blindsync::envelope::Suite::Aes256Gcm,
            stream_id: [5; 16],
            context: [6; 32],
        };
        let source = StreamKeySource::from_bytes(blindsync::primitives::sha256(&[b"model stream source"]));
        let sk = ed25519_dalek::SigningKey::from_bytes(owner.device().signing_seed().expose());
        let mut plaintext = b"screenshot: the window W really showed".to_vec();
        plaintext.resize(64, b'.');
        let (manifest, body) = stream::seal(&params, &source, &sk, &plaintext, &mut rng)?;
        let ctx = StreamOpenContext { params, verifying_key: owner.device().public().ed25519 };
        // R, a key holder, rewrites blocks 0 and 1 so that GCM's tag still verifies (spec 9.5).
        let key = stream::Manifest::decode(&manifest)?.key(&source)?.key;
        let mut forged_body = body.clone();
        let ct_len = plaintext.len().min(forged_body.len());
        let delta = *b"fabricated shot!";
        if !stream::forge::gcm_same_tag(&key, &mut forged_body[..ct_len], 0, 1, delta) {
            return Err(Error::DecodeValue);
        }
        // The server's common salt, and the auth values Argon2id gives (computed once here).
        let common = PasswordKdf { salt: [0x5a; 16], ..kdf };
        let auth_common = *common.derive(PASSWORD)?.auth.expose();
        let auths = vec![(kdf.encode(), *pw.auth.expose()), (common.encode(), auth_common)];
        Ok(DataFixture {
            owner,
            revoked: (r, r_chain, r_umks),
            server,
            account,
            partner,
            partner_chain,
            stream: (manifest, body, plaintext, ctx, source),
            forged_body,
            kdf: kdf.encode(),
            kdf_common: common.encode(),
            auths,
        })
    }

    /// The `auth` value of the password under the served salt and parameters: the real
    /// Argon2id, memoized for the two encodings the model serves. [MODEL-13]
    pub fn auth_for(&self, served: &[u8]) -> Result<[u8; 32]> {
        if let Some((_, a)) = self.auths.iter().find(|(k, _)| k.as_slice() == served) {
            return Ok(*a);
        }
        Ok(*PasswordKdf::decode(served)?.derive(PASSWORD)?.auth.expose())
    }

    /// What the server can test password guesses against offline after serving its common salt.
    pub fn auth_under_common_salt(&self) -> Option<[u8; 32]> {
        self.auths.iter().find(|(k, _)| *k == self.kdf_common).map(|(_, a)| *a)
    }
}
