//! Scenario vectors (spec chapter 13): a device driven through operations
//! against an honest or a malicious server whose answers are recorded.
//!
//! A [`Scenario`] is the device's starting material ([`Material`]) and its
//! [`Step`]s: an operation, every request the device sends with the
//! response the server gave, and what the device must report afterwards
//! (error, alert codes, [`state_digest`]). [`generate`] produces them from
//! honest runs and from malicious-server scripts ([`script`]); [`Player`]
//! replays one against the Rust client, as the verifier and the conformance
//! adapter do.

mod digest;
mod player;
pub mod script;

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::hex;
pub use digest::{state_digest, state_digest_input};
pub use player::{Player, StepResult, compare};

/// The format tag of a scenario file. [CONF-2]
pub const FORMAT: &str = "blindsync-scenario/1";

/// What the device holds before the first step. [CONF-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Material {
    /// The device's Ed25519 seed.
    pub ed25519_seed: [u8; 32],
    /// The device's X25519 secret key.
    pub x25519_secret: [u8; 32],
    /// The account chain the device verified, genesis first.
    pub chain: Vec<Vec<u8>>,
    /// The UMKs it holds, ascending by epoch.
    pub umks: Vec<(u32, [u8; 32])>,
    /// The collections it reads besides `blindsync/devices`.
    pub collections: Vec<String>,
}

/// The operations a step runs. [CONF-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Challenge login with the device key ([SYNC-4]).
    Login,
    /// A sync ([SYNC-7], [SYNC-8]).
    Sync,
    /// A write of the device's own ([SYNC-6]), sealed with the test generator ([PRIM-12]).
    Write(Write),
}

/// The inputs of a `write` step. [CONF-7]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// The collection.
    pub collection: String,
    /// The record.
    pub record_id: [u8; 16],
    /// The value.
    pub value: Vec<u8>,
    /// The seed of the `SeededRng` the envelope's salt and nonce are drawn from.
    pub rng_seed: [u8; 32],
}

impl Op {
    /// Its name in the files and the protocol.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Login => "login",
            Op::Sync => "sync",
            Op::Write(_) => "write",
        }
    }

    /// `op` and, for a write, `write`: the fields a step and the protocol's `op` message carry.
    pub fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("op".into(), self.name().into());
        if let Op::Write(w) = self {
            m.insert(
                "write".into(),
                json!({
                    "collection": w.collection,
                    "record_id": hex::encode(&w.record_id),
                    "value": hex::encode(&w.value),
                    "rng_seed": hex::encode(&w.rng_seed),
                }),
            );
        }
        m
    }

    /// Parses the fields of [`Op::fields`].
    pub fn from_json(v: &Value) -> Result<Op, String> {
        match v["op"].as_str() {
            Some("login") => Ok(Op::Login),
            Some("sync") => Ok(Op::Sync),
            Some("write") => {
                let w = &v["write"];
                let rid = bytes(&w["record_id"], "write.record_id")?;
                Ok(Op::Write(Write {
                    collection: w["collection"].as_str().ok_or("write.collection: not a string")?.to_owned(),
                    record_id: rid.try_into().map_err(|_| "write.record_id: not 16 bytes")?,
                    value: bytes(&w["value"], "write.value")?,
                    rng_seed: arr32(&w["rng_seed"], "write.rng_seed")?,
                }))
            }
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

/// What a step must end with. [CONF-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The error code the operation ended with, if it failed.
    pub error: Option<String>,
    /// The alert codes a sync raised: distinct, ascending.
    pub alerts: Vec<String>,
    /// [`state_digest`] after the step.
    pub state_digest: [u8; 32],
    /// The digest's input, for debugging a port.
    pub state_digest_input: Vec<u8>,
}

/// One step. [CONF-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The operation.
    pub op: Op,
    /// Each request the device sends, with the server's response.
    pub exchanges: Vec<(Vec<u8>, Vec<u8>)>,
    /// The outcome.
    pub expect: Expect,
}

/// A scenario file. [CONF-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Stable id; the file is `<id>.json`.
    pub id: String,
    /// What it shows.
    pub description: String,
    /// The attack class (`honest` for none).
    pub flags: Vec<String>,
    /// Requirement ids it exercises.
    pub requirements: Vec<String>,
    /// The device.
    pub device: Material,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

fn arr32(v: &Value, what: &str) -> Result<[u8; 32], String> {
    let b = v.as_str().and_then(hex::decode).ok_or_else(|| format!("{what}: not hex"))?;
    b.try_into().map_err(|_| format!("{what}: not 32 bytes"))
}

fn bytes(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    v.as_str().and_then(hex::decode).ok_or_else(|| format!("{what}: not hex"))
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what}: not an array"))?
        .iter()
        .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| format!("{what}: not a string")))
        .collect()
}

impl Material {
    /// The `device` object of a scenario, and the protocol's `start` message. [CONF-2] [CONF-3]
    pub fn to_json(&self) -> Value {
        json!({
            "ed25519_seed": hex::encode(&self.ed25519_seed),
            "x25519_secret": hex::encode(&self.x25519_secret),
            "chain": self.chain.iter().map(|s| hex::encode(s)).collect::<Vec<_>>(),
            "umks": self.umks.iter().map(|(e, k)| json!({"epoch": e, "umk": hex::encode(k)})).collect::<Vec<_>>(),
            "collections": self.collections,
        })
    }

