//! A batch's key slots (spec 10.4, [BAT-3] [BAT-4]): arbitrary slot lists
//! opened against a model of the spec's check order (was
//! `slot_decoding_never_panics` in `tests/fuzz_stream.rs`), and
//! seal then open for recipients taken from the input, where any change to
//! the reader's own slot is refused.

use std::sync::OnceLock;

use blindsync::Error;
use blindsync::batch::{BatchId, slots};
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::stream::StreamKeySource;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;

/// Longest input worth trying: a few slots.
pub const MAX_LEN: usize = 1024;

const SLOT: usize = 112;

fn me() -> &'static (HpkeSecretKey, [u8; 32]) {
    static K: OnceLock<(HpkeSecretKey, [u8; 32])> = OnceLock::new();
    K.get_or_init(|| {
        let k = HpkeSecretKey::from_bytes([7; 32]);
        let pk = k.public_key();
        (k, pk)
    })
}

/// The reader's chain pins every key but those starting with 0xff.
fn allowed(k: &[u8; 32]) -> bool {
    k[0] != 0xff
}

/// [BAT-3] [BAT-4] open_slot, written from the spec up to the HPKE step:
/// `Ok(())` when the HPKE open is reached.
fn model(data: &[u8], my_pk: &[u8; 32]) -> Result<(), Error> {
    let (Some(&hi), Some(&lo)) = (data.first(), data.get(1)) else { return Err(Error::DecodeTruncated) };
    let count = usize::from(u16::from_be_bytes([hi, lo]));
    let body = &data[2..];
    // Structure first: count slots of 112 bytes, nothing after.
    if body.len() < count * SLOT {
        return Err(Error::DecodeTruncated);
    }
    if body.len() > count * SLOT {
        return Err(Error::DecodeTrailing);
    }
    // Then the order of the recipients.
    let recipients: Vec<&[u8]> = body.chunks(SLOT).map(|s| &s[..32]).collect();
    if recipients.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::DecodeValue);
    }
    let mine = recipients.iter().any(|r| *r == my_pk);
    if !mine {
        return Err(Error::BatchNoSlot);
    }
    if !allowed(my_pk) {
        return Err(Error::BatchUnpinned);
    }
    Ok(())
}

/// Runs one input.
// [BAT-3] [BAT-4] check order; seal then open; a changed own slot is refused.
pub fn run(data: &[u8]) {
    let (account, batch) = (AccountId([1; 32]), BatchId([2; 16]));
    let (sk, pk) = me();
    let got = slots::open_slot(&account, &batch, data, &allowed, sk);
    match model(data, pk) {
        Err(e) => assert_eq!(got.err(), Some(e), "open_slot and [BAT-3] disagree"),
        Ok(()) => assert!(matches!(got, Ok(_) | Err(Error::HpkeOpen | Error::HpkeLowOrder)), "{:?}", got.err()),
    }
    // Seal to me and up to three other recipients from the input, then open.
    let mut b = Bytes::new(data);
    let flags = b.u8();
    let key: [u8; 32] = b.array();
    let mut recipients = vec![*pk];
    for _ in 0..flags % 4 {
        recipients.push(b.array());
    }
    let mut rng = SeededRng::from_label("fuzz/key_slot");
    let source = StreamKeySource::from_bytes(key);
    let sealed = slots::seal_slots(&account, &batch, &recipients, &allowed, &source, &mut rng);
    let sealed = match sealed {
        Ok(s) => s,
        Err(e) => {
            // [BAT-4] a recipient the chain does not pin; or a low-order key.
            let unpinned = recipients.iter().any(|r| !allowed(r));
            assert_eq!(e, if unpinned { Error::BatchUnpinned } else { Error::HpkeLowOrder });
            return;
        }
    };
    let opened = slots::open_slot(&account, &batch, &sealed, &allowed, sk);
    assert!(opened.is_ok_and(|k| k.expose() == &key), "seal then open");
    // Another batch id is refused; so is a flipped byte of my own slot.
    assert_eq!(slots::open_slot(&account, &BatchId([3; 16]), &sealed, &allowed, sk).err(), Some(Error::HpkeOpen));
    let mut sorted = recipients.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let Some(i) = sorted.iter().position(|r| r == pk) else { panic!("my slot") };
    let at = 2 + i * SLOT + usize::from(b.u8()) % SLOT;
    let mut bad = sealed.clone();
    bad[at] ^= 1 << (b.u8() % 8);
    assert!(slots::open_slot(&account, &batch, &bad, &allowed, sk).is_err(), "a changed slot opened");
}

/// The slot lists of the vectors, and a seal to me alone.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v.of_kind("batch_slot_open").filter_map(|x| hex_field(x, "input", "slots")).collect();
    out.push(vec![0; 40]);
    out.push(vec![3; 200]);
    out
}
