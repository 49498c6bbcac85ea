//! The account chain (spec chapter 8, `spec/08-chain.md`): statements,
//! verification, pairing, enrollment, revocation and epoch rotation.
//!
//! ```
//! use blindsync::chain::{ChainState, approve_device, accept_pairing, create_account};
//! use blindsync::device::DeviceKeys;
//! use blindsync::primitives::SeededRng;
//! use blindsync::unlock::{password::PasswordKdf, recovery::RecoveryCode};
//! # use blindsync::unlock::password::KdfParams;
//! let mut rng = SeededRng::from_label("doc");
//! let first = DeviceKeys::generate(&mut rng);
//! let recovery = RecoveryCode::generate(&mut rng).derive();
//! let kdf = PasswordKdf::generate(&mut rng);
//! # let kdf = PasswordKdf { params: KdfParams::FLOOR, ..kdf };
//! let password = kdf.derive(b"hunter2 but longer")?;
//! let acct = create_account(&first, &recovery, &password, &kdf, &mut rng)?;
//! let second = DeviceKeys::generate(&mut rng);
//! // The new device signs its proof of possession and registers as pending;
//! // the approver got its keys out of band (QR code or pairing code).
//! let pending = second.pending(&acct.state.account());
//! let approval = approve_device(&acct.state, &first, &pending, &acct.umks(), &mut rng)?;
//! let (state, umks) =
//!     accept_pairing(&second, &acct.state.account(), &first.id(), &approval.bundle_wrap, &approval.state.encoded())?;
//! assert_eq!(state, approval.state);
//! assert!(umks[&0] == acct.umk);
//! # Ok::<(), blindsync::Error>(())
//! ```

pub mod statement;
pub mod verify;

use std::collections::BTreeMap;

pub use statement::{
    Authority, Body, ChainSigner, EpochWrap, MAX_CHAIN_LEN, NO_BUNDLE, Pop, PopRole, Reconfirm, Revocation, Statement,
    UnlockPath, bundle_commit, possession_message,
};
pub use verify::{
    ChainState, Introducer, Revoked, Role, account_fingerprint, account_fingerprint_digest, account_id,
    partner_fingerprint, partner_fingerprint_digest,
};

use crate::defences::Defences;
use crate::device::{ChainHead, DeviceId, DeviceKeys, DevicePublic, IdentityBundle, open_bundle, wrap_bundle};
use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::hpke::{self, HpkeSecretKey};
use crate::keys::{AccountId, Epoch, Kek, Umk};
use crate::labels;
use crate::primitives::{CryptoRng, hkdf_expand32};
use crate::unlock::AuthoritySeed;
use crate::unlock::password::{PasswordKdf, PasswordKeys};
use crate::unlock::recovery::RecoveryKeys;
use crate::unlock::wrap::{UMK_WRAP_LEN, UmkWrapContext, WrapKind, unwrap_umk, wrap_umk};

/// What an unlock path derives that the chain needs: its authority key, its
/// sealing key and its KEK. [CHAIN-13]
pub struct UnlockPathKeys {
    /// Which path.
    pub path: UnlockPath,
    /// The Ed25519 authority key.
    pub authority: AuthoritySeed,
    /// The X25519 sealing key: `HKDF-Expand(PRK, enc(<PATH>_SEALING), 32)`.
    pub sealing: HpkeSecretKey,
    /// The KEK of the chapter 5 UMK wraps.
    pub kek: Kek,
    /// The wrap AAD's KDF binding (empty for recovery).
    pub kdf_binding: Vec<u8>,
}

impl UnlockPathKeys {
    /// From the recovery code's derivation. [CHAIN-13]
    pub fn from_recovery(k: &RecoveryKeys) -> Self {
        let sealing = hkdf_expand32(&k.prk, &Encoder::new(labels::RECOVERY_SEALING).finish());
        UnlockPathKeys {
            path: UnlockPath::Recovery,
            authority: AuthoritySeed::from_bytes(*k.authority.expose()),
            sealing: HpkeSecretKey::from_bytes(*sealing.expose()),
            kek: Kek::from_bytes(*k.kek.expose()),
            kdf_binding: Vec::new(),
        }
    }

