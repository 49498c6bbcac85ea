//! Unlocking an account on a new device with one unlock path, the password
//! or the recovery code (enrollment, [CHAIN-13]). [CLIENT-3]
//!
//! ```text
//! password: GetKdf(email) -> Kdf: derive (Argon2id) -> LoginPassword(email, auth) -> Token
//! recovery: Challenge(account, authority) -> Nonce -> LoginKey (signed by the authority) -> Token
//! GetChain -> Chain: verify from genesis (recovery: it must be the account asked for)
//! GetWraps -> Wraps: enroll (pinned KDF, authority, UMK_0 and every epoch checked; add-device statement)
//!   (the chain already holds this device's keys, active: an earlier attempt's answer was lost;
//!    the same checks, no statement, no AppendChain)
//! AppendChain -> Ok: commit the device's first state; login with the device key -> the client
//! ```

use zeroize::Zeroizing;

use super::{Exchange, Handoff, Stage, refused};
use crate::chain::verify::Introducer;
use crate::chain::{ChainSigner, ChainState, UnlockPath, UnlockPathKeys, enroll, unlock_with};
use crate::client::Client;
use crate::client::persist::Persist;
use crate::device::DeviceKeys;
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::server::login_message;
use crate::server::wire::{Request, Response, Token};
use crate::unlock::password::PasswordKdf;
use crate::unlock::recovery::RecoveryKeys;

enum Step {
    Kdf { email: Vec<u8>, password: Zeroizing<Vec<u8>> },
    Login { keys: UnlockPathKeys },
    Nonce { keys: UnlockPathKeys },
    Chain { keys: UnlockPathKeys, token: Token },
    Wraps { keys: UnlockPathKeys, token: Token, chain: ChainState },
    Append { chain: ChainState, umks: std::collections::BTreeMap<crate::keys::Epoch, crate::keys::Umk> },
}

struct Ctx<P: Persist> {
    store: Option<P>,
    device: DeviceKeys,
    account: Option<AccountId>,
    step: Option<Step>,
}

/// Enrollment in progress; its output is the new device's logged-in [`Client`].
/// The caller shows [`ChainState::fingerprint`] of the result for comparison.
///
/// ```
/// use blindsync::client::{Enrollment, Transport, Volatile, run};
/// use blindsync::device::DeviceKeys;
/// use blindsync::primitives::os_rng;
/// fn new_laptop(server: &mut dyn Transport, password: &[u8]) -> blindsync::Result<String> {
///     let device = DeviceKeys::generate(&mut os_rng());
///     let mut op = Enrollment::with_password(Volatile, device, b"me@example.org", password);
///     let laptop = run(&mut op, server)?;
///     Ok(laptop.chain().fingerprint()) // the user compares it with another device's
/// }
/// ```
pub struct Enrollment<P: Persist> {
    stage: Stage<Ctx<P>, P>,
    path: UnlockPath,
}

impl<P: Persist> Enrollment<P> {
    /// Enrolls `device` with the account's password.
    pub fn with_password(store: P, device: DeviceKeys, email: &[u8], password: &[u8]) -> Self {
        let step = Step::Kdf { email: email.to_vec(), password: Zeroizing::new(password.to_vec()) };
        let ctx = Ctx { store: Some(store), device, account: None, step: Some(step) };
        let request = Request::GetKdf { email: email.to_vec() };
        Enrollment { stage: Stage::Send(ctx, request), path: UnlockPath::Password }
    }

    /// Enrolls `device` into `account` with the recovery code's keys.
    pub fn with_recovery(store: P, device: DeviceKeys, account: AccountId, recovery: &RecoveryKeys) -> Self {
        let keys = UnlockPathKeys::from_recovery(recovery);
        let request = Request::Challenge { account: account.0, key: keys.authority.public_key() };
        let ctx = Ctx { store: Some(store), device, account: Some(account), step: Some(Step::Nonce { keys }) };
        Enrollment { stage: Stage::Send(ctx, request), path: UnlockPath::Recovery }
    }

    /// The path in use.
    pub fn path(&self) -> UnlockPath {
        self.path
    }
}

