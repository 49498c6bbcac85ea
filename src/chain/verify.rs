//! The chain verifier: a deterministic state machine devices keep (spec 8.3).

use std::collections::{BTreeMap, BTreeSet};

use super::statement::{
    Authority, Body, EpochWrap, GENESIS_PREV, KDF_LEN, PopRole, Reconfirm, Statement, UnlockPath, possession_message,
    statement_hash, verify_possession,
};
use crate::defences::Defences;
use crate::device::{ChainHead, DeviceId, DevicePublic, compare160};
use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::hpke::{self, HpkeSecretKey};
use crate::keys::{AccountId, Epoch, Umk};
use crate::labels;
use crate::primitives::sha256;

/// What the chain says about a revoked device. [CHAIN-9]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Revoked {
    /// Its keys.
    pub public: DevicePublic,
    /// The highest writer sequence number accepted from it.
    pub max_seq: u64,
    /// The position of the revoke statement.
    pub at: u64,
    /// The identity of its envelope at `max_seq` (zeros if it never wrote). [CHAIN-20]
    pub last_envelope: [u8; 32],
}

/// Who installed a device or pinned a partner: what a revocation cascades over. [CHAIN-20]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Introducer {
    /// The genesis device has none.
    Genesis,
    /// An active (or since revoked) device.
    Device(DeviceId),
    /// An unlock path's authority (enrollment); never cascaded.
    Authority(UnlockPath),
}

/// Who signed a statement, as the chain state sees it. [CHAIN-6]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// An active device.
    Device(DeviceId),
    /// An unlock path's current authority.
    Authority(UnlockPath),
}

/// A verified account chain and everything it establishes. Devices keep one
/// and feed it every chain the server serves; a refused input changes nothing. [CHAIN-7]
///
/// Clones share one immutable [`ChainFields`] until one of them takes a statement (the model
/// checker keeps many copies of few chains, [MODEL-19]); equality, hashing and every answer
/// are those of the fields.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainState(std::sync::Arc<ChainFields>);

impl core::fmt::Debug for ChainState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl core::ops::Deref for ChainState {
    type Target = ChainFields;
    fn deref(&self) -> &ChainFields {
        &self.0
    }
}

impl core::ops::DerefMut for ChainState {
    // copy on write: a state shared with a clone is copied before it changes
    fn deref_mut(&mut self) -> &mut ChainFields {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

/// The fields of a [`ChainState`] (private; read them through its methods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFields {
    account: AccountId,
    statements: Vec<Statement>,
    hashes: Vec<[u8; 32]>,
    /// Each statement's bytes as taken (what its hash commits to; the canonical encoding, the
    /// only one a decoder accepts): served again as they are, and compared before hashing.
    encoded: Vec<Vec<u8>>,
    devices: BTreeMap<DeviceId, DevicePublic>,
    revoked: BTreeMap<DeviceId, Revoked>,
    authorities: BTreeMap<UnlockPath, Authority>,
    retired: BTreeSet<[u8; 32]>,
    retired_sealing: BTreeSet<[u8; 32]>,
    partners: BTreeMap<[u8; 32], String>,
    epoch: Epoch,
    key_checks: Vec<[u8; 32]>,
    password_kdf: [u8; KDF_LEN],
    device_introducers: BTreeMap<DeviceId, Introducer>,
    partner_introducers: BTreeMap<[u8; 32], Introducer>,
}

/// Hashes the account and the head (length and hash): the head hash commits
/// to every statement, so equal states hash equally and the model checker's
/// fingerprints stay cheap.
impl core::hash::Hash for ChainState {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.account.hash(state);
        self.hashes.hash(state);
    }
}

/// The bytes of a statement a state takes: those it was decoded from, which are its canonical
/// encoding (a decoder accepts no other, [ENC-6]).
fn taken_bytes(s: &Statement, bytes: &[u8]) -> Vec<u8> {
    debug_assert_eq!(s.encode(), bytes, "a decoded statement re-encodes to its bytes");
    bytes.to_vec()
}

/// `SHA-256(enc(ACCOUNT_ID, bytes genesis))`. [CHAIN-4]
pub fn account_id(genesis: &[u8]) -> AccountId {
    AccountId(sha256(&[&Encoder::new(labels::ACCOUNT_ID).bytes(genesis).finish()]))
}

/// The account fingerprint's digest: `SHA-256(enc(ACCOUNT_FINGERPRINT, account_id))`. [CHAIN-5]
pub fn account_fingerprint_digest(account: &AccountId) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::ACCOUNT_FINGERPRINT).fixed(&account.0).finish()])
}

/// The account fingerprint people compare, as text (160 bits, eight groups). [CHAIN-5]
pub fn account_fingerprint(account: &AccountId) -> String {
    compare160(&account_fingerprint_digest(account))
}

/// A partner key's fingerprint digest for the account that pins it:
/// `SHA-256(enc(PARTNER_FINGERPRINT, account_id, key))`. [CHAIN-5]
pub fn partner_fingerprint_digest(account: &AccountId, key: &[u8; 32]) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::PARTNER_FINGERPRINT).fixed(&account.0).fixed(key).finish()])
}

/// A partner key's fingerprint as text, compared out of band before
/// `account` pins it (160 bits; it binds the account as well as the key). [CHAIN-5]
pub fn partner_fingerprint(account: &AccountId, key: &[u8; 32]) -> String {
    compare160(&partner_fingerprint_digest(account, key))
}

/// `enc(HPKE_EPOCH_UMK)`: the HPKE info of an epoch wrap. [CHAIN-12]
pub fn epoch_wrap_info() -> Vec<u8> {
    Encoder::new(labels::HPKE_EPOCH_UMK).finish()
}