    /// From the password's derivation and the KDF it was derived with. [CHAIN-13]
    pub fn from_password(k: &PasswordKeys, kdf: &PasswordKdf) -> Self {
        let sealing = hkdf_expand32(&k.prk, &Encoder::new(labels::PASSWORD_SEALING).finish());
        UnlockPathKeys {
            path: UnlockPath::Password,
            authority: AuthoritySeed::from_bytes(*k.authority.expose()),
            sealing: HpkeSecretKey::from_bytes(*sealing.expose()),
            kek: Kek::from_bytes(*k.kek.expose()),
            kdf_binding: kdf.encode(),
        }
    }

    /// The public keys the chain records.
    pub fn public(&self) -> Authority {
        Authority { signing: self.authority.public_key(), sealing: self.sealing.public_key() }
    }

    /// The `kdf` field of this path's chain statements: the password's
    /// `kdf_encoding`, nothing for the recovery path. [CHAIN-18]
    pub fn chain_kdf(&self) -> Option<[u8; statement::KDF_LEN]> {
        match self.path {
            UnlockPath::Recovery => None,
            UnlockPath::Password => self.kdf_binding.as_slice().try_into().ok(),
        }
    }

    /// This authority's proof of possession for a statement of `kind`
    /// anchored at `anchor` (the account id; the genesis device's id for a genesis). [CHAIN-17]
    pub fn possession(&self, kind: u8, anchor: &[u8; 32]) -> Pop {
        let a = self.public();
        let kdf = self.chain_kdf();
        let msg = possession_message(
            kind,
            self.path.into(),
            anchor,
            &a.signing,
            &a.sealing,
            kdf.as_ref().map_or(&[][..], |k| &k[..]),
        );
        self.authority.sign_message(&msg)
    }

    /// The chapter 5 wrap of `umk0` under this path's KEK for `account`:
    /// what the server stores for enrollment ([CHAIN-14] MUST). [WRAP-1]
    pub fn wrap_umk0<R: CryptoRng + ?Sized>(
        &self,
        account: AccountId,
        umk0: &Umk,
        rng: &mut R,
    ) -> Result<[u8; UMK_WRAP_LEN]> {
        wrap_umk(&self.kek, umk0, &self.wrap_context(account, 0), rng)
    }

    /// The chapter 5 wrap context of this path for `epoch`.
    pub fn wrap_context(&self, account: AccountId, epoch: Epoch) -> UmkWrapContext {
        let kind = match self.path {
            UnlockPath::Recovery => WrapKind::Recovery,
            UnlockPath::Password => WrapKind::Password,
        };
        UmkWrapContext { account, epoch, kind, kdf_binding: self.kdf_binding.clone() }
    }
}

/// Builds and signs the next statement at the head of `state`. [CHAIN-2]
pub fn next_statement(state: &ChainState, body: Body, signer: &dyn ChainSigner) -> Statement {
    let head = state.head();
    Statement::sign(head.len, head.hash, body, signer)
}

/// Signs the next statement and appends it to a copy of `state`.
pub fn extend(state: &ChainState, body: Body, signer: &dyn ChainSigner) -> Result<(Vec<u8>, ChainState)> {
    let bytes = next_statement(state, body, signer).encode();
    let mut next = state.clone();
    next.append(&bytes)?;
    Ok((bytes, next))
}

/// HPKE-wraps `umk` of `epoch` to `recipient`. [CHAIN-12]
pub fn epoch_wrap<R: CryptoRng + ?Sized>(
    account: &AccountId,
    epoch: Epoch,
    recipient: &[u8; 32],
    umk: &Umk,
    rng: &mut R,
) -> Result<EpochWrap> {
    let aad = verify::epoch_wrap_aad(account, epoch, recipient);
    let (enc, ct) = hpke::seal(recipient, &verify::epoch_wrap_info(), &aad, umk.expose(), rng)?;
    let ct = ct.try_into().map_err(|_| Error::HpkeOpen)?;
    Ok(EpochWrap { recipient: *recipient, epoch, enc, ct })
}

/// A new account: its chain, epoch-0 UMK and the chapter 5 wraps of that UMK
/// under both unlock paths' KEKs (which the server stores).
pub struct NewAccount {
    /// The chain (genesis only).
    pub state: ChainState,
    /// The genesis bytes.
    pub genesis: Vec<u8>,
    /// UMK of epoch 0.
    pub umk: Umk,
    /// UMK_0 under the recovery KEK.
    pub recovery_wrap: [u8; UMK_WRAP_LEN],
    /// UMK_0 under the password KEK.
    pub password_wrap: [u8; UMK_WRAP_LEN],
}

