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
use super::{Expected, FaultNote, Flag, Outcome, Vector, VectorFile};
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

/// True when `kind` names a procedure of some area.
pub(crate) fn is_kind(kind: &str) -> bool {
    !matches!(run(kind, &Value::Object(Default::default())), Err(Fail::Harness(m)) if m == format!("unknown kind {kind}"))
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
            flags: Vec::new(),
            faults: Vec::new(),
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
            flags: vec![Flag::of_error(err).ok_or_else(|| format!("{} has no flag", err.code()))?],
            faults: Vec::new(),
        });
        Ok(())
    }

    /// Adds attack-class flags to the vector just generated (a negative one).
    pub(crate) fn tag(&mut self, flags: &[Flag]) -> Result<(), String> {
        let v = self.out.last_mut().ok_or("tag before any vector")?;
        if v.flags.is_empty() {
            return Err(format!("{}: flags are for negative vectors", v.id));
        }
        for f in flags {
            if !v.flags.contains(f) {
                v.flags.push(*f);
            }
        }
        Ok(())
    }

    /// A multi-fault vector: `faults` in the order the spec checks them, each with the
    /// input that carries that fault alone and the code it gives alone. The generator checks
    /// every fault alone, that the first fault's code differs from every later one's (so the
    /// vector tells the order apart), and that `input`, which carries all of them, gives the
    /// first fault's code.
    pub(crate) fn multi(
        &mut self,
        kind: &str,
        description: &str,
        reqs: &[&str],
        input: Value,
        faults: Vec<Fault>,
    ) -> Result<(), String> {
        let id = self.next_id();
        let first = faults.first().ok_or("no faults")?.error;
        if faults.len() < 2 {
            return Err(format!("{id}: a multi-fault vector has two or more faults"));
        }
        for (i, f) in faults.iter().enumerate() {
            match run(kind, &f.alone) {
                Err(Fail::Protocol(e)) if e == f.error => {}
                Err(other) => {
                    return Err(format!("{id} fault {:?} alone: expected {}, got {other}", f.what, f.error.code()));
                }
                Ok(_) => {
                    return Err(format!("{id} fault {:?} alone: expected {}, got success", f.what, f.error.code()));
                }
            }
            if i > 0 && f.error == first {
                return Err(format!("{id}: fault {:?} gives the first fault's code {}", f.what, first.code()));
            }
        }
        self.err(kind, description, reqs, input, first)?;
        let v = self.out.last_mut().ok_or("multi")?;
        v.flags.insert(0, Flag::MultiFault);
        v.faults = faults.into_iter().map(|f| FaultNote { fault: f.what, error: f.error }).collect();
        Ok(())
    }
}

/// One fault of a multi-fault vector, as the generator checks it.
pub(crate) struct Fault {
    /// What is changed (it appears in the vector).
    pub what: String,
    /// The code of the check that catches it.
    pub error: Error,
    /// The valid input with this fault alone.
    pub alone: Value,
}

/// A fault.
pub(crate) fn fault(what: &str, error: Error, alone: Value) -> Fault {
    Fault { what: what.to_owned(), error, alone }
}

/// An outcome from two JSON objects.
pub(crate) fn outcome(intermediate: Value, output: Value) -> Result<Outcome, Fail> {
    Ok(Outcome { intermediate, output })
}
