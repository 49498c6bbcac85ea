//! The harness against the reference client (spec chapter 13): every
//! scenario passes through `blindsync adapter`, and `--json` reports it.

use std::process::Command;

// [CONF-3] [CONF-6] the adapter, driven over the protocol, passes every scenario.
#[test]
fn the_rust_adapter_passes_every_scenario() {
    let exe = env!("CARGO_BIN_EXE_blindsync");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/scenarios");
    let out = Command::new(exe)
        .args(["conform", "--json", "--scenarios", dir, "--client"])
        .arg(format!("{exe} adapter"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{v:#}");
    assert!(v["total"].as_u64().unwrap() >= 11);
    assert_eq!(v["passed"], v["total"]);
    for s in v["scenarios"].as_array().unwrap() {
        assert_eq!(s["result"], "pass", "{s}");
    }
}