impl NewAccount {
    /// The UMKs the first device holds.
    pub fn umks(&self) -> BTreeMap<Epoch, Umk> {
        BTreeMap::from([(0, self.umk.clone())])
    }
}

/// Creates an account: genesis signed by the first device, a fresh UMK_0,
/// and its wraps under the recovery and password KEKs. [CHAIN-8] [CHAIN-13]
pub fn create_account<R: CryptoRng + ?Sized>(
    device: &DeviceKeys,
    recovery: &RecoveryKeys,
    password: &PasswordKeys,
    kdf: &PasswordKdf,
    rng: &mut R,
) -> Result<NewAccount> {
    let rec = UnlockPathKeys::from_recovery(recovery);
    let pw = UnlockPathKeys::from_password(password, kdf);
    let umk = Umk::random(rng);
    let genesis = genesis(device, &rec, &pw, &umk)?;
    let state = ChainState::from_genesis(&genesis)?;
    let account = state.account();
    let recovery_wrap = wrap_umk(&rec.kek, &umk, &rec.wrap_context(account, 0), rng)?;
    let password_wrap = wrap_umk(&pw.kek, &umk, &pw.wrap_context(account, 0), rng)?;
    Ok(NewAccount { state, genesis, umk, recovery_wrap, password_wrap })
}

/// A device waiting to be approved: its public keys and its proof of
/// possession for the account it joins, as the server relays them. [CHAIN-17]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PendingDevice {
    /// The device's public keys.
    pub public: DevicePublic,
    /// Its proof of possession ([`device_possession`]).
    pub pop: Pop,
}

/// The proof of possession a new device signs for `account` before it
/// registers as pending: `pop_msg` of kind 2, role device, anchored at the account id. [CHAIN-17]
pub fn device_possession(me: &DeviceKeys, account: &AccountId) -> Pop {
    let p = me.public();
    me.sign(&possession_message(2, PopRole::Device, &account.0, &p.ed25519, &p.x25519, &[]))
}

impl DeviceKeys {
    /// This device as a pending registration for `account`, with its proof
    /// of possession. [CHAIN-17]
    pub fn pending(&self, account: &AccountId) -> PendingDevice {
        PendingDevice { public: self.public(), pop: device_possession(self, account) }
    }
}

/// The genesis statement of a new account, signed by its first device, with
/// both authorities' proofs of possession (anchored on the rest of the genesis), the
/// password's KDF parameters and `key_check_0` of `umk0`. [CHAIN-8] [CHAIN-16] [CHAIN-17] [CHAIN-18]
pub fn genesis(device: &DeviceKeys, rec: &UnlockPathKeys, pw: &UnlockPathKeys, umk0: &Umk) -> Result<Vec<u8>> {
    let password_kdf = pw.chain_kdf().ok_or(Error::DecodeLength)?;
    let key_check = umk0.key_check(0);
    let anchor = statement::genesis_anchor(&device.public(), &rec.public(), &pw.public(), &password_kdf, 0, &key_check);
    let body = Body::Genesis {
        device: device.public(),
        recovery: rec.public(),
        recovery_pop: rec.possession(1, &anchor),
        password: pw.public(),
        password_kdf,
        password_pop: pw.possession(1, &anchor),
        epoch: 0,
        key_check,
    };
    Ok(Statement::sign(0, statement::GENESIS_PREV, body, device).encode())
}

/// What an approving device produces for a new device.
pub struct Approval {
    /// The add-device statement (to append on the server).
    pub statement: Vec<u8>,
    /// The approver's chain after it.
    pub state: ChainState,
    /// The identity bundle, HPKE-wrapped to the new device (to store on the server).
    pub bundle_wrap: Vec<u8>,
}

