//! The narrated `blindsync demo` scenario (spec 11.10, [CLI-1]).
//!
//! [`run`] plays an account with two devices against the in-process
//! reference server and returns the narration: at each step, side by side,
//! what the server stores and what each device sees. Deterministic: the same
//! text every run.

use std::fmt::Write as _;

use blindsync::chain::{accept_pairing, approve_device};
use blindsync::client::{self, Client, Registration, Transport, Volatile};
use blindsync::device::DeviceKeys;
use blindsync::envelope::{EnvelopeRef, RecordId, Stub};
use blindsync::error::Result;
use blindsync::keys::AccountId;
use blindsync::primitives::{SeededRng, sha256};
use blindsync::server::wire::{ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

struct Net {
    server: Server<MemoryStorage>,
    rng: SeededRng,
    now: u64,
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1000;
        self.server.handle(r, self.now, &mut self.rng)
    }
}

fn hex8(b: &[u8]) -> String {
    b.iter().take(4).map(|x| format!("{x:02x}")).collect::<String>() + "…"
}

fn server_view(net: &Net, account: &AccountId) -> Vec<String> {
    let mut out = vec![format!("chain: {} statements", net.server.store_chain(account).len())];
    for i in net.server.store_items(account) {
        let line = match i.kind {
            ItemKind::Envelope => match EnvelopeRef::decode(&i.bytes) {
                Ok(e) => format!(
                    "#{} envelope {} B bucket {} rev {} seq {} sha256 {}",
                    i.seq,
                    i.bytes.len(),
                    hex8(&e.header.bucket.0),
                    e.header.revision,
                    e.header.writer_seq,
                    hex8(&sha256(&[&i.bytes]))
                ),
                Err(_) => format!("#{} undecodable", i.seq),
            },
            ItemKind::Stub => match Stub::decode(&i.bytes) {
                Ok(s) => format!("#{} stub {} B rev {} (ciphertext dropped)", i.seq, i.bytes.len(), s.header.revision),
                Err(_) => format!("#{} undecodable", i.seq),
            },
        };
        out.push(line);
    }
    out
}

fn device_view(c: &Client) -> Vec<String> {
    let mut out = vec![format!("chain: {} statements, epoch {}", c.chain().head().len, c.chain().epoch())];
    for ((coll, id), r) in c.records() {
        out.push(format!("{coll}/{} rev {} = {:?}", hex8(&id.0), r.revision, String::from_utf8_lossy(&r.value)));
    }
    out
}

fn side_by_side(out: &mut String, title: &str, net: &Net, account: &AccountId, devices: &[(&str, &Client)]) {
    let _ = writeln!(out, "\n== {title} ==");
    let mut cols = vec![("server stores".to_owned(), server_view(net, account))];
    for (name, c) in devices {
        cols.push((format!("{name} sees"), device_view(c)));
    }
    let rows = cols.iter().map(|c| c.1.len()).max().unwrap_or(0);
    let width = 58;
    let head = cols.iter().map(|c| format!("{:<width$}", c.0)).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(out, "{}", head.trim_end());
    for r in 0..rows {
        let line: Vec<String> = cols
            .iter()
            .map(|c| {
                let cell = c.1.get(r).cloned().unwrap_or_default();
                let cell: String = cell.chars().take(width).collect();
                format!("{cell:<width$}")
            })
            .collect();
        let _ = writeln!(out, "{}", line.join(" | ").trim_end());
    }
}

