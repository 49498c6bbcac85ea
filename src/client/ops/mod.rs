//! Operations as state machines (spec 11.8, [CLIENT-1] to [CLIENT-3]).
//!
//! Every operation speaks the same sans-IO contract, [`Exchange`]:
//!
//! ```text
//! start (randomness and time enter here, as parameters)
//! loop:
//!   poll_request()  -> Some(request): send it, hand its response to handle_response(response)
//!                   -> None:          the operation is over; poll_outcome() gives its result
//! ```
//!
//! A [`Client`] runs one operation at a time (`start_*` while one runs is
//! [`Error::ClientBusy`]); [`Registration`], [`Enrollment`] and [`Joining`]
//! run before a device has a client, and produce one; [`PartnerOpen`] is a
//! partner's, which has no client.
//! [`run`] is the blocking driver over a [`Transport`]; an async driver is the
//! same loop with an `.await`:
//!
//! ```
//! use blindsync::client::{Exchange, Outcome};
//! use blindsync::server::wire::{Request, Response};
//! # trait Http { async fn send(&mut self, r: Request) -> Response; }
//! async fn run_async<E: Exchange>(op: &mut E, http: &mut impl Http) -> blindsync::Result<E::Output> {
//!     while let Some(request) = op.poll_request() {
//!         let response = http.send(request).await;
//!         op.handle_response(response)?;
//!     }
//!     op.poll_outcome().unwrap_or(Err(blindsync::Error::ClientNoOperation))
//! }
//! ```

mod chain;
mod enroll;
mod pair;
mod partner;
mod register;
mod sync;
mod write;

pub use enroll::Enrollment;
pub use pair::Joining;
pub use partner::{PartnerOpen, PartnerState};
pub use register::Registration;

use super::Client;
use super::alerts::SyncReport;
use super::persist::Persist;
use super::state::State;
use crate::chain::PendingDevice;
use crate::device::DeviceId;
use crate::error::{Error, Result};
use crate::server::login_message;
use crate::server::wire::{Request, RequestKind, Response, Token};

/// Anything that answers requests: the in-process server, a network client,
/// or a misbehaving server in a test or the model.
pub trait Transport {
    /// Sends one request, returns its response.
    fn call(&mut self, request: Request) -> Response;
}

impl<F: FnMut(Request) -> Response> Transport for F {
    fn call(&mut self, request: Request) -> Response {
        self(request)
    }
}

/// The sans-IO contract of every operation. [CLIENT-1]
///
/// `poll_request` hands out the next request once; the caller sends it and
/// passes the server's answer to `handle_response`. When `poll_request`
/// returns `None`, `poll_outcome` returns the result once. A step that
/// changes the device's state commits it in one atomic batch before the next
/// request is handed out or the result is reported ([PERSIST-1]).
pub trait Exchange {
    /// What the operation produces.
    type Output;
    /// The next request to send, if the operation waits for one.
    fn poll_request(&mut self) -> Option<Request>;
    /// The answer to the request last handed out. `Err` only for contract
    /// misuse ([`Error::ClientNoOperation`]: nothing was waiting for it); an
    /// operation that fails reports its error through [`Exchange::poll_outcome`].
    fn handle_response(&mut self, response: Response) -> Result<()>;
    /// The result, once the operation is over (then `None` again).
    fn poll_outcome(&mut self) -> Option<Result<Self::Output>>;
}

/// Runs an operation to its end over a blocking [`Transport`]. [CLIENT-1]
pub fn run<E: Exchange + ?Sized>(op: &mut E, transport: &mut dyn Transport) -> Result<E::Output> {
    while let Some(request) = op.poll_request() {
        op.handle_response(transport.call(request))?;
    }
    op.poll_outcome().unwrap_or(Err(Error::ClientNoOperation))
}

/// What a client operation produced. [CLIENT-1]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A session was opened.
    LoggedIn,
    /// The outbox was empty, or its write is now stored. [SYNC-6]
    Flushed,
    /// A write was stored with this revision. [SYNC-6]
    Written {
        /// Its revision.
        revision: u64,
    },
    /// A sync ran. [SYNC-8]
    Synced(SyncReport),
    /// Statements were appended and the chain after them adopted. [SYNC-5]
    ChainAppended,
    /// The devices waiting for approval. [SRV-13]
    Pending(Vec<PendingDevice>),
    /// A new device was approved and its identity bundle stored. [DEV-5]
    Approved(DeviceId),
    /// A device was revoked and a new epoch started. [CHAIN-20]
    Revoked(DeviceId),
    /// An unlock path's keys were replaced and the server's copy updated. [CHAIN-14]
    AuthorityReplaced,
    /// A partner key was pinned. [BAT-4]
    PartnerPinned([u8; 32]),
    /// An event hash was reported; the server's running value after it. [HCH-6]
    Reported([u8; 32]),
    /// A batch was stored for its recipients. [BAT-7]
    BatchStored,
}