    /// Parses the `device` object.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let chain = v["chain"]
            .as_array()
            .ok_or("device.chain: not an array")?
            .iter()
            .map(|s| bytes(s, "device.chain"))
            .collect::<Result<_, _>>()?;
        let umks = v["umks"]
            .as_array()
            .ok_or("device.umks: not an array")?
            .iter()
            .map(|u| {
                let e = u["epoch"].as_u64().and_then(|e| u32::try_from(e).ok()).ok_or("device.umks: bad epoch")?;
                Ok((e, arr32(&u["umk"], "device.umks.umk")?))
            })
            .collect::<Result<_, String>>()?;
        Ok(Material {
            ed25519_seed: arr32(&v["ed25519_seed"], "device.ed25519_seed")?,
            x25519_secret: arr32(&v["x25519_secret"], "device.x25519_secret")?,
            chain,
            umks,
            collections: strings(&v["collections"], "device.collections")?,
        })
    }
}

impl Scenario {
    /// The file's JSON. [CONF-2]
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut m = s.op.fields();
                m.extend(
                    json!({
                        "exchanges": s.exchanges.iter().map(|(q, r)| json!({
                            "request": hex::encode(q),
                            "response": hex::encode(r),
                        })).collect::<Vec<_>>(),
                        "expect": {
                            "error": s.expect.error,
                            "alerts": s.expect.alerts,
                            "state_digest": hex::encode(&s.expect.state_digest),
                            "state_digest_input": hex::encode(&s.expect.state_digest_input),
                        },
                    })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                );
                Value::Object(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("format".into(), FORMAT.into());
        m.insert("id".into(), self.id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("flags".into(), self.flags.clone().into());
        m.insert("requirements".into(), self.requirements.clone().into());
        m.insert("generator".into(), "blindsync vectors generate".into());
        m.insert("device".into(), self.device.to_json());
        m.insert("steps".into(), steps.into());
        Value::Object(m)
    }

    /// The file's bytes: pretty JSON and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    }

    /// Parses a scenario file's JSON.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        if v["format"].as_str() != Some(FORMAT) {
            return Err(format!("format is not {FORMAT}"));
        }
        let id = v["id"].as_str().ok_or("missing id")?.to_owned();
        let steps = v["steps"]
            .as_array()
            .ok_or("steps: not an array")?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let at = |m: String| format!("step {i}: {m}");
                let op = Op::from_json(s).map_err(at)?;
                let exchanges = s["exchanges"]
                    .as_array()
                    .ok_or_else(|| at("exchanges: not an array".into()))?
                    .iter()
                    .map(|x| Ok((bytes(&x["request"], "request")?, bytes(&x["response"], "response")?)))
                    .collect::<Result<_, String>>()
                    .map_err(at)?;
                let e = &s["expect"];
                let expect = Expect {
                    error: e["error"].as_str().map(str::to_owned),
                    alerts: strings(&e["alerts"], "alerts").map_err(at)?,
                    state_digest: arr32(&e["state_digest"], "state_digest").map_err(at)?,
                    state_digest_input: bytes(&e["state_digest_input"], "state_digest_input").map_err(at)?,
                };
                Ok(Step { op, exchanges, expect })
            })
            .collect::<Result<_, String>>()?;
        Ok(Scenario {
            id,
            description: v["description"].as_str().unwrap_or_default().to_owned(),
            flags: strings(&v["flags"], "flags")?,
            requirements: strings(&v["requirements"], "requirements")?,
            device: Material::from_json(&v["device"])?,
            steps,
        })
    }

    /// Replays the scenario against the Rust client: `Err` names the first
    /// step that differs. [CONF-2]
    pub fn check(&self) -> Result<(), String> {
        let mut p = Player::new(&self.device).map_err(|e| format!("{}: device: {e}", self.id))?;
        for (i, step) in self.steps.iter().enumerate() {
            let got = p.run(&step.op, &mut |k, req| match step.exchanges.get(k) {
                Some((want, resp)) if *want == req => Ok(resp.clone()),
                Some(_) => Err(format!("request {k} differs from the recorded one")),
                None => Err(format!("request {k} was not expected")),
            });
            let got = got.map_err(|e| format!("{} step {i}: {e}", self.id))?;
            got.compare(step).map_err(|e| format!("{} step {i}: {e}", self.id))?;
        }
        Ok(())
    }
}

/// Every scenario, deterministically. An `Err` is a generator bug.
pub fn generate() -> Result<Vec<Scenario>, String> {
    script::all()
}

/// Writes every scenario into `dir` (`<id>.json`); returns the file names.
pub fn write_dir(dir: &Path) -> Result<Vec<String>, String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut names = Vec::new();
    for s in generate()? {
        let name = format!("{}.json", s.id);
        std::fs::write(dir.join(&name), s.to_bytes()).map_err(io)?;
        names.push(name);
    }
    Ok(names)
}

/// Reads every `*.json` scenario of `dir`, sorted by file name.
pub fn read_dir(dir: &Path) -> Result<Vec<Scenario>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> =
        rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let v: Value = serde_json::from_slice(&text).map_err(|e| format!("{}: invalid JSON: {e}", p.display()))?;
            Scenario::from_json(&v).map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

/// Verifies every scenario of `dir` against the Rust client: one line per scenario.
pub fn verify_dir(dir: &Path) -> (bool, Vec<String>) {
    match read_dir(dir) {
        Err(e) => (false, vec![e]),
        Ok(list) if list.is_empty() => (false, vec![format!("{}: no scenarios", dir.display())]),
        Ok(list) => {
            let mut ok = true;
            let lines = list
                .iter()
                .map(|s| match s.check() {
                    Ok(()) => format!("{:<40} ok ({} steps)", s.id, s.steps.len()),
                    Err(e) => {
                        ok = false;
                        format!("{:<40} FAILED: {e}", s.id)
                    }
                })
                .collect();
            (ok, lines)
        }
    }
}
