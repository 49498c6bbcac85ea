//! Two devices sync through the reference server; the server and the laptop
//! keep their state in on-disk stores (redb files in the temporary folder);
//! the laptop is restarted (client and file closed, the file reopened) and
//! still catches a server that rolls a note back (spec 11.8, [PERSIST-1]).
//!
//! ```sh
//! cargo run -p blindsync --example two_devices
//! ```
//!
//! The laptop's store lives outside its client (`&mut disk`), so restarting is
//! dropping the client and the store and opening both again.

use blindsync::client::{self, Alert, Client, Joining, Persistent, Registration, Transport, Volatile};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{KvStorage, Server, ServerConfig};
use blindsync::store::DiskStore;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// The reference server in-process, behind the byte encoding a network would carry.
struct Net {
    server: Server<KvStorage<DiskStore>>,
    rng: SeededRng,
    now_ms: u64,
}

impl Transport for Net {
    fn call(&mut self, request: Request) -> Response {
        self.now_ms += 1_000;
        let bytes = self.server.handle_bytes(&request.encode(), self.now_ms, &mut self.rng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

const NOTE: RecordId = RecordId([1; 16]);

fn main() -> blindsync::Result<()> {
    let dir = std::env::temp_dir();
    let (server_file, laptop_file) = (
        dir.join(format!("blindsync-example-server-{}.redb", std::process::id())),
        dir.join(format!("blindsync-example-laptop-{}.redb", std::process::id())),
    );
    let result = run(&server_file, &laptop_file);
    let _ = std::fs::remove_file(&server_file);
    let _ = std::fs::remove_file(&laptop_file);
    result
}

fn run(server_file: &std::path::Path, laptop_file: &std::path::Path) -> blindsync::Result<()> {
    let mut rng = SeededRng::from_label("example/two_devices");
    let mut net = Net {
        server: Server::new(KvStorage::open(DiskStore::create(server_file)?)?, ServerConfig::new([0x11; 32])),
        rng: SeededRng::from_label("example/two_devices/server"),
        now_ms: 1_767_225_600_000,
    };
    // The laptop's store: created once, at registration; afterwards only opened, so a
    // lost file is never taken for a fresh device ([PERSIST-2]).
    let mut disk = DiskStore::create(laptop_file)?;

    // ---- the laptop registers the account; the phone pairs ----
    let code = RecoveryCode::generate(&mut rng); // shown to the user once, never printed here
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let password = kdf.derive(b"example password")?;
    let laptop_keys = DeviceKeys::generate(&mut rng);
    let store = Persistent::new(&mut disk)?;
    let mut registration =
        Registration::new(store, laptop_keys, b"me@example.org", &code.derive(), &password, &kdf, &mut rng)?;
    let mut laptop = client::run(&mut registration, &mut net)?;
    println!("account {}", laptop.chain().fingerprint());

    let mut joining = Joining::new(Volatile, DeviceKeys::generate(&mut rng), laptop.account(), laptop.id());
    let not_yet = client::run(&mut joining, &mut net);
    println!("phone waits for approval: {}", not_yet.err().map_or("?", |e| e.code()));
    for pending in laptop.list_pending(&mut net)? {
        laptop.approve(&mut net, &pending, &mut rng)?; // after comparing the pairing code
    }
    joining.retry();
    let mut phone = client::run(&mut joining, &mut net)?;
    println!("phone paired, fingerprint {}", phone.chain().fingerprint());

    // ---- the phone edits a note twice; the laptop syncs after each edit ----
    laptop.subscribe("notes")?;
    phone.subscribe("notes")?;
    phone.write(&mut net, "notes", NOTE, b"pick up the keys", &mut rng)?;
    laptop.sync(&mut net)?;
    let first = net.server.store_items(&laptop.account()).last().cloned();
    phone.write(&mut net, "notes", NOTE, b"keys picked up", &mut rng)?;
    let report = laptop.sync(&mut net)?;
    println!("laptop synced: applied {}, alerts {}", report.applied, report.alerts.len());
    show("laptop", &laptop);

    // ---- restart the laptop: drop the client and close its file, then reopen both ----
    let before = laptop.state().clone();
    drop(laptop);
    drop(disk);
    let mut disk = DiskStore::open(laptop_file)?;
    let mut laptop = Client::open(&mut disk)?.ok_or(blindsync::Error::StoreCorrupt)?;
    println!("laptop restarted; state as before: {}", laptop.state() == &before);
    laptop.login(&mut net)?;

    // ---- the server rolls the note back: it lists the first revision again ----
    let Some(first) = first else { return Err(blindsync::Error::StoreCorrupt) };
    let cursor = laptop.cursor();
    let report = laptop.sync(&mut rollback(&mut net, first.clone(), cursor))?;
    for alert in &report.alerts {
        if let Alert::Rollback { seq, .. } = alert {
            println!("laptop alert {} (the phone's write {seq} served again)", alert.error().code());
        }
    }
    show("laptop", &laptop);

    // A device that had forgotten its state takes the old revision without a word.
    let mut amnesiac = Client::new(laptop.device().clone(), laptop.chain().clone(), laptop.umks().clone());
    amnesiac.login(&mut net)?;
    amnesiac.subscribe("notes")?;
    let report = amnesiac.sync(&mut rollback(&mut net, first, 0))?;
    println!("a device without its state: alerts {}", report.alerts.len());
    show("amnesiac", &amnesiac);
    Ok(())
}

/// A server that answers the listing after `cursor` with one old item, as if it were new.
fn rollback(net: &mut Net, old: Item, cursor: u64) -> impl FnMut(Request) -> Response + '_ {
    move |request| match request {
        Request::ListSince { cursor: c, .. } if c == cursor => Response::Items {
            items: vec![Item { seq: cursor + 1, kind: ItemKind::Envelope, bytes: old.bytes.clone() }],
        },
        Request::ListSince { .. } => Response::Items { items: Vec::new() },
        other => net.call(other),
    }
}

fn show<P: client::Persist>(name: &str, device: &Client<P>) {
    let note = device.get("notes", &NOTE).map(String::from_utf8_lossy);
    println!("{name} sees the note as {note:?} (cursor {})", device.cursor());
}
