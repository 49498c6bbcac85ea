//! Enrollment whose append was stored but whose answer was lost ([CHAIN-13] step 7, [SYNC-6]'s
//! counterpart for onboarding): the device retries with the same keys and takes the chain that
//! already holds it, appending nothing.

use blindsync::client::{Enrollment, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::Request;
use blindsync_testkit::net::{Account, LoseFirstAppend, Net, register};

const EMAIL: &[u8] = b"retry@example.org";

#[test]
fn a_recovery_enrollment_whose_answer_was_lost_resumes() {
    let mut rng = SeededRng::from_label("enroll-retry/recovery");
    let mut net = Net::new("enroll-retry");
    let Account { client: mut a, code, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut e = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let mut t = LoseFirstAppend::new(&mut net);
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
    let mut t = LoseFirstAppend::new(&mut net);
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
    let mut t = LoseFirstAppend::new(&mut net);
    assert_eq!(run(&mut e, &mut t).err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    a.revoke(&mut net, &me.id(), &mut rng).unwrap();
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    assert!(run(&mut again, &mut net).is_err());
}

// [CHAIN-13] step 7 with a new epoch between the attempts: the owner replaces the recovery code
// (a new epoch wrapped to the new path and to every device, the resumed one included). The device
// resumes with the new code and holds both epochs, from the path and from the wrap to its own key.
#[test]
fn a_resumed_enrollment_holds_the_epochs_started_since() {
    use blindsync::chain::UnlockPathKeys;
    use blindsync::unlock::recovery::RecoveryCode;
    let mut rng = SeededRng::from_label("enroll-retry/new-epoch");
    let mut net = Net::new("enroll-retry-new-epoch");
    let Account { client: mut a, code, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut e = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let mut t = LoseFirstAppend::new(&mut net);
    assert_eq!(run(&mut e, &mut t).err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    let code2 = RecoveryCode::generate(&mut rng);
    let old = UnlockPathKeys::from_recovery(&code.derive());
    a.start_change_recovery(&old, &code2.derive(), &mut rng).unwrap();
    let mut tr = |r: Request| net.call(r);
    run(&mut a, &mut tr).unwrap();
    assert_eq!(a.chain().epoch(), 1);
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code2.derive());
    let c = run(&mut again, &mut net).unwrap();
    assert_eq!(c.umks().keys().copied().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(c.umks()[&1].key_check(1), a.umks()[&1].key_check(1));
}
