//! Registering a new account from its first device. [CHAIN-8] [SRV-2] [CLIENT-3]
//!
//! ```text
//! new(): create_account (genesis, UMK_0, both chapter 5 wraps; rng enters here)
//! Register -> Ok: commit the device's first state; login with the device key -> the client
//! ```

use super::{Exchange, Handoff, Stage, refused};
use crate::chain::{ChainState, create_account};
use crate::client::Client;
use crate::client::persist::Persist;
use crate::device::DeviceKeys;
use crate::error::Result;
use crate::primitives::CryptoRng;
use crate::server::wire::{Request, Response};
use crate::unlock::password::{PasswordKdf, PasswordKeys};
use crate::unlock::recovery::RecoveryKeys;

/// Registration in progress; its output is the first device's logged-in [`Client`].
///
/// ```
/// use blindsync::client::{Registration, Volatile, run};
/// use blindsync::device::DeviceKeys;
/// use blindsync::primitives::SeededRng;
/// use blindsync::server::{MemoryStorage, Server, ServerConfig, wire::Request};
/// use blindsync::unlock::{password::{KdfParams, PasswordKdf}, recovery::RecoveryCode};
/// let mut rng = SeededRng::from_label("doc");
/// let dev = DeviceKeys::generate(&mut rng);
/// let code = RecoveryCode::generate(&mut rng); // shown to the user once
/// let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
/// let pw = kdf.derive(b"correct horse battery")?;
/// let mut reg = Registration::new(Volatile, dev, b"a@example.org", &code.derive(), &pw, &kdf, &mut rng)?;
/// let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([1; 32]));
/// let mut srng = SeededRng::from_label("server");
/// let client = run(&mut reg, &mut |r: Request| server.handle(r, 0, &mut srng))?;
/// assert!(client.token().is_some());
/// # Ok::<(), blindsync::Error>(())
/// ```
pub struct Registration<P: Persist> {
    stage: Stage<Client<P>, P>,
    genesis: ChainState,
}

impl<P: Persist> Registration<P> {
    /// Creates the account locally (nothing is committed before the server
    /// registered it) and prepares the `Register` request.
    pub fn new<R: CryptoRng + ?Sized>(
        store: P,
        device: DeviceKeys,
        email: &[u8],
        recovery: &RecoveryKeys,
        password: &PasswordKeys,
        kdf: &PasswordKdf,
        rng: &mut R,
    ) -> Result<Self> {
        let acct = create_account(&device, recovery, password, kdf, rng)?;
        let request = Request::Register {
            email: email.to_vec(),
            kdf: kdf.encode(),
            auth: *password.auth.expose(),
            genesis: acct.genesis.clone(),
            recovery_wrap: acct.recovery_wrap.to_vec(),
            password_wrap: acct.password_wrap.to_vec(),
        };
        let genesis = acct.state.clone();
        let client = Client::with_store(store, device, acct.state.clone(), acct.umks());
        Ok(Registration { stage: Stage::Send(client, request), genesis })
    }

    /// The new account's chain (its fingerprint is what other devices compare).
    pub fn chain(&self) -> &ChainState {
        &self.genesis
    }
}

impl<P: Persist> Exchange for Registration<P> {
    type Output = Client<P>;

    fn poll_request(&mut self) -> Option<Request> {
        self.stage.poll_request()
    }

    fn handle_response(&mut self, response: Response) -> Result<()> {
        self.stage.handle_response(response, |client, r| match r {
            Response::Ok => Ok(Stage::Handoff(Box::new(Handoff::start(client)?))),
            r => refused(r),
        })
    }

    fn poll_outcome(&mut self) -> Option<Result<Client<P>>> {
        self.stage.poll_outcome()
    }
}
