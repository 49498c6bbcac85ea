//! Chain statements: kinds, canonical encoding, signing (spec 8.2).
//!
//! ```text
//! fields    = u64 position ‖ prev(32) ‖ u8 kind ‖ body ‖ signer(32)
//! statement = enc(CHAIN_STATEMENT, fields) ‖ signature(64)
//! signed    = enc(CHAIN_SIGNED, fields)              -- what the Ed25519 signature covers
//! hash      = SHA-256(enc(CHAIN_LINK, bytes statement))
//! ```

use zeroize::Zeroize;

use crate::device::{DeviceId, DevicePublic};
use crate::encoding::{Codec, Encoder, Reader};
use crate::error::{Error, Result};
use crate::hpke::{ENC_LEN, TAG_LEN};
use crate::keys::Epoch;
use crate::labels;
use crate::primitives::sha256;

/// Most UMK wraps one statement may carry. [CHAIN-1]
pub const MAX_WRAPS: usize = 1024;
/// Longest partner label in bytes (UTF-8). [CHAIN-1]
pub const MAX_PARTNER_LABEL: usize = 64;
/// Length of the HPKE ciphertext of one wrapped UMK. [CHAIN-12]
pub const EPOCH_WRAP_CT_LEN: usize = 32 + TAG_LEN;
/// The `prev` of a genesis statement. [CHAIN-3]
pub const GENESIS_PREV: [u8; 32] = [0u8; 32];
/// Most statements a chain holds: a statement's `position` is below it
/// (decoding refuses another with `E_DECODE_VALUE`), so a whole chain always
/// fits one `Chain` response (65 536 statements, [SYNC-2]) and verifying it
/// from genesis stays bounded. [CHAIN-1]
pub const MAX_CHAIN_LEN: u64 = 4096;

wire_enum! {
    /// The two unlock paths that carry an authority; another wire value is
    /// `E_DECODE_VALUE`. [CHAIN-13] [CHAIN-1]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum UnlockPath (unknown: Error::DecodeValue) {
        /// The recovery code.
        Recovery = 1,
        /// The password.
        Password = 2,
    }
}

/// An unlock path's public keys: Ed25519 authority key and X25519 sealing key. [CHAIN-13]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Authority {
    /// Ed25519 key that may sign add-device and replace-authority statements.
    pub signing: [u8; 32],
    /// X25519 key that new epochs' UMKs are wrapped to.
    pub sealing: [u8; 32],
}

/// One epoch's UMK, HPKE-wrapped to one recipient key. [CHAIN-12]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EpochWrap {
    /// The recipient's X25519 public key.
    pub recipient: [u8; 32],
    /// The epoch of the wrapped UMK.
    pub epoch: Epoch,
    /// HPKE encapsulated key.
    pub enc: [u8; ENC_LEN],
    /// HPKE ciphertext of the 32-byte UMK.
    pub ct: [u8; EPOCH_WRAP_CT_LEN],
}

/// An Ed25519 proof of possession ([CHAIN-17]).
pub type Pop = [u8; 64];

