//! Review 18b (malicious server, colluding with a device R later revoked) of [SRV-11]'s
//! foreign-metadata rule (57e38cc) and enrollment resumption ([CHAIN-13] step 7).
//! Finding 1 is fixed: `device_info` shows no name for a device whose record another device's
//! item outranks ([SRV-11]), rather than a stale one.

use blindsync::client::{Joining, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::RecordId;

mod common;

use common::*;

fn meta_record(id: DeviceId) -> RecordId {
    RecordId(id.0[..16].try_into().unwrap())
}

/// FINDING 1: a foreign-metadata item now ranks in `accepted`, so R (a live device, even with an
/// honest server) pre-empts a device's rename: its two writes to a's record put the record at
/// revision 3; a, not yet synced, renames itself at revision 2, which the server stores as a
/// stub below R's item. Every reader takes the stub as superseded and keeps a's replaced name,
/// silently after the one E_ENV_CONTEXT per R item; a shows its new name (divergence). The spec
/// ([SRV-11]) says such a device shows no name; the code shows the stale one.
#[test]
fn f1_foreign_meta_freezes_a_rename_on_every_reader() {
    use blindsync::client::DEVICES_COLLECTION;
    let mut w = world("review18b/rename");
    let mut compromised = blindsync::danger::Defences::ALL;
    compromised.items.device_meta_write = false;
    w.b.dangerous_set_defences(compromised);
    let new = DeviceKeys::generate(&mut w.rng);
    let mut join = Joining::new(Volatile, new, w.a.account(), w.a.id());
    let _ = run(&mut join, &mut w.net);
    let pending = w.a.list_pending(&mut w.net).unwrap();
    w.a.approve(&mut w.net, &pending[0], &mut w.rng).unwrap();
    assert!(join.retry());
    let mut c = run(&mut join, &mut w.net).unwrap();
    let a_id = w.a.id();
    w.a.set_device_info(&mut w.net, "phone", "ios", &mut w.rng).unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
    assert_eq!(c.device_info(&a_id), Some(("phone".into(), "ios".into())));
    // R writes a's record twice: revision 3 (b's accepted for it was 1)
    for _ in 0..2 {
        w.b.write(&mut w.net, DEVICES_COLLECTION, meta_record(a_id), br#"{"name":"x","os":"x"}"#, &mut w.rng).unwrap();
    }
    // a, not yet synced, renames itself (revision 2: stored as a stub below R's item)
    w.a.set_device_info(&mut w.net, "LOST phone", "ios", &mut w.rng).unwrap();
    assert_eq!(w.a.device_info(&a_id), Some(("LOST phone".into(), "ios".into())));
    let first = c.sync(&mut w.net).unwrap().alerts;
    assert!(!first.is_empty(), "R's items are alerted once");
    let again = c.sync(&mut w.net).unwrap().alerts;
    assert!(again.is_empty(), "{again:?}");
    // a's rename was counted (its sequence goes on) but never applied
    assert_eq!(c.last_seq(&a_id), w.a.last_seq(&a_id));
    // secure expectation: c does not show the name a replaced (a's new one, or per the spec none)
    assert_ne!(c.device_info(&a_id), Some(("phone".into(), "ios".into())));
}

/// FINDING 1, the server's share: R signs once, far ahead (here revision 7); the server never
/// lists R's items to a (the tail of a writer's sequence, which no device can miss), so a keeps
/// writing its record at its own next revision and syncing without any alert; every rename a
/// makes below R's revision is stored as a stub and silently taken as superseded by every other
/// device, which shows a's first name for ever (until a happens to write above 7).
#[test]
fn f1_server_hides_the_foreign_item_from_its_victim() {
    use blindsync::client::DEVICES_COLLECTION;
    use blindsync::client::Transport;
    use blindsync::envelope::Header;
    use blindsync::server::wire::{Request, Response};
    let mut w = world("review18b/hidden");
    let mut compromised = blindsync::danger::Defences::ALL;
    compromised.items.device_meta_write = false;
    w.b.dangerous_set_defences(compromised);
    let new = DeviceKeys::generate(&mut w.rng);
    let mut join = Joining::new(Volatile, new, w.a.account(), w.a.id());
    let _ = run(&mut join, &mut w.net);
    let pending = w.a.list_pending(&mut w.net).unwrap();
    w.a.approve(&mut w.net, &pending[0], &mut w.rng).unwrap();
    assert!(join.retry());
    let mut c = run(&mut join, &mut w.net).unwrap();
    let (a_id, b_id) = (w.a.id(), w.b.id());
    w.a.set_device_info(&mut w.net, "phone", "ios", &mut w.rng).unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
    let b_before = w.b.last_seq(&b_id);
    for _ in 0..6 {
        w.b.write(&mut w.net, DEVICES_COLLECTION, meta_record(a_id), br#"{"name":"x","os":"x"}"#, &mut w.rng).unwrap();
    }
    for name in ["LOST 1", "LOST 2", "LOST 3"] {
        w.a.set_device_info(&mut w.net, name, "ios", &mut w.rng).unwrap();
        // the server lists to a everything but R's new items
        let net = &mut w.net;
        let mut served = |r: Request| match net.call(r) {
            Response::Items { items } => Response::Items {
                items: items
                    .into_iter()
                    .filter(|i| {
                        !Header::decode(&i.bytes[..blindsync::envelope::header::HEADER_LEN])
                            .is_ok_and(|h| h.writer == b_id && h.writer_seq > b_before)
                    })
                    .collect(),
            },
            other => other,
        };
        let alerts = w.a.sync(&mut served).unwrap().alerts;
        assert!(alerts.is_empty(), "{alerts:?}");
    }
    assert_eq!(w.a.device_info(&a_id), Some(("LOST 3".into(), "ios".into())));
    let _ = c.sync(&mut w.net).unwrap();
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
    assert_eq!(c.last_seq(&a_id), w.a.last_seq(&a_id));
    assert_ne!(c.device_info(&a_id), Some(("phone".into(), "ios".into())));
}