fn step<P: Persist>(mut ctx: Ctx<P>, response: Response) -> Result<Stage<Ctx<P>, P>> {
    let step = ctx.step.take().ok_or(Error::ClientState)?;
    let (next, request) = match (step, response) {
        (Step::Kdf { email, password }, Response::Kdf { kdf }) => {
            // [KDF] the served parameters are checked against the floor and ceiling by derive;
            // against the chain's pin by enroll ([CHAIN-18]).
            let kdf = PasswordKdf::decode(&kdf)?;
            let derived = kdf.derive(&password)?;
            let auth = *derived.auth.expose();
            (
                Step::Login { keys: UnlockPathKeys::from_password(&derived, &kdf) },
                Request::LoginPassword { email, auth },
            )
        }
        (Step::Nonce { keys }, Response::Nonce { nonce }) => {
            let account = ctx.account.ok_or(Error::ClientState)?;
            let key = keys.authority.public_key();
            let signature = keys.authority.sign_message(&login_message(&account, &key, &nonce));
            (Step::Login { keys }, Request::LoginKey { account: account.0, key, nonce, signature })
        }
        (Step::Login { keys }, Response::Token { token, .. }) => {
            (Step::Chain { keys, token }, Request::GetChain { token })
        }
        (Step::Chain { keys, token }, Response::Chain { statements }) => {
            let chain = ChainState::verify(&statements)?;
            if ctx.account.is_some_and(|a| a != chain.account()) {
                return Err(Error::ChainGenesis);
            }
            (Step::Wraps { keys, token, chain }, Request::GetWraps { token })
        }
        (Step::Wraps { keys, token, chain }, Response::Wraps { recovery_wrap, password_wrap }) => {
            let wrap = if keys.kdf_binding.is_empty() { recovery_wrap } else { password_wrap };
            // [CHAIN-13] step 7: an earlier attempt's add-device statement is already in the
            // verified chain (the server stored it and the answer was lost): this path's
            // authority added exactly these keys. Steps 3 to 6 as always, then nothing is signed
            // or appended, and the device learns its own last write from a sync before it
            // writes ([CLIENT-5]: its store may be gone, not new). Keys another party added
            // (a device's approval) are not resumed: the append is refused as before.
            let id = ctx.device.id();
            if chain.devices().get(&id) == Some(&ctx.device.public())
                && chain.device_introducer(&id) == Some(Introducer::Authority(keys.path))
            {
                let mut umks = unlock_with(&chain, &keys, &wrap, &crate::defences::Defences::ALL)?;
                // [CHAIN-12] and every wrap the chain holds to the device's own key (statements
                // after its installation), each key-checked, as a paired device takes them
                for (e, u) in chain.open_epoch_umks(ctx.device.hpke_key())? {
                    umks.entry(e).or_insert(u);
                }
                let store = ctx.store.take().ok_or(Error::ClientState)?;
                let mut client = Client::with_store(store, ctx.device, chain, umks);
                client.reopened = true;
                return Ok(Stage::Handoff(Box::new(Handoff::start(client)?)));
            }
            let (statement, next, umks) = enroll(&chain, &keys, &wrap, &ctx.device)?;
            (Step::Append { chain: next, umks }, Request::AppendChain { token, statements: vec![statement] })
        }
        (Step::Append { chain, umks }, Response::Ok) => {
            let store = ctx.store.take().ok_or(Error::ClientState)?;
            let client = Client::with_store(store, ctx.device, chain, umks);
            return Ok(Stage::Handoff(Box::new(Handoff::start(client)?)));
        }
        (_, r) => return refused(r),
    };
    ctx.step = Some(next);
    Ok(Stage::Send(ctx, request))
}

impl<P: Persist> Exchange for Enrollment<P> {
    type Output = Client<P>;

    fn poll_request(&mut self) -> Option<Request> {
        self.stage.poll_request()
    }

    fn handle_response(&mut self, response: Response) -> Result<()> {
        self.stage.handle_response(response, step)
    }

    fn poll_outcome(&mut self) -> Option<Result<Client<P>>> {
        self.stage.poll_outcome()
    }
}