/// The kind-specific part of a statement. [CHAIN-1]
// A genesis is the largest variant by far; a chain holds one, and boxing it would
// only move the allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    /// 1: creates the account.
    Genesis {
        /// The first device, which signs the genesis.
        device: DevicePublic,
        /// The recovery path's keys.
        recovery: Authority,
        /// The recovery authority's proof of possession. [CHAIN-17]
        recovery_pop: Pop,
        /// The password path's keys.
        password: Authority,
        /// The password's `kdf_encoding` (salt and Argon2id parameters). [CHAIN-18]
        password_kdf: [u8; 32],
        /// The password authority's proof of possession. [CHAIN-17]
        password_pop: Pop,
        /// Always 0.
        epoch: Epoch,
        /// `key_check_0` of UMK_0. [CHAIN-16]
        key_check: [u8; 32],
    },
    /// 2: a device becomes active.
    AddDevice {
        /// Its public keys.
        device: DevicePublic,
        /// The device's proof of possession. [CHAIN-17]
        pop: Pop,
        /// `SHA-256(enc(BUNDLE_COMMIT, wrap))` of its identity bundle, or zeros. [DEV-5]
        bundle_commit: [u8; 32],
    },
    /// 3: devices are revoked, what they introduced undone or re-confirmed,
    /// and a new epoch starts, all in one statement. [CHAIN-20]
    RevokeDevice {
        /// The revoked devices, strictly ascending by id, at least one.
        revocations: Vec<Revocation>,
        /// Partner keys unpinned with them, strictly ascending.
        unpin: Vec<[u8; 32]>,
        /// Items the revoked devices introduced that the revoker keeps, ascending.
        reconfirm: Vec<Reconfirm>,
        /// The new epoch (the current one plus one).
        epoch: Epoch,
        /// The new UMK's key check. [CHAIN-16]
        key_check: [u8; 32],
        /// The new UMK wrapped to the remaining devices and both unlock paths.
        wraps: Vec<EpochWrap>,
    },
    /// 4: a new key epoch begins.
    RotateEpoch {
        /// The new epoch (the current one plus one).
        epoch: Epoch,
        /// The new UMK's key check. [CHAIN-16]
        key_check: [u8; 32],
        /// The new UMK wrapped to every active device and both unlock paths.
        wraps: Vec<EpochWrap>,
    },
    /// 5: a partner key is pinned after an out-of-band fingerprint check.
    PinPartner {
        /// The partner's X25519 public key.
        key: [u8; 32],
        /// A human label (UTF-8, at most 64 bytes).
        label: String,
    },
    /// 6: a pinned partner key is removed.
    UnpinPartner {
        /// The partner's X25519 public key.
        key: [u8; 32],
    },
    /// 7: an unlock path's keys are replaced (new password or recovery code).
    ReplaceAuthority {
        /// Which path.
        path: UnlockPath,
        /// The new keys.
        authority: Authority,
        /// The password's new `kdf_encoding` (path 2 only; `None` for path 1). [CHAIN-18]
        kdf: Option<[u8; 32]>,
        /// The new authority's proof of possession. [CHAIN-17]
        pop: Pop,
        /// The active devices the replaced path enrolled that stay, strictly ascending. [CHAIN-14]
        reconfirm: Vec<DeviceId>,
        /// The epoch this replacement starts (the current one plus one). [CHAIN-14]
        epoch: Epoch,
        /// The new UMK's key check. [CHAIN-16]
        key_check: [u8; 32],
        /// Every epoch's UMK to the new sealing key, the new UMK to every
        /// active device and the other path.
        wraps: Vec<EpochWrap>,
    },
}

/// One device a revoke statement revokes. [CHAIN-20]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Revocation {
    /// The device.
    pub device: DeviceId,
    /// The highest writer sequence number accepted from it.
    pub max_seq: u64,
    /// The identity ([SYNC-14]) of its envelope at `max_seq`; zeros iff `max_seq = 0`.
    pub last_envelope: [u8; 32],
}

/// What a re-confirmation keeps. [CHAIN-20]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reconfirm {
    /// An active device, by id (`what` = 1).
    Device(DeviceId),
    /// A pinned partner key (`what` = 2).
    Partner([u8; 32]),
}

impl Reconfirm {
    fn what_id(&self) -> (u8, [u8; 32]) {
        match self {
            Reconfirm::Device(d) => (1, d.0),
            Reconfirm::Partner(k) => (2, *k),
        }
    }
}

/// Most entries in each list of a revoke statement. [CHAIN-20]
pub const MAX_REVOKE_LIST: usize = 1024;

impl Body {
    /// The kind byte. [CHAIN-1]
    pub fn kind(&self) -> u8 {
        match self {
            Body::Genesis { .. } => 1,
            Body::AddDevice { .. } => 2,
            Body::RevokeDevice { .. } => 3,
            Body::RotateEpoch { .. } => 4,
            Body::PinPartner { .. } => 5,
            Body::UnpinPartner { .. } => 6,
            Body::ReplaceAuthority { .. } => 7,
        }
    }

