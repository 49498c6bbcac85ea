//! The data-path model (spec 12.7): batches, the hash chain, streams,
//! attachments and the password's salt, against a server that frames the
//! user, deletes batches, freezes a partner's chain, serves a key holder's
//! chunk forgery, colludes with a revoked device or substitutes the salt.
//!
//! A separate, small [stateright] model next to the sync model of
//! [`crate::system`]: the owner device W, the partner with the library's
//! [`blindsync::batch::sealed::ReaderState`], the real reference server, the
//! revoked device R and the adversary. Every check is the library's, under
//! the run's [`Defences`]; each of the six capabilities has the library
//! switch that re-opens it ([`switch_for`]).
//!
//! ```no_run
//! use blindsync_model::data::{DataConfig, run_data_check};
//! let out = run_data_check(&DataConfig::default(), 2)?;
//! assert!(out.all_hold(), "{}", out.report());
//! # Ok::<(), blindsync::error::Error>(())
//! ```

mod checker;
pub mod fixture;
pub mod properties;
pub mod system;

use std::collections::BTreeSet;
use std::time::Instant;

use stateright::{Checker, HasDiscoveries, Model as _};

use blindsync::danger::{DataWeakening, Defences, Weakening};

pub use system::{DataAction, DataCapability, DataModel, DataState, ReadServe};

/// A data-path model configuration. [MODEL-16]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataConfig {
    /// Batches W seals at most.
    pub batches: u8,
    /// Deviations a run may contain.
    pub malice: u8,
    /// The capabilities the adversary has.
    pub capabilities: BTreeSet<DataCapability>,
    /// The defences of every device and the partner.
    pub defences: Defences,
}

impl Default for DataConfig {
    /// Three batches, one deviation, every capability, every defence on.
    fn default() -> Self {
        DataConfig {
            batches: 3,
            malice: 1,
            capabilities: DataCapability::ALL.into_iter().collect(),
            defences: Defences::ALL,
        }
    }
}

impl DataConfig {
    /// The same configuration with an honest server.
    pub fn honest(self) -> Self {
        DataConfig { capabilities: BTreeSet::new(), malice: 0, ..self }
    }

    /// `capability` alone, with the defence that stops it switched off. [MODEL-16]
    pub fn weakened(capability: DataCapability) -> Self {
        DataConfig {
            capabilities: BTreeSet::from([capability]),
            defences: switch_for(capability).apply(Defences::ALL),
            ..DataConfig::default()
        }
    }
}

/// A library defence switch: a data-path one, or a chain one (the KDF pin). [MODEL-16]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// A [`DataWeakening`].
    Data(DataWeakening),
    /// A [`Weakening`].
    Chain(Weakening),
}

impl Switch {
    /// `d` with this defence off.
    pub fn apply(self, d: Defences) -> Defences {
        match self {
            Switch::Data(w) => d.without_data(w),
            Switch::Chain(w) => d.without(w),
        }
    }

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Switch::Data(w) => w.name(),
            Switch::Chain(w) => w.name(),
        }
    }
}

/// The library switch whose defence stops `capability`. [MODEL-16]
pub fn switch_for(capability: DataCapability) -> Switch {
    match capability {
        DataCapability::FrameUser => Switch::Data(DataWeakening::UnsignedReports),
        DataCapability::DeleteBatch => Switch::Data(DataWeakening::NoBatchLinks),
        DataCapability::StalePartnerChain => Switch::Data(DataWeakening::NoChainHeadCheck),
        DataCapability::InsiderChunkForgery => Switch::Data(DataWeakening::TagOnlyChunks),
        DataCapability::AttachmentAfterRevocation => Switch::Data(DataWeakening::EpochZeroAttachmentKey),
        DataCapability::SaltSubstitution => Switch::Chain(Weakening::UnpinnedKdf),
    }
}

/// The property the checker violates when `capability` meets its switch off. [MODEL-16]
pub fn broken_by(capability: DataCapability) -> &'static str {
    match capability {
        DataCapability::FrameUser => properties::NO_FALSE_ACCUSATION,
        DataCapability::DeleteBatch => properties::NO_SILENT_GAP,
        DataCapability::StalePartnerChain => properties::REVOKED_REFUSED,
        DataCapability::InsiderChunkForgery => properties::CHUNKS,
        DataCapability::AttachmentAfterRevocation => properties::ATTACHMENTS,
        DataCapability::SaltSubstitution => properties::SALT_PINNED,
    }
}

/// The verdict on one data-path property: the sync model's type. [MODEL-16]
pub type DataPropertyOutcome = crate::runner::PropertyOutcome;

/// The result of one data-path run: the sync model's type. [MODEL-16]
pub type DataOutcome = crate::runner::Outcome;

fn collect<C: Checker<DataModel>>(model: &DataModel, checker: &C, started: Instant) -> DataOutcome {
    crate::runner::collect_outcome(model, checker, started, properties::describe)
}

/// Exhausts `config` breadth-first on `threads` threads. [MODEL-16]
pub fn run_data_check(config: &DataConfig, threads: usize) -> blindsync::error::Result<DataOutcome> {
    Ok(run_data_model(&DataModel::new(config.clone())?, threads))
}

/// Exhausts `model` breadth-first on `threads` threads. [MODEL-16]
pub fn run_data_model(model: &DataModel, threads: usize) -> DataOutcome {
    let started = Instant::now();
    let checker = model.clone().checker().threads(threads.max(1)).spawn_bfs().join();
    collect(model, &checker, started)
}

/// Searches for a violated safety property by iterative deepening (breadth-first to depth
/// 1, 2, ...), so the counterexample reported is a shortest attack: stateright keeps the
/// last discovery of a property, which a single breadth-first run may overwrite with a
/// longer path before it stops. [MODEL-16]
pub fn find_data_violation(config: &DataConfig, threads: usize) -> blindsync::error::Result<DataOutcome> {
    Ok(find_data_violation_in(&DataModel::new(config.clone())?, threads))
}

/// [`find_data_violation`] on a built model. [MODEL-16]
pub fn find_data_violation_in(model: &DataModel, threads: usize) -> DataOutcome {
    let started = Instant::now();
    let mut depth = 1;
    loop {
        let checker = model
            .clone()
            .checker()
            .threads(threads.max(1))
            .target_max_depth(depth)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let out = collect(model, &checker, started);
        if !out.violated().is_empty() || checker.max_depth() < depth {
            return out;
        }
        depth += 1;
    }
}
