//! The Rust client as a scenario's device: built from the starting material,
//! driven one operation at a time over a source of response bytes. The
//! verifier and the conformance adapter share it. [CONF-2] [CONF-3]

use std::collections::{BTreeMap, BTreeSet};

use blindsync::chain::ChainState;
use blindsync::client::{Client, Exchange, Outcome};
use blindsync::device::{DeviceKeys, DeviceSigningSeed};
use blindsync::envelope::RecordId;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::Umk;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::Response;

use super::{Expect, Material, Op, Step, state_digest, state_digest_input};
use crate::hex;

/// What one step produced. [CONF-3]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    /// The error code the operation ended with, if any.
    pub error: Option<String>,
    /// Distinct alert codes, ascending.
    pub alerts: Vec<String>,
    /// The state digest after the step.
    pub state_digest: [u8; 32],
    /// Its input.
    pub state_digest_input: Vec<u8>,
}

impl StepResult {
    /// Compares with what a step expects; `Err` says what differs.
    pub fn compare(&self, step: &Step) -> Result<(), String> {
        compare(&step.expect, self.error.as_deref(), &self.alerts, &self.state_digest)
    }
}

/// Compares a reported result with the expected one (alerts as a set). [CONF-2]
pub fn compare(want: &Expect, error: Option<&str>, alerts: &[String], digest: &[u8; 32]) -> Result<(), String> {
    if want.error.as_deref() != error {
        return Err(format!("error: expected {:?}, got {:?}", want.error, error));
    }
    let got: BTreeSet<&String> = alerts.iter().collect();
    let exp: BTreeSet<&String> = want.alerts.iter().collect();
    if got != exp {
        return Err(format!("alerts: expected {:?}, got {:?}", want.alerts, alerts));
    }
    if *digest != want.state_digest {
        return Err(format!(
            "state digest: expected {}, got {} (expected input {})",
            hex::encode(&want.state_digest),
            hex::encode(digest),
            hex::encode(&want.state_digest_input)
        ));
    }
    Ok(())
}

/// The Rust client playing a scenario's device.
pub struct Player {
    client: Client,
}

impl Player {
    /// The device of `m`: its keys, the chain verified from genesis, its UMKs
    /// (each checked against the chain, [CHAIN-16]) and collections.
    pub fn new(m: &Material) -> Result<Self, String> {
        let device = DeviceKeys::from_seeds(
            DeviceSigningSeed::from_bytes(m.ed25519_seed),
            HpkeSecretKey::from_bytes(m.x25519_secret),
        );
        let chain = ChainState::verify(&m.chain).map_err(|e| format!("chain: {}", e.code()))?;
        let mut umks = BTreeMap::new();
        for (e, k) in &m.umks {
            let umk = Umk::from_bytes(*k);
            chain.check_umk(*e, &umk).map_err(|err| format!("umk {e}: {}", err.code()))?;
            umks.insert(*e, umk);
        }
        let mut client = Client::new(device, chain, umks);
        for c in &m.collections {
            client.subscribe(c).map_err(|e| format!("collection {c}: {}", e.code()))?;
        }
        Ok(Player { client })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `op`: each request's bytes go to `respond(k, bytes)` (`k` counts
    /// from 0), whose `Err` aborts the step. The requests are the client's
    /// own, those [CONF-6] lists. [CONF-3]
    pub fn run(
        &mut self,
        op: &Op,
        respond: &mut dyn FnMut(usize, Vec<u8>) -> Result<Vec<u8>, String>,
    ) -> Result<StepResult, String> {
        let started = match op {
            Op::Login => self.client.start_login(),
            Op::Sync => self.client.start_sync(),
            // [CONF-7] the salt and nonce come from the test generator seeded as the step says
            Op::Write(w) => self.client.start_write(
                &w.collection,
                RecordId(w.record_id),
                &w.value,
                &mut SeededRng::from_seed(w.rng_seed),
            ),
        };
        let outcome = match started {
            Err(e) => Err(e),
            Ok(()) => {
                let mut k = 0;
                while let Some(req) = self.client.poll_request() {
                    let bytes = respond(k, req.encode())?;
                    k += 1;
                    // an undecodable response is refused like any bad answer ([SYNC-2])
                    let resp = Response::decode(&bytes).unwrap_or_else(Response::Error);
                    self.client.handle_response(resp).map_err(|e| format!("contract: {}", e.code()))?;
                }
                self.client.poll_outcome().unwrap_or(Err(blindsync::Error::ClientNoOperation))
            }
        };
        let (error, alerts) = match outcome {
            Ok(Outcome::Synced(report)) => {
                let set: BTreeSet<String> = report.alerts.iter().map(|a| a.error().code().to_owned()).collect();
                (None, set.into_iter().collect())
            }
            Ok(_) => (None, Vec::new()),
            Err(e) => (Some(e.code().to_owned()), Vec::new()),
        };
        Ok(StepResult {
            error,
            alerts,
            state_digest: state_digest(&self.client),
            state_digest_input: state_digest_input(&self.client),
        })
    }
}