    /// A short name of the kind (vectors, logs).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Body::Genesis { .. } => "genesis",
            Body::AddDevice { .. } => "add_device",
            Body::RevokeDevice { .. } => "revoke_device",
            Body::RotateEpoch { .. } => "rotate_epoch",
            Body::PinPartner { .. } => "pin_partner",
            Body::UnpinPartner { .. } => "unpin_partner",
            Body::ReplaceAuthority { .. } => "replace_authority",
        }
    }

    fn encode(&self, e: Encoder) -> Encoder {
        let device = |e: Encoder, d: &DevicePublic| e.fixed(&d.ed25519).fixed(&d.x25519);
        let authority = |e: Encoder, a: &Authority| e.fixed(&a.signing).fixed(&a.sealing);
        let e = e.u8(self.kind());
        match self {
            Body::Genesis {
                device: d,
                recovery,
                recovery_pop,
                password,
                password_kdf,
                password_pop,
                epoch,
                key_check,
            } => {
                let e = authority(device(e, d), recovery).fixed(recovery_pop);
                authority(e, password).fixed(password_kdf).fixed(password_pop).u32(*epoch).fixed(key_check)
            }
            Body::AddDevice { device: d, pop, bundle_commit } => device(e, d).fixed(pop).fixed(bundle_commit),
            Body::RevokeDevice { revocations, unpin, reconfirm, epoch, key_check, wraps } => {
                let mut e = e.u32(len32(revocations.len()));
                for r in revocations {
                    e = e.fixed(&r.device.0).u64(r.max_seq).fixed(&r.last_envelope);
                }
                e = e.u32(len32(unpin.len()));
                for k in unpin {
                    e = e.fixed(k);
                }
                e = e.u32(len32(reconfirm.len()));
                for c in reconfirm {
                    let (what, id) = c.what_id();
                    e = e.u8(what).fixed(&id);
                }
                encode_wraps(e.u32(*epoch).fixed(key_check), wraps)
            }
            Body::RotateEpoch { epoch, key_check, wraps } => encode_wraps(e.u32(*epoch).fixed(key_check), wraps),
            Body::PinPartner { key, label } => e.fixed(key).bytes(label.as_bytes()),
            Body::UnpinPartner { key } => e.fixed(key),
            Body::ReplaceAuthority { path, authority: a, kdf, pop, reconfirm, epoch, key_check, wraps } => {
                let mut e = authority(e.u8(*path as u8), a).bytes(kdf.as_ref().map_or(&[][..], |k| &k[..])).fixed(pop);
                e = e.u32(len32(reconfirm.len()));
                for d in reconfirm {
                    e = e.fixed(&d.0);
                }
                encode_wraps(e.u32(*epoch).fixed(key_check), wraps)
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let device = |r: &mut Reader<'_>| -> Result<DevicePublic> {
            Ok(DevicePublic { ed25519: r.array()?, x25519: r.array()? })
        };
        let authority =
            |r: &mut Reader<'_>| -> Result<Authority> { Ok(Authority { signing: r.array()?, sealing: r.array()? }) };
        Ok(match r.u8()? {
            1 => Body::Genesis {
                device: device(r)?,
                recovery: authority(r)?,
                recovery_pop: r.array()?,
                password: authority(r)?,
                password_kdf: r.array()?,
                password_pop: r.array()?,
                epoch: r.u32()?,
                key_check: r.array()?,
            },
            2 => Body::AddDevice { device: device(r)?, pop: r.array()?, bundle_commit: r.array()? },
            3 => {
                let n = count(r)?;
                if n == 0 {
                    return Err(Error::DecodeLength);
                }
                let mut revocations: Vec<Revocation> = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let x = Revocation { device: DeviceId(r.array()?), max_seq: r.u64()?, last_envelope: r.array()? };
                    if revocations.last().is_some_and(|l| l.device >= x.device) {
                        return Err(Error::DecodeValue);
                    }
                    revocations.push(x);
                }
                let m = count(r)?;
                let mut unpin: Vec<[u8; 32]> = Vec::with_capacity(m.min(64));
                for _ in 0..m {
                    let k: [u8; 32] = r.array()?;
                    if unpin.last().is_some_and(|l| *l >= k) {
                        return Err(Error::DecodeValue);
                    }
                    unpin.push(k);
                }
                let k = count(r)?;
                let mut reconfirm: Vec<Reconfirm> = Vec::with_capacity(k.min(64));
                for _ in 0..k {
                    let c = match r.u8()? {
                        1 => Reconfirm::Device(DeviceId(r.array()?)),
                        2 => Reconfirm::Partner(r.array()?),
                        _ => return Err(Error::DecodeValue),
                    };
                    if reconfirm.last().is_some_and(|l| l.what_id() >= c.what_id()) {
                        return Err(Error::DecodeValue);
                    }
                    reconfirm.push(c);
                }
                Body::RevokeDevice {
                    revocations,
                    unpin,
                    reconfirm,
                    epoch: r.u32()?,
                    key_check: r.array()?,
                    wraps: decode_wraps(r)?,
                }
            }
            4 => Body::RotateEpoch { epoch: r.u32()?, key_check: r.array()?, wraps: decode_wraps(r)? },
            5 => {
                let key = r.array()?;
                let label = r.bytes(MAX_PARTNER_LABEL)?;
                let label = core::str::from_utf8(label).map_err(|_| Error::DecodeValue)?.to_owned();
                Body::PinPartner { key, label }
            }
            6 => Body::UnpinPartner { key: r.array()? },
            7 => {
                let path = UnlockPath::from_u8(r.u8()?)?;
                let authority = authority(r)?;
                // [CHAIN-1] the kdf's length prefix is 0 for recovery and 32 for the password,
                // checked when the prefix is read.
                let want = if path == UnlockPath::Password { KDF_LEN } else { 0 };
                let kdf = r.bytes_exact(want)?;
                let kdf = if path == UnlockPath::Password { Some(to_kdf(kdf)?) } else { None };
                let pop = r.array()?;
                let k = count(r)?;
                let mut reconfirm: Vec<DeviceId> = Vec::with_capacity(k.min(64));
                for _ in 0..k {
                    let d = DeviceId(r.array()?);
                    if reconfirm.last().is_some_and(|l| *l >= d) {
                        return Err(Error::DecodeValue);
                    }
                    reconfirm.push(d);
                }
                Body::ReplaceAuthority {
                    path,
                    authority,
                    kdf,
                    pop,
                    reconfirm,
                    epoch: r.u32()?,
                    key_check: r.array()?,
                    wraps: decode_wraps(r)?,
                }
            }
            _ => return Err(Error::DecodeValue),
        })
    }
}