/// `enc(AAD_EPOCH_UMK, account_id, u32 epoch, recipient(32))`. [CHAIN-12]
pub fn epoch_wrap_aad(account: &AccountId, epoch: Epoch, recipient: &[u8; 32]) -> Vec<u8> {
    Encoder::new(labels::AAD_EPOCH_UMK).fixed(&account.0).u32(epoch).fixed(recipient).finish()
}

/// Opens one epoch wrap with the recipient's key. [CHAIN-12]
pub fn open_epoch_wrap(account: &AccountId, wrap: &EpochWrap, key: &HpkeSecretKey) -> Result<Umk> {
    let pt = hpke::open(
        key,
        &wrap.enc,
        &epoch_wrap_info(),
        &epoch_wrap_aad(account, wrap.epoch, &wrap.recipient),
        &wrap.ct,
    )?;
    Umk::from_slice(&pt).ok_or(Error::HpkeOpen)
}

fn check_signing_key(pk: &[u8; 32]) -> Result<()> {
    crate::device::check_ed25519_key(pk)
}

fn check_authority(a: &Authority) -> Result<()> {
    check_signing_key(&a.signing)?;
    if hpke::is_low_order(&a.sealing) {
        return Err(Error::HpkeLowOrder);
    }
    Ok(())
}

/// [CHAIN-18] a pinned `kdf_encoding` passes [KEY-6] steps 1 to 3.
fn check_kdf(kdf: &[u8; KDF_LEN]) -> Result<()> {
    crate::unlock::password::PasswordKdf::decode(kdf)?.check()
}

/// [CHAIN-17] the proof of possession of an installed key: `pop` over the
/// `pop_msg` of its statement, under the installed signing key.
fn check_pop(d: &Defences, installed: &[u8; 32], pop_msg: &[u8], pop: &[u8; 64]) -> Result<()> {
    if !d.possession {
        return Ok(()); // [MODEL-5] weakened: installed keys need no proof of possession
    }
    verify_possession(installed, pop_msg, pop)
}

