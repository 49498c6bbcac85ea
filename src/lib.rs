//! # BlindSync
//!
//! An end-to-end-encrypted sync protocol: a server stores only opaque,
//! signed, padded ciphertext and cannot read, forge, swap, silently roll back
//! or silently withhold data without a device noticing.
//!
//! This crate is the reference implementation. It is sans-IO and
//! deterministic: randomness and time are parameters, so the same seed gives
//! the same bytes. Modules follow the spec's chapters (`spec/`):
//!
//! | module | spec chapter |
//! |---|---|
//! | [`encoding`] | 2, canonical encoding |
//! | [`labels`] | 3, label registry |
//! | [`primitives`], [`secret`] | 4, primitives |
//! | [`keys`], [`unlock`] | 5, keys and unlock paths |
//! | [`error`] | 6, error registry |
//! | [`envelope`] | 7, record envelopes |
//! | [`chain`], [`device`], [`hpke`] | 8, account chain, devices, pairing, HPKE wraps |
//! | [`server`] (with [`server::wire`]), [`client`] | 11, sync: requests, the reference server, the device's sync engine |
//! | `danger` (feature `danger`) | 12, the model checker's defence switches |
//! | [`stream`] | 9, chunked streams |
//! | [`batch`] | 10, batches and the verification hash chain |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// No unwrap, expect or panic outside tests: an input must never reach one (the library returns typed errors).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

// First: the `danger_api!` and `wire_enum!` macros are textually scoped.
#[macro_use]
mod defences;
#[macro_use]
pub mod encoding;

pub mod attachment;
pub mod batch;
pub mod chain;
pub mod client;
#[cfg(feature = "danger")]
pub mod danger;
pub mod device;
pub mod envelope;
pub mod error;
pub mod hpke;
pub mod keys;
pub mod labels;
mod memo;
pub mod primitives;
pub mod secret;
pub mod server;
pub mod store;
pub mod stream;
pub mod unlock;

pub use error::{Error, Fault, Result};