/// Runs the scenario and returns its narration. [CLI-1]
pub fn run() -> Result<String> {
    let mut out = String::new();
    let mut rng = SeededRng::from_label("blindsync/demo");
    let laptop = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"a demo password, not a good one")?;
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([0x5e; 32])),
        rng: SeededRng::from_label("blindsync/demo/server"),
        now: 1_700_000_000_000,
    };
    let mut registration =
        Registration::new(Volatile, laptop, b"demo@example.org", &code.derive(), &pw, &kdf, &mut rng)?;
    let account = registration.chain().account();
    let _ = writeln!(out, "BlindSync demo: one account, two devices, one honest server.");
    let _ = writeln!(out, "account fingerprint {}", registration.chain().fingerprint());
    let mut a = client::run(&mut registration, &mut net)?;
    a.subscribe("notes")?;
    side_by_side(
        &mut out,
        "1. registered: the server holds the genesis, a hash of the auth value, two wraps",
        &net,
        &account,
        &[("laptop", &a)],
    );

    let phone = DeviceKeys::generate(&mut rng);
    let approval = approve_device(a.chain(), a.device(), &phone.pending(&account), a.umks(), &mut rng)?;
    a.append_chain(&mut net, vec![approval.statement.clone()])?;
    let (state, umks) =
        accept_pairing(&phone, &account, &a.id(), &approval.bundle_wrap, &net.server.store_chain(&account))?;
    let mut b = Client::new(phone, state, umks);
    b.login(&mut net)?;
    b.subscribe("notes")?;
    let _ = writeln!(out, "\nphone paired; both show fingerprint {}", b.chain().fingerprint());

    a.write(&mut net, "notes", RecordId([1; 16]), b"buy milk", &mut rng)?;
    b.write(&mut net, "notes", RecordId([2; 16]), b"call Bob", &mut rng)?;
    side_by_side(
        &mut out,
        "2. each device wrote one note; nothing synced yet",
        &net,
        &account,
        &[("laptop", &a), ("phone", &b)],
    );

    let ra = a.sync(&mut net)?;
    let rb = b.sync(&mut net)?;
    let _ = writeln!(
        out,
        "\nsync: laptop applied {}, phone applied {}; alerts: {}",
        ra.applied,
        rb.applied,
        ra.alerts.len() + rb.alerts.len()
    );
    b.write(&mut net, "notes", RecordId([1; 16]), b"buy oat milk", &mut rng)?;
    a.sync(&mut net)?;
    side_by_side(
        &mut out,
        "3. synced; the phone edited the laptop's note (the old revision is now a stub)",
        &net,
        &account,
        &[("laptop", &a), ("phone", &b)],
    );

    // a misbehaving server withholds the phone's newest write from the laptop
    b.write(&mut net, "notes", RecordId([3; 16]), b"secret plan", &mut rng)?;
    b.write(&mut net, "notes", RecordId([4; 16]), b"later note", &mut rng)?;
    let hidden = net.server.store_items(&account).iter().rev().nth(1).map(|i| i.seq).unwrap_or(0);
    let mut evil = |r: Request| match net.call(r) {
        Response::Items { items } => Response::Items { items: items.into_iter().filter(|i| i.seq != hidden).collect() },
        r => r,
    };
    let report = a.sync(&mut evil)?;
    let _ = writeln!(out, "\n== 4. the server withholds one write of the phone ==");
    for alert in &report.alerts {
        let _ = writeln!(out, "laptop alert: {} ({})", alert.error().code(), alert.error().message());
    }
    let _ = writeln!(out, "the laptop did not apply anything after the gap; an honest sync repairs it:");
    let report = a.sync(&mut net)?;
    let _ = writeln!(out, "honest sync: applied {}, alerts {}", report.applied, report.alerts.len());
    side_by_side(&mut out, "5. converged", &net, &account, &[("laptop", &a), ("phone", &b)]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    // [CLI-1] the narration shows both sides, the withholding alert, and is deterministic.
    #[test]
    fn demo_narrates_and_is_deterministic() {
        let a = super::run().unwrap();
        assert!(a.contains("server stores") && a.contains("phone sees") && a.contains("E_SYNC_WITHHELD"));
        assert!(a.contains("\"buy oat milk\""));
        assert_eq!(a, super::run().unwrap());
    }
}
