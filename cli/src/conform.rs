//! `blindsync conform`: the conformance harness of spec chapter 13. It
//! spawns a client under test once per scenario, drives it over the stdio
//! JSON-lines protocol ([CONF-3]) through every step of every scenario of
//! `vectors/scenarios/`, playing the server from the recorded responses,
//! and prints a pass/fail matrix (or the same as JSON). Every wait for the
//! client times out ([CONF-5]).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use blindsync_testkit::hex;
use blindsync_testkit::scenarios::{Scenario, Step};
use serde_json::{Value, json};

/// One scenario's verdict.
pub struct Verdict {
    /// The scenario id.
    pub id: String,
    /// Its attack class.
    pub flags: Vec<String>,
    /// Steps in all.
    pub steps: usize,
    /// Steps that passed before the first failure.
    pub passed: usize,
    /// The failure: the step (if one was running) and what went wrong.
    pub failure: Option<(Option<usize>, String)>,
}

impl Verdict {
    fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// The client under test, one process per scenario.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    timeout: Duration,
}

impl Peer {
    fn spawn(cmd: &str, timeout: Duration) -> Result<Peer, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line).is_err() || end {
                    break;
                }
            }
        });
        Ok(Peer { child, stdin, lines, timeout })
    }

    /// Sends one message; if the client is gone, says why from what it printed last.
    fn send(&mut self, v: &Value) -> Result<(), String> {
        match writeln!(self.stdin, "{v}").and_then(|()| self.stdin.flush()) {
            Ok(()) => Ok(()),
            Err(e) => match self.recv() {
                Err(why) => Err(why),
                Ok((t, _)) => Err(format!("client closed its input ({e}) after sending {t:?}")),
            },
        }
    }

    /// The client's next message: a JSON object with a string `type`. [CONF-3] [CONF-5]
    fn recv(&mut self) -> Result<(String, Value), String> {
        let line = match self.lines.recv_timeout(self.timeout) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("reading the client's output: {e}")),
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!("no message from the client within {} s", self.timeout.as_secs_f32()));
            }
            Err(RecvTimeoutError::Disconnected) => return Err("the client exited (end of its output)".into()),
        };
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("the client sent a line that is not JSON ({e}): {}", clip(&line)))?;
        let t =
            v["type"].as_str().ok_or_else(|| format!("the client sent a message without a type: {}", clip(&line)))?;
        if t == "error" {
            return Err(format!("the client reported an error: {}", v["message"].as_str().unwrap_or("(no message)")));
        }
        Ok((t.to_owned(), v))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // the process this harness started, by its handle
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clip(s: &str) -> String {
    if s.len() > 120 { format!("{}...", &s[..s.floor_char_boundary(120)]) } else { s.to_owned() }
}

/// Drives one step: the operation, each request checked against the
/// recording and answered, then the result compared. [CONF-3]
fn drive_step(peer: &mut Peer, i: usize, step: &Step) -> Result<(), String> {
    let mut msg = step.op.fields();
    msg.insert("type".into(), "op".into());
    msg.insert("step".into(), i.into());
    peer.send(&Value::Object(msg))?;
    let mut k = 0;
    loop {
        let (t, v) = peer.recv()?;
        match t.as_str() {
            "request" => {
                let got = v["hex"].as_str().and_then(hex::decode).ok_or("a request without valid hex")?;
                let Some((want, resp)) = step.exchanges.get(k) else {
                    return Err(format!(
                        "request {k} was not expected (the device sends {} here): {}",
                        step.exchanges.len(),
                        clip(&hex::encode(&got))
                    ));
                };
                if got != *want {
                    return Err(format!(
                        "request {k} differs: expected {}, got {}",
                        clip(&hex::encode(want)),
                        clip(&hex::encode(&got))
                    ));
                }
                peer.send(&json!({"type": "response", "hex": hex::encode(resp)}))?;
                k += 1;
            }
            "result" => {
                if k != step.exchanges.len() {
                    return Err(format!("result after {k} of {} requests", step.exchanges.len()));
                }
                let error = match &v["error"] {
                    Value::Null => None,
                    Value::String(s) => Some(s.as_str()),
                    _ => return Err("result: error is neither null nor a string".into()),
                };
                let alerts: Vec<String> = v["alerts"]
                    .as_array()
                    .ok_or("result: alerts is not an array")?
                    .iter()
                    .map(|a| a.as_str().map(str::to_owned).ok_or("result: an alert is not a string"))
                    .collect::<Result<_, _>>()?;
                let digest: [u8; 32] = v["state_digest"]
                    .as_str()
                    .and_then(hex::decode)
                    .and_then(|d| d.try_into().ok())
                    .ok_or("result: state_digest is not 32 bytes of hex")?;
                return blindsync_testkit::scenarios::compare(&step.expect, error, &alerts, &digest);
            }
            other => return Err(format!("unexpected message type {other:?} (expected request or result)")),
        }
    }
}