/// A list count of a revoke statement: at most [`MAX_REVOKE_LIST`]. [CHAIN-20]
fn count(r: &mut Reader<'_>) -> Result<usize> {
    let n = r.u32()? as usize;
    if n > MAX_REVOKE_LIST { Err(Error::DecodeLength) } else { Ok(n) }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Length of a `kdf_encoding` ([KEY-6]) in a statement. [CHAIN-18]
pub const KDF_LEN: usize = 32;

fn to_kdf(b: &[u8]) -> Result<[u8; KDF_LEN]> {
    b.try_into().map_err(|_| Error::DecodeLength)
}

/// Who a proof of possession speaks for. [CHAIN-17]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PopRole {
    /// A device's keys.
    Device = 0,
    /// The recovery path's authority.
    Recovery = 1,
    /// The password path's authority.
    Password = 2,
}

impl From<UnlockPath> for PopRole {
    fn from(p: UnlockPath) -> Self {
        match p {
            UnlockPath::Recovery => PopRole::Recovery,
            UnlockPath::Password => PopRole::Password,
        }
    }
}

/// `enc(CHAIN_POSSESSION, u8 kind, u8 role, anchor(32), ed25519(32), x25519(32), bytes kdf)`:
/// what an installed key signs to prove possession. `anchor` is the account id,
/// or for the genesis the genesis device's id. [CHAIN-17]
pub fn possession_message(
    kind: u8,
    role: PopRole,
    anchor: &[u8; 32],
    ed25519: &[u8; 32],
    x25519: &[u8; 32],
    kdf: &[u8],
) -> Vec<u8> {
    Encoder::new(labels::CHAIN_POSSESSION)
        .u8(kind)
        .u8(role as u8)
        .fixed(anchor)
        .fixed(ed25519)
        .fixed(x25519)
        .bytes(kdf)
        .finish()
}

/// The anchor of a genesis's proofs of possession: the digest of every
/// genesis body field but the proofs themselves,
/// `SHA-256(enc(CHAIN_GENESIS_ANCHOR, device.ed25519, device.x25519, recovery.signing,
/// recovery.sealing, password.signing, password.sealing, password.kdf, u32 epoch, key_check))`. [CHAIN-17]
pub fn genesis_anchor(
    device: &DevicePublic,
    recovery: &Authority,
    password: &Authority,
    password_kdf: &[u8; KDF_LEN],
    epoch: Epoch,
    key_check: &[u8; 32],
) -> [u8; 32] {
    sha256(&[&genesis_anchor_input(device, recovery, password, password_kdf, epoch, key_check)])
}

