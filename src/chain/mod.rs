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
//! let approval = approve_device(&acct.state, &first, &second.public(), &acct.umks(), &mut rng)?;
//! let (state, umks) = accept_pairing(&second, &acct.state.account(), &approval.bundle_wrap, &approval.state.encoded())?;
//! assert_eq!(state, approval.state);
//! assert!(umks[&0] == acct.umk);
//! # Ok::<(), blindsync::Error>(())
//! ```

pub mod statement;
pub mod verify;

use std::collections::BTreeMap;

pub use statement::{Authority, Body, ChainSigner, EpochWrap, Statement, UnlockPath};
pub use verify::{ChainState, Revoked, Role, account_fingerprint, account_id, partner_fingerprint};

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
    let body = Body::Genesis { device: device.public(), recovery: rec.public(), password: pw.public(), epoch: 0 };
    let genesis = Statement::sign(0, statement::GENESIS_PREV, body, device).encode();
    let state = ChainState::from_genesis(&genesis)?;
    let umk = Umk::random(rng);
    let account = state.account();
    let recovery_wrap = wrap_umk(&rec.kek, &umk, &rec.wrap_context(account, 0), rng)?;
    let password_wrap = wrap_umk(&pw.kek, &umk, &pw.wrap_context(account, 0), rng)?;
    Ok(NewAccount { state, genesis, umk, recovery_wrap, password_wrap })
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
/// a matching pairing code): appends add-device and wraps the identity bundle. [DEV-5] [CHAIN-6]
pub fn approve_device<R: CryptoRng + ?Sized>(
    state: &ChainState,
    approver: &DeviceKeys,
    new: &DevicePublic,
    umks: &BTreeMap<Epoch, Umk>,
    rng: &mut R,
) -> Result<Approval> {
    let (statement, next) = extend(state, Body::AddDevice { device: *new }, approver)?;
    let bundle = IdentityBundle { account: next.account(), head: next.head(), umks: umks.clone() };
    let bundle_wrap = wrap_bundle(&bundle, new, rng)?;
    Ok(Approval { statement, state: next, bundle_wrap })
}

/// The new device's side: opens the bundle, verifies the chain from genesis,
/// checks that it extends the approver's head and holds this device's own
/// keys, and collects the UMK of every epoch. [DEV-6]
///
/// The caller then shows [`ChainState::fingerprint`] for comparison.
pub fn accept_pairing(
    me: &DeviceKeys,
    account: &AccountId,
    bundle_wrap: &[u8],
    chain: &[Vec<u8>],
) -> Result<(ChainState, BTreeMap<Epoch, Umk>)> {
    let bundle = open_bundle(me, account, bundle_wrap)?;
    let state = ChainState::verify(chain)?;
    if state.account() != *account {
        return Err(Error::ChainGenesis);
    }
    check_extends(&state, &bundle.head)?;
    if !state.is_active(&me.id()) {
        return Err(Error::DeviceKeyMismatch);
    }
    let mut umks = bundle.umks;
    umks.extend(state.open_epoch_umks(me.hpke_key())?);
    Ok((state, umks))
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

/// Enrollment with one unlock path only: the path's authority signs
/// add-device for the new device, which then opens UMK_0 from the chapter 5
/// wrap and every later epoch from the chain's wraps to the path's sealing key. [CHAIN-13]
pub fn enroll(
    state: &ChainState,
    keys: &UnlockPathKeys,
    epoch0_wrap: &[u8],
    new: &DevicePublic,
) -> Result<(Vec<u8>, ChainState, BTreeMap<Epoch, Umk>)> {
    let (statement, next) = extend(state, Body::AddDevice { device: *new }, &keys.authority)?;
    let mut umks = next.open_epoch_umks(&keys.sealing)?;
    if let std::collections::btree_map::Entry::Vacant(slot) = umks.entry(0) {
        slot.insert(unwrap_umk(&keys.kek, epoch0_wrap, &keys.wrap_context(next.account(), 0))?);
    }
    Ok((statement, next, umks))
}

/// The result of a rotation.
pub struct Rotation {
    /// The statements to append (revoke then rotate, or rotate alone).
    pub statements: Vec<Vec<u8>>,
    /// The chain after them.
    pub state: ChainState,
    /// The new epoch's UMK.
    pub umk: Umk,
}

/// Starts epoch e+1: a fresh UMK wrapped to every active device and to both
/// unlock paths' sealing keys. [CHAIN-11]
pub fn rotate<R: CryptoRng + ?Sized>(state: &ChainState, signer: &DeviceKeys, rng: &mut R) -> Result<Rotation> {
    let epoch = state.epoch().checked_add(1).ok_or(Error::ChainEpoch)?;
    let umk = Umk::random(rng);
    let account = state.account();
    let mut recipients: Vec<[u8; 32]> = state.devices().values().map(|d| d.x25519).collect();
    for path in [UnlockPath::Recovery, UnlockPath::Password] {
        recipients.extend(state.authority(path).map(|a| a.sealing));
    }
    let mut wraps = recipients.iter().map(|r| epoch_wrap(&account, epoch, r, &umk, rng)).collect::<Result<Vec<_>>>()?;
    statement::sort_wraps(&mut wraps);
    let (bytes, next) = extend(state, Body::RotateEpoch { epoch, wraps }, signer)?;
    Ok(Rotation { statements: vec![bytes], state: next, umk })
}

/// Revokes `target` (accepting its writes up to `max_seq`) and rotates the
/// epoch at once. [CHAIN-9] [CHAIN-11]
pub fn revoke_and_rotate<R: CryptoRng + ?Sized>(
    state: &ChainState,
    signer: &DeviceKeys,
    target: &DeviceId,
    max_seq: u64,
    rng: &mut R,
) -> Result<Rotation> {
    let (revoke, mid) = extend(state, Body::RevokeDevice { device: *target, max_seq }, signer)?;
    let mut rot = rotate(&mid, signer, rng)?;
    rot.statements.insert(0, revoke);
    Ok(rot)
}

/// Replaces an unlock path's keys (new password or recovery code): wraps
/// every live UMK to the new sealing key. [CHAIN-14]
pub fn replace_authority<R: CryptoRng + ?Sized>(
    state: &ChainState,
    signer: &dyn ChainSigner,
    new: &UnlockPathKeys,
    umks: &BTreeMap<Epoch, Umk>,
    rng: &mut R,
) -> Result<(Vec<u8>, ChainState)> {
    let authority = new.public();
    let account = state.account();
    let mut wraps = Vec::new();
    for e in 0..=state.epoch() {
        let umk = umks.get(&e).ok_or(Error::ChainRecipients)?;
        wraps.push(epoch_wrap(&account, e, &authority.sealing, umk, rng)?);
    }
    extend(state, Body::ReplaceAuthority { path: new.path, authority, wraps }, signer)
}
