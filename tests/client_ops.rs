//! The client's operations end to end (spec 11.8, [CLIENT-1] [CLIENT-3]):
//! revoke, password and recovery-code changes through the operations, and the
//! same operations driven by an async loop.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use blindsync::chain::UnlockPathKeys;
use blindsync::client::{Client, Enrollment, Exchange, Joining, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;
use blindsync_testkit::net::{Account, Net, register};

const EMAIL: &[u8] = b"ops@example.org";

struct Setup {
    net: Net,
    rng: SeededRng,
    a: Client,
    code: RecoveryCode,
    kdf: PasswordKdf,
}

fn setup(label: &str) -> Setup {
    let mut rng = SeededRng::from_label(label);
    let mut net = Net::new("client-ops");
    let Account { client: a, code, kdf } = register(&mut net, EMAIL, b"first password", &mut rng).unwrap();
    Setup { net, rng, a, code, kdf }
}

fn join(s: &mut Setup) -> Client {
    let mut j = Joining::new(Volatile, DeviceKeys::generate(&mut s.rng), s.a.account(), s.a.id());
    assert_eq!(run(&mut j, &mut s.net).err(), Some(Error::SrvNotFound));
    for p in s.a.list_pending(&mut s.net).unwrap() {
        s.a.approve(&mut s.net, &p, &mut s.rng).unwrap();
    }
    assert!(j.retry());
    run(&mut j, &mut s.net).unwrap()
}

fn enroll_password(s: &mut Setup, password: &[u8]) -> Result<Client, Error> {
    let mut e = Enrollment::with_password(Volatile, DeviceKeys::generate(&mut s.rng), EMAIL, password);
    run(&mut e, &mut s.net)
}

// [CLIENT-3] [CHAIN-20] revoking through the operation: the new epoch is the revoker's at once,
// the revoked device's writes are bound at the last one taken, and its session ends.
#[test]
fn revoke_through_the_operation() {
    let mut s = setup("client-ops/revoke");
    let mut b = join(&mut s);
    b.subscribe("notes").unwrap();
    s.a.subscribe("notes").unwrap();
    for n in 1..=2u8 {
        b.write(&mut s.net, "notes", RecordId([n; 16]), b"b", &mut s.rng).unwrap();
    }
    assert!(s.a.sync(&mut s.net).unwrap().alerts.is_empty());
    let target = b.id();
    s.a.revoke(&mut s.net, &target, &mut s.rng).unwrap();
    assert_eq!(s.a.chain().epoch(), 1);
    assert!(s.a.umks().contains_key(&1));
    let r = &s.a.chain().revoked()[&target];
    assert_eq!((r.max_seq, Some(r.last_envelope)), (2, s.a.envelope_identity(&target, 2)));
    assert_eq!(b.sync(&mut s.net).err(), Some(Error::SrvAuth));
    // the revoker writes in the new epoch and a fresh device reads everything without an alert
    s.a.write(&mut s.net, "notes", RecordId([9; 16]), b"after", &mut s.rng).unwrap();
    let mut c = join(&mut s);
    c.subscribe("notes").unwrap();
    let report = c.sync(&mut s.net).unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    assert_eq!(c.get("notes", &RecordId([9; 16])), Some(&b"after"[..]));
}

// [CLIENT-3] [CHAIN-14] [CHAIN-18] changing the password through the operation: the new password
// enrolls, the old one is refused; signed by the old password's authority.
#[test]
fn change_password_through_the_operation() {
    let mut s = setup("client-ops/password");
    let old = UnlockPathKeys::from_password(&s.kdf.derive(b"first password").unwrap(), &s.kdf);
    let kdf2 = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut s.rng) };
    let pw2 = kdf2.derive(b"second password").unwrap();
    // a device may not sign it: the chain refuses before anything is sent
    let me = UnlockPathKeys::from_recovery(&RecoveryCode::generate(&mut s.rng).derive());
    assert_eq!(s.a.start_change_password(&me, &kdf2, &pw2, &mut s.rng), Err(Error::ChainSignerUnknown));
    s.a.change_password(&mut s.net, &old, &kdf2, &pw2, &mut s.rng).unwrap();
    assert_eq!(s.a.chain().epoch(), 1);
    assert_eq!(enroll_password(&mut s, b"first password").err(), Some(Error::SrvAuth));
    let c = enroll_password(&mut s, b"second password").unwrap();
    assert_eq!(c.chain().fingerprint(), s.a.chain().fingerprint());
    assert_eq!(c.umks().len(), 2);
}