/// The SHA-256 input of [`genesis_anchor`] (vectors). [CHAIN-17]
pub fn genesis_anchor_input(
    device: &DevicePublic,
    recovery: &Authority,
    password: &Authority,
    password_kdf: &[u8; KDF_LEN],
    epoch: Epoch,
    key_check: &[u8; 32],
) -> Vec<u8> {
    Encoder::new(labels::CHAIN_GENESIS_ANCHOR)
        .fixed(&device.ed25519)
        .fixed(&device.x25519)
        .fixed(&recovery.signing)
        .fixed(&recovery.sealing)
        .fixed(&password.signing)
        .fixed(&password.sealing)
        .fixed(password_kdf)
        .u32(epoch)
        .fixed(key_check)
        .finish()
}

/// Strict Ed25519 verification of a proof of possession. [CHAIN-17] [PRIM-9]
pub fn verify_possession(key: &[u8; 32], msg: &[u8], pop: &Pop) -> Result<()> {
    if crate::primitives::verify_strict(key, msg, pop) { Ok(()) } else { Err(Error::ChainPossession) }
}

/// `SHA-256(enc(BUNDLE_COMMIT, bytes wrap))`: what an add-device statement
/// carries for the bundle it comes with. [DEV-5]
pub fn bundle_commit(wrap: &[u8]) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::BUNDLE_COMMIT).bytes(wrap).finish()])
}

/// The `bundle_commit` of an add-device statement that comes with no bundle. [DEV-5]
pub const NO_BUNDLE: [u8; 32] = [0u8; 32];

/// `u32 n ‖ n × (recipient(32) ‖ u32 epoch ‖ enc(32) ‖ ct(48))`, strictly
/// ascending by (recipient, epoch). [CHAIN-1] [CHAIN-12]
fn encode_wraps(mut e: Encoder, wraps: &[EpochWrap]) -> Encoder {
    e = e.u32(len32(wraps.len()));
    for w in wraps {
        e = e.fixed(&w.recipient).u32(w.epoch).fixed(&w.enc).fixed(&w.ct);
    }
    e
}

fn decode_wraps(r: &mut Reader<'_>) -> Result<Vec<EpochWrap>> {
    let n = r.u32()? as usize;
    if n > MAX_WRAPS {
        return Err(Error::DecodeLength);
    }
    let mut out: Vec<EpochWrap> = Vec::with_capacity(n.min(r.remaining() / 116 + 1));
    for _ in 0..n {
        let w = EpochWrap { recipient: r.array()?, epoch: r.u32()?, enc: r.array()?, ct: r.array()? };
        if out.last().is_some_and(|l| (l.recipient, l.epoch) >= (w.recipient, w.epoch)) {
            return Err(Error::DecodeValue);
        }
        out.push(w);
    }
    Ok(out)
}

/// Sorts wraps into their canonical order. [CHAIN-1]
pub fn sort_wraps(wraps: &mut [EpochWrap]) {
    wraps.sort_by_key(|w| (w.recipient, w.epoch));
}

/// A signed chain statement. [CHAIN-1]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Statement {
    /// Position in the chain, from 0 (genesis).
    pub position: u64,
    /// Hash of the previous statement; [`GENESIS_PREV`] for the genesis.
    pub prev: [u8; 32],
    /// Kind and kind-specific fields.
    pub body: Body,
    /// The signer's Ed25519 public key (a device's or an unlock-path authority's).
    pub signer: [u8; 32],
    /// Ed25519 signature over [`Statement::signed_message`].
    pub signature: [u8; 64],
}

/// Something that can sign chain statements: a device or an unlock-path authority.
pub trait ChainSigner {
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 signature over `msg`.
    fn sign_message(&self, msg: &[u8]) -> [u8; 64];
}

impl ChainSigner for crate::device::DeviceKeys {
    fn public_key(&self) -> [u8; 32] {
        self.public().ed25519
    }
    fn sign_message(&self, msg: &[u8]) -> [u8; 64] {
        self.sign(msg)
    }
}

impl ChainSigner for crate::unlock::AuthoritySeed {
    fn public_key(&self) -> [u8; 32] {
        crate::unlock::AuthoritySeed::public_key(self)
    }
    fn sign_message(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        let sk = self.signing_key();
        let sig = sk.sign(msg).to_bytes();
        let mut seed = sk.to_bytes();
        seed.zeroize();
        sig
    }
}

impl Codec<'_> for Statement {
    fn encode(&self) -> Vec<u8> {
        Statement::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.expect_label(labels::CHAIN_STATEMENT)?;
        let position = r.u64()?;
        // [CHAIN-1] the chain length bound
        if position >= MAX_CHAIN_LEN {
            return Err(Error::DecodeValue);
        }
        let prev = r.array()?;
        let body = Body::decode(r)?;
        let signer = r.array()?;
        let signature = r.array()?;
        Ok(Statement { position, prev, body, signer, signature })
    }
}