/// Runs one scenario against a fresh client process.
pub fn run_scenario(cmd: &str, s: &Scenario, timeout: Duration) -> Verdict {
    let mut verdict =
        Verdict { id: s.id.clone(), flags: s.flags.clone(), steps: s.steps.len(), passed: 0, failure: None };
    let mut peer = match Peer::spawn(cmd, timeout) {
        Ok(p) => p,
        Err(e) => {
            verdict.failure = Some((None, e));
            return verdict;
        }
    };
    let start =
        peer.send(&json!({"type": "start", "scenario": s.id, "device": s.device.to_json()})).and_then(|()| match peer
            .recv()?
        {
            (t, _) if t == "ready" => Ok(()),
            (t, _) => Err(format!("expected ready, got {t:?}")),
        });
    if let Err(e) = start {
        verdict.failure = Some((None, e));
        return verdict;
    }
    for (i, step) in s.steps.iter().enumerate() {
        if let Err(e) = drive_step(&mut peer, i, step) {
            verdict.failure = Some((Some(i), format!("{} step: {e}", step.op.name())));
            return verdict;
        }
        verdict.passed += 1;
    }
    let _ = peer.send(&json!({"type": "bye"}));
    verdict
}

/// The matrix as text: scenario × result.
pub fn render(client: &str, verdicts: &[Verdict]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Conformance of {client:?} (spec chapter 13)\n");
    let _ = writeln!(s, "{:<32} {:<22} {:>6}  result", "scenario", "attack class", "steps");
    for v in verdicts {
        let _ = writeln!(
            s,
            "{:<32} {:<22} {:>6}  {}",
            v.id,
            v.flags.join(","),
            format!("{}/{}", v.passed, v.steps),
            if v.ok() { "pass" } else { "FAIL" }
        );
        if let Some((step, msg)) = &v.failure {
            let at = step.map_or("start".to_owned(), |i| format!("step {i}"));
            let _ = writeln!(s, "    {}: {at}: {msg}", v.id);
        }
    }
    let passed = verdicts.iter().filter(|v| v.ok()).count();
    let _ = writeln!(s, "\n{passed}/{} scenarios passed", verdicts.len());
    s
}

/// The matrix as JSON.
pub fn to_json(client: &str, verdicts: &[Verdict]) -> Value {
    let rows: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            json!({
                "scenario": v.id,
                "flags": v.flags,
                "steps": v.steps,
                "steps_passed": v.passed,
                "result": if v.ok() { "pass" } else { "fail" },
                "failed_step": v.failure.as_ref().and_then(|(s, _)| *s),
                "message": v.failure.as_ref().map(|(_, m)| m.clone()),
            })
        })
        .collect();
    let passed = verdicts.iter().filter(|v| v.ok()).count();
    json!({"client": client, "passed": passed, "total": verdicts.len(), "scenarios": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/scenarios");
        let list = blindsync_testkit::scenarios::read_dir(&dir).unwrap();
        list.into_iter().find(|s| s.id == "honest-sync").unwrap()
    }

    fn failure(cmd: &str) -> (Option<usize>, String) {
        run_scenario(cmd, &scenario(), Duration::from_millis(700)).failure.unwrap()
    }

    // [CONF-5] a client that never answers times out with a clear message: no hang.
    #[test]
    fn a_silent_client_times_out() {
        let (step, msg) = failure("sleep 5");
        assert_eq!(step, None);
        assert!(msg.contains("within"), "{msg}");
    }

    // [CONF-5] a line that is not JSON, and a client that exits, are reported, not fatal.
    #[test]
    fn bad_lines_and_exits_are_reported() {
        let bad = failure("echo hello").1;
        assert!(bad.contains("not JSON"), "{bad}");
        let gone = failure("true").1;
        assert!(gone.contains("exited") || gone.contains("closed its input"), "{gone}");
        let said = failure(r#"echo '{"type":"error","message":"no keys"}'"#).1;
        assert!(said.contains("no keys"), "{said}");
    }

    // [CONF-3] [CONF-5] a request that differs from the recording fails that step, naming it.
    #[test]
    fn a_wrong_request_fails_its_step() {
        let (step, msg) = failure(r#"printf '{"type":"ready"}\n{"type":"request","hex":"00"}\n'; sleep 5"#);
        assert_eq!(step, Some(0));
        assert!(msg.contains("login step") && msg.contains("request 0 differs"), "{msg}");
    }

    // [CONF-3] a result that comes too early, or with a malformed digest, fails the step.
    #[test]
    fn a_result_before_the_last_request_fails() {
        let (step, msg) = failure(
            r#"printf '{"type":"ready"}\n{"type":"result","step":0,"error":null,"alerts":[],"state_digest":"00"}\n'; sleep 5"#,
        );
        assert_eq!(step, Some(0));
        assert!(msg.contains("result after 0 of 2 requests"), "{msg}");
    }
}
