//! The vector areas: one module per generated file, each with a generator
//! and the procedures (`kind`s) its vectors name.

mod attachment;
mod batch;
mod chain;
mod encoding;
mod envelope;
mod keys;
mod password;
mod primitives;
mod recovery;
mod stream;
mod sync;
mod wrap;

use serde_json::Value;

use super::json::Fail;
use super::{Expected, Outcome, Vector, VectorFile};
use blindsync::error::Error;

type Generator = fn(&mut Gen) -> Result<(), String>;

/// Every generated file: name, description, generator.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "primitives.json",
        "SHA-256, HMAC-SHA256, HKDF-SHA256, XChaCha20-Poly1305 and Argon2id as BlindSync calls them (spec 4)",
    ),
    ("encoding.json", "canonical label-first encoding: decoding of known structures and every decoding error (spec 2)"),
    ("keys.json", "epoch PRK, per-collection keys, routing key and opaque buckets (spec 5.2, 5.6)"),
    ("recovery.json", "recovery code: human format, checksum, parsing errors and key derivation (spec 5.3)"),
    (
        "password.json",
        "password path: Argon2id floor and ceiling, HKDF split into auth, KEK and authority, server hash (spec 5.4)",
    ),
    (
        "wrap.json",
        "UMK wraps under recovery and password KEKs: AAD, wrap bytes, unlock paths and every tampering (spec 5.5)",
    ),
    (
        "envelope.json",
        "record envelopes: seal at every padding edge in both suites, open, stubs, canonical JSON and every refusal (spec 7)",
    ),
    (
        "device.json",
        "device ids, pairing payloads and codes, the HPKE identity-bundle wrap with its RFC 9180 intermediates (spec 8.4 to 8.6)",
    ),
    (
        "chain.json",
        "account chain: every statement kind, a nine-statement chain, fingerprint, every refusal, epoch wraps (spec 8.1 to 8.3)",
    ),
    (
        "sync.json",
        "sync requests and responses, server scripts for every server check, decoys, event hashes, the writer-sequence rule (spec 11)",
    ),
    (
        "stream.json",
        "chunked streams: seal at every chunk edge in both suites, manifests, open and every refusal (spec 9)",
    ),
    (
        "batch.json",
        "batch event framing, the verification hash chain, key slots, signed metadata and full batches with every refusal (spec 10)",
    ),
    ("attachment.json", "attachment keys, keyed content ids and attachment blobs (spec 10.6)"),
];

const GENERATORS: &[Generator] = &[
    primitives::generate,
    encoding::generate,
    keys::generate,
    recovery::generate,
    password::generate,
    wrap::generate,
    envelope::generate,
    chain::generate_device,
    chain::generate_chain,
    sync::generate,
    stream::generate,
    batch::generate,
    attachment::generate,
];

/// Runs a vector's procedure.
pub(crate) fn run(kind: &str, input: &Value) -> Result<Outcome, Fail> {
    primitives::run(kind, input)
        .or_else(|| encoding::run(kind, input))
        .or_else(|| keys::run(kind, input))
        .or_else(|| recovery::run(kind, input))
        .or_else(|| password::run(kind, input))
        .or_else(|| wrap::run(kind, input))
        .or_else(|| envelope::run(kind, input))
        .or_else(|| chain::run(kind, input))
        .or_else(|| sync::run(kind, input))
        .or_else(|| stream::run(kind, input))
        .or_else(|| batch::run(kind, input))
        .or_else(|| attachment::run(kind, input))
        .unwrap_or_else(|| Err(Fail::harness(format!("unknown kind {kind}"))))
}

/// Generates every file; an `Err` means a generator's own expectation failed.
pub(crate) fn generate() -> Result<Vec<VectorFile>, String> {
    let mut files = Vec::new();
    for ((name, description), g) in FILES.iter().zip(GENERATORS) {
        let stem = name.trim_end_matches(".json");
        let mut generator = Gen { prefix: stem, out: Vec::new() };
        g(&mut generator)?;
        files.push(VectorFile { name, description, vectors: generator.out });
    }
    Ok(files)
}

/// Collects one file's vectors, checking each against the procedures.
pub(crate) struct Gen {
    prefix: &'static str,
    out: Vec<Vector>,
}

impl Gen {
    fn next_id(&self) -> String {
        format!("{}-{:03}", self.prefix, self.out.len() + 1)
    }

    /// A positive vector: the procedure must succeed on `input`.
    pub(crate) fn ok(&mut self, kind: &str, description: &str, reqs: &[&str], input: Value) -> Result<(), String> {
        let id = self.next_id();
        let o = run(kind, &input).map_err(|e| format!("{id} ({description}): expected success, got {e}"))?;
        self.out.push(Vector {
            id,
            kind: kind.to_owned(),
            description: description.to_owned(),
            requirements: reqs.iter().map(|r| (*r).to_owned()).collect(),
            input,
            expected: Expected::Ok { intermediate: o.intermediate, output: o.output },
        });
        Ok(())
    }

    /// A negative vector: the procedure must fail with exactly `err`.
    pub(crate) fn err(
        &mut self,
        kind: &str,
        description: &str,
        reqs: &[&str],
        input: Value,
        err: Error,
    ) -> Result<(), String> {
        let id = self.next_id();
        match run(kind, &input) {
            Err(Fail::Protocol(e)) if e == err => {}
            Err(other) => return Err(format!("{id} ({description}): expected {}, got {other}", err.code())),
            Ok(_) => return Err(format!("{id} ({description}): expected {}, got success", err.code())),
        }
        self.out.push(Vector {
            id,
            kind: kind.to_owned(),
            description: description.to_owned(),
            requirements: reqs.iter().map(|r| (*r).to_owned()).collect(),
            input,
            expected: Expected::Err(err),
        });
        Ok(())
    }
}

/// An outcome from two JSON objects.
pub(crate) fn outcome(intermediate: Value, output: Value) -> Result<Outcome, Fail> {
    Ok(Outcome { intermediate, output })
}