/// Approves a pending device whose keys came out of band (pairing payload or
/// a matching pairing code): checks its proof of possession, seals the
/// identity bundle, and appends an add-device statement that commits to the
/// sealed bundle. [DEV-5] [CHAIN-6] [CHAIN-17]
///
/// `umks` must hold every epoch from 0 to the current one.
pub fn approve_device<R: CryptoRng + ?Sized>(
    state: &ChainState,
    approver: &DeviceKeys,
    new: &PendingDevice,
    umks: &BTreeMap<Epoch, Umk>,
    rng: &mut R,
) -> Result<Approval> {
    let account = state.account();
    new.public.check()?;
    let p = &new.public;
    statement::verify_possession(
        &p.ed25519,
        &possession_message(2, PopRole::Device, &account.0, &p.ed25519, &p.x25519, &[]),
        &new.pop,
    )?;
    let mut live = BTreeMap::new();
    for e in 0..=state.epoch() {
        live.insert(e, umks.get(&e).ok_or(Error::KeyCheck)?.clone());
    }
    let bundle_wrap = wrap_bundle(&IdentityBundle { account, umks: live }, &new.public, rng)?;
    let body = Body::AddDevice { device: new.public, pop: new.pop, bundle_commit: bundle_commit(&bundle_wrap) };
    let (statement, next) = extend(state, body, approver)?;
    Ok(Approval { statement, state: next, bundle_wrap })
}

/// The new device's side, in the order of [DEV-6]: verifies the chain from
/// genesis, finds its own add-device statement, checks that the bundle is
/// the one it commits to, opens it, and checks every UMK (the bundle's and
/// the chain's wraps to this device) against the chain's key checks.
///
/// The caller then shows [`ChainState::fingerprint`] for comparison.
///
/// `approver` is the device the account holder approved on, as the new device
/// learnt it from the comparison ([`pairing_approver`], [DEV-4]): the
/// add-device statement must be signed by it, so that no other key the chain
/// ever authorized (a device revoked on the real chain, on a fork the server
/// serves) can install this device.
pub fn accept_pairing(
    me: &DeviceKeys,
    account: &AccountId,
    approver: &DeviceId,
    bundle_wrap: &[u8],
    chain: &[Vec<u8>],
) -> Result<(ChainState, BTreeMap<Epoch, Umk>)> {
    accept_pairing_with(me, account, approver, bundle_wrap, chain, &Defences::ALL)
}

danger_api! {
/// [`accept_pairing`] with some defences off (model checker only). [MODEL-5]
pub fn accept_pairing_with(
    me: &DeviceKeys,
    account: &AccountId,
    approver: &DeviceId,
    bundle_wrap: &[u8],
    chain: &[Vec<u8>],
    d: &Defences,
) -> Result<(ChainState, BTreeMap<Epoch, Umk>)> {
    let state = ChainState::verify_with(chain, d)?;
    if state.account() != *account {
        return Err(Error::ChainGenesis);
    }
    if !state.is_active(&me.id()) {
        return Err(Error::DeviceKeyMismatch);
    }
    let (installed, epoch) = state.installation(&me.id()).ok_or(Error::DeviceKeyMismatch)?;
    let Body::AddDevice { bundle_commit: commit, .. } = &installed.body else {
        return Err(Error::DeviceKeyMismatch);
    };
    // [DEV-6] step 4: signed by the approver the person compared with, and committing to this
    // bundle; both checked before opening.
    let by_approver = state.device_key(approver).is_some_and(|k| k.ed25519 == installed.signer);
    if d.bundle_commit && !(by_approver && crate::primitives::ct_eq(commit, &bundle_commit(bundle_wrap))) {
        return Err(Error::DeviceBundle);
    }
    let bundle = open_bundle(me, account, bundle_wrap)?;
    // [DEV-6] step 6: exactly epochs 0..=e, each matching its key check.
    if d.key_check && !bundle.umks.keys().copied().eq(0..=epoch) {
        return Err(Error::KeyCheck);
    }
    for (e, umk) in &bundle.umks {
        state.check_umk_with(*e, umk, d)?;
    }
    let mut umks = bundle.umks;
    umks.extend(state.open_epoch_umks_with(me.hpke_key(), d)?);
    Ok((state, umks))
}
}

/// The pairing code as the new device shows it. [DEV-4]
///
/// The new device first verifies the served chain from genesis and shows its
/// account fingerprint; the approver must be an active device of that chain
/// (else [`Error::ChainSignerUnknown`]), so the server cannot vary the
/// approver's keys to search for a colliding code on both sides.
pub fn pairing_code_for_new_device(state: &ChainState, approver: &DeviceId, me: &DevicePublic) -> Result<String> {
    let a = state.devices().get(approver).ok_or(Error::ChainSignerUnknown)?;
    Ok(crate::device::pairing_code(&state.account(), a, me))
}

