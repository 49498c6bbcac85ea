//! The honest reference server (spec chapter 11, `spec/11-sync.md`).
//!
//! Sans-IO: [`Server::handle`] takes one request (typed or as bytes), the
//! current time and an RNG, and returns one response. Storage is behind the
//! [`Storage`] trait; [`MemoryStorage`] keeps everything in `BTreeMap`s and
//! [`KvStorage`] over a [`KvStore`](crate::store::KvStore) (such as the on-disk
//! `DiskStore`) commits each request's changes atomically before answering.
//!
//! The server checks what it can check (authentication, sizes, that a chain
//! append extends the head and verifies, that a record's revision increases,
//! that an envelope's writer is the authenticated device) and nothing else:
//! every guarantee of chapter 1 is a device check (chapter 11.9), so the
//! model checker may replace this server by an adversary.
//!
//! ```
//! use blindsync::server::{Server, ServerConfig, MemoryStorage, wire::{Request, Response}};
//! use blindsync::primitives::SeededRng;
//! let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([9; 32]));
//! let mut rng = SeededRng::from_label("doc");
//! // An unknown email gets a stable decoy: no account enumeration. [SRV-3]
//! let a = server.handle(Request::GetKdf { email: b"nobody@example.org".to_vec() }, 0, &mut rng);
//! let b = server.handle(Request::GetKdf { email: b"nobody@example.org".to_vec() }, 5, &mut rng);
//! assert!(matches!(a, Response::Kdf { .. }));
//! assert_eq!(a, b);
//! ```

pub mod account_codec;
pub mod kv_storage;
pub mod wire;

pub use kv_storage::KvStorage;

use std::collections::BTreeMap;

use crate::chain::statement::verify_possession;
use crate::chain::{ChainState, PendingDevice, PopRole, UnlockPath, possession_message};
use crate::device::{DeviceId, DevicePublic};
use crate::encoding::Encoder;
use crate::envelope::{EnvelopeRef, RecordId};
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket};
use crate::labels;
use crate::primitives::{CryptoRng, hmac_sha256, sha256};
use crate::unlock::password::{KdfParams, PasswordKdf};
use wire::{Action, Actor, AuditEntry, Item, ItemKind, Request, Response, Token};

/// Server configuration. The secret derives decoys ([SRV-3]) and the tags of login nonces
/// ([SRV-14]), under labels of their own.
#[derive(Clone)]
pub struct ServerConfig {
    decoy_secret: [u8; 32],
    /// Session lifetime, ms. [SYNC-4]
    pub token_ttl_ms: u64,
    /// Login nonce lifetime, ms. [SYNC-4]
    pub nonce_ttl_ms: u64,
    /// Batch retention, ms. [SRV-9]
    pub retention_ms: u64,
    /// Most pending devices per account. [SRV-8] [SRV-13]
    pub max_pending: usize,
    /// How long a pending device is kept, ms. [SRV-13]
    pub pending_ttl_ms: u64,
    /// Most failed password logins of one account within `login_window_ms`. [SRV-15]
    pub max_failed_logins: usize,
    /// The window failed password logins are counted in, ms. [SRV-15]
    pub login_window_ms: u64,
}

impl ServerConfig {
    /// Defaults: one-hour sessions, one-minute nonces, 30-day retention; 16 pending devices per
    /// account for an hour each; 10 failed password logins per account per 15 minutes.
    pub fn new(decoy_secret: [u8; 32]) -> Self {
        ServerConfig {
            decoy_secret,
            token_ttl_ms: 3_600_000,
            nonce_ttl_ms: 60_000,
            retention_ms: 30 * 86_400_000,
            max_pending: 16,
            pending_ttl_ms: 3_600_000,
            max_failed_logins: 10,
            login_window_ms: 900_000,
        }
    }
}

/// A stored batch: opaque blob and slots ([BAT-7]) and the hash-chain record ([HCH-4]). [SRV-9]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredBatch {
    /// True once PutBatch stored the blob (reports may come first).
    pub uploaded: bool,
    /// The batch blob.
    pub blob: Vec<u8>,
    /// Key slots.
    pub slots: Vec<Vec<u8>>,
    /// Running verification hash `v_n` of [HCH-3].
    pub event_hash: [u8; 32],
    /// The reported event hashes, in arrival order.
    pub reported: Vec<[u8; 32]>,
    /// The latest report's signature ([HCH-6]); all zero before the first.
    pub signature: [u8; 64],
    /// Events reported.
    pub events: u64,
    /// When it was stored (retention starts here).
    pub created_ms: u64,
}