/// Where one operation stands. Kept in the client between steps; never persisted
/// (a restart abandons the operation, and the state is the one its last step committed).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Login(Option<[u8; 32]>),
    Flush,
    Write(u64),
    Sync(sync::SyncOp),
    Chain(Box<chain::ChainOp>),
    ListPending,
    /// A request answered by one response, mapped to an outcome.
    Single(Outcome),
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Running {
    pub(crate) op: Op,
    pub(crate) next: Option<Request>,
    /// The kind of the request handed out and not answered yet ([CLIENT-6]).
    pub(crate) sent: Option<RequestKind>,
}

/// What a step decided (a transient return value: its size does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    Send(Op, Request),
    Done(Result<Outcome>),
}

/// A response of the wrong kind, or the server's refusal. [CLIENT-1]
pub(crate) fn unexpected(r: Response) -> Result<Outcome> {
    match r {
        Response::Error(e) => Err(from_server(e)),
        _ => Err(Error::ClientUnexpectedResponse),
    }
}

/// An error code the server answered, as this device reports it. [ERR-2] [CLIENT-2]
///
/// A server may only answer codes about the request or the data: a code of
/// the `internal` or `misuse` class (`E_STORE_*`, `E_CLIENT_*`, `E_EMPTY_AAD`,
/// …) describes the device's own environment or calls, and a server that
/// sends one would make the device blame itself (and, for `E_STORE_CORRUPT`,
/// throw away its anti-rollback state), so it is `E_CLIENT_UNEXPECTED_RESPONSE`.
pub(crate) fn from_server(e: Error) -> Error {
    use crate::error::Fault;
    if matches!(e.fault(), Fault::Internal | Fault::Misuse) || e.code().starts_with("E_CLIENT_") {
        Error::ClientUnexpectedResponse
    } else {
        e
    }
}

/// True when a server may answer a request of `kind` with `Error(e)`: the codes its own checks
/// of that request produce, [CLIENT-6]'s table. Any other code names a check only a device
/// runs (`E_CHAIN_FORK`, `E_SYNC_*`, `E_ENV_SIGNATURE`, ...), or the device's own environment.
/// A device's operations turn such an answer into `E_CLIENT_UNEXPECTED_RESPONSE`.
///
/// ```
/// use blindsync::Error;
/// use blindsync::client::server_may_answer;
/// use blindsync::server::wire::RequestKind;
/// assert!(server_may_answer(RequestKind::AppendChain, Error::SrvChainHead));
/// assert!(server_may_answer(RequestKind::AppendChain, Error::ChainSignature));
/// assert!(!server_may_answer(RequestKind::GetChain, Error::ChainFork));
/// assert!(!server_may_answer(RequestKind::ListSince, Error::SyncWithheld));
/// ```
pub fn server_may_answer(kind: RequestKind, e: Error) -> bool {
    use Error as E;
    use RequestKind as K;
    // every request: undecodable ([SYNC-2]), or the server cannot store now ([SRV-12])
    let any = matches!(
        e,
        E::DecodeTruncated | E::DecodeTrailing | E::DecodeLength | E::DecodeLabel | E::DecodeValue | E::SrvUnavailable
    );
    // [CHAIN-8] verifying a statement, without [CHAIN-10]'s comparisons (E_CHAIN_FORK, _ROLLBACK)
    let chain = matches!(
        e,
        E::ChainSignerUnknown
            | E::ChainSignerRevoked
            | E::ChainLink
            | E::ChainPosition
            | E::ChainEpoch
            | E::ChainSignature
            | E::ChainGenesis
            | E::ChainNotAuthorized
            | E::ChainState
            | E::ChainRecipients
            | E::ChainPossession
            | E::ChainCascade
            | E::DeviceKeyInvalid
            | E::HpkeLowOrder
            | E::KdfVersion
            | E::KdfParamsTooWeak
            | E::KdfParamsTooLarge
    );
    let kdf = matches!(e, E::KdfVersion | E::KdfParamsTooWeak | E::KdfParamsTooLarge | E::KdfNotPinned);
    any || match kind {
        K::Register => chain || kdf || matches!(e, E::WrapLength | E::SrvExists),
        K::GetKdf | K::Challenge => false,
        K::LoginPassword => matches!(e, E::SrvAuth | E::SrvRateLimit),
        K::LoginKey
        | K::GetChain
        | K::GetWraps
        | K::ListSince
        | K::GetAudit
        | K::ListPending
        | K::PutBundle
        | K::PutDeviceMeta
        | K::ReportEvent => e == E::SrvAuth,
        K::AppendChain => chain || matches!(e, E::SrvAuth | E::SrvChainHead),
        K::PutRecord => matches!(
            e,
            E::SrvAuth
                | E::SrvWriter
                | E::SrvRevision
                | E::SyncRevisionStep
                | E::EnvVersion
                | E::EnvSuite
                | E::EnvTooLarge
                | E::EnvLength
        ),
        K::PutBatch => matches!(e, E::SrvAuth | E::SrvExists),
        K::GetBatch => matches!(e, E::SrvAuth | E::SrvNotFound),
        K::GetSharedBatch | K::GetSharedChain | K::GetBundle => e == E::SrvNotFound,
        K::SetPassword => kdf || matches!(e, E::SrvAuth | E::WrapLength),
        K::SetRecoveryWrap => matches!(e, E::SrvAuth | E::WrapLength),
        K::PostPending => matches!(
            e,
            E::DeviceKeyInvalid
                | E::HpkeLowOrder
                | E::ChainPossession
                | E::SrvNotFound
                | E::SrvExists
                | E::SrvPendingFull
        ),
    }
}