// [CLIENT-3] [CHAIN-14] a new recovery code through the operation: the new code enrolls, the old one
// no longer derives the chain's authority.
#[test]
fn change_recovery_code_through_the_operation() {
    let mut s = setup("client-ops/recovery");
    let old = UnlockPathKeys::from_recovery(&s.code.derive());
    let code2 = RecoveryCode::generate(&mut s.rng);
    let new = code2.derive();
    // a device may not sign it
    let stranger = UnlockPathKeys::from_recovery(&RecoveryCode::generate(&mut s.rng).derive());
    assert!(s.a.start_change_recovery(&stranger, &new, &mut s.rng).is_err());
    let mut t = |r: Request| s.net.call(r);
    s.a.start_change_recovery(&old, &new, &mut s.rng).unwrap();
    assert_eq!(run(&mut s.a, &mut t), Ok(blindsync::client::Outcome::AuthorityReplaced));
    let account = s.a.account();
    let mut e = Enrollment::with_recovery(Volatile, DeviceKeys::generate(&mut s.rng), account, &s.code.derive());
    assert_eq!(run(&mut e, &mut s.net).err(), Some(Error::SrvAuth));
    let mut e = Enrollment::with_recovery(Volatile, DeviceKeys::generate(&mut s.rng), account, &code2.derive());
    let c = run(&mut e, &mut s.net).unwrap();
    assert_eq!(c.chain().head(), {
        let mut a = s.a.clone();
        a.sync(&mut s.net).unwrap();
        a.chain().head()
    });
}

/// The async driver of the module documentation, as written there.
trait Http {
    async fn send(&mut self, r: Request) -> Response;
}

/// An "async" transport: answers after yielding once.
struct Later<'a>(&'a mut Net);

impl Http for Later<'_> {
    async fn send(&mut self, r: Request) -> Response {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        self.0.call(r)
    }
}

async fn run_async<E: Exchange>(op: &mut E, http: &mut impl Http) -> blindsync::Result<E::Output> {
    while let Some(request) = op.poll_request() {
        let response = http.send(request).await;
        op.handle_response(response)?;
    }
    op.poll_outcome().unwrap_or(Err(Error::ClientNoOperation))
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

// [CLIENT-1] the same operations under an async loop give the same states as the blocking driver.
#[test]
fn async_driver_matches_the_blocking_one() {
    let s = setup("client-ops/async");
    let (mut net1, mut a1) = (
        Net { server: s.net.server.clone(), rng: SeededRng::from_label("n"), now_ms: 0, step_ms: 1_000, page: None },
        s.a.clone(),
    );
    let (mut net2, mut a2) = (
        Net { server: s.net.server.clone(), rng: SeededRng::from_label("n"), now_ms: 0, step_ms: 1_000, page: None },
        s.a.clone(),
    );
    let (mut r1, mut r2) = (SeededRng::from_label("w"), SeededRng::from_label("w"));
    a1.subscribe("notes").unwrap();
    a2.subscribe("notes").unwrap();
    a1.start_write("notes", RecordId([1; 16]), b"x", &mut r1).unwrap();
    run(&mut a1, &mut net1).unwrap();
    a1.start_sync().unwrap();
    run(&mut a1, &mut net1).unwrap();
    a2.start_write("notes", RecordId([1; 16]), b"x", &mut r2).unwrap();
    block_on(run_async(&mut a2, &mut Later(&mut net2))).unwrap();
    a2.start_sync().unwrap();
    block_on(run_async(&mut a2, &mut Later(&mut net2))).unwrap();
    assert_eq!(a1, a2);
    assert_eq!(a2.get("notes", &RecordId([1; 16])), Some(&b"x"[..]));
}