/// Everything the server keeps for one account. [SRV-1] Its `Debug` leaves out the auth hash
/// (an offline password verifier, 1.6 item 5), the two UMK wraps and the stored ciphertexts,
/// showing counts instead. [PRIM-8]
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Login email.
    pub email: Vec<u8>,
    /// `PasswordKdf::encode`.
    pub kdf: Vec<u8>,
    /// `SHA-256(enc(PASSWORD_AUTH_HASH) ‖ auth)`. [KEY-8]
    pub auth_hash: [u8; 32],
    /// UMK_0 under the recovery KEK.
    pub recovery_wrap: Vec<u8>,
    /// UMK_0 under the password KEK.
    pub password_wrap: Vec<u8>,
    /// The verified chain (the server verifies it too: it is public).
    pub chain: ChainState,
    /// Pending devices.
    pub pending: BTreeMap<DeviceId, PendingDevice>,
    /// When each pending device expires (ms). [SRV-13]
    pub pending_expiry: BTreeMap<DeviceId, u64>,
    /// Times of the failed password logins in the current window. [SRV-15]
    pub failed_logins: Vec<u64>,
    /// Identity bundles for new devices.
    pub bundles: BTreeMap<DeviceId, Vec<u8>>,
    /// Current server sequence number of each record, keyed by its identity `(bucket, record_id)`. [SRV-17]
    pub records: BTreeMap<(Bucket, RecordId), (u64, u64, DeviceId)>,
    /// Envelopes and stubs by server sequence number.
    pub items: BTreeMap<u64, Item>,
    /// Last sequence number issued (0: none; the first item gets 1). [SRV-16]
    pub last_seq: u64,
    /// Batches by reference ([HCH-3]).
    pub batches: BTreeMap<[u8; 32], StoredBatch>,
    /// Append-only audit log.
    pub audit: Vec<AuditEntry>,
    /// Encrypted device metadata. [SRV-11]
    pub device_meta: BTreeMap<DeviceId, Vec<u8>>,
    /// Last sync time per device: the only device metadata in clear. [SRV-11]
    pub last_sync_ms: BTreeMap<DeviceId, u64>,
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account")
            .field("chain_len", &self.chain.head().len)
            .field("pending", &self.pending.len())
            .field("failed_logins", &self.failed_logins.len())
            .field("records", &self.records.len())
            .field("items", &self.items.len())
            .field("last_seq", &self.last_seq)
            .field("batches", &self.batches.len())
            .field("audit", &self.audit.len())
            .finish_non_exhaustive()
    }
}

/// A logged-in session. [SYNC-4] Its `Debug` leaves out the credential. [PRIM-8]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Session {
    /// Its account.
    pub account: AccountId,
    /// Who.
    pub actor: Actor,
    /// The key or auth hash it logged in with (revalidated on each use).
    pub credential: [u8; 32],
    /// For the password path: its authority key at login (a replaced
    /// authority ends the session even before the new auth value is set).
    pub path_key: [u8; 32],
    /// Expiry.
    pub expires_ms: u64,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("account", &self.account)
            .field("actor", &self.actor)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

/// Where the server keeps its state. [SRV-1]
pub trait Storage {
    /// An account.
    fn account(&self, id: &AccountId) -> Option<&Account>;
    /// An account, mutable.
    fn account_mut(&mut self, id: &AccountId) -> Option<&mut Account>;
    /// Stores a new account.
    fn insert_account(&mut self, id: AccountId, account: Account);
    /// The account of an email.
    fn account_by_email(&self, email: &[u8]) -> Option<AccountId>;
    /// Every account id (for retention sweeps).
    fn account_ids(&self) -> Vec<AccountId>;
    /// Sessions by token.
    fn sessions(&mut self) -> &mut BTreeMap<Token, Session>;
    /// Login nonces already used by a successful LoginKey, with their expiry (the replay
    /// cache: it grows only with successful logins and is swept at expiry). [SRV-14]
    fn used_nonces(&mut self) -> &mut BTreeMap<[u8; 32], u64>;
    /// Makes every change since the last call durable, all together; called once at the end
    /// of each request, before its response leaves. On error nothing of those changes is
    /// kept and the request is answered with the error. [SRV-12] [PERSIST-1]
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A boxed storage is a storage: `Server<Box<dyn Storage>>` lets a test world or an
/// application choose [`MemoryStorage`] or a [`KvStorage`] at run time.
impl<T: Storage + ?Sized> Storage for Box<T> {
    fn account(&self, id: &AccountId) -> Option<&Account> {
        (**self).account(id)
    }
    fn account_mut(&mut self, id: &AccountId) -> Option<&mut Account> {
        (**self).account_mut(id)
    }
    fn insert_account(&mut self, id: AccountId, account: Account) {
        (**self).insert_account(id, account)
    }
    fn account_by_email(&self, email: &[u8]) -> Option<AccountId> {
        (**self).account_by_email(email)
    }
    fn account_ids(&self) -> Vec<AccountId> {
        (**self).account_ids()
    }
    fn sessions(&mut self) -> &mut BTreeMap<Token, Session> {
        (**self).sessions()
    }
    fn used_nonces(&mut self) -> &mut BTreeMap<[u8; 32], u64> {
        (**self).used_nonces()
    }
    fn commit(&mut self) -> Result<()> {
        (**self).commit()
    }
}

/// In-memory [`Storage`]. Its `Debug` shows counts only: sessions are keyed by bearer
/// tokens and used nonces are login challenges. [PRIM-8]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryStorage {
    accounts: BTreeMap<AccountId, Account>,
    emails: BTreeMap<Vec<u8>, AccountId>,
    sessions: BTreeMap<Token, Session>,
    used_nonces: BTreeMap<[u8; 32], u64>,
}

