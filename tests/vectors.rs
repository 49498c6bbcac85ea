//! The vectors in both directions: regenerating reproduces the committed
//! files byte for byte, and every committed vector passes.

use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

// [ENC-5] [KEY-3] [KEY-6] [WRAP-4] the committed vectors, positive and negative, all pass.
#[test]
fn committed_vectors_pass() {
    let reports = blindsync_testkit::verify_dir(&dir());
    let table = blindsync_testkit::render_table(&reports);
    assert!(reports.iter().all(|r| r.ok()), "{table}");
    let negatives: usize = reports.iter().map(|r| r.negative.1).sum();
    assert!(negatives > 30, "{table}");
    for r in &reports {
        assert!(r.positive.1 + r.negative.1 > 0, "{} is empty", r.name);
    }
}

#[test]
fn regenerating_reproduces_the_committed_files() {
    let files = blindsync_testkit::generate().expect("generator");
    for f in files {
        let committed = std::fs::read(dir().join(f.name)).expect(f.name);
        assert!(
            committed == f.to_bytes(),
            "{} differs from a fresh generation: run `blindsync vectors generate`",
            f.name
        );
    }
}

// A vector that is altered must fail: the verifier is not vacuous.
#[test]
fn tampered_vectors_fail() {
    let files = blindsync_testkit::generate().expect("generator");
    let mut checked = 0;
    for f in &files {
        for v in &f.vectors {
            let mut bad = v.clone();
            match &mut bad.expected {
                blindsync_testkit::Expected::Ok { output, .. } => {
                    let s = output.to_string();
                    // Flip one hex digit of the output.
                    let Some(pos) = s.find(|c: char| c.is_ascii_hexdigit() && c != '0') else { continue };
                    let mut t = s.into_bytes();
                    t[pos] = if t[pos] == b'1' { b'2' } else { b'1' };
                    *output = serde_json::from_slice(&t).unwrap();
                }
                blindsync_testkit::Expected::Err(e) => {
                    *e = if *e == blindsync::Error::DecodeTrailing {
                        blindsync::Error::DecodeTruncated
                    } else {
                        blindsync::Error::DecodeTrailing
                    };
                }
            }
            assert!(bad.check().is_err(), "{} still passes after tampering", v.id);
            checked += 1;
        }
    }
    assert!(checked > 50);
}