impl ChainState {
    /// Verifies a genesis statement and starts a state from it. [CHAIN-8]
    pub fn from_genesis(bytes: &[u8]) -> Result<Self> {
        Self::from_genesis_with(bytes, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::from_genesis`] with some defences off (model checker only). [MODEL-5]
    pub fn from_genesis_with(bytes: &[u8], d: &Defences) -> Result<Self> {
        Self::from_genesis_with_impl(bytes, d)
    }
    }

    /// The body of `from_genesis_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn from_genesis_with_impl(bytes: &[u8], d: &Defences) -> Result<Self> {
        let s = Statement::decode(bytes)?;
        let Body::Genesis { device, recovery, recovery_pop, password, password_kdf, password_pop, epoch, key_check } =
            &s.body
        else {
            return Err(Error::ChainGenesis);
        };
        if s.position != 0 || s.prev != GENESIS_PREV || *epoch != 0 || s.signer != device.ed25519 {
            return Err(Error::ChainGenesis);
        }
        device.check()?;
        check_authority(recovery)?;
        check_authority(password)?;
        let keys = [device.ed25519, recovery.signing, password.signing];
        let xkeys = [device.x25519, recovery.sealing, password.sealing];
        if keys[0] == keys[1]
            || keys[0] == keys[2]
            || keys[1] == keys[2]
            || xkeys[0] == xkeys[1]
            || xkeys[0] == xkeys[2]
            || xkeys[1] == xkeys[2]
        {
            return Err(Error::ChainGenesis);
        }
        check_kdf(password_kdf)?;
        s.verify_signature()?;
        // [CHAIN-17] the authorities' proofs of possession, anchored on the genesis device.
        let anchor = super::statement::genesis_anchor(device, recovery, password, password_kdf, *epoch, key_check);
        let rec_msg = possession_message(1, PopRole::Recovery, &anchor, &recovery.signing, &recovery.sealing, &[]);
        check_pop(d, &recovery.signing, &rec_msg, recovery_pop)?;
        let pw_msg =
            possession_message(1, PopRole::Password, &anchor, &password.signing, &password.sealing, password_kdf);
        check_pop(d, &password.signing, &pw_msg, password_pop)?;
        let mut devices = BTreeMap::new();
        devices.insert(device.id(), *device);
        let device_introducers = BTreeMap::from([(device.id(), Introducer::Genesis)]);
        let mut authorities = BTreeMap::new();
        authorities.insert(UnlockPath::Recovery, *recovery);
        authorities.insert(UnlockPath::Password, *password);
        let (key_checks, password_kdf) = (vec![*key_check], *password_kdf);
        Ok(ChainState(std::sync::Arc::new(ChainFields {
            account: account_id(bytes),
            hashes: vec![statement_hash(bytes)],
            encoded: vec![taken_bytes(&s, bytes)],
            statements: vec![s],
            devices,
            revoked: BTreeMap::new(),
            authorities,
            retired: BTreeSet::new(),
            retired_sealing: BTreeSet::new(),
            partners: BTreeMap::new(),
            epoch: 0,
            key_checks,
            password_kdf,
            device_introducers,
            partner_introducers: BTreeMap::new(),
        })))
    }

    /// Verifies a whole chain from its genesis (a device with no state). [CHAIN-8]
    pub fn verify(chain: &[Vec<u8>]) -> Result<Self> {
        Self::verify_with(chain, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::verify`] with some defences off (model checker only). [MODEL-5]
    pub fn verify_with(chain: &[Vec<u8>], d: &Defences) -> Result<Self> {
        Self::verify_with_impl(chain, d)
    }
    }

    /// The body of `verify_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn verify_with_impl(chain: &[Vec<u8>], d: &Defences) -> Result<Self> {
        let (first, rest) = chain.split_first().ok_or(Error::ChainGenesis)?;
        let mut st = ChainState::from_genesis_with(first, d)?;
        for b in rest {
            st.append_with(b, d)?;
        }
        Ok(st)
    }

    /// Takes the chain the server serves now: the prefix this state holds
    /// must be unchanged (else [`Error::ChainFork`]), it must not be shorter
    /// (else [`Error::ChainRollback`]), and every new statement must verify.
    /// On error the state is unchanged. [CHAIN-10]
    pub fn update(&mut self, chain: &[Vec<u8>]) -> Result<()> {
        self.update_with(chain, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::update`] with some defences off (model checker only). [MODEL-5]
    pub fn update_with(&mut self, chain: &[Vec<u8>], d: &Defences) -> Result<()> {
        self.update_with_impl(chain, d)
    }
    }

    /// The body of `update_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn update_with_impl(&mut self, chain: &[Vec<u8>], d: &Defences) -> Result<()> {
        for ((have, known), got) in self.hashes.iter().zip(&self.encoded).zip(chain) {
            // the bytes taken at this position hash to `have`: the same bytes need no hash
            if known != got && *have != statement_hash(got) {
                return Err(Error::ChainFork);
            }
        }
        if chain.len() < self.hashes.len() {
            return Err(Error::ChainRollback);
        }
        let mut next = self.clone();
        for b in chain.get(self.hashes.len()..).unwrap_or(&[]) {
            next.append_with(b, d)?;
        }
        *self = next;
        Ok(())
    }

    /// Verifies one statement against this state and applies it. On error
    /// the state is unchanged. [CHAIN-8] [CHAIN-9]
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.append_with(bytes, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::append`] with some defences off (model checker only). [MODEL-5]
    pub fn append_with(&mut self, bytes: &[u8], d: &Defences) -> Result<()> {
        self.append_with_impl(bytes, d)
    }
    }

    /// The body of `append_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn append_with_impl(&mut self, bytes: &[u8], d: &Defences) -> Result<()> {
        let s = Statement::decode(bytes)?;
        let len = self.hashes.len() as u64;
        // [CHAIN-10] a second statement at a known position is a fork, the same one a duplicate.
        if s.position < len {
            let known = usize::try_from(s.position).ok().and_then(|p| self.hashes.get(p));
            return Err(if known == Some(&statement_hash(bytes)) { Error::ChainPosition } else { Error::ChainFork });
        }
        if s.position > len {
            return Err(Error::ChainPosition);
        }
        if s.prev != self.head().hash {
            return Err(Error::ChainLink);
        }
        if matches!(s.body, Body::Genesis { .. }) {
            return Err(Error::ChainGenesis);
        }
        let role = self.role_of(&s.signer)?;
        s.verify_signature()?;
        authorize(role, &s.body)?;
        self.apply_appended(s, bytes, role, d)
    }

    /// Applies a statement that passed steps 1 to 7 of [CHAIN-8], so that a
    /// refused statement changes nothing and verifying a chain is linear in
    /// its length. Every kind but a revocation makes all its checks before it
    /// changes anything (see `apply`), so it is applied in place; a revocation
    /// (whose cascade changes devices before its epoch is checked) runs on a
    /// copy of the state without its statements and hashes, which grow with
    /// the chain and which the rules do not read. [CHAIN-7]
    fn apply_appended(&mut self, s: Statement, bytes: &[u8], role: Role, d: &Defences) -> Result<()> {
        if !matches!(s.body, Body::RevokeDevice { .. }) {
            self.apply(&s, role, d)?;
            self.hashes.push(statement_hash(bytes));
            self.encoded.push(taken_bytes(&s, bytes));
            self.statements.push(s);
            return Ok(());
        }
        let statements = core::mem::take(&mut self.statements);
        let hashes = core::mem::take(&mut self.hashes);
        let encoded = core::mem::take(&mut self.encoded);
        let mut next = self.clone();
        self.statements = statements;
        self.hashes = hashes;
        self.encoded = encoded;
        next.apply(&s, role, d)?;
        next.statements = core::mem::take(&mut self.statements);
        next.hashes = core::mem::take(&mut self.hashes);
        next.encoded = core::mem::take(&mut self.encoded);
        next.hashes.push(statement_hash(bytes));
        next.encoded.push(taken_bytes(&s, bytes));
        next.statements.push(s);
        *self = next;
        Ok(())
    }

    /// The role of a signing key at the head. [CHAIN-6]
    pub fn role_of(&self, pk: &[u8; 32]) -> Result<Role> {
        if let Some((id, _)) = self.devices.iter().find(|(_, d)| d.ed25519 == *pk) {
            return Ok(Role::Device(*id));
        }
        if let Some((path, _)) = self.authorities.iter().find(|(_, a)| a.signing == *pk) {
            return Ok(Role::Authority(*path));
        }
        if self.retired.contains(pk) || self.revoked.values().any(|r| r.public.ed25519 == *pk) {
            return Err(Error::ChainSignerRevoked);
        }
        Err(Error::ChainSignerUnknown)
    }

    fn key_in_use(&self, ed: &[u8; 32], x: &[u8; 32]) -> bool {
        let known = self.devices.values().chain(self.revoked.values().map(|r| &r.public));
        let mut ed_keys = known.clone().map(|d| d.ed25519).chain(self.authorities.values().map(|a| a.signing));
        let mut x_keys = known.map(|d| d.x25519).chain(self.authorities.values().map(|a| a.sealing));
        // [CHAIN-9] two typed pools: Ed25519 keys against Ed25519 keys (retired signing keys
        // included), X25519 keys against X25519 keys (retired sealing keys included).
        self.retired.contains(ed)
            || self.retired_sealing.contains(x)
            || ed_keys.any(|k| k == *ed)
            || x_keys.any(|k| k == *x)
    }

    /// The recipients an epoch-starting statement must wrap the new UMK to:
    /// every active device and both paths' sealing keys. [CHAIN-11]
    fn epoch_recipients(&self) -> BTreeSet<[u8; 32]> {
        self.devices.values().map(|d| d.x25519).chain(self.authorities.values().map(|a| a.sealing)).collect()
    }

    /// [CHAIN-11] one wrap of `epoch` to each of `want`, and to nothing else.
    fn check_new_epoch(&self, epoch: Epoch, wraps: &[&EpochWrap], want: &BTreeSet<[u8; 32]>) -> Result<()> {
        if Some(epoch) != self.epoch.checked_add(1) {
            return Err(Error::ChainEpoch);
        }
        let got: BTreeSet<[u8; 32]> = wraps.iter().map(|w| w.recipient).collect();
        if got != *want || got.len() != wraps.len() || wraps.iter().any(|w| w.epoch != epoch) {
            return Err(Error::ChainRecipients);
        }
        Ok(())
    }

    fn introducer_of(role: Role) -> Introducer {
        match role {
            Role::Device(id) => Introducer::Device(id),
            Role::Authority(p) => Introducer::Authority(p),
        }
    }

    fn apply(&mut self, s: &Statement, role: Role, d: &Defences) -> Result<()> {
        let account = self.account.0;
        match &s.body {
            Body::Genesis { .. } => return Err(Error::ChainGenesis),
            Body::AddDevice { device, pop, .. } => {
                device.check()?;
                let msg = possession_message(2, PopRole::Device, &account, &device.ed25519, &device.x25519, &[]);
                check_pop(d, &device.ed25519, &msg, pop)?;
                if self.key_in_use(&device.ed25519, &device.x25519) {
                    return Err(Error::ChainState);
                }
                self.devices.insert(device.id(), *device);
                self.device_introducers.insert(device.id(), Self::introducer_of(role));
            }
            Body::RevokeDevice { revocations, unpin, reconfirm, epoch, key_check, wraps } => {
                self.apply_revoke(s.position, role, revocations, unpin, reconfirm, d)?;
                // [CHAIN-20] step 5 and 6: the new epoch, to the devices that remain and both paths.
                let want = self.epoch_recipients();
                self.check_new_epoch(*epoch, &wraps.iter().collect::<Vec<_>>(), &want)?;
                self.epoch = *epoch;
                self.key_checks.push(*key_check);
            }
            Body::RotateEpoch { epoch, key_check, wraps } => {
                // [CHAIN-11] exactly the active devices and both unlock paths, for the new epoch.
                let want = self.epoch_recipients();
                self.check_new_epoch(*epoch, &wraps.iter().collect::<Vec<_>>(), &want)?;
                self.epoch = *epoch;
                self.key_checks.push(*key_check);
            }
            Body::PinPartner { key, label } => {
                if hpke::is_low_order(key) {
                    return Err(Error::HpkeLowOrder);
                }
                // checked before anything changes: `apply_appended` applies a pin in place
                if self.partners.contains_key(key) {
                    return Err(Error::ChainState);
                }
                self.partners.insert(*key, label.clone());
                self.partner_introducers.insert(*key, Self::introducer_of(role));
            }
            Body::UnpinPartner { key } => {
                self.partners.remove(key).ok_or(Error::ChainState)?;
                self.partner_introducers.remove(key);
            }
            Body::ReplaceAuthority { path, authority, kdf, pop, reconfirm, epoch, key_check, wraps } => {
                check_authority(authority)?;
                if let Some(k) = kdf {
                    check_kdf(k)?;
                }
                let kdf_bytes = kdf.as_ref().map_or(&[][..], |k| &k[..]);
                let msg =
                    possession_message(7, (*path).into(), &account, &authority.signing, &authority.sealing, kdf_bytes);
                check_pop(d, &authority.signing, &msg, pop)?;
                if self.key_in_use(&authority.signing, &authority.sealing) {
                    return Err(Error::ChainState);
                }
                // [CHAIN-14] what the replaced path enrolled, directly or through devices it enrolled,
                // stays only if re-confirmed here.
                let by_path = |id: &DeviceId| self.descends_from(id, |i| i == Introducer::Authority(*path));
                if reconfirm.iter().any(|id| !self.devices.contains_key(id) || !by_path(id)) {
                    return Err(Error::ChainState);
                }
                if d.cascade && self.devices.keys().any(|id| by_path(id) && !reconfirm.contains(id)) {
                    return Err(Error::ChainCascade);
                }
                if Some(*epoch) != self.epoch.checked_add(1) {
                    return Err(Error::ChainEpoch);
                }
                // [CHAIN-14] every epoch 0..=e+1, once, to the new sealing key; the new epoch, once,
                // to every active device and the other path; nothing to anyone else.
                let (to_new, to_rest): (Vec<&EpochWrap>, Vec<&EpochWrap>) =
                    wraps.iter().partition(|w| w.recipient == authority.sealing);
                let epochs: Vec<Epoch> = to_new.iter().map(|w| w.epoch).collect();
                let want: Vec<Epoch> = (0..=*epoch).collect();
                if epochs != want {
                    return Err(Error::ChainRecipients);
                }
                let other = match path {
                    UnlockPath::Recovery => UnlockPath::Password,
                    UnlockPath::Password => UnlockPath::Recovery,
                };
                let rest: BTreeSet<[u8; 32]> = self
                    .devices
                    .values()
                    .map(|d| d.x25519)
                    .chain(self.authorities.get(&other).map(|a| a.sealing))
                    .collect();
                self.check_new_epoch(*epoch, &to_rest, &rest)?;
                if let Some(k) = kdf {
                    self.password_kdf = *k;
                }
                if let Some(old) = self.authorities.insert(*path, *authority) {
                    self.retired.insert(old.signing);
                    self.retired_sealing.insert(old.sealing);
                }
                let me = Self::introducer_of(role);
                for id in reconfirm {
                    self.device_introducers.insert(*id, me);
                }
                self.epoch = *epoch;
                self.key_checks.push(*key_check);
            }
        }
        Ok(())
    }

    /// [CHAIN-20] steps 1 to 4 and the effect on devices and partners.
    fn apply_revoke(
        &mut self,
        position: u64,
        role: Role,
        revocations: &[super::statement::Revocation],
        unpin: &[[u8; 32]],
        reconfirm: &[Reconfirm],
        d: &Defences,
    ) -> Result<()> {
        let gone: BTreeSet<DeviceId> = revocations.iter().map(|r| r.device).collect();
        // 1. active, not the signer, and a last envelope exactly when the device wrote
        for r in revocations {
            if !self.devices.contains_key(&r.device)
                || role == Role::Device(r.device)
                || ((r.max_seq == 0) != (r.last_envelope == [0u8; 32]))
            {
                return Err(Error::ChainState);
            }
        }

        // 2. unpinned keys are pinned
        if unpin.iter().any(|k| !self.partners.contains_key(k)) {
            return Err(Error::ChainState);
        }
        // 3. re-confirmed items exist, stay, and were introduced by a revoked device
        let by_gone = |i: Option<&Introducer>| matches!(i, Some(Introducer::Device(x)) if gone.contains(x));
        for c in reconfirm {
            let ok = match c {
                Reconfirm::Device(id) => {
                    self.devices.contains_key(id) && !gone.contains(id) && by_gone(self.device_introducers.get(id))
                }
                Reconfirm::Partner(k) => {
                    self.partners.contains_key(k) && !unpin.contains(k) && by_gone(self.partner_introducers.get(k))
                }
            };
            if !ok {
                return Err(Error::ChainState);
            }
        }
        // 4. cascade: whatever a revoked device introduced is revoked, unpinned or re-confirmed
        if d.cascade {
            let orphan_device = self.devices.keys().any(|id| {
                !gone.contains(id)
                    && by_gone(self.device_introducers.get(id))
                    && !reconfirm.contains(&Reconfirm::Device(*id))
            });
            let orphan_partner = self.partners.keys().any(|k| {
                !unpin.contains(k)
                    && by_gone(self.partner_introducers.get(k))
                    && !reconfirm.contains(&Reconfirm::Partner(*k))
            });
            if orphan_device || orphan_partner {
                return Err(Error::ChainCascade);
            }
        }
        for r in revocations {
            if let Some(public) = self.devices.remove(&r.device) {
                self.revoked.insert(
                    r.device,
                    Revoked { public, max_seq: r.max_seq, at: position, last_envelope: r.last_envelope },
                );
            }
        }
        for k in unpin {
            self.partners.remove(k);
            self.partner_introducers.remove(k);
        }
        // A re-confirmed item's introducer becomes the first introducer on its chain that is not
        // revoked here: its origin (an unlock path, the genesis, a device that stays) is kept, and
        // no re-confirmation can make a chain of introducers loop.
        let surviving = |mut i: Introducer, me: &Self| {
            for _ in 0..=me.device_introducers.len() {
                match i {
                    Introducer::Device(x) if gone.contains(&x) => {
                        i = me.device_introducers.get(&x).copied().unwrap_or(Introducer::Genesis)
                    }
                    _ => break,
                }
            }
            i
        };
        let mut updates = Vec::new();
        for c in reconfirm {
            match c {
                Reconfirm::Device(id) => {
                    let i = surviving(self.device_introducers.get(id).copied().unwrap_or(Introducer::Genesis), self);
                    updates.push((*c, i));
                }
                Reconfirm::Partner(k) => {
                    let i = surviving(self.partner_introducers.get(k).copied().unwrap_or(Introducer::Genesis), self);
                    updates.push((*c, i));
                }
            };
        }
        // The revoked devices' own records go with them ([CHAIN-7]), after the walk above.
        for r in revocations {
            self.device_introducers.remove(&r.device);
        }
        for (c, i) in updates {
            match c {
                Reconfirm::Device(id) => self.device_introducers.insert(id, i),
                Reconfirm::Partner(k) => self.partner_introducers.insert(k, i),
            };
        }
        Ok(())
    }

    /// Whether the chain of introducers from `id` (its introducer, that one's introducer, …)
    /// reaches an introducer for which `hit` holds. Chains are acyclic (a re-confirmation is
    /// refused to a signer inside the cascade), and the walk is bounded by the device count. [CHAIN-20]
    fn descends_from(&self, id: &DeviceId, hit: impl Fn(Introducer) -> bool) -> bool {
        let mut cur = *id;
        for _ in 0..=self.device_introducers.len() {
            match self.device_introducers.get(&cur) {
                Some(i) if hit(*i) => return true,
                Some(Introducer::Device(next)) => cur = *next,
                _ => return false,
            }
        }
        false
    }

    /// Whether `path` enrolled the active device `id`, directly or through devices it enrolled. [CHAIN-14]
    pub fn enrolled_by_path(&self, id: &DeviceId, path: UnlockPath) -> bool {
        self.devices.contains_key(id) && self.descends_from(id, |i| i == Introducer::Authority(path))
    }

    /// Who introduced an active device ([CHAIN-20]).
    pub fn device_introducer(&self, id: &DeviceId) -> Option<Introducer> {
        self.devices.contains_key(id).then(|| self.device_introducers.get(id).copied()).flatten()
    }

    /// Who pinned a partner key ([CHAIN-20]).
    pub fn partner_introducer(&self, key: &[u8; 32]) -> Option<Introducer> {
        self.partner_introducers.get(key).copied()
    }

    /// The epoch in force at the statement whose hash is `head` (the head an
    /// envelope cites), and that statement's position; `None` if `head` is
    /// not in this chain. [CHAIN-3] [CHAIN-11]
    pub fn epoch_at_head(&self, head: &[u8; 32]) -> Option<(u64, Epoch)> {
        let pos = self.hashes.iter().position(|h| h == head)?;
        let mut epoch = 0;
        for s in self.statements.iter().take(pos + 1) {
            match &s.body {
                Body::RotateEpoch { epoch: e, .. }
                | Body::RevokeDevice { epoch: e, .. }
                | Body::ReplaceAuthority { epoch: e, .. } => epoch = *e,
                _ => {}
            }
        }
        Some((pos as u64, epoch))
    }

    /// Every verified head, with its position and the epoch in force there
    /// (what [`ChainState::epoch_at_head`] gives for it), in one pass over the
    /// chain: a sync looks up every listed item's head. [CHAIN-3] [CHAIN-11]
    pub fn head_epochs(&self) -> BTreeMap<[u8; 32], (u64, Epoch)> {
        let mut epoch = 0;
        let mut heads = BTreeMap::new();
        for (p, s) in (0u64..).zip(self.statements()) {
            if let Body::RotateEpoch { epoch: e, .. }
            | Body::RevokeDevice { epoch: e, .. }
            | Body::ReplaceAuthority { epoch: e, .. } = &s.body
            {
                epoch = *e;
            }
            if let Some(h) = self.hash_at(p) {
                heads.entry(h).or_insert((p, epoch));
            }
        }
        heads
    }

    /// The account id. [CHAIN-4]
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// The account fingerprint. [CHAIN-5]
    pub fn fingerprint(&self) -> String {
        account_fingerprint(&self.account)
    }

    /// Number of verified statements and the hash of the last. [CHAIN-3]
    pub fn head(&self) -> ChainHead {
        ChainHead { len: self.hashes.len() as u64, hash: self.hashes.last().copied().unwrap_or(GENESIS_PREV) }
    }

    /// The hash of the statement at `position`, if verified.
    pub fn hash_at(&self, position: u64) -> Option<[u8; 32]> {
        usize::try_from(position).ok().and_then(|p| self.hashes.get(p)).copied()
    }

    /// The verified statements, genesis first.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The verified statements' bytes, genesis first (what the server serves).
    pub fn encoded(&self) -> Vec<Vec<u8>> {
        self.encoded.clone()
    }

    /// The current key epoch. [CHAIN-11]
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The active devices.
    pub fn devices(&self) -> &BTreeMap<DeviceId, DevicePublic> {
        &self.devices
    }

    /// True when `id` is an active device.
    pub fn is_active(&self, id: &DeviceId) -> bool {
        self.devices.contains_key(id)
    }

    /// The keys of an active or revoked device (what a reader verifies a writer's signature with).
    pub fn device_key(&self, id: &DeviceId) -> Option<&DevicePublic> {
        self.devices.get(id).or_else(|| self.revoked.get(id).map(|r| &r.public))
    }

    /// Whether a write by `id` with writer sequence number `seq` may be
    /// accepted: any number from an active device, at most `max_seq` from a
    /// revoked one, nothing from a device the chain never added. [CHAIN-9]
    pub fn may_write(&self, id: &DeviceId, seq: u64) -> bool {
        self.devices.contains_key(id) || self.revoked.get(id).is_some_and(|r| seq <= r.max_seq)
    }

    /// The revoked devices with their sequence bounds. [CHAIN-9]
    pub fn revoked(&self) -> &BTreeMap<DeviceId, Revoked> {
        &self.revoked
    }

    /// The current keys of an unlock path. [CHAIN-13]
    pub fn authority(&self, path: UnlockPath) -> Option<&Authority> {
        self.authorities.get(&path)
    }

    /// The pinned partners with their labels. [CHAIN-15]
    pub fn partners(&self) -> &BTreeMap<[u8; 32], String> {
        &self.partners
    }

    /// True when `key` is a pinned partner key: the only keys (besides active
    /// devices) a data key may be wrapped to. [CHAIN-15]
    pub fn is_pinned(&self, key: &[u8; 32]) -> bool {
        self.partners.contains_key(key)
    }

    /// The key check the chain records for `epoch`, if that epoch exists. [CHAIN-16]
    pub fn key_check(&self, epoch: Epoch) -> Option<&[u8; 32]> {
        usize::try_from(epoch).ok().and_then(|e| self.key_checks.get(e))
    }

    /// Checks `umk` against the chain's key check for `epoch`, in constant
    /// time: [`Error::KeyCheck`] if it differs or the epoch does not exist. [CHAIN-16]
    pub fn check_umk(&self, epoch: Epoch, umk: &Umk) -> Result<()> {
        self.check_umk_with(epoch, umk, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::check_umk`] with some defences off (model checker only). [MODEL-5]
    pub fn check_umk_with(&self, epoch: Epoch, umk: &Umk, d: &Defences) -> Result<()> {
        self.check_umk_with_impl(epoch, umk, d)
    }
    }

    /// The body of `check_umk_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn check_umk_with_impl(&self, epoch: Epoch, umk: &Umk, d: &Defences) -> Result<()> {
        if !d.key_check {
            return Ok(()); // [MODEL-5] weakened: any UMK is taken
        }
        umk.check(epoch, self.key_check(epoch).ok_or(Error::KeyCheck)?)
    }

    /// The password path's pinned `kdf_encoding` (salt and parameters). [CHAIN-18]
    pub fn password_kdf(&self) -> &[u8; KDF_LEN] {
        &self.password_kdf
    }

    /// [CHAIN-18] what a device that holds this chain runs on the salt and
    /// parameters the server serves, before running Argon2id: anything but
    /// the pinned `kdf_encoding` is [`Error::KdfNotPinned`].
    ///
    /// ```
    /// # use blindsync::chain::{ChainState, create_account};
    /// # use blindsync::device::DeviceKeys;
    /// # use blindsync::primitives::SeededRng;
    /// # use blindsync::unlock::{password::{KdfParams, PasswordKdf}, recovery::RecoveryCode};
    /// # let mut rng = SeededRng::from_label("doc-kdf");
    /// # let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    /// # let acct = create_account(&DeviceKeys::generate(&mut rng), &RecoveryCode::generate(&mut rng).derive(),
    /// #     &kdf.derive(b"pw")?, &kdf, &mut rng)?;
    /// acct.state.check_served_kdf(&kdf.encode())?;
    /// let common_salt = PasswordKdf { salt: [0; 16], ..kdf };
    /// assert_eq!(acct.state.check_served_kdf(&common_salt.encode()), Err(blindsync::Error::KdfNotPinned));
    /// # Ok::<(), blindsync::Error>(())
    /// ```
    pub fn check_served_kdf(&self, served: &[u8]) -> Result<()> {
        self.check_served_kdf_with(served, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::check_served_kdf`] under the model's switches: with
    /// `kdf_pin` off any served salt and parameters pass, so the device runs
    /// Argon2id on the server's salt and sends the resulting `auth` (finding
    /// M3, the data-path model's `salt-substitution`). [CHAIN-18] [MODEL-5]
    pub fn check_served_kdf_with(&self, served: &[u8], d: &Defences) -> Result<()> {
        self.check_served_kdf_with_impl(served, d)
    }
    }

    /// The body of `check_served_kdf_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn check_served_kdf_with_impl(&self, served: &[u8], d: &Defences) -> Result<()> {
        if !d.kdf_pin || crate::primitives::ct_eq(served, &self.password_kdf) {
            Ok(())
        } else {
            Err(Error::KdfNotPinned)
        }
    }

    /// The add-device statement that installed `id`'s keys, and the epoch
    /// in force just before it. [DEV-6]
    pub fn installation(&self, id: &DeviceId) -> Option<(&Statement, Epoch)> {
        let mut epoch: Epoch = 0;
        for s in &self.statements {
            match &s.body {
                Body::RotateEpoch { epoch: e, .. }
                | Body::RevokeDevice { epoch: e, .. }
                | Body::ReplaceAuthority { epoch: e, .. } => epoch = *e,
                Body::AddDevice { device, .. } if device.id() == *id => return Some((s, epoch)),
                _ => {}
            }
        }
        None
    }

    /// Opens every epoch wrap in the chain addressed to `key`'s public key
    /// and checks each UMK against its epoch's key check: the UMKs this key
    /// may hold. [CHAIN-12] [CHAIN-16]
    pub fn open_epoch_umks(&self, key: &HpkeSecretKey) -> Result<BTreeMap<Epoch, Umk>> {
        self.open_epoch_umks_with(key, &Defences::ALL)
    }

    danger_api! {
    /// [`ChainState::open_epoch_umks`] with some defences off (model checker only). [MODEL-5]
    pub fn open_epoch_umks_with(&self, key: &HpkeSecretKey, d: &Defences) -> Result<BTreeMap<Epoch, Umk>> {
        self.open_epoch_umks_with_impl(key, d)
    }
    }

    /// The body of `open_epoch_umks_with`, outside `danger_api!` so that cargo-mutants mutates it.
    fn open_epoch_umks_with_impl(&self, key: &HpkeSecretKey, d: &Defences) -> Result<BTreeMap<Epoch, Umk>> {
        let pk = key.public_key();
        let mut out = BTreeMap::new();
        for s in &self.statements {
            let wraps = match &s.body {
                Body::RotateEpoch { wraps, .. }
                | Body::RevokeDevice { wraps, .. }
                | Body::ReplaceAuthority { wraps, .. } => wraps,
                _ => continue,
            };
            for w in wraps.iter().filter(|w| w.recipient == pk) {
                let umk = open_epoch_wrap(&self.account, w, key)?;
                self.check_umk_with(w.epoch, &umk, d)?;
                out.insert(w.epoch, umk);
            }
        }
        Ok(out)
    }
}

/// Who may sign what (the table of spec 8.3). [CHAIN-6]
pub fn authorize(role: Role, body: &Body) -> Result<()> {
    let ok = match (role, body) {
        (_, Body::Genesis { .. }) => false,
        // [CHAIN-6] an unlock path is replaced only by an unlock path (its own or the other).
        (Role::Device(_), Body::ReplaceAuthority { .. }) => false,
        (Role::Device(_), _) => true,
        (Role::Authority(_), Body::AddDevice { .. }) => true,
        // The recovery path is the root: it replaces either path; the password replaces only itself.
        (Role::Authority(UnlockPath::Recovery), Body::ReplaceAuthority { .. }) => true,
        (Role::Authority(UnlockPath::Password), Body::ReplaceAuthority { path: UnlockPath::Password, .. }) => true,
        _ => false,
    };
    if ok { Ok(()) } else { Err(Error::ChainNotAuthorized) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{UnlockPathKeys, approve_device, extend, replace_authority, revoke_and_rotate, rotate};
    use crate::device::DeviceKeys;
    use crate::keys::Kek;
    use crate::primitives::SeededRng;
    use crate::unlock::AuthoritySeed;
    use proptest::prelude::*;

    fn path(rng: &mut SeededRng, path: UnlockPath) -> UnlockPathKeys {
        let kdf_binding = match path {
            UnlockPath::Recovery => Vec::new(),
            UnlockPath::Password => {
                use crate::unlock::password::{KdfParams, PasswordKdf};
                PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) }.encode()
            }
        };
        UnlockPathKeys {
            path,
            authority: AuthoritySeed::random(rng),
            sealing: HpkeSecretKey::random(rng),
            kek: Kek::random(rng),
            kdf_binding,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        // [CHAIN-7] [CHAIN-8] [CHAIN-10] [CHAIN-11] [CHAIN-12] random operation sequences:
        // re-verification from genesis gives the same state, every prefix updates to it,
        // any shorter chain is a rollback, and every device holds exactly the epochs it was
        // active for (a revoked device never gets a later epoch).
        #[test]
        fn random_histories(seed in any::<[u8; 32]>(), ops in proptest::collection::vec(0u8..6, 1..10)) {
            let mut rng = SeededRng::from_seed(seed);
            let a = DeviceKeys::generate(&mut rng);
            let rec = path(&mut rng, UnlockPath::Recovery);
            let mut pw = path(&mut rng, UnlockPath::Password);
            let umk0 = Umk::random(&mut rng);
            let g = crate::chain::genesis(&a, &rec, &pw, &umk0).unwrap();
            let mut st = ChainState::from_genesis(&g).unwrap();
            let mut umks = BTreeMap::from([(0, umk0)]);
            // (keys, first epoch held, revoked at epoch)
            let mut devs: Vec<(DeviceKeys, Epoch, Option<Epoch>)> = vec![(a.clone(), 0, None)];
            let mut partner: Option<[u8; 32]> = None;
            for op in ops {
                match op {
                    0 => {
                        let n = DeviceKeys::generate(&mut rng);
                        st = approve_device(&st, &a, &n.pending(&st.account()), &umks, &mut rng).unwrap().state;
                        devs.push((n, st.epoch(), None));
                    }
                    1 => {
                        if let Some(d) = devs.iter_mut().skip(1).find(|d| d.2.is_none()) {
                            let r = revoke_and_rotate(&st, &a, &d.0.id(), 5, [5; 32], &mut rng).unwrap();
                            d.2 = Some(r.state.epoch());
                            umks.insert(r.state.epoch(), r.umk);
                            st = r.state;
                        }
                    }
                    2 => {
                        let r = rotate(&st, &a, &mut rng).unwrap();
                        umks.insert(r.state.epoch(), r.umk);
                        st = r.state;
                    }
                    3 => {
                        let key = HpkeSecretKey::random(&mut rng).public_key();
                        if let Some(p) = partner.take() {
                            st = extend(&st, Body::UnpinPartner { key: p }, &a).unwrap().1;
                        }
                        st = extend(&st, Body::PinPartner { key, label: "p".into() }, &a).unwrap().1;
                        partner = Some(key);
                    }
                    4 => {
                        let new = path(&mut rng, UnlockPath::Password);
                        let r = replace_authority(&st, &rec.authority, &new, &crate::chain::enrolled_by(&st, new.path), &umks, &mut rng).unwrap();
                        umks.insert(r.state.epoch(), r.umk);
                        st = r.state;
                        pw = new;
                    }
                    _ => {
                        // A refused statement changes nothing.
                        let before = st.clone();
                        let bad = next_unsigned_by_stranger(&st, &mut rng);
                        prop_assert_eq!(st.append(&bad), Err(Error::ChainSignerUnknown));
                        prop_assert_eq!(&st, &before);
                    }
                }
            }
            let enc = st.encoded();
            prop_assert_eq!(&ChainState::verify(&enc).unwrap(), &st);
            for cut in 1..enc.len() {
                let mut s = ChainState::verify(&enc[..cut]).unwrap();
                s.update(&enc).unwrap();
                prop_assert_eq!(&s, &st);
                let mut full = st.clone();
                prop_assert_eq!(full.update(&enc[..cut]), Err(Error::ChainRollback));
            }
            prop_assert_eq!(partner.map(|p| st.is_pinned(&p)), partner.map(|_| true));
            // Epoch wraps: devices hold every epoch after they joined, until revoked.
            for (keys, joined, revoked_at) in &devs {
                let got = st.open_epoch_umks(keys.hpke_key()).unwrap();
                for e in 1..=st.epoch() {
                    let should = e > *joined && revoked_at.is_none_or(|r| e < r);
                    prop_assert_eq!(got.contains_key(&e), should, "epoch {}", e);
                    if let Some(u) = got.get(&e) {
                        prop_assert!(*u == umks[&e]);
                    }
                }
            }
            let pw_umks = st.open_epoch_umks(&pw.sealing).unwrap();
            for e in 1..=st.epoch() {
                prop_assert!(pw_umks.get(&e).is_some_and(|u| *u == umks[&e]));
            }
        }
    }

    fn next_unsigned_by_stranger(st: &ChainState, rng: &mut SeededRng) -> Vec<u8> {
        let s = DeviceKeys::generate(rng);
        let body = Body::AddDevice {
            device: s.public(),
            pop: crate::chain::device_possession(&s, &st.account()),
            bundle_commit: crate::chain::NO_BUNDLE,
        };
        crate::chain::next_statement(st, body, &s).encode()
    }
}