impl core::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("accounts", &self.accounts.len())
            .field("sessions", &self.sessions.len())
            .field("used_nonces", &self.used_nonces.len())
            .finish()
    }
}

impl Storage for MemoryStorage {
    fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }
    fn account_mut(&mut self, id: &AccountId) -> Option<&mut Account> {
        self.accounts.get_mut(id)
    }
    fn insert_account(&mut self, id: AccountId, account: Account) {
        self.emails.insert(account.email.clone(), id);
        self.accounts.insert(id, account);
    }
    fn account_by_email(&self, email: &[u8]) -> Option<AccountId> {
        self.emails.get(email).copied()
    }
    fn account_ids(&self) -> Vec<AccountId> {
        self.accounts.keys().copied().collect()
    }
    fn sessions(&mut self) -> &mut BTreeMap<Token, Session> {
        &mut self.sessions
    }
    fn used_nonces(&mut self) -> &mut BTreeMap<[u8; 32], u64> {
        &mut self.used_nonces
    }
}

/// `enc(SYNC_LOGIN, account, key, nonce)`: what a challenge login signs. [SYNC-4]
pub fn login_message(account: &AccountId, key: &[u8; 32], nonce: &[u8; 32]) -> Vec<u8> {
    Encoder::new(labels::SYNC_LOGIN).fixed(&account.0).fixed(key).fixed(nonce).finish()
}

/// `enc(SERVER_LOGIN_NONCE, account(32), key(32), u64 expires_ms, salt(8))`: the HMAC
/// message of a login nonce's tag. [SRV-14]
pub fn login_nonce_message(account: &[u8; 32], key: &[u8; 32], expires_ms: u64, salt: &[u8; 8]) -> Vec<u8> {
    Encoder::new(labels::SERVER_LOGIN_NONCE).fixed(account).fixed(key).u64(expires_ms).fixed(salt).finish()
}

/// A stateless login nonce ([SYNC-4], [SRV-14]):
/// `u64 expires_ms ‖ salt(8) ‖ HMAC-SHA256(secret, login_nonce_message(...))[0..16]`.
/// The server keeps nothing when it issues one; LoginKey recomputes the tag.
///
/// ```
/// use blindsync::server::{login_nonce, login_nonce_expiry};
/// let n = login_nonce(&[1; 32], &[2; 32], &[3; 32], 60_000, &[4; 8]);
/// assert_eq!(login_nonce_expiry(&[1; 32], &[2; 32], &[3; 32], &n), Some(60_000));
/// assert_eq!(login_nonce_expiry(&[1; 32], &[2; 32], &[9; 32], &n), None); // another key
/// ```
pub fn login_nonce(secret: &[u8; 32], account: &[u8; 32], key: &[u8; 32], expires_ms: u64, salt: &[u8; 8]) -> [u8; 32] {
    let tag = hmac_sha256(secret, &login_nonce_message(account, key, expires_ms, salt));
    let mut nonce = [0u8; 32];
    nonce[..8].copy_from_slice(&expires_ms.to_be_bytes());
    nonce[8..16].copy_from_slice(salt);
    nonce[16..].copy_from_slice(&tag[..16]);
    nonce
}

/// The expiry of a nonce this server issued for `(account, key)`, or `None` if its tag does
/// not verify (compared in constant time). [SRV-14]
pub fn login_nonce_expiry(secret: &[u8; 32], account: &[u8; 32], key: &[u8; 32], nonce: &[u8; 32]) -> Option<u64> {
    let mut expires = [0u8; 8];
    expires.copy_from_slice(&nonce[..8]);
    let expires_ms = u64::from_be_bytes(expires);
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&nonce[8..16]);
    let want = login_nonce(secret, account, key, expires_ms, &salt);
    if crate::primitives::ct_eq(&want, nonce) { Some(expires_ms) } else { None }
}

/// `enc(SERVER_DECOY_SALT, email)`: the HMAC message of a decoy salt. [SRV-3]
pub fn decoy_message(email: &[u8]) -> Vec<u8> {
    Encoder::new(labels::SERVER_DECOY_SALT).bytes(email).finish()
}

/// The decoy salt and parameters of an unknown email:
/// `salt = HMAC-SHA256(secret, enc(SERVER_DECOY_SALT, email))[0..16]`, default parameters. [SRV-3]
pub fn decoy_kdf(secret: &[u8; 32], email: &[u8]) -> PasswordKdf {
    let tag = hmac_sha256(secret, &decoy_message(email));
    let mut salt = [0u8; 16];
    salt.copy_from_slice(tag.get(..16).unwrap_or(&[0; 16]));
    PasswordKdf { salt, params: KdfParams::DEFAULT }
}

/// `SHA-256(enc(HCH_LINK, ref, prev, event_hash))`: one link of the verification hash chain,
/// keyed by the batch reference the server stores the batch under. [SRV-9] [HCH-3] [HCH-4]
pub fn next_event_hash(batch_ref: &[u8; 32], prev: &[u8; 32], event_hash: &[u8; 32]) -> [u8; 32] {
    crate::batch::hchain::link(batch_ref, prev, event_hash)
}

