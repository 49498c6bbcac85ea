//! # BlindSync fuzz targets
//!
//! Every target is a function `run(&[u8])` that must never panic on any
//! input: a panic is a finding. Targets take raw bytes (a structured input
//! is carved out of them with [`input::Bytes`]), so one corpus file works
//! under every engine:
//!
//! - `cargo test -p blindsync-fuzz` runs each target under bolero's default
//!   random engine (`tests/targets.rs`), then replays `regressions/` and any
//!   generated `corpus/`;
//! - `cargo bolero test TARGET` runs the same test under libFuzzer;
//! - `cargo-fuzz/` holds one libfuzzer-sys bin per target for cargo-fuzz,
//!   OSS-Fuzz and ClusterFuzzLite.
//!
//! The registry is the single list in [`for_each_target!`]; see `README.md`
//! ("How to add a target").

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// `cargo bolero test NAME` builds this library's unit-test binary too (a
// test-name filter overrides `test = false`), with libFuzzer instrumentation:
// linking bolero gives it the libFuzzer runtime it then needs.
#[cfg(all(test, fuzzing_libfuzzer))]
use bolero as _;

pub mod input;
pub mod seeds;
pub mod targets;
pub mod wire;
pub mod world;

pub use seeds::Vectors;

/// One fuzz target.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name: the module in `src/targets/`, the bolero test, the cargo-fuzz bin and the corpus folder.
    pub name: &'static str,
    /// Runs one input; panics only when an invariant is broken (a finding).
    pub run: fn(&[u8]),
    /// Seed inputs built from the vectors.
    pub seeds: fn(&Vectors) -> Vec<Vec<u8>>,
    /// Longest input worth trying.
    pub max_len: usize,
}

/// Calls `$m! { name, name, ... }` with every target name: the one list that
/// the library registry ([`targets::ALL`]), the bolero tests and the corpus
/// generator are built from. Keep it in the order of `src/targets/`.
#[macro_export]
macro_rules! for_each_target {
    ($m:ident) => {
        $m! {
            canonical_decode,
            recovery_parse,
            password_kdf,
            umk_unwrap,
            vector_json,
            hex_decode,
            envelope_open,
            envelope_mutate,
            chain_statement,
            chain_verify,
            envelope_header,
            envelope_roundtrip,
            pairing_payload,
            stream_manifest,
            stream_open,
            stream_roundtrip,
            batch_framing,
            key_slot,
            sync_request,
            sync_response,
            server_handle,
            sync_ops,
            batch_meta_decode,
            batch_open_mutate,
            comparison_qr,
            pairing_accept,
            attachment_unpad,
            server_state,
            client_store,
        }
    };
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    targets::ALL.iter().copied().find(|t| t.name == name)
}