/// The approver, as the new device finds it from the pairing code the
/// approver shows ([DEV-4]): scanned as its QR form, it must equal the code
/// this device computes over one active device of the verified chain and its
/// own keys; that device is the approver. Anything else is
/// [`Error::CompareMismatch`] (or the QR decoding errors of [CHAIN-19]).
pub fn pairing_approver(state: &ChainState, me: &DevicePublic, scanned: &[u8]) -> Result<DeviceId> {
    let got = crate::device::ComparisonQr::decode(scanned)?;
    let account = state.account();
    state
        .devices()
        .iter()
        .find(|(_, a)| {
            let mine = crate::device::ComparisonQr {
                kind: crate::device::ComparisonKind::Pairing,
                digest: crate::device::pairing_code_digest(&account, a, me),
            };
            got.matches(&mine).is_ok()
        })
        .map(|(id, _)| *id)
        .ok_or(Error::CompareMismatch)
}

/// [CHAIN-10] a chain a device accepts must contain the head it was given.
pub fn check_extends(state: &ChainState, head: &ChainHead) -> Result<()> {
    if state.head().len < head.len {
        return Err(Error::ChainRollback);
    }
    match head.len.checked_sub(1).and_then(|p| state.hash_at(p)) {
        Some(h) if h == head.hash => Ok(()),
        _ => Err(Error::ChainFork),
    }
}

/// Enrollment with one unlock path only, in the order of [CHAIN-13]: the
/// password's pinned KDF, the derived authority current in `state` (which
/// the caller verified from genesis), UMK_0 from the chapter 5 wrap bound to
/// this account and checked against `key_check_0`, every later epoch from
/// the chain's wraps to the path's sealing key, then an add-device statement
/// for `me` signed by the path's authority.
pub fn enroll(
    state: &ChainState,
    keys: &UnlockPathKeys,
    epoch0_wrap: &[u8],
    me: &DeviceKeys,
) -> Result<(Vec<u8>, ChainState, BTreeMap<Epoch, Umk>)> {
    enroll_with(state, keys, epoch0_wrap, me, &Defences::ALL)
}

danger_api! {
/// [`enroll`] with some defences off (model checker only). [MODEL-5]
pub fn enroll_with(
    state: &ChainState,
    keys: &UnlockPathKeys,
    epoch0_wrap: &[u8],
    me: &DeviceKeys,
    d: &Defences,
) -> Result<(Vec<u8>, ChainState, BTreeMap<Epoch, Umk>)> {
    let umks = unlock_with(state, keys, epoch0_wrap, d)?;
    let account = state.account();
    let body = Body::AddDevice { device: me.public(), pop: device_possession(me, &account), bundle_commit: NO_BUNDLE };
    let bytes = next_statement(state, body, &keys.authority).encode();
    let mut next = state.clone();
    next.append_with(&bytes, d)?;
    Ok((bytes, next, umks))
}
}

/// A device that holds the chain unlocks with the password: the salt and
/// parameters the server served are compared with the chain's pin *before*
/// Argon2id runs ([CHAIN-18], [`Error::KdfNotPinned`]), then the password
/// path's UMKs are collected as in [`unlock_with`].
pub fn unlock_password(
    state: &ChainState,
    served_kdf: &[u8],
    password: &[u8],
    epoch0_wrap: &[u8],
) -> Result<BTreeMap<Epoch, Umk>> {
    state.check_served_kdf(served_kdf)?;
    let kdf = PasswordKdf::decode(served_kdf)?;
    let keys = UnlockPathKeys::from_password(&kdf.derive(password)?, &kdf);
    unlock_with(state, &keys, epoch0_wrap, &Defences::ALL)
}