fn batch_response(b: &StoredBatch) -> Result<Response> {
    if !b.uploaded {
        return Err(Error::SrvNotFound);
    }
    Ok(Response::Batch {
        blob: b.blob.clone(),
        slots: b.slots.clone(),
        event_hash: b.event_hash,
        events: b.events,
        reported: b.reported.clone(),
        signature: b.signature,
    })
}

fn auth_hash(auth: &[u8; 32]) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::PASSWORD_AUTH_HASH).finish(), auth])
}

/// The reference server over a [`Storage`].
#[derive(Clone)]
pub struct Server<S: Storage> {
    /// Its storage (public so tests and the demo can show what it holds).
    pub store: S,
    config: ServerConfig,
}

impl<S: Storage> Server<S> {
    /// A server.
    pub fn new(store: S, config: ServerConfig) -> Self {
        Server { store, config }
    }

    /// The storage, back from the server (a restart: reopen it and build a new server).
    pub fn into_storage(self) -> S {
        self.store
    }

    /// The stored chain of an account (empty if unknown): tests and the demo.
    pub fn store_chain(&self, account: &AccountId) -> Vec<Vec<u8>> {
        self.store.account(account).map(|a| a.chain.encoded()).unwrap_or_default()
    }

    /// The stored items of an account, ascending (empty if unknown): tests and the demo.
    pub fn store_items(&self, account: &AccountId) -> Vec<Item> {
        self.store.account(account).map(|a| a.items.values().cloned().collect()).unwrap_or_default()
    }

    /// Handles request bytes; undecodable input gets its decoding error. [SYNC-2] [SRV-12]
    pub fn handle_bytes<R: CryptoRng + ?Sized>(&mut self, request: &[u8], now_ms: u64, rng: &mut R) -> Vec<u8> {
        match Request::decode(request) {
            Ok(req) => self.handle(req, now_ms, rng).encode(),
            Err(e) => Response::Error(e).encode(),
        }
    }

    /// Handles one request. Never panics; a refused request changes nothing. [SRV-12]
    ///
    /// Every change the request made (sweeps included) is committed in one
    /// [`Storage::commit`] before the response is returned: a response is never sent for a
    /// change that is not durable, and a failed commit answers `E_SRV_UNAVAILABLE`
    /// (fault refused: the client retries later) instead. The server's own store error
    /// (`E_STORE_IO`, fault internal) never goes on the wire, where a client would take
    /// it for a failure of its own store. [PERSIST-1] [SRV-12]
    pub fn handle<R: CryptoRng + ?Sized>(&mut self, request: Request, now_ms: u64, rng: &mut R) -> Response {
        self.sweep(now_ms);
        let response = match self.dispatch(request, now_ms, rng) {
            Ok(r) => r,
            Err(e) => Response::Error(e),
        };
        match self.store.commit() {
            Ok(()) => response,
            Err(_) => Response::Error(Error::SrvUnavailable),
        }
    }

    /// [SRV-9] deletes batches past retention, expired sessions and nonces;
    /// [SRV-13] expired pending devices; [SRV-15] failed logins older than the window.
    fn sweep(&mut self, now_ms: u64) {
        let retention = self.config.retention_ms;
        let window = self.config.login_window_ms;
        for id in self.store.account_ids() {
            // Only accounts with something to sweep are touched (a persistent storage
            // rewrites what it hands out mutably).
            let due = self.store.account(&id).is_some_and(|a| {
                a.pending_expiry.values().any(|t| now_ms >= *t)
                    || a.failed_logins.iter().any(|t| now_ms >= t.saturating_add(window))
                    || a.batches.values().any(|b| now_ms >= b.created_ms.saturating_add(retention))
            });
            if !due {
                continue;
            }
            if let Some(a) = self.store.account_mut(&id) {
                let expired: Vec<DeviceId> =
                    a.pending_expiry.iter().filter(|(_, t)| now_ms >= **t).map(|(d, _)| *d).collect();
                for d in expired {
                    a.pending.remove(&d);
                    a.pending_expiry.remove(&d);
                }
                a.failed_logins.retain(|t| now_ms < t.saturating_add(window));
                let before = a.batches.len();
                a.batches.retain(|_, b| now_ms < b.created_ms.saturating_add(retention));
                for _ in a.batches.len()..before {
                    a.audit.push(AuditEntry { at_ms: now_ms, actor: Actor::Anonymous, action: Action::Expire });
                }
            }
        }
        self.store.sessions().retain(|_, s| now_ms < s.expires_ms);
        self.store.used_nonces().retain(|_, expires| now_ms < *expires);
    }