// [ERR-1] every vector id is unique across files.
#[test]
fn ids_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for f in blindsync_testkit::generate().unwrap() {
        for v in f.vectors {
            assert!(seen.insert(v.id.clone()), "duplicate id {}", v.id);
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn committed(file: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["vectors"].as_array().unwrap().clone()
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// The two length-prefixed fields `meta`, `manifest` of a batch blob ([BAT-7]).
fn blob_fields(blob: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let u32_at = |o: usize| u32::from_be_bytes(blob[o..o + 4].try_into().unwrap()) as usize;
    let o = 4 + u32_at(0);
    let meta = blob[o + 4..o + 4 + u32_at(o)].to_vec();
    let o = o + 4 + meta.len();
    (meta, blob[o + 4..o + 4 + u32_at(o)].to_vec())
}

// [KEY-16] [ENV-17] [STR-12] [BAT-13] every `*_prefix` intermediate is the exact input of its
// hash or signature up to the content of its last field: recomputed here with sha2 and blake3
// directly from the committed JSON (the table of vectors/README.md, "Prefix intermediates").
#[test]
fn prefix_intermediates_are_exact() {
    let hx = |v: &serde_json::Value| unhex(v.as_str().unwrap());
    let mut checked = 0;
    for v in committed("password.json").iter().filter(|v| v["kind"] == "password_derive" && v.get("output").is_some()) {
        let p = hx(&v["intermediate"]["auth_hash_prefix"]);
        assert_eq!(p.len(), 35);
        assert_eq!(sha256(&[&p, &hx(&v["output"]["auth"])]), hx(&v["output"]["auth_hash"]), "{}", v["id"]);
        checked += 1;
    }
    for v in committed("envelope.json")
        .iter()
        .filter(|v| v["kind"] == "envelope_seal" && v["output"]["envelope"].is_string())
    {
        let (e, p) = (hx(&v["output"]["envelope"]), hx(&v["intermediate"]["body_digest_prefix"]));
        let body_len = u32::from_be_bytes(e[236..240].try_into().unwrap()) as usize;
        assert_eq!((p.len(), &p[35..]), (39, &e[236..240]));
        assert_eq!(sha256(&[&p, &e[240..240 + body_len]]), hx(&v["intermediate"]["body_digest"]), "{}", v["id"]);
        checked += 1;
    }
    for v in committed("stream.json").iter().filter(|v| v["kind"] == "stream_seal" && v["output"]["body"].is_string()) {
        let i = &v["intermediate"];
        let (m, b) = (hx(&v["output"]["manifest"]), hx(&v["output"]["body"]));
        let p = hx(&i["first_digest_prefix"]);
        let frame0 = u32::from_be_bytes(p[34..38].try_into().unwrap()) as usize;
        assert_eq!(p.len(), 38);
        assert_eq!(blake3::hash(&[&p[..], &b[..frame0]].concat()).as_bytes().to_vec(), hx(&i["chunk_digests"][0]));
        let s = hx(&i["sig_message_prefix"]);
        assert_eq!((s.len(), u32::from_be_bytes(s[59..63].try_into().unwrap()) as usize), (63, m.len() - 64));
        assert_eq!(sha256(&[&s, &m[..m.len() - 64]]), hx(&i["sig_digest"]), "{}", v["id"]);
        checked += 1;
    }
    for v in committed("batch.json") {
        let i = &v["intermediate"];
        if v["kind"] == "hash_chain_verify" && i["first_event_prefix"].is_string() {
            let key: [u8; 32] = hx(&i["event_key"]).try_into().unwrap();
            let data = hx(&v["input"]["events"][0]["data"]);
            let e = blake3::keyed_hash(&key, &[hx(&i["first_event_prefix"]), data].concat());
            assert_eq!(e.as_bytes().to_vec(), hx(&i["event_hashes"][0]), "{}", v["id"]);
            checked += 1;
        }
        if v["kind"] == "batch_open" && v.get("output").is_some() {
            let (meta, manifest) = blob_fields(&hx(&v["input"]["blob"]));
            let slots = hx(&i["slots_encoding"]);
            assert_eq!(sha256(&[&hx(&i["slots_digest_prefix"]), &slots]), hx(&i["slots_digest"]));
            assert_eq!(sha256(&[&hx(&i["manifest_digest_prefix"]), &manifest]), hx(&i["manifest_digest"]));
            assert_eq!(sha256(&[&hx(&i["sig_message_prefix"]), &meta[..meta.len() - 64]]), hx(&i["sig_digest"]));
            assert_eq!(sha256(&[&hx(&i["context_prefix"]), &meta[..meta.len() - 96]]), hx(&i["context"]));
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// Runs `kind` on `input` and expects `error`.
fn expect_error(kind: &str, input: serde_json::Value, error: blindsync::Error) {
    let v = blindsync_testkit::Vector {
        id: "local".into(),
        kind: kind.into(),
        description: String::new(),
        requirements: vec![],
        input,
        expected: blindsync_testkit::Expected::Err(error),
        flags: vec![],
        faults: vec![],
    };
    assert_eq!(v.check(), Ok(()), "{kind}");
}

// [PAY-6] sealing with a schema outside 0 and 1 is E_ENV_SCHEMA, checked before the suite.
#[test]
fn seal_refuses_an_unknown_schema_first() {
    let base = committed("envelope.json").into_iter().find(|v| v["kind"] == "envelope_seal").unwrap()["input"].clone();
    let with = |schema: u64, suite: u64| {
        let mut i = base.clone();
        i["schema"] = schema.into();
        i["suite"] = suite.into();
        i
    };
    for schema in [2, 9, 65535] {
        expect_error("envelope_seal", with(schema, 1), blindsync::Error::EnvSchema);
        expect_error("envelope_seal", with(schema, 3), blindsync::Error::EnvSchema);
    }
    expect_error("envelope_seal", with(0, 3), blindsync::Error::EnvSuite);
    for s in 2..=u16::MAX {
        assert_eq!(blindsync::envelope::payload::Schema::from_u16(s).err(), Some(blindsync::Error::EnvSchema));
    }
}

// [SYNC-21] the writer-sequence procedure on its state as data: equivocation is found before
// anything else, then items ascending by seq, the first failing item's code.
#[test]
fn writer_sequence_procedure() {
    let id = |n: u8| format!("{:064x}", n);
    let item = |seq: u64, stub: bool, sup: bool, older: bool, i: u8| serde_json::json!({"seq": seq, "stub": stub, "superseded": sup, "older": older, "identity": id(i)});
    let run = |last: u64, items: Vec<serde_json::Value>| serde_json::json!({"last": last, "items": items});
    // a gap at 4 would be withheld, but two identities at 6 come first
    let equivocation =
        run(2, vec![item(4, false, false, false, 4), item(6, false, false, false, 6), item(6, false, false, false, 7)]);
    expect_error("sync_writer_sequence", equivocation, blindsync::Error::SyncEquivocation);
    // items are classified ascending by seq, not in listing order: 3 is accepted, then 5 is a gap
    let ascending = run(2, vec![item(5, false, false, false, 5), item(3, false, false, false, 3)]);
    expect_error("sync_writer_sequence", ascending, blindsync::Error::SyncWithheld);
    // a rollback below last comes before a later gap
    let rollback = run(5, vec![item(9, false, false, false, 9), item(2, false, false, true, 2)]);
    expect_error("sync_writer_sequence", rollback, blindsync::Error::SyncRollback);
    // a stub that is not superseded is withheld even in sequence
    expect_error("sync_writer_sequence", run(0, vec![item(1, true, false, false, 1)]), blindsync::Error::SyncWithheld);
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("blindsync-vectors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// `vectors verify` on a folder with only some of the files: those are verified, the others are
// listed as skipped, nothing fails for being absent.
#[test]
fn verify_path_takes_a_subset_folder() {
    let d = scratch("subset");
    for f in ["wrap.json", "envelope.json"] {
        std::fs::copy(dir().join(f), d.join(f)).unwrap();
    }
    let out = blindsync_testkit::verify_path(&d, None).unwrap();
    let names: Vec<&str> = out.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["wrap.json", "envelope.json"]);
    assert!(
        out.reports.iter().all(|r| r.ok() && r.negative.1 > 0),
        "{}",
        blindsync_testkit::render_table(&out.reports)
    );
    assert!(
        out.skipped.contains(&"chain.json".to_owned())
            && out.skipped.contains(&"upstream/rfc9180_hpke.json".to_owned())
    );
    assert!(!out.skipped.contains(&"wrap.json".to_owned()));
    // an empty folder has nothing to verify: an error, not a pass
    let empty = scratch("empty");
    assert!(blindsync_testkit::verify_path(&empty, None).unwrap_err().contains("no vector file"));
    assert!(blindsync_testkit::verify_path(&empty.join("missing"), None).unwrap_err().contains("no such file"));
}

// A single file, generated or upstream, and one kind.
#[test]
fn verify_path_takes_one_file_and_one_kind() {
    let out = blindsync_testkit::verify_path(&dir().join("wrap.json"), None).unwrap();
    assert_eq!((out.reports.len(), out.reports[0].name.as_str()), (1, "wrap.json"));
    assert!(out.reports[0].ok());
    let up = blindsync_testkit::verify_path(&dir().join("upstream/rfc5869_hkdf_sha256.json"), None).unwrap();
    assert!(up.reports[0].ok() && up.reports[0].positive.1 >= 3, "{:?}", up.reports[0]);

    let n = committed("wrap.json").iter().filter(|v| v["kind"] == "umk_unwrap").count();
    let only = blindsync_testkit::verify_path(&dir(), Some("umk_unwrap")).unwrap();
    assert_eq!(only.reports.len(), 1, "only wrap.json holds umk_unwrap vectors");
    let r = &only.reports[0];
    assert_eq!((r.name.as_str(), r.positive.1 + r.negative.1), ("wrap.json", n));
    assert!(r.ok() && n > 10);
    let one = blindsync_testkit::verify_path(&dir().join("wrap.json"), Some("password_unlock")).unwrap();
    assert!(one.reports[0].ok() && one.reports[0].positive.1 + one.reports[0].negative.1 >= 4);

    assert!(blindsync_testkit::verify_path(&dir(), Some("no_such_kind")).unwrap_err().contains("unknown kind"));
    let e = blindsync_testkit::verify_path(&dir().join("wrap.json"), Some("envelope_open")).unwrap_err();
    assert!(e.contains("no vector of kind envelope_open"), "{e}");
    let e =
        blindsync_testkit::verify_path(&dir().join("upstream/rfc5869_hkdf_sha256.json"), Some("sha256")).unwrap_err();
    assert!(e.contains("no kinds"), "{e}");
}

// A vector that cannot be parsed or run is a failure that names the file and the vector's id,
// never a panic; the other vectors of the file still run.
#[test]
fn malformed_vectors_are_named_by_id() {
    let d = scratch("malformed");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir().join("wrap.json")).unwrap()).unwrap();
    let list = json["vectors"].as_array_mut().unwrap();
    let total = list.len();
    list[0].as_object_mut().unwrap().remove("input");
    list[1]["kind"] = "no_such_kind".into();
    list[3]["flags"] = serde_json::json!(["NotAFlag"]);
    list[4]["error"] = "E_NOT_A_CODE".into();
    list[5].as_object_mut().unwrap().remove("flags");
    list[6]["input"]["kek"] = 7.into();
    list[7]["flags"] = serde_json::json!(["Truncated"]);
    list.push(serde_json::json!("not an object"));
    list.push(serde_json::json!({"kind": "umk_unwrap"}));
    std::fs::write(d.join("wrap.json"), serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    std::fs::write(d.join("envelope.json"), b"{ not json").unwrap();

    let out = blindsync_testkit::verify_path(&d, None).unwrap();
    let wrap = &out.reports[0];
    let all = wrap.failures.join("\n");
    let id = |i: usize| json["vectors"][i]["id"].as_str().unwrap().to_owned();
    for (i, what) in [
        (0, "missing field input"),
        (1, "unknown kind no_such_kind"),
        (3, "unknown flag NotAFlag"),
        (4, "unknown error code E_NOT_A_CODE"),
        (5, "at least one flag"),
        (6, "kek is not a string"),
        (7, "the first flag (after MultiFault) is the class of E_WRAP_OPEN"),
    ] {
        let line =
            wrap.failures.iter().find(|l| l.contains(&id(i))).unwrap_or_else(|| panic!("{} not named:\n{all}", id(i)));
        assert!(line.starts_with("wrap.json: ") && line.contains(what), "{line}");
    }
    assert!(
        all.contains(&format!("wrap.json: vector {total}, id (no id): malformed vector: vector is not an object")),
        "{all}"
    );
    assert!(
        all.contains(&format!("wrap.json: vector {}, id (no id): malformed vector: missing field id", total + 1)),
        "{all}"
    );
    assert_eq!(wrap.failures.len(), 9, "{all}");
    // the untouched vectors still ran and passed
    assert!(wrap.positive.0 + wrap.negative.0 >= total - 7);
    let env = &out.reports[1];
    assert!(!env.ok() && env.failures[0].contains("envelope.json") && env.failures[0].contains("invalid JSON"));
}