danger_api! {
/// Steps 3 to 6 of [CHAIN-13]: the UMKs an unlock path reaches in a chain,
/// each checked against the chain. A device that holds the chain and
/// unlocks with a path runs exactly this.
pub fn unlock_with(
    state: &ChainState,
    keys: &UnlockPathKeys,
    epoch0_wrap: &[u8],
    d: &Defences,
) -> Result<BTreeMap<Epoch, Umk>> {
    // [CHAIN-18] step 3: the salt and parameters used are the chain's.
    if d.kdf_pin && keys.path == UnlockPath::Password && keys.kdf_binding.as_slice() != state.password_kdf() {
        return Err(Error::KdfNotPinned);
    }
    // Step 4: the derived authority is this path's current one.
    let mine = keys.public();
    if state.authority(keys.path) != Some(&mine) {
        return Err(match state.role_of(&mine.signing) {
            Err(e) => e,
            Ok(_) => Error::ChainSignerUnknown,
        });
    }
    // Step 5: UMK_0 from the chapter 5 wrap bound to this account, checked.
    let umk0 = unwrap_umk(&keys.kek, epoch0_wrap, &keys.wrap_context(state.account(), 0))?;
    state.check_umk_with(0, &umk0, d)?;
    // Step 6: every epoch wrap to the path's sealing key, checked.
    let mut umks = state.open_epoch_umks_with(&keys.sealing, d)?;
    umks.entry(0).or_insert(umk0);
    Ok(umks)
}
}

/// The result of a statement that starts an epoch (rotate, revoke, replace authority).
pub struct Rotation {
    /// The statement to append (one).
    pub statements: Vec<Vec<u8>>,
    /// The chain after it.
    pub state: ChainState,
    /// The new epoch's UMK.
    pub umk: Umk,
}

/// A fresh UMK for epoch `e + 1` wrapped to each of `recipients` (sorted
/// canonically), and its key check. [CHAIN-11] [CHAIN-16]
fn new_epoch<R: CryptoRng + ?Sized>(
    state: &ChainState,
    recipients: &[[u8; 32]],
    rng: &mut R,
) -> Result<(Epoch, Umk, Vec<EpochWrap>)> {
    let epoch = state.epoch().checked_add(1).ok_or(Error::ChainEpoch)?;
    let umk = Umk::random(rng);
    let account = state.account();
    let wraps = recipients.iter().map(|r| epoch_wrap(&account, epoch, r, &umk, rng)).collect::<Result<Vec<_>>>()?;
    Ok((epoch, umk, wraps))
}

fn path_sealing_keys(state: &ChainState) -> Vec<[u8; 32]> {
    [UnlockPath::Recovery, UnlockPath::Password].iter().filter_map(|p| state.authority(*p).map(|a| a.sealing)).collect()
}

/// Starts epoch e+1: a fresh UMK wrapped to every active device and to both
/// unlock paths' sealing keys. [CHAIN-11]
pub fn rotate<R: CryptoRng + ?Sized>(state: &ChainState, signer: &DeviceKeys, rng: &mut R) -> Result<Rotation> {
    let mut recipients: Vec<[u8; 32]> = state.devices().values().map(|d| d.x25519).collect();
    recipients.extend(path_sealing_keys(state));
    let (epoch, umk, mut wraps) = new_epoch(state, &recipients, rng)?;
    statement::sort_wraps(&mut wraps);
    let key_check = umk.key_check(epoch); // [CHAIN-16]
    let (bytes, next) = extend(state, Body::RotateEpoch { epoch, key_check, wraps }, signer)?;
    Ok(Rotation { statements: vec![bytes], state: next, umk })
}

/// Revokes devices and starts a new epoch in one statement, unpinning and
/// re-confirming what the revoked devices introduced ([CHAIN-20]). The
/// lists may be in any order; they are sorted here.
pub fn revoke<R: CryptoRng + ?Sized>(
    state: &ChainState,
    signer: &DeviceKeys,
    mut revocations: Vec<Revocation>,
    mut unpin: Vec<[u8; 32]>,
    mut reconfirm: Vec<Reconfirm>,
    rng: &mut R,
) -> Result<Rotation> {
    revocations.sort_by_key(|r| r.device);
    unpin.sort();
    reconfirm.sort();
    let gone: Vec<DeviceId> = revocations.iter().map(|r| r.device).collect();
    let mut recipients: Vec<[u8; 32]> =
        state.devices().iter().filter(|(id, _)| !gone.contains(id)).map(|(_, d)| d.x25519).collect();
    recipients.extend(path_sealing_keys(state));
    let (epoch, umk, mut wraps) = new_epoch(state, &recipients, rng)?;
    statement::sort_wraps(&mut wraps);
    let key_check = umk.key_check(epoch);
    let body = Body::RevokeDevice { revocations, unpin, reconfirm, epoch, key_check, wraps };
    let (bytes, next) = extend(state, body, signer)?;
    Ok(Rotation { statements: vec![bytes], state: next, umk })
}