    /// [SYNC-4] a session is valid while unexpired and while its credential is still current.
    fn session(&mut self, token: &Token) -> Result<Session> {
        let s = self.store.sessions().get(token).cloned().ok_or(Error::SrvAuth)?;
        let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
        let current = match s.actor {
            Actor::Device(d) => a.chain.devices().get(&DeviceId(d)).is_some_and(|k| k.ed25519 == s.credential),
            Actor::Recovery => a.chain.authority(UnlockPath::Recovery).is_some_and(|k| k.signing == s.credential),
            Actor::Password => {
                (a.auth_hash == s.credential || s.credential == s.path_key)
                    && a.chain.authority(UnlockPath::Password).is_some_and(|k| k.signing == s.path_key)
            }
            Actor::Anonymous => false,
        };
        if !current {
            self.store.sessions().remove(token);
            return Err(Error::SrvAuth);
        }
        Ok(s)
    }

    fn device_session(&mut self, token: &Token) -> Result<(Session, DeviceId)> {
        let s = self.session(token)?;
        match s.actor {
            Actor::Device(d) => Ok((s, DeviceId(d))),
            _ => Err(Error::SrvAuth),
        }
    }

    /// One audit entry; called by exactly the requests of [SRV-18], on success.
    fn log(&mut self, account: &AccountId, at_ms: u64, actor: Actor, action: Action) {
        if let Some(a) = self.store.account_mut(account) {
            a.audit.push(AuditEntry { at_ms, actor, action });
        }
    }

    fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        account: AccountId,
        actor: Actor,
        credential: [u8; 32],
        now_ms: u64,
        rng: &mut R,
    ) -> Response {
        let mut token = [0u8; 32];
        rng.fill_bytes(&mut token);
        // [SRV-20] fixed at issue: now + token_ttl_ms, never extended.
        let expires_ms = now_ms.saturating_add(self.config.token_ttl_ms);
        let path_key = match actor {
            Actor::Password => {
                self.store.account(&account).and_then(|a| a.chain.authority(UnlockPath::Password)).map(|k| k.signing)
            }
            _ => None,
        }
        .unwrap_or(credential);
        self.store.sessions().insert(token, Session { account, actor, credential, path_key, expires_ms });
        self.log(&account, now_ms, actor, Action::Login);
        Response::Token { token, expires_ms }
    }

    fn dispatch<R: CryptoRng + ?Sized>(&mut self, request: Request, now: u64, rng: &mut R) -> Result<Response> {
        match &request {
            // [SRV-2] register: the genesis verifies, the KDF is within the client bounds, the email is new.
            // [SRV-19] in this order: kdf decode, kdf bounds, genesis, pinned kdf, wrap lengths, exists.
            Request::Register { email, kdf, auth, genesis, recovery_wrap, password_wrap } => {
                let email = email.clone();
                let kdf = kdf.clone();
                let auth = zeroize::Zeroizing::new(*auth);
                let genesis = genesis.clone();
                let recovery_wrap = recovery_wrap.clone();
                let password_wrap = password_wrap.clone();
                PasswordKdf::decode(&kdf)?.check()?;
                let chain = ChainState::from_genesis(&genesis)?;
                // [CHAIN-18] the KDF it will serve is the one the genesis pins.
                chain.check_served_kdf(&kdf)?;
                // [SRV-19] both chapter 5 wraps have the fixed wrap length, as SetRecoveryWrap's.
                if recovery_wrap.len() != crate::unlock::wrap::UMK_WRAP_LEN
                    || password_wrap.len() != crate::unlock::wrap::UMK_WRAP_LEN
                {
                    return Err(Error::WrapLength);
                }
                let id = chain.account();
                if self.store.account_by_email(&email).is_some() || self.store.account(&id).is_some() {
                    return Err(Error::SrvExists);
                }
                let account = Account {
                    email,
                    kdf,
                    auth_hash: auth_hash(&auth),
                    recovery_wrap,
                    password_wrap,
                    chain,
                    pending: BTreeMap::new(),
                    pending_expiry: BTreeMap::new(),
                    failed_logins: Vec::new(),
                    bundles: BTreeMap::new(),
                    records: BTreeMap::new(),
                    items: BTreeMap::new(),
                    last_seq: 0,
                    batches: BTreeMap::new(),
                    audit: Vec::new(),
                    device_meta: BTreeMap::new(),
                    last_sync_ms: BTreeMap::new(),
                };
                self.store.insert_account(id, account);
                self.log(&id, now, Actor::Anonymous, Action::Register);
                Ok(Response::Ok)
            }
            // [SRV-3] an unknown email gets a stable decoy.
            Request::GetKdf { email } => {
                let email = email.clone();
                match self.store.account_by_email(&email).and_then(|id| self.store.account(&id)) {
                    Some(a) => Ok(Response::Kdf { kdf: a.kdf.clone() }),
                    None => Ok(Response::Kdf { kdf: decoy_kdf(&self.config.decoy_secret, &email).encode() }),
                }
            }
            // [SRV-4] one answer for unknown email and wrong auth value;
            // [SRV-15] at most max_failed_logins failures per account per window.
            Request::LoginPassword { email, auth } => {
                let email = email.clone();
                let auth = zeroize::Zeroizing::new(*auth);
                let h = auth_hash(&auth);
                let id = self.store.account_by_email(&email);
                let max = self.config.max_failed_logins;
                if let Some(a) = id.and_then(|id| self.store.account(&id))
                    && a.failed_logins.len() >= max
                {
                    return Err(Error::SrvRateLimit);
                }
                let ok = id
                    .and_then(|id| self.store.account(&id))
                    .is_some_and(|a| crate::primitives::ct_eq(&a.auth_hash, &h));
                match (ok, id) {
                    (true, Some(id)) => {
                        if let Some(a) = self.store.account_mut(&id) {
                            a.failed_logins.clear();
                        }
                        Ok(self.issue(id, Actor::Password, h, now, rng))
                    }
                    (false, Some(id)) => {
                        if let Some(a) = self.store.account_mut(&id) {
                            a.failed_logins.push(now);
                        }
                        Err(Error::SrvAuth)
                    }
                    _ => Err(Error::SrvAuth),
                }
            }
            // [SYNC-4] a fresh nonce for any (account, key); unknown ones fail only at login.
            // [SRV-14] stateless: the server stores nothing, so no stranger can fill anything.
            Request::Challenge { account, key } => {
                let mut salt = [0u8; 8];
                rng.fill_bytes(&mut salt);
                let expires = now.saturating_add(self.config.nonce_ttl_ms);
                Ok(Response::Nonce { nonce: login_nonce(&self.config.decoy_secret, account, key, expires, &salt) })
            }
            Request::LoginKey { account, key, nonce, signature } => {
                let account = *account;
                let key = *key;
                let nonce = *nonce;
                let signature = *signature;
                // [SYNC-4] [SRV-14] the nonce is this server's, for this account and key,
                // unexpired, and not used by an earlier successful login.
                let expires =
                    login_nonce_expiry(&self.config.decoy_secret, &account, &key, &nonce).ok_or(Error::SrvAuth)?;
                if now >= expires || self.store.used_nonces().contains_key(&nonce) {
                    return Err(Error::SrvAuth);
                }
                let account = AccountId(account);
                let a = self.store.account(&account).ok_or(Error::SrvAuth)?;
                let actor = if let Some((id, _)) = a.chain.devices().iter().find(|(_, d)| d.ed25519 == key) {
                    Actor::Device(id.0)
                } else if a.chain.authority(UnlockPath::Recovery).is_some_and(|k| k.signing == key) {
                    Actor::Recovery
                } else if a.chain.authority(UnlockPath::Password).is_some_and(|k| k.signing == key) {
                    Actor::Password
                } else {
                    return Err(Error::SrvAuth);
                };
                if !crate::primitives::verify_strict(&key, &login_message(&account, &key, &nonce), &signature) {
                    return Err(Error::SrvAuth);
                }
                // Only a successful login reaches the replay cache. [SRV-12]
                self.store.used_nonces().insert(nonce, expires);
                Ok(self.issue(account, actor, key, now, rng))
            }
            // [SRV-5] append only what extends the head, and verifies.
            Request::AppendChain { token, statements } => {
                let token = *token;
                let statements = statements.clone();
                let s = self.session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                let mut next = a.chain.clone();
                for st in &statements {
                    let parsed = crate::chain::Statement::decode(st)?;
                    let head = next.head();
                    if parsed.position != head.len || parsed.prev != head.hash {
                        return Err(Error::SrvChainHead);
                    }
                    next.append(st)?;
                }
                a.chain = next;
                // devices the chain now lists are no longer pending
                let active: Vec<DeviceId> = a.pending.keys().filter(|d| a.chain.is_active(d)).copied().collect();
                for d in active {
                    a.pending.remove(&d);
                    a.pending_expiry.remove(&d);
                }
                self.log(&s.account, now, s.actor, Action::AppendChain);
                Ok(Response::Ok)
            }
            Request::GetChain { token } => {
                let token = *token;
                let s = self.session(&token)?;
                let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
                Ok(Response::Chain { statements: a.chain.encoded() })
            }
            Request::GetWraps { token } => {
                let token = *token;
                let s = self.session(&token)?;
                let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
                Ok(Response::Wraps { recovery_wrap: a.recovery_wrap.clone(), password_wrap: a.password_wrap.clone() })
            }
            // [SRV-6] structure, writer, revision; the superseded envelope becomes a stub.
            Request::PutRecord { token, envelope } => {
                let token = *token;
                let envelope = envelope.clone();
                let (s, device) = self.device_session(&token)?;
                let env = EnvelopeRef::decode(&envelope)?;
                if env.header.writer != device {
                    return Err(Error::SrvWriter);
                }
                let key = (env.header.bucket, env.header.record_id);
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                let new_order = (env.header.revision, env.header.writer);
                // [SRV-6] [SYNC-16] a revision too far above the record's current one would be
                // refused by every device; storing it would freeze the record on the server.
                let base = a.records.get(&key).map_or(0, |(_, r, _)| *r);
                if !crate::client::revision_within_step(base, env.header.revision) {
                    return Err(Error::SyncRevisionStep);
                }
                // [SRV-6] the record's current envelope is the greatest (revision, writer);
                // a write below it is stored already superseded, as its stub.
                let mut kind = ItemKind::Envelope;
                let mut bytes = envelope.clone();
                if let Some(&(old_seq, old_rev, old_writer)) = a.records.get(&key) {
                    let current = a.items.get(&old_seq);
                    if current.is_some_and(|c| c.bytes == envelope) {
                        return Ok(Response::Stored { seq: old_seq }); // a resubmission ([SYNC-6])
                    }
                    match new_order.cmp(&(old_rev, old_writer)) {
                        core::cmp::Ordering::Equal => return Err(Error::SrvRevision),
                        core::cmp::Ordering::Less => {
                            kind = ItemKind::Stub;
                            bytes = env.stub().encode();
                        }
                        core::cmp::Ordering::Greater => {
                            if let Some(old) = a.items.get_mut(&old_seq)
                                && let Ok(o) = EnvelopeRef::decode(&old.bytes)
                            {
                                *old = Item { seq: old_seq, kind: ItemKind::Stub, bytes: o.stub().encode() };
                            }
                        }
                    }
                }
                let seq = a.last_seq.saturating_add(1);
                a.last_seq = seq;
                if kind == ItemKind::Envelope {
                    a.records.insert(key, (seq, env.header.revision, env.header.writer));
                }
                a.items.insert(seq, Item { seq, kind, bytes });
                self.log(&s.account, now, s.actor, Action::PutRecord);
                Ok(Response::Stored { seq })
            }
            // [SRV-7] items after the cursor, ascending; records the device's last sync time.
            Request::ListSince { token, cursor, limit } => {
                let token = *token;
                let cursor = *cursor;
                let limit = *limit;
                let s = self.session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                let limit = (limit as usize).min(wire::MAX_ITEMS);
                let items: Vec<Item> =
                    a.items.range(cursor.saturating_add(1)..).take(limit).map(|(_, i)| i.clone()).collect();
                if let Actor::Device(d) = s.actor {
                    a.last_sync_ms.insert(DeviceId(d), now);
                }
                Ok(Response::Items { items })
            }
            // [SRV-9] batches: opaque blob and key slots ([BAT-7]) under the batch reference;
            // the record of reported events may exist before the upload ([HCH-4]).
            Request::PutBatch { token, batch_id, blob, slots } => {
                let token = *token;
                let batch_id = *batch_id;
                let blob = blob.clone();
                let slots = slots.clone();
                let (s, _) = self.device_session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                match a.batches.get_mut(&batch_id) {
                    Some(b) if b.uploaded => return Err(Error::SrvExists),
                    Some(b) => {
                        b.uploaded = true;
                        b.blob = blob;
                        b.slots = slots;
                    }
                    None => {
                        a.batches.insert(
                            batch_id,
                            StoredBatch {
                                uploaded: true,
                                blob,
                                slots,
                                event_hash: crate::batch::hchain::START,
                                reported: Vec::new(),
                                signature: [0; 64],
                                events: 0,
                                created_ms: now,
                            },
                        );
                    }
                }
                self.log(&s.account, now, s.actor, Action::PutBatch);
                Ok(Response::Ok)
            }
            Request::GetBatch { token, batch_id } => {
                let token = *token;
                let batch_id = *batch_id;
                let s = self.session(&token)?;
                let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
                batch_response(a.batches.get(&batch_id).ok_or(Error::SrvNotFound)?)
            }
            // [SRV-9] partners hold no session: the unguessable reference is the capability.
            Request::GetSharedBatch { account, batch_id } => {
                let account = *account;
                let batch_id = *batch_id;
                let a = self.store.account(&AccountId(account)).ok_or(Error::SrvNotFound)?;
                batch_response(a.batches.get(&batch_id).ok_or(Error::SrvNotFound)?)
            }
            // [BAT-10] the chain is public (the server verifies it too): partners refresh theirs.
            Request::GetSharedChain { account } => {
                let account = *account;
                let a = self.store.account(&AccountId(account)).ok_or(Error::SrvNotFound)?;
                Ok(Response::Chain { statements: a.chain.encoded() })
            }
            // [HCH-4] [HCH-6] the server folds the hash in and keeps the latest signature; it
            // cannot check it against a guess of the event (the hash is keyed) and needs not.
            Request::ReportEvent { token, batch_id, event_hash, signature } => {
                let token = *token;
                let batch_id = *batch_id;
                let event_hash = *event_hash;
                let signature = *signature;
                let (s, _) = self.device_session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                let b = a.batches.entry(batch_id).or_insert_with(|| StoredBatch {
                    uploaded: false,
                    blob: Vec::new(),
                    slots: Vec::new(),
                    event_hash: crate::batch::hchain::START,
                    reported: Vec::new(),
                    signature: [0; 64],
                    events: 0,
                    created_ms: now,
                });
                if b.reported.len() >= wire::MAX_EVENTS {
                    return Err(Error::DecodeLength);
                }
                b.event_hash = next_event_hash(&batch_id, &b.event_hash, &event_hash);
                b.reported.push(event_hash);
                b.signature = signature;
                b.events = b.events.saturating_add(1);
                let hash = b.event_hash;
                self.log(&s.account, now, s.actor, Action::ReportEvent);
                Ok(Response::EventHash { hash })
            }
            // [SRV-4] a new password: only a device or the recovery path; old sessions of the old password end.
            Request::SetPassword { token, kdf, auth, password_wrap } => {
                let token = *token;
                let kdf = kdf.clone();
                let auth = zeroize::Zeroizing::new(*auth);
                let password_wrap = password_wrap.clone();
                let s = self.session(&token)?;
                if !matches!(s.actor, Actor::Device(_) | Actor::Recovery) {
                    return Err(Error::SrvAuth);
                }
                PasswordKdf::decode(&kdf)?.check()?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                // [CHAIN-18] the replace-authority statement that pins this KDF is appended first.
                a.chain.check_served_kdf(&kdf)?;
                // [SRV-19] the password wrap has the fixed wrap length, as SetRecoveryWrap's.
                if password_wrap.len() != crate::unlock::wrap::UMK_WRAP_LEN {
                    return Err(Error::WrapLength);
                }
                a.kdf = kdf;
                a.auth_hash = auth_hash(&auth);
                a.password_wrap = password_wrap;
                self.log(&s.account, now, s.actor, Action::SetPassword);
                Ok(Response::Ok)
            }
            // [CHAIN-14] a new recovery code's chapter 5 wrap: only a device or the recovery path.
            Request::SetRecoveryWrap { token, recovery_wrap } => {
                let s = self.session(token)?;
                if !matches!(s.actor, Actor::Device(_) | Actor::Recovery) {
                    return Err(Error::SrvAuth);
                }
                if recovery_wrap.len() != crate::unlock::wrap::UMK_WRAP_LEN {
                    return Err(Error::WrapLength);
                }
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                a.recovery_wrap = recovery_wrap.clone();
                self.log(&s.account, now, s.actor, Action::SetRecoveryWrap);
                Ok(Response::Ok)
            }
            Request::GetAudit { token } => {
                let token = *token;
                let (s, _) = self.device_session(&token)?;
                let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
                // [SRV-18] the newest MAX_LIST entries, oldest first: the response's limit ([SYNC-2]).
                let from = a.audit.len().saturating_sub(crate::server::wire::MAX_LIST);
                Ok(Response::Audit { entries: a.audit.get(from..).unwrap_or_default().to_vec() })
            }
            // [SRV-8] pending devices: unauthenticated but bounded; only the keys are stored.
            // [SRV-13] at most max_pending per account, each for pending_ttl_ms.
            Request::PostPending { account, ed25519, x25519, pop } => {
                let account = *account;
                let ed25519 = *ed25519;
                let x25519 = *x25519;
                let pop = *pop;
                let account = AccountId(account);
                let max = self.config.max_pending;
                let expires = now.saturating_add(self.config.pending_ttl_ms);
                let public = DevicePublic { ed25519, x25519 };
                public.check()?;
                // [CHAIN-17] the proof of possession for this account; approvers check it again.
                let msg = possession_message(2, PopRole::Device, &account.0, &ed25519, &x25519, &[]);
                verify_possession(&ed25519, &msg, &pop)?;
                let a = self.store.account_mut(&account).ok_or(Error::SrvNotFound)?;
                let id = public.id();
                if a.pending.contains_key(&id) || a.chain.is_active(&id) {
                    return Err(Error::SrvExists);
                }
                if a.pending.len() >= max {
                    return Err(Error::SrvPendingFull);
                }
                a.pending.insert(id, PendingDevice { public, pop });
                a.pending_expiry.insert(id, expires);
                self.log(&account, now, Actor::Anonymous, Action::PostPending);
                Ok(Response::Ok)
            }
            Request::ListPending { token } => {
                let token = *token;
                let (s, _) = self.device_session(&token)?;
                let a = self.store.account(&s.account).ok_or(Error::SrvAuth)?;
                let devices = a.pending.values().map(|d| (d.public.ed25519, d.public.x25519, d.pop)).collect();
                Ok(Response::Pending { devices })
            }
            Request::PutBundle { token, device, bundle } => {
                let token = *token;
                let device = *device;
                let bundle = bundle.clone();
                let s = self.session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                a.bundles.insert(DeviceId(device), bundle);
                self.log(&s.account, now, s.actor, Action::PutBundle);
                Ok(Response::Ok)
            }
            Request::GetBundle { account, device } => {
                let account = *account;
                let device = *device;
                let a = self.store.account(&AccountId(account)).ok_or(Error::SrvNotFound)?;
                let b = a.bundles.get(&DeviceId(device)).ok_or(Error::SrvNotFound)?;
                Ok(Response::Bundle { bundle: b.clone() })
            }
            // [SRV-11] device metadata is an opaque, device-encrypted blob.
            Request::PutDeviceMeta { token, meta } => {
                let token = *token;
                let meta = meta.clone();
                let (s, d) = self.device_session(&token)?;
                let a = self.store.account_mut(&s.account).ok_or(Error::SrvAuth)?;
                a.device_meta.insert(d, meta);
                Ok(Response::Ok)
            }
        }
    }
}
