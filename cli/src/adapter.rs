//! `blindsync adapter`: the Rust client as a client under test of the
//! conformance harness ([CONF-3]). It reads the harness's JSON lines on
//! stdin and answers on stdout, one JSON object per line.

use std::io::{BufRead, Write};

use blindsync_testkit::hex;
use blindsync_testkit::scenarios::{Material, Op, Player};
use serde_json::{Value, json};

fn say(out: &mut impl Write, v: &Value) -> Result<(), String> {
    writeln!(out, "{v}").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))
}

fn next(lines: &mut dyn Iterator<Item = std::io::Result<String>>) -> Result<Value, String> {
    let line = lines.next().ok_or("end of input")?.map_err(|e| format!("stdin: {e}"))?;
    serde_json::from_str(&line).map_err(|e| format!("not JSON: {e}"))
}

/// Serves the protocol until `bye` or the end of input.
pub fn run() -> Result<(), String> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = std::io::stdout().lock();
    let mut player: Option<Player> = None;
    loop {
        let msg = match next(&mut lines) {
            Ok(m) => m,
            Err(e) if e == "end of input" => return Ok(()),
            Err(e) => return Err(e),
        };
        match msg["type"].as_str() {
            Some("start") => match Material::from_json(&msg["device"]).and_then(|m| Player::new(&m)) {
                Ok(p) => {
                    player = Some(p);
                    say(&mut out, &json!({"type": "ready"}))?;
                }
                Err(e) => say(&mut out, &json!({"type": "error", "message": e}))?,
            },
            Some("op") => {
                let p = player.as_mut().ok_or("op before start")?;
                let op = Op::from_json(&msg)?;
                let step = msg["step"].clone();
                let r = p.run(&op, &mut |_, req| {
                    say(&mut out, &json!({"type": "request", "hex": hex::encode(&req)}))?;
                    let m = next(&mut lines)?;
                    if m["type"].as_str() != Some("response") {
                        return Err(format!("expected a response, got {m}"));
                    }
                    m["hex"].as_str().and_then(hex::decode).ok_or_else(|| "response: not hex".to_owned())
                })?;
                say(
                    &mut out,
                    &json!({
                        "type": "result",
                        "step": step,
                        "error": r.error,
                        "alerts": r.alerts,
                        "state_digest": hex::encode(&r.state_digest),
                    }),
                )?;
            }
            Some("bye") => return Ok(()),
            _ => return Err(format!("unknown message {msg}")),
        }
    }
}
