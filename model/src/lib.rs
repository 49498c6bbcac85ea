//! The BlindSync model checker (spec chapter 12).
//!
//! Honest devices run the real client engine ([`blindsync::client::Client`])
//! against the real reference server ([`blindsync::server::Server`])
//! wrapped in an adversary that may deviate in every way the threat model
//! names. [stateright] explores every interleaving of device operations and
//! adversary choices up to the configured bounds and checks the properties
//! named after the spec's security goals in every reachable state.
//!
//! The `blindsync` binary (`blindsync check`, `blindsync model ...`) runs
//! it through this crate's API.
//!
//! ```no_run
//! use blindsync_model::{Config, run_check};
//! let outcome = run_check(&Config::default(), 2, false)?;
//! assert!(outcome.all_hold(), "{}", outcome.report());
//! # Ok::<(), blindsync::error::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checker;
pub mod fixture;
pub mod properties;
pub mod runner;
pub mod scenarios;
pub mod system;
mod tables;

pub use runner::{Outcome, PropertyKind, PropertyOutcome, explore, find_violation, run_check, run_simulation};
pub use system::{Action, Capability, Config, Model, Mutants, Serve, State};

/// The malice `blindsync check` and `blindsync model check` exhaust by default: every
/// combination of two deviations ([MODEL-4]; [`Config::default`] keeps one, for tests and
/// the coverage matrix).
pub const DEFAULT_MALICE: u8 = 2;

// The data-path model (spec 12.7): batches, streams, attachments and the password salt.
pub mod data;

// The coverage matrix (spec 12.8).
pub mod coverage;
