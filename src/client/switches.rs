//! The one place the client reaches the model checker's defence switches
//! ([MODEL-5], spec 12): with every defence on, which is the only state a
//! deployment has, each function here calls the plain library function; the
//! `dangerous_*` and `*_with` variants run only for a client the model
//! weakened with [`Client::dangerous_set_defences`](super::Client::dangerous_set_defences).

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use crate::chain::ChainState;
use crate::defences::Defences;
use crate::envelope::{self, EnvelopeRef, OpenContext, Opened, RecordMeta, Stub};
use crate::error::Result;
use crate::hpke::HpkeSecretKey;
use crate::keys::{AccountId, CollectionKey, Epoch, Umk};
use crate::primitives::CryptoRng;

fn all(d: &Defences) -> bool {
    *d == Defences::ALL
}

/// [`envelope::seal`]. [ENV-12]
pub(crate) fn seal<R: CryptoRng + ?Sized>(
    account: &AccountId,
    meta: &RecordMeta,
    key: &CollectionKey,
    signer: &SigningKey,
    payload: &[u8],
    d: &Defences,
    rng: &mut R,
) -> Result<Vec<u8>> {
    if all(d) {
        envelope::seal(account, meta, key, signer, payload, rng)
    } else {
        envelope::dangerous_seal_with_defences(account, meta, key, signer, payload, d, rng)
    }
}

/// [`envelope::open`]. [ENV-12]
pub(crate) fn open(env: &EnvelopeRef<'_>, ctx: &OpenContext<'_>, d: &Defences) -> Result<Opened> {
    if all(d) { env.open(ctx) } else { envelope::open_decoded(env, ctx, d) }
}

/// [`envelope::verify_stub`]. [ENV-15]
pub(crate) fn verify_stub(stub: &Stub, ctx: &OpenContext<'_>, d: &Defences) -> Result<()> {
    if all(d) { envelope::verify_stub(stub, ctx) } else { envelope::dangerous_verify_stub_with_defences(stub, ctx, d) }
}

/// [`ChainState::verify`]. [CHAIN-8]
pub(crate) fn verify_chain(statements: &[Vec<u8>], d: &Defences) -> Result<ChainState> {
    if all(d) { ChainState::verify(statements) } else { ChainState::verify_with(statements, d) }
}

/// [`ChainState::update`]. [CHAIN-10]
pub(crate) fn update_chain(chain: &mut ChainState, statements: &[Vec<u8>], d: &Defences) -> Result<()> {
    if all(d) { chain.update(statements) } else { chain.update_with(statements, d) }
}

/// [`ChainState::append`]. [CHAIN-10]
pub(crate) fn append_chain(chain: &mut ChainState, statement: &[u8], d: &Defences) -> Result<()> {
    if all(d) { chain.append(statement) } else { chain.append_with(statement, d) }
}

/// [`ChainState::open_epoch_umks`]. [CHAIN-16]
pub(crate) fn open_epoch_umks(chain: &ChainState, key: &HpkeSecretKey, d: &Defences) -> Result<BTreeMap<Epoch, Umk>> {
    if all(d) { chain.open_epoch_umks(key) } else { chain.open_epoch_umks_with(key, d) }
}
