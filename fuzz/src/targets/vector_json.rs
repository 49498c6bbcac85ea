//! The vector verifier on arbitrary JSON: `Vector::from_json` then `check`.
//!
//! Vector files are read by ports and CI from outside the library, so the
//! verifier must never panic, whatever a file holds. Checks: parsing and
//! checking never panic; a parsed vector survives `to_json` → `from_json`
//! unchanged.
//!
//! One guard: kinds that run Argon2id (`argon2id`, `password_derive`,
//! `password_unlock`) are only checked when their cost is tiny, since one
//! Argon2id at the floor costs a fuzzer thousands of executions.

use blindsync::unlock::password::{ARGON2_VERSION, KdfParams};
use blindsync_testkit::Vector;
use serde_json::Value;

use crate::Vectors;

/// Longest input worth trying.
pub const MAX_LEN: usize = 1 << 15;

fn num(v: Option<&Value>, k: &str) -> u64 {
    v.and_then(|v| v.get(k)).and_then(Value::as_u64).unwrap_or(0)
}

/// True when checking this vector would run an Argon2id costing more than a few KiB-passes.
pub fn argon2_too_costly(vector: &Vector) -> bool {
    let input = Some(&vector.input);
    match vector.kind.as_str() {
        "argon2id" => num(input, "m_kib") > 256 || num(input, "t") > 4 || num(input, "p") > 8,
        "password_derive" | "password_unlock" => {
            // `PasswordKdf::check` refuses everything outside [floor, ceiling]
            // before any Argon2id work; inside, the cost is at least the floor.
            let kdf = vector.input.get("kdf");
            let (f, c) = (KdfParams::FLOOR, KdfParams::CEILING);
            let within = |k: &str, lo: u32, hi: u32| (u64::from(lo)..=u64::from(hi)).contains(&num(kdf, k));
            num(kdf, "version") == u64::from(ARGON2_VERSION)
                && within("m_kib", f.m_kib, c.m_kib)
                && within("t", f.t, c.t)
                && within("p", f.p, c.p)
        }
        _ => false,
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(vector) = Vector::from_json(&json) else { return };
    let again = Vector::from_json(&vector.to_json());
    assert!(again.as_ref() == Ok(&vector), "to_json then from_json changed the vector: {again:?}");
    if !argon2_too_costly(&vector) {
        let _ = vector.check();
    }
}

/// Every vector, as compact JSON.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    // Vectors longer than MAX_LEN (whole streams) are left out: a fuzzer
    // gains nothing from mutating megabytes of hex.
    v.all.iter().filter_map(|(_, x)| serde_json::to_vec(x).ok()).filter(|s| s.len() <= MAX_LEN).collect()
}