/// Revokes `target` (accepting its writes up to `max_seq`, the one at
/// `max_seq` being `last_envelope`) and starts a new epoch in one statement;
/// the partners `target` pinned are unpinned with it. A device `target`
/// added must be decided on by the caller ([`revoke`]): here it is
/// [`Error::ChainCascade`]. [CHAIN-20]
pub fn revoke_and_rotate<R: CryptoRng + ?Sized>(
    state: &ChainState,
    signer: &DeviceKeys,
    target: &DeviceId,
    max_seq: u64,
    last_envelope: [u8; 32],
    rng: &mut R,
) -> Result<Rotation> {
    let by_target = |i: Option<Introducer>| i == Some(Introducer::Device(*target));
    if state.devices().keys().any(|id| id != target && by_target(state.device_introducer(id))) {
        return Err(Error::ChainCascade);
    }
    let unpin = state.partners().keys().filter(|k| by_target(state.partner_introducer(k))).copied().collect();
    let r = Revocation { device: *target, max_seq, last_envelope };
    revoke(state, signer, vec![r], unpin, Vec::new(), rng)
}

/// The active devices `path` enrolled, directly or through devices it
/// enrolled: what a replacement of `path` must decide on ([CHAIN-14]); a
/// client shows them and asks which to keep.
pub fn enrolled_by(state: &ChainState, path: UnlockPath) -> Vec<DeviceId> {
    state.devices().keys().filter(|id| state.enrolled_by_path(id, path)).copied().collect()
}

/// Replaces an unlock path's keys (new password or recovery code) and starts
/// a new epoch in the same statement: every live UMK and the new one to the
/// new sealing key, the new one to every active device and the other path;
/// with the new authority's proof of possession and, for the password, its
/// KDF parameters. `signer` is the path's current authority or, for the
/// password, the recovery authority. `keep` lists the devices the replaced
/// path enrolled (directly or through devices it enrolled) that the account
/// holder keeps; every other such device must have been revoked before. [CHAIN-14] [CHAIN-17] [CHAIN-18]
///
/// The caller MUST also store the new chapter 5 wrap of UMK_0
/// ([`UnlockPathKeys::wrap_umk0`]) with the server.
pub fn replace_authority<R: CryptoRng + ?Sized>(
    state: &ChainState,
    signer: &dyn ChainSigner,
    new: &UnlockPathKeys,
    keep: &[DeviceId],
    umks: &BTreeMap<Epoch, Umk>,
    rng: &mut R,
) -> Result<Rotation> {
    let authority = new.public();
    let account = state.account();
    let other = match new.path {
        UnlockPath::Recovery => UnlockPath::Password,
        UnlockPath::Password => UnlockPath::Recovery,
    };
    let mut recipients: Vec<[u8; 32]> = state.devices().values().map(|d| d.x25519).collect();
    recipients.extend(state.authority(other).map(|a| a.sealing));
    recipients.push(authority.sealing);
    let (epoch, umk, mut wraps) = new_epoch(state, &recipients, rng)?;
    for e in 0..epoch {
        let old = umks.get(&e).ok_or(Error::ChainRecipients)?;
        wraps.push(epoch_wrap(&account, e, &authority.sealing, old, rng)?);
    }
    statement::sort_wraps(&mut wraps);
    // [CHAIN-14] the devices the replaced path enrolled stay only if re-confirmed: `keep` is the
    // account holder's decision (the caller revokes the others first, or the verifier refuses
    // the statement with E_CHAIN_CASCADE).
    let mut reconfirm: Vec<DeviceId> = keep.to_vec();
    reconfirm.sort();
    reconfirm.dedup();
    let body = Body::ReplaceAuthority {
        path: new.path,
        authority,
        kdf: new.chain_kdf(),
        pop: new.possession(7, &account.0),
        reconfirm,
        epoch,
        key_check: umk.key_check(epoch),
        wraps,
    };
    let (bytes, next) = extend(state, body, signer)?;
    Ok(Rotation { statements: vec![bytes], state: next, umk })
}
