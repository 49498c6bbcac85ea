//! Operations that append to the account chain (spec 8, 11.5): a plain
//! append, approving a new device, revoking a device, replacing an unlock
//! path's keys (password change, new recovery code) and pinning a partner.
//! [SYNC-5] [CLIENT-3]
//!
//! ```text
//! start_*:       build and verify the statement(s) against the verified chain (rng enters here)
//! AppendChain -> Ok: adopt the chain after them (and the new epoch's UMK); commit
//! then, one by one, the follow-up requests (PutBundle, SetPassword, SetRecoveryWrap) -> Ok
//! ```

use std::hash::{Hash, Hasher};

use super::{Next, Op, Outcome, unexpected};
use crate::chain::{
    Body, ChainState, PendingDevice, UnlockPathKeys, approve_device, enrolled_by, extend, replace_authority,
    revoke_and_rotate,
};
use crate::client::Client;
use crate::client::persist::Persist;
use crate::device::DeviceId;
use crate::error::{Error, Result};
use crate::keys::{Epoch, Umk};
use crate::primitives::CryptoRng;
use crate::server::wire::{Request, Response};
use crate::unlock::password::{PasswordKdf, PasswordKeys};
use crate::unlock::recovery::RecoveryKeys;

/// An append in flight: the chain to adopt once the server took it, the new
/// epoch's UMK, and the requests that follow.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ChainOp {
    next: ChainState,
    umk: Option<(Epoch, Umk)>,
    appended: bool,
    then: Vec<Request>,
    outcome: Outcome,
}

impl Hash for ChainOp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.next.hash(state);
        self.umk.as_ref().map(|(e, _)| *e).hash(state);
        self.appended.hash(state);
        self.then.hash(state);
        self.outcome.hash(state);
    }
}

impl<P: Persist> Client<P> {
    fn begin_chain(
        &mut self,
        statements: Vec<Vec<u8>>,
        umk: Option<(Epoch, Umk)>,
        then: Vec<Request>,
        outcome: Outcome,
    ) -> Result<()> {
        let token = self.session()?;
        // [CLIENT-5] a reopened device may hold an older chain than the one it signed on:
        // it appends only after a sync to the end (no second statement for a position)
        if self.reopened {
            return Err(Error::ClientSyncFirst);
        }
        let mut next = self.state.chain.clone();
        for s in &statements {
            crate::client::switches::append_chain(&mut next, s, &self.defences)?;
        }
        let op = ChainOp { next, umk, appended: false, then, outcome };
        self.begin(Op::Chain(Box::new(op)), Request::AppendChain { token, statements })
    }

    /// Starts appending statements this device made and adopting the chain
    /// after them (checked locally first). [SYNC-5]
    pub fn start_append_chain(&mut self, statements: Vec<Vec<u8>>) -> Result<()> {
        self.begin_chain(statements, None, Vec::new(), Outcome::ChainAppended)
    }

    /// Starts approving a pending device ([`Client::start_list_pending`]) whose
    /// keys the account holder compared out of band: the add-device statement,
    /// then its identity bundle. [DEV-5] [CHAIN-6] [CHAIN-17]
    pub fn start_approve<R: CryptoRng + ?Sized>(&mut self, pending: &PendingDevice, rng: &mut R) -> Result<()> {
        let token = self.session()?;
        let approval = approve_device(&self.state.chain, &self.state.keys.device, pending, &self.state.keys.umks, rng)?;
        let id = pending.public.id();
        let put = Request::PutBundle { token, device: id.0, bundle: approval.bundle_wrap };
        self.begin_chain(vec![approval.statement], None, vec![put], Outcome::Approved(id))
    }

    /// Starts revoking `target` and rotating to a new epoch in one statement:
    /// its writes are accepted up to the last one this device took from it
    /// (`max_seq`, pinned by identity). Sync first so that bound is current. [CHAIN-20]
    pub fn start_revoke<R: CryptoRng + ?Sized>(&mut self, target: &DeviceId, rng: &mut R) -> Result<()> {
        let max_seq = self.last_seq(target);
        let last = match max_seq {
            0 => [0; 32],
            s => self.envelope_identity(target, s).ok_or(Error::ClientState)?,
        };
        let rot = revoke_and_rotate(&self.state.chain, &self.state.keys.device, target, max_seq, last, rng)?;
        let umk = (rot.state.epoch(), rot.umk);
        self.begin_chain(rot.statements, Some(umk), Vec::new(), Outcome::Revoked(*target))
    }