impl Statement {
    fn fields(&self, e: Encoder) -> Encoder {
        self.body.encode(e.u64(self.position).fixed(&self.prev)).fixed(&self.signer)
    }

    /// `enc(CHAIN_SIGNED, fields)`: the bytes the signature covers. [CHAIN-2]
    pub fn signed_message(&self) -> Vec<u8> {
        self.fields(Encoder::new(labels::CHAIN_SIGNED)).finish()
    }

    /// `enc(CHAIN_STATEMENT, fields) ‖ signature`. [CHAIN-1]
    pub fn encode(&self) -> Vec<u8> {
        self.fields(Encoder::new(labels::CHAIN_STATEMENT)).fixed(&self.signature).finish()
    }

    /// Decodes a statement; total, never panics. Signatures are not checked
    /// here (see [`super::ChainState`]). [CHAIN-1]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// Builds and signs a statement. [CHAIN-2]
    pub fn sign(position: u64, prev: [u8; 32], body: Body, signer: &dyn ChainSigner) -> Self {
        let mut s = Statement { position, prev, body, signer: signer.public_key(), signature: [0u8; 64] };
        s.signature = signer.sign_message(&s.signed_message());
        s
    }

    /// Strict Ed25519 verification of the signature under `signer`. [CHAIN-2]
    pub fn verify_signature(&self) -> Result<()> {
        if crate::primitives::verify_strict(&self.signer, &self.signed_message(), &self.signature) {
            Ok(())
        } else {
            Err(Error::ChainSignature)
        }
    }
}

