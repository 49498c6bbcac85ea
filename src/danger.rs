//! Risky API: the model checker's defence switches (spec 12.5), behind the
//! `danger` cargo feature.
//!
//! Following rust-hpke's `danger` module, everything here weakens the
//! protocol on purpose. [`Defences`] turns single checks off so that the
//! model checker (`blindsync-model`) can prove each check necessary: with a
//! switch off, it must find the attack the check stops ([MODEL-5]). No
//! production path calls any of it; an application never enables this
//! feature. The functions that take a [`Defences`] stay beside the checks
//! they weaken (named `*_with` or `dangerous_*`, e.g.
//! `ChainState::verify_with`, `envelope::dangerous_open_with_defences`) and
//! are public only when this feature is on; with every switch on they are
//! exactly the production check.
//!
//! ```
//! use blindsync::danger::{Defences, Weakening};
//! let weak = Defences::ALL.without(Weakening::NoForkCheck);
//! assert!(!weak.fork && weak.signature);
//! ```

pub use crate::defences::{DataDefences, DataWeakening, Defences, ItemDefences, Weakening};

/// The process-wide cache of pure primitives the model checker turns on (spec 12.1,
/// [MODEL-19]): signature verification, HPKE open and the low-order check answer from a cache
/// keyed by their full inputs. Off by default.
pub mod memo {
    pub use crate::memo::{is_enabled, set_enabled};
}
