//! Pairing, the new device's side ([DEV-4] to [DEV-6]); the approver's side is
//! [`Client::start_list_pending`] and [`Client::start_approve`]. [CLIENT-3]
//!
//! ```text
//! PostPending(keys, proof of possession) -> Ok
//! GetBundle -> Bundle        (E_SRV_NOT_FOUND until the approver stored it: Joining::retry)
//! GetSharedChain -> Chain:   accept_pairing (chain from genesis, signed by the compared approver,
//!                            bundle committed, every UMK checked)
//! commit the device's first state; login with the device key -> the client
//! ```

use super::{Exchange, Handoff, Stage, refused};
use crate::chain::accept_pairing;
use crate::client::Client;
use crate::client::persist::Persist;
use crate::device::{DeviceId, DeviceKeys};
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::server::wire::{Request, Response};

enum Step {
    Posted,
    Bundle,
    Chain(Vec<u8>),
}

struct Ctx<P: Persist> {
    store: Option<P>,
    device: DeviceKeys,
    account: AccountId,
    approver: DeviceId,
    step: Step,
}

/// A new device joining an account; its output is the new device's logged-in
/// [`Client`]. `approver` is the device the account holder compared codes with
/// ([`crate::chain::pairing_approver`], [DEV-4]).
///
/// ```
/// use blindsync::client::{Client, Joining, Transport, Volatile, run};
/// use blindsync::device::{DeviceId, DeviceKeys};
/// use blindsync::keys::AccountId;
/// use blindsync::Error;
/// fn join(server: &mut dyn Transport, me: DeviceKeys, account: AccountId, approver: DeviceId) -> blindsync::Result<Client> {
///     let mut op = Joining::new(Volatile, me, account, approver);
///     loop {
///         match run(&mut op, server) {
///             // not approved yet: ask again later (here: at once)
///             Err(Error::SrvNotFound) if op.retry() => continue,
///             other => return other,
///         }
///     }
/// }
/// ```
pub struct Joining<P: Persist> {
    stage: Stage<Ctx<P>, P>,
}

impl<P: Persist> Joining<P> {
    /// Announces the device as pending, then waits for its bundle.
    pub fn new(store: P, device: DeviceKeys, account: AccountId, approver: DeviceId) -> Self {
        let p = device.pending(&account);
        let request =
            Request::PostPending { account: account.0, ed25519: p.public.ed25519, x25519: p.public.x25519, pop: p.pop };
        let ctx = Ctx { store: Some(store), device, account, approver, step: Step::Posted };
        Joining { stage: Stage::Send(ctx, request) }
    }

    /// After `E_SRV_NOT_FOUND` (the approver had not stored the bundle yet):
    /// asks for it again. Returns whether there was anything to retry.
    pub fn retry(&mut self) -> bool {
        match core::mem::replace(&mut self.stage, Stage::Stopped(None)) {
            Stage::Stopped(Some(ctx)) if matches!(ctx.step, Step::Bundle) => {
                let request = Request::GetBundle { account: ctx.account.0, device: ctx.device.id().0 };
                self.stage = Stage::Send(ctx, request);
                true
            }
            other => {
                self.stage = other;
                false
            }
        }
    }
}

fn step<P: Persist>(mut ctx: Ctx<P>, response: Response) -> Result<Stage<Ctx<P>, P>> {
    let request = match (&ctx.step, response) {
        (Step::Posted, Response::Ok) => {
            ctx.step = Step::Bundle;
            Request::GetBundle { account: ctx.account.0, device: ctx.device.id().0 }
        }
        (Step::Bundle, Response::Bundle { bundle }) => {
            ctx.step = Step::Chain(bundle);
            Request::GetSharedChain { account: ctx.account.0 }
        }
        (Step::Chain(bundle), Response::Chain { statements }) => {
            let (chain, umks) = accept_pairing(&ctx.device, &ctx.account, &ctx.approver, bundle, &statements)?;
            let store = ctx.store.take().ok_or(Error::ClientState)?;
            let client = Client::with_store(store, ctx.device, chain, umks);
            return Ok(Stage::Handoff(Box::new(Handoff::start(client)?)));
        }
        // not approved yet: kept for Joining::retry
        (Step::Bundle, Response::Error(Error::SrvNotFound)) => return Ok(Stage::Failed(Error::SrvNotFound, Some(ctx))),
        (_, r) => return refused(r),
    };
    Ok(Stage::Send(ctx, request))
}

impl<P: Persist> Exchange for Joining<P> {
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