/// The answer to a request of `kind` as the device takes it: an `Error` whose code the
/// server may not answer to it becomes `E_CLIENT_UNEXPECTED_RESPONSE`. [CLIENT-6]
pub(crate) fn screen(kind: RequestKind, response: Response) -> Response {
    match response {
        Response::Error(e) if !server_may_answer(kind, e) => Response::Error(Error::ClientUnexpectedResponse),
        r => r,
    }
}

impl<P: Persist> Client<P> {
    pub(crate) fn begin(&mut self, op: Op, request: Request) -> Result<()> {
        // [CLIENT-2] an operation in progress, or a finished one whose outcome (with its
        // alerts) the caller has not taken yet: starting another would lose it.
        if self.op.is_some() || self.done.is_some() {
            return Err(Error::ClientBusy);
        }
        self.op = Some(Running { op, next: Some(request), sent: None });
        Ok(())
    }

    /// Adds `alerts` to the unread ones: one per class (the first), at most
    /// [`MAX_UNREAD_ALERTS`], never evicting one already kept, so a flood of
    /// alerts of one class cannot push out another. [PERSIST-6]
    ///
    /// [`MAX_UNREAD_ALERTS`]: crate::client::MAX_UNREAD_ALERTS
    pub(crate) fn remember_alerts(&mut self, alerts: &[crate::client::Alert]) {
        use crate::client::Alert;
        // the class: the kind, and the writer or the error code it concerns; a stale head also
        // its sequence number (each names another record the revoked device can read, and
        // each needs a real writer's signature, so no server can flood the class)
        let class = |a: &Alert| match a {
            Alert::Withheld { writer, .. } => (1, Some(*writer), None, 0),
            Alert::Rollback { writer, .. } => (2, Some(*writer), None, 0),
            Alert::Equivocation { writer, .. } => (3, Some(*writer), None, 0),
            Alert::StaleHead { writer, seq } => (4, Some(*writer), None, *seq),
            Alert::Fork => (5, None, None, 0),
            Alert::Chain(e) => (6, None, Some(*e), 0),
            Alert::Forged { error, .. } => (7, None, Some(*error), 0),
        };
        for a in alerts {
            let unread = &mut self.state.unread_alerts;
            if unread.len() < crate::client::state::MAX_UNREAD_ALERTS && !unread.iter().any(|u| class(u) == class(a)) {
                unread.push(*a);
            }
        }
    }

    pub(crate) fn session(&self) -> Result<Token> {
        self.token.ok_or(Error::ClientNotLoggedIn)
    }

