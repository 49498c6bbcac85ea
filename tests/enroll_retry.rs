//! Enrollment whose append was stored but whose answer was lost ([CHAIN-13] step 7, [SYNC-6]'s
//! counterpart for onboarding): the device retries with the same keys and takes the chain that
//! already holds it, appending nothing.

use blindsync::client::{Enrollment, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync_testkit::net::{Account, Net, register};

const EMAIL: &[u8] = b"retry@example.org";

/// Passes everything to `net`, but answers the first stored AppendChain `E_SRV_UNAVAILABLE`.
struct LoseAppend<'a> {
    net: &'a mut Net,
    lost: bool,
}

impl Transport for LoseAppend<'_> {
    fn call(&mut self, r: Request) -> Response {
        let append = matches!(r, Request::AppendChain { .. });
        let resp = self.net.call(r);
        if append && !self.lost && resp == Response::Ok {
            self.lost = true;
            return Response::Error(Error::SrvUnavailable);
        }
        resp
    }
}

#[test]
fn a_recovery_enrollment_whose_answer_was_lost_resumes() {
    let mut rng = SeededRng::from_label("enroll-retry/recovery");
    let mut net = Net::new("enroll-retry");
    let Account { client: mut a, code, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut e = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let mut t = LoseAppend { net: &mut net, lost: false };
    assert_eq!(run(&mut e, &mut t).err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    assert!(a.chain().is_active(&me.id()), "the append was stored");
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let c = run(&mut again, &mut net).unwrap();
    assert_eq!(c.chain().head(), a.chain().head());
    assert_eq!(c.id(), me.id());
}

#[test]
fn a_password_enrollment_whose_answer_was_lost_resumes() {
    let mut rng = SeededRng::from_label("enroll-retry/password");
    let mut net = Net::new("enroll-retry-pw");
    let Account { client: mut a, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut e = Enrollment::with_password(Volatile, me.clone(), EMAIL, b"pw");
    let mut t = LoseAppend { net: &mut net, lost: false };
    assert_eq!(run(&mut e, &mut t).err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    let me_id = me.id();
    let mut again = Enrollment::with_password(Volatile, me.clone(), EMAIL, b"pw");
    let c = run(&mut again, &mut net).unwrap();
    assert_eq!(c.chain().head(), a.chain().head());
    assert!(c.chain().is_active(&me_id));
    assert_eq!(c.umks().keys().copied().collect::<Vec<_>>(), vec![0]);
}

// A device whose keys the chain holds but revoked is not resumed: its append is refused as before.
#[test]
fn a_revoked_device_does_not_resume() {
    let mut rng = SeededRng::from_label("enroll-retry/revoked");
    let mut net = Net::new("enroll-retry-revoked");
    let Account { client: mut a, code, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut e = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let mut t = LoseAppend { net: &mut net, lost: false };
    assert_eq!(run(&mut e, &mut t).err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    a.revoke(&mut net, &me.id(), &mut rng).unwrap();
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    assert!(run(&mut again, &mut net).is_err());
}