/// `SHA-256(enc(CHAIN_LINK, bytes statement))`. [CHAIN-3]
pub fn statement_hash(bytes: &[u8]) -> [u8; 32] {
    // enc(CHAIN_LINK, bytes statement) = enc(CHAIN_LINK) ‖ u32(len) ‖ statement, hashed in parts
    // (no copy of the statement)
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    sha256(&[&Encoder::new(labels::CHAIN_LINK).u32(len).finish(), bytes])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arr32() -> impl Strategy<Value = [u8; 32]> + Clone {
        any::<[u8; 32]>()
    }

    fn wraps() -> impl Strategy<Value = Vec<EpochWrap>> {
        proptest::collection::vec((arr32(), any::<u32>(), arr32(), any::<[u8; 16]>()), 0..4).prop_map(|v| {
            let mut w: Vec<EpochWrap> = v
                .into_iter()
                .map(|(recipient, epoch, enc, t)| {
                    let mut ct = [0u8; EPOCH_WRAP_CT_LEN];
                    ct[..16].copy_from_slice(&t);
                    EpochWrap { recipient, epoch, enc, ct }
                })
                .collect();
            sort_wraps(&mut w);
            w.dedup_by(|a, b| (a.recipient, a.epoch) == (b.recipient, b.epoch));
            w
        })
    }

    fn body() -> impl Strategy<Value = Body> {
        let dev = || (arr32(), arr32()).prop_map(|(ed25519, x25519)| DevicePublic { ed25519, x25519 });
        let auth = || (arr32(), arr32()).prop_map(|(signing, sealing)| Authority { signing, sealing });
        let pop = || any::<[u8; 64]>();
        prop_oneof![
            (dev(), auth(), pop(), auth(), arr32(), pop(), any::<u32>(), arr32()).prop_map(
                |(device, recovery, recovery_pop, password, password_kdf, password_pop, epoch, key_check)| {
                    Body::Genesis {
                        device,
                        recovery,
                        recovery_pop,
                        password,
                        password_kdf,
                        password_pop,
                        epoch,
                        key_check,
                    }
                }
            ),
            (dev(), pop(), arr32()).prop_map(|(device, pop, bundle_commit)| Body::AddDevice {
                device,
                pop,
                bundle_commit
            }),
            (
                proptest::collection::btree_map(arr32(), (any::<u64>(), arr32()), 1..3),
                proptest::collection::btree_set(arr32(), 0..3),
                proptest::collection::btree_set(
                    prop_oneof![
                        arr32().prop_map(|d| Reconfirm::Device(DeviceId(d))),
                        arr32().prop_map(Reconfirm::Partner)
                    ],
                    0..3
                ),
                any::<u32>(),
                arr32(),
                wraps()
            )
                .prop_map(|(rv, unpin, reconfirm, epoch, key_check, wraps)| Body::RevokeDevice {
                    revocations: rv
                        .into_iter()
                        .map(|(d, (max_seq, last_envelope))| Revocation { device: DeviceId(d), max_seq, last_envelope })
                        .collect(),
                    unpin: unpin.into_iter().collect(),
                    reconfirm: reconfirm.into_iter().collect(),
                    epoch,
                    key_check,
                    wraps
                }),
            (any::<u32>(), arr32(), wraps()).prop_map(|(epoch, key_check, wraps)| Body::RotateEpoch {
                epoch,
                key_check,
                wraps
            }),
            (arr32(), "[a-zé ]{0,20}").prop_map(|(key, label)| Body::PinPartner { key, label }),
            arr32().prop_map(|key| Body::UnpinPartner { key }),
            (auth(), arr32(), pop(), any::<u32>(), wraps()).prop_map(|(authority, k, pop, epoch, wraps)| {
                Body::ReplaceAuthority {
                    path: UnlockPath::Password,
                    authority,
                    kdf: Some(k),
                    pop,
                    reconfirm: vec![],
                    epoch,
                    key_check: k,
                    wraps,
                }
            }),
            (auth(), pop(), any::<u32>(), arr32(), wraps()).prop_map(|(authority, pop, epoch, key_check, wraps)| {
                Body::ReplaceAuthority {
                    path: UnlockPath::Recovery,
                    authority,
                    kdf: None,
                    pop,
                    reconfirm: vec![DeviceId(key_check)],
                    epoch,
                    key_check,
                    wraps,
                }
            }),
        ]
    }

    fn statement() -> impl Strategy<Value = Statement> {
        (0..MAX_CHAIN_LEN, arr32(), body(), arr32(), any::<[u8; 64]>())
            .prop_map(|(position, prev, body, signer, signature)| Statement { position, prev, body, signer, signature })
    }

    proptest! {
        // [CHAIN-1] decode(encode(s)) == s, and the encoding is canonical.
        #[test]
        fn round_trip(s in statement()) {
            let bytes = s.encode();
            let d = Statement::decode(&bytes).unwrap();
            prop_assert_eq!(&d, &s);
            prop_assert_eq!(d.encode(), bytes);
        }

        // [CHAIN-1] [CHAIN-2] injectivity: different statements never share bytes or signed messages.
        #[test]
        fn injective(a in statement(), b in statement()) {
            if a != b {
                prop_assert_ne!(a.encode(), b.encode());
            }
            if (a.position, a.prev, &a.body, a.signer) != (b.position, b.prev, &b.body, b.signer) {
                prop_assert_ne!(a.signed_message(), b.signed_message());
            }
        }

        // [CHAIN-1] decoding arbitrary bytes never panics.
        #[test]
        fn decode_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Statement::decode(&bytes);
        }
    }

    // [CHAIN-1] wraps out of canonical order are refused.
    #[test]
    fn wrap_order() {
        let w = EpochWrap { recipient: [1; 32], epoch: 0, enc: [0; 32], ct: [0; 48] };
        let s = Statement {
            position: 1,
            prev: [0; 32],
            body: Body::RotateEpoch { epoch: 1, key_check: [0; 32], wraps: vec![w, w] },
            signer: [0; 32],
            signature: [0; 64],
        };
        assert_eq!(Statement::decode(&s.encode()), Err(Error::DecodeValue));
    }

    // [CHAIN-1] a replace-authority kdf of the wrong length for its path is E_DECODE_LENGTH.
    #[test]
    fn kdf_length_by_path() {
        let a = Authority { signing: [1; 32], sealing: [2; 32] };
        for (path, kdf) in [(UnlockPath::Recovery, Some([3u8; 32])), (UnlockPath::Password, None)] {
            let s = Statement {
                position: 1,
                prev: [0; 32],
                body: Body::ReplaceAuthority {
                    path,
                    authority: a,
                    kdf,
                    pop: [0; 64],
                    reconfirm: vec![],
                    epoch: 1,
                    key_check: [0; 32],
                    wraps: vec![],
                },
                signer: [0; 32],
                signature: [0; 64],
            };
            assert_eq!(Statement::decode(&s.encode()), Err(Error::DecodeLength), "{path:?}");
        }
    }
}