    /// The state before a step, kept only where a failed commit must be undone
    /// (a durable store; [`Volatile`](crate::client::Volatile) never fails). [PERSIST-1]
    pub(crate) fn snapshot(&self) -> Option<State> {
        P::DURABLE.then(|| State::clone(&self.state))
    }

    /// Commits the state after a step; on failure restores `before` (the
    /// state the store still holds). [PERSIST-1]
    pub(crate) fn commit_since(&mut self, before: Option<State>) -> Result<()> {
        match self.store.commit(&self.state) {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(b) = before {
                    self.state = crate::client::shared::Shared::new(b);
                }
                Err(e)
            }
        }
    }

    /// Starts a challenge-response login with the device key. [SYNC-4]
    pub fn start_login(&mut self) -> Result<()> {
        let account = self.state.chain.account();
        let key = self.state.keys.device.public().ed25519;
        self.begin(Op::Login(None), Request::Challenge { account: account.0, key })
    }

    /// Starts listing the devices waiting for approval. [SRV-13]
    pub fn start_list_pending(&mut self) -> Result<()> {
        let token = self.session()?;
        self.begin(Op::ListPending, Request::ListPending { token })
    }

    /// Starts reporting one event hash of a batch as it happens ([HCH-6]):
    /// `report` comes from [`crate::batch::hchain::Recorder::record`].
    pub fn start_report_event(&mut self, batch_ref: [u8; 32], event_hash: [u8; 32], signature: [u8; 64]) -> Result<()> {
        let token = self.session()?;
        let r = Request::ReportEvent { token, batch_id: batch_ref, event_hash, signature };
        self.begin(Op::Single(Outcome::Reported([0; 32])), r)
    }

    /// Starts storing a sealed batch ([`crate::batch::sealed::seal`]) for its
    /// recipients (share, [BAT-7]).
    pub fn start_put_batch(&mut self, batch_ref: [u8; 32], sealed: &crate::batch::sealed::SealedBatch) -> Result<()> {
        let token = self.session()?;
        let r = Request::PutBatch { token, batch_id: batch_ref, blob: sealed.blob(), slots: sealed.slot_list() };
        self.begin(Op::Single(Outcome::BatchStored), r)
    }

    fn step(&mut self, op: Op, response: Response) -> Next {
        match op {
            Op::Login(None) => match response {
                Response::Nonce { nonce } => {
                    let account = self.state.chain.account();
                    let key = self.state.keys.device.public().ed25519;
                    let signature = self.state.keys.device.sign(&login_message(&account, &key, &nonce));
                    Next::Send(Op::Login(Some(nonce)), Request::LoginKey { account: account.0, key, nonce, signature })
                }
                r => Next::Done(unexpected(r)),
            },
            Op::Login(Some(_)) => match response {
                Response::Token { token, .. } => {
                    self.token = Some(token);
                    Next::Done(Ok(Outcome::LoggedIn))
                }
                r => Next::Done(unexpected(r)),
            },
            Op::Flush | Op::Write(_) => self.step_write(op, response),
            Op::Sync(s) => self.step_sync(s, response),
            Op::Chain(c) => self.step_chain(c, response),
            Op::ListPending => match response {
                Response::Pending { devices } => Next::Done(Ok(Outcome::Pending(
                    devices
                        .into_iter()
                        .map(|(ed25519, x25519, pop)| PendingDevice {
                            public: crate::device::DevicePublic { ed25519, x25519 },
                            pop,
                        })
                        .collect(),
                ))),
                r => Next::Done(unexpected(r)),
            },
            Op::Single(outcome) => match (outcome, response) {
                (Outcome::Reported(_), Response::EventHash { hash }) => Next::Done(Ok(Outcome::Reported(hash))),
                (Outcome::BatchStored, Response::Ok) => Next::Done(Ok(Outcome::BatchStored)),
                (_, r) => Next::Done(unexpected(r)),
            },
        }
    }
}

impl<P: Persist> Exchange for Client<P> {
    type Output = Outcome;

    fn poll_request(&mut self) -> Option<Request> {
        let running = self.op.as_mut()?;
        let request = running.next.take()?;
        running.sent = Some(request.kind());
        Some(request)
    }

