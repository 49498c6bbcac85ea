//! The published known-answer tests of the primitives BlindSync wraps: our
//! vectors are anchored to values we did not generate.

fn check(name: &str) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let rep = &blindsync_testkit::verify_upstream_file(&dir, name);
    assert!(rep.ok() && rep.positive.1 > 0, "{}", blindsync_testkit::render_table(std::slice::from_ref(rep)));
}

// [PRIM-2] RFC 5869 appendix A, test cases 1 to 3.
#[test]
fn rfc5869_hkdf() {
    check("rfc5869_hkdf_sha256.json");
}

// [PRIM-5] RFC 9106 section 5.3.
#[test]
fn rfc9106_argon2id() {
    check("rfc9106_argon2id.json");
}

// [PRIM-4] draft-irtf-cfrg-xchacha-03 A.3.1.
#[test]
fn xchacha20poly1305() {
    check("xchacha20poly1305_draft03.json");
}

// [PRIM-9] RFC 8032 section 7.1, with strict verification.
#[test]
fn rfc8032_ed25519() {
    check("rfc8032_ed25519.json");
}

// [PRIM-10] RFC 9180 A.1.1 and A.2.1 (the KEM and KDF of our suite).
#[test]
fn rfc9180_hpke() {
    check("rfc9180_hpke.json");
}