    /// Starts a password change: the new password's authority replaces the
    /// old one in a new epoch, signed by `signer` (the current password's or
    /// the recovery code's [`UnlockPathKeys`]; a device may not sign it), keeping every
    /// device the password enrolled; then the server's salt, parameters, auth
    /// value and UMK_0 wrap are replaced. [CHAIN-14] [CHAIN-18]
    pub fn start_change_password<R: CryptoRng + ?Sized>(
        &mut self,
        signer: &UnlockPathKeys,
        kdf: &PasswordKdf,
        password: &PasswordKeys,
        rng: &mut R,
    ) -> Result<()> {
        let token = self.session()?;
        let new = UnlockPathKeys::from_password(password, kdf);
        let (statements, umk, wrap) = self.replacement(signer, &new, rng)?;
        let set = Request::SetPassword {
            token,
            kdf: kdf.encode(),
            auth: *password.auth.expose(),
            password_wrap: wrap.to_vec(),
        };
        self.begin_chain(statements, Some(umk), vec![set], Outcome::AuthorityReplaced)
    }

    /// Starts a recovery-code change: as [`Client::start_change_password`] for
    /// the recovery path (signed by the current recovery authority), then the
    /// server's recovery wrap of UMK_0 is replaced. [CHAIN-14]
    pub fn start_change_recovery<R: CryptoRng + ?Sized>(
        &mut self,
        signer: &UnlockPathKeys,
        code: &RecoveryKeys,
        rng: &mut R,
    ) -> Result<()> {
        let token = self.session()?;
        let new = UnlockPathKeys::from_recovery(code);
        let (statements, umk, wrap) = self.replacement(signer, &new, rng)?;
        let set = Request::SetRecoveryWrap { token, recovery_wrap: wrap.to_vec() };
        self.begin_chain(statements, Some(umk), vec![set], Outcome::AuthorityReplaced)
    }

    #[allow(clippy::type_complexity)]
    fn replacement<R: CryptoRng + ?Sized>(
        &self,
        signer: &UnlockPathKeys,
        new: &UnlockPathKeys,
        rng: &mut R,
    ) -> Result<(Vec<Vec<u8>>, (Epoch, Umk), [u8; crate::unlock::wrap::UMK_WRAP_LEN])> {
        let chain = &self.state.chain;
        let keep = enrolled_by(chain, new.path);
        let rep = replace_authority(chain, &signer.authority, new, &keep, &self.state.keys.umks, rng)?;
        let umk0 = self.state.keys.umks.get(&0).ok_or(Error::EnvEpoch)?;
        let wrap = new.wrap_umk0(chain.account(), umk0, rng)?;
        Ok((rep.statements, (rep.state.epoch(), rep.umk), wrap))
    }

    /// Starts pinning a partner's HPKE key, after the account holder compared
    /// its fingerprint ([`crate::chain::partner_fingerprint`]) out of band. [BAT-4]
    pub fn start_pin_partner(&mut self, key: [u8; 32], label: &str) -> Result<()> {
        let body = Body::PinPartner { key, label: label.into() };
        let (statement, _) = extend(&self.state.chain, body, &self.state.keys.device)?;
        self.begin_chain(vec![statement], None, Vec::new(), Outcome::PartnerPinned(key))
    }

    pub(super) fn step_chain(&mut self, mut c: Box<ChainOp>, response: Response) -> Next {
        if response != Response::Ok {
            return Next::Done(unexpected(response));
        }
        if !c.appended {
            c.appended = true;
            let before = self.snapshot();
            self.state.chain = c.next.clone();
            if let Some((e, k)) = c.umk.take() {
                self.state.keys.umks.insert(e, k);
            }
            // [PERSIST-1] the chain head this device appended is durable before anything follows
            if let Err(e) = self.commit_since(before) {
                return Next::Done(Err(e));
            }
        }
        if c.then.is_empty() {
            return Next::Done(Ok(c.outcome));
        }
        let next = c.then.remove(0);
        Next::Send(Op::Chain(c), next)
    }
}