    fn handle_response(&mut self, response: Response) -> Result<()> {
        // a request handed out and not answered yet: its kind screens the answer [CLIENT-6]
        let (op, kind) = match self.op.take() {
            Some(Running { op, next: None, sent: Some(kind) }) => (op, kind),
            other => {
                self.op = other;
                return Err(Error::ClientNoOperation);
            }
        };
        match self.step(op, screen(kind, response)) {
            Next::Send(op, request) => self.op = Some(Running { op, next: Some(request), sent: None }),
            Next::Done(result) => self.done = Some(result),
        }
        Ok(())
    }

    fn poll_outcome(&mut self) -> Option<Result<Outcome>> {
        if self.op.as_ref().is_some_and(|r| r.next.is_some()) {
            return None;
        }
        self.done.take()
    }
}

/// The last part of every operation that makes a device: commit its first
/// state, then log in with the device key; the output is the client. [PERSIST-1] [SYNC-4]
pub(crate) struct Handoff<P: Persist>(Option<Client<P>>);

impl<P: Persist> Handoff<P> {
    pub(crate) fn start(mut client: Client<P>) -> Result<Self> {
        client.save()?;
        client.start_login()?;
        Ok(Handoff(Some(client)))
    }

    pub(crate) fn poll_request(&mut self) -> Option<Request> {
        self.0.as_mut()?.poll_request()
    }

    pub(crate) fn handle_response(&mut self, response: Response) -> Result<()> {
        self.0.as_mut().ok_or(Error::ClientNoOperation)?.handle_response(response)
    }

    pub(crate) fn poll_outcome(&mut self) -> Option<Result<Client<P>>> {
        match self.0.as_mut()?.poll_outcome()? {
            Ok(Outcome::LoggedIn) => self.0.take().map(Ok),
            Ok(_) => Some(Err(Error::ClientUnexpectedResponse)),
            Err(e) => Some(Err(e)),
        }
    }
}

/// The stages every standalone operation shares: a request to hand out, an
/// answer awaited, the final handoff, or the end.
pub(crate) enum Stage<S, P: Persist> {
    Send(S, Request),
    /// Waiting for the answer to a request of this kind ([CLIENT-6]).
    Wait(S, RequestKind),
    Handoff(Box<Handoff<P>>),
    /// Failed; the context is kept where the operation can be retried.
    Failed(Error, Option<S>),
    /// Over; the context is kept where the operation can be retried.
    Stopped(Option<S>),
}

impl<S, P: Persist> Stage<S, P> {
    pub(crate) fn poll_request(&mut self) -> Option<Request> {
        match core::mem::replace(self, Stage::Stopped(None)) {
            Stage::Send(s, r) => {
                *self = Stage::Wait(s, r.kind());
                Some(r)
            }
            Stage::Handoff(mut h) => {
                let r = h.poll_request();
                *self = Stage::Handoff(h);
                r
            }
            other => {
                *self = other;
                None
            }
        }
    }

    /// Runs `step` on the awaited answer; `step` returns the next stage.
    pub(crate) fn handle_response(
        &mut self,
        response: Response,
        step: impl FnOnce(S, Response) -> Result<Stage<S, P>>,
    ) -> Result<()> {
        match core::mem::replace(self, Stage::Stopped(None)) {
            Stage::Wait(s, kind) => {
                *self = step(s, screen(kind, response)).unwrap_or_else(|e| Stage::Failed(e, None));
                Ok(())
            }
            Stage::Handoff(mut h) => {
                let r = h.handle_response(response);
                *self = Stage::Handoff(h);
                r
            }
            other => {
                *self = other;
                Err(Error::ClientNoOperation)
            }
        }
    }

    pub(crate) fn poll_outcome(&mut self) -> Option<Result<Client<P>>> {
        match core::mem::replace(self, Stage::Stopped(None)) {
            Stage::Failed(e, s) => {
                *self = Stage::Stopped(s);
                Some(Err(e))
            }
            Stage::Handoff(mut h) => {
                let r = h.poll_outcome();
                if r.is_none() {
                    *self = Stage::Handoff(h);
                }
                r
            }
            other => {
                *self = other;
                None
            }
        }
    }
}

/// The server's refusal, or a response of the wrong kind. [CLIENT-1]
pub(crate) fn refused<T>(r: Response) -> Result<T> {
    match r {
        Response::Error(e) => Err(from_server(e)),
        _ => Err(Error::ClientUnexpectedResponse),
    }
}
