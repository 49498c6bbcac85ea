//! Enrollment whose append was stored but whose answer was lost ([CHAIN-13] step 7, [SYNC-6]'s
//! counterpart for onboarding): the device retries with the same keys and takes the chain that
//! already holds it, appending nothing.

use blindsync::chain::UnlockPathKeys;
use blindsync::client::{Client, Enrollment, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::Request;
use blindsync::unlock::recovery::RecoveryCode;
use blindsync_testkit::net::{Account, LoseFirstAppend, Net, register};

const EMAIL: &[u8] = b"retry@example.org";

/// An account, and a device `me` whose first enrollment (with the recovery code, or with the
/// password) the server stored while the answer was lost; the owner `a` has synced since.
struct Lost {
    net: Net,
    rng: SeededRng,
    a: Client,
    code: RecoveryCode,
    me: DeviceKeys,
}

fn lost_enrollment(label: &str, password: bool) -> Lost {
    let mut rng = SeededRng::from_label(label);
    let mut net = Net::new(label);
    let Account { client: mut a, code, .. } = register(&mut net, EMAIL, b"pw", &mut rng).unwrap();
    let me = DeviceKeys::generate(&mut rng);
    let mut t = LoseFirstAppend::new(&mut net);
    let first = if password {
        run(&mut Enrollment::with_password(Volatile, me.clone(), EMAIL, b"pw"), &mut t)
    } else {
        run(&mut Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive()), &mut t)
    };
    assert_eq!(first.err(), Some(Error::SrvUnavailable));
    a.sync(&mut net).unwrap();
    assert!(a.chain().is_active(&me.id()), "the append was stored");
    Lost { net, rng, a, code, me }
}

#[test]
fn a_recovery_enrollment_whose_answer_was_lost_resumes() {
    let Lost { mut net, a, code, me, .. } = lost_enrollment("enroll-retry/recovery", false);
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    let c = run(&mut again, &mut net).unwrap();
    assert_eq!(c.chain().head(), a.chain().head());
    assert_eq!(c.id(), me.id());
}

#[test]
fn a_password_enrollment_whose_answer_was_lost_resumes() {
    let Lost { mut net, a, me, .. } = lost_enrollment("enroll-retry/password", true);
    let mut again = Enrollment::with_password(Volatile, me.clone(), EMAIL, b"pw");
    let c = run(&mut again, &mut net).unwrap();
    assert_eq!(c.chain().head(), a.chain().head());
    assert!(c.chain().is_active(&me.id()));
    assert_eq!(c.umks().keys().copied().collect::<Vec<_>>(), vec![0]);
}

// A device whose keys the chain holds but revoked is not resumed: its append is refused as before.
#[test]
fn a_revoked_device_does_not_resume() {
    let Lost { mut net, mut rng, mut a, code, me } = lost_enrollment("enroll-retry/revoked", false);
    a.revoke(&mut net, &me.id(), &mut rng).unwrap();
    let mut again = Enrollment::with_recovery(Volatile, me.clone(), a.account(), &code.derive());
    assert!(run(&mut again, &mut net).is_err());
}

// [CHAIN-13] step 7 with a new epoch between the attempts: the owner replaces the recovery code
// (a new epoch wrapped to the new path and to every device, the resumed one included). The device
// resumes with the new code and holds both epochs, from the path and from the wrap to its own key.
#[test]
fn a_resumed_enrollment_holds_the_epochs_started_since() {
    let Lost { mut net, mut rng, mut a, code, me } = lost_enrollment("enroll-retry/new-epoch", false);
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
