//! The reference server in process, as the tests, examples and fuzz targets
//! that drive real clients share it.

use blindsync::client::{Client, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig, Storage};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The reference server behind the byte encoding a network carries: each
/// request is encoded, handled by [`Server::handle_bytes`] at a clock that
/// advances by `step_ms` per request, and the response decoded (an
/// undecodable one becomes `Response::Error`). `page` caps every listing
/// page, so a sync takes several.
pub struct Net<S: Storage = MemoryStorage> {
    /// The server.
    pub server: Server<S>,
    /// The server's RNG (tokens, nonces).
    pub rng: SeededRng,
    /// The server's clock, ms.
    pub now_ms: u64,
    /// How far the clock advances per request, ms.
    pub step_ms: u64,
    /// Longest listing page served, if capped.
    pub page: Option<usize>,
}

impl Net<MemoryStorage> {
    /// A fresh in-memory server, its RNG seeded from `label`, its clock at 1 000 000 ms.
    pub fn new(label: &str) -> Self {
        Net::with_storage(MemoryStorage::default(), label)
    }
}

impl<S: Storage> Net<S> {
    /// A server over `storage`.
    pub fn with_storage(storage: S, label: &str) -> Self {
        Net {
            server: Server::new(storage, ServerConfig::new([5; 32])),
            rng: SeededRng::from_label(&format!("{label}/server")),
            now_ms: 1_000_000,
            step_ms: 1_000,
            page: None,
        }
    }
}

impl<S: Storage + Clone> Clone for Net<S> {
    /// The same server state; the copy's RNG restarts from a seed of its clock,
    /// so every copy of one world draws the same tokens.
    fn clone(&self) -> Self {
        Net {
            server: self.server.clone(),
            rng: SeededRng::from_seed([self.now_ms as u8; 32]),
            now_ms: self.now_ms,
            step_ms: self.step_ms,
            page: self.page,
        }
    }
}

impl<S: Storage> Transport for Net<S> {
    fn call(&mut self, request: Request) -> Response {
        self.now_ms += self.step_ms;
        let bytes = self.server.handle_bytes(&request.encode(), self.now_ms, &mut self.rng);
        match Response::decode(&bytes) {
            Ok(Response::Items { mut items }) => {
                if let Some(page) = self.page {
                    items.truncate(page);
                }
                Response::Items { items }
            }
            Ok(r) => r,
            Err(e) => Response::Error(e),
        }
    }
}

/// A registered account: its first device (in memory, logged in), recovery code and KDF
/// (at the floor, so tests stay fast).
pub struct Account {
    /// The first device.
    pub client: Client,
    /// The recovery code.
    pub code: RecoveryCode,
    /// The password KDF.
    pub kdf: PasswordKdf,
}

/// Registers `email` with password `password` through the client's registration
/// operation ([CLIENT-3]).
pub fn register<S: Storage>(
    net: &mut Net<S>,
    email: &[u8],
    password: &[u8],
    rng: &mut SeededRng,
) -> blindsync::Result<Account> {
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let keys = kdf.derive(password)?;
    let device = DeviceKeys::generate(rng);
    let mut registration = Registration::new(Volatile, device, email, &code.derive(), &keys, &kdf, rng)?;
    let client = run(&mut registration, net)?;
    Ok(Account { client, code, kdf })
}

/// A transport to `net` that answers the first AppendChain the server accepted with
/// `E_SRV_UNAVAILABLE`: stored, its answer lost, as after a dropped connection ([SYNC-6],
/// [CHAIN-13] step 7).
pub struct LoseFirstAppend<'a> {
    /// The network.
    pub net: &'a mut Net,
    /// The answer has been lost already.
    pub lost: bool,
}

impl<'a> LoseFirstAppend<'a> {
    /// Over `net`, nothing lost yet.
    pub fn new(net: &'a mut Net) -> Self {
        LoseFirstAppend { net, lost: false }
    }
}

impl Transport for LoseFirstAppend<'_> {
    fn call(&mut self, r: Request) -> Response {
        let append = matches!(r, Request::AppendChain { .. });
        let resp = self.net.call(r);
        if append && !self.lost && resp == Response::Ok {
            self.lost = true;
            return Response::Error(blindsync::error::Error::SrvUnavailable);
        }
        resp
    }
}
