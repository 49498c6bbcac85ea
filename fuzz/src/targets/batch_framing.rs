//! A batch's event framing (spec 10.2, [BAT-2]) and the verification hash
//! chain over it (10.3): the decoder against a model of the spec's check
//! order, decode then encode giving back the bytes, encode then decode for
//! events built from the input, and [HCH-5] on what decoded. (Was
//! `batch_event_decoding_never_panics` in `tests/fuzz_stream.rs`.)

use blindsync::Error;
use blindsync::batch::{BatchId, Event, EventKind, MAX_EVENT_LEN, decode_events, encode_events, hchain};
use blindsync::keys::AccountId;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 4096;

const LABEL: &[u8] = b"blindsync/v1/batch/events";

/// [BAT-2] decode, written from the spec's pseudocode; the number of events on success.
fn model(data: &[u8]) -> Result<usize, Error> {
    let mut b = Bytes::new(data);
    // enc(BATCH_EVENTS, ...): the label as u32 length ‖ bytes; a wrong or over-long label is E_DECODE_LABEL.
    if data.len() < 4 {
        return Err(Error::DecodeTruncated);
    }
    let n = b.u32() as usize;
    if n > 64 {
        return Err(Error::DecodeLabel);
    }
    let label = b.take(n);
    if label.len() < n {
        return Err(Error::DecodeTruncated);
    }
    if label != LABEL {
        return Err(Error::DecodeLabel);
    }
    if b.clone().rest().len() < 4 {
        return Err(Error::DecodeTruncated);
    }
    let count = b.u32() as usize;
    if count.saturating_mul(13) > b.clone().rest().len() {
        return Err(Error::DecodeTruncated);
    }
    let mut prev = 0u64;
    for _ in 0..count {
        let head = b.take(13);
        if head.len() < 8 {
            return Err(Error::DecodeTruncated);
        }
        let t = u64::from_be_bytes(head[..8].try_into().unwrap_or_default());
        let Some(&kind) = head.get(8) else { return Err(Error::DecodeTruncated) };
        if kind != 1 && kind != 2 {
            return Err(Error::DecodeValue);
        }
        let Some(len) = head.get(9..13) else { return Err(Error::DecodeTruncated) };
        let len = u32::from_be_bytes(len.try_into().unwrap_or_default()) as usize;
        if len > MAX_EVENT_LEN {
            return Err(Error::DecodeLength);
        }
        if b.take(len).len() < len {
            return Err(Error::DecodeTruncated);
        }
        if t < prev {
            return Err(Error::BatchEventOrder);
        }
        prev = t;
    }
    if b.rest().is_empty() { Ok(count) } else { Err(Error::DecodeTrailing) }
}

/// The recording device and the batch's data key (fixed: the target fuzzes the framing).
fn writer() -> &'static (blindsync::device::DeviceKeys, blindsync::stream::StreamKeySource) {
    static W: std::sync::OnceLock<(blindsync::device::DeviceKeys, blindsync::stream::StreamKeySource)> =
        std::sync::OnceLock::new();
    W.get_or_init(|| {
        let mut rng = blindsync::primitives::SeededRng::from_label("fuzz/batch_framing");
        (blindsync::device::DeviceKeys::generate(&mut rng), blindsync::stream::StreamKeySource::from_bytes([3; 32]))
    })
}

/// Runs one input.
// [BAT-2] check order and round trips; [HCH-5] the chain of what decoded.
pub fn run(data: &[u8]) {
    let (account, batch) = (AccountId([1; 32]), BatchId([2; 16]));
    let got = decode_events(data);
    assert_eq!(got.as_ref().map(Vec::len), model(data).as_ref().copied(), "decode_events and [BAT-2] disagree");
    if let Ok(events) = &got {
        assert_eq!(encode_events(events).as_deref(), Ok(data), "decode then encode");
        // The old target: the chain of the events against an empty record.
        let (device, data_key) = writer();
        let key = hchain::event_key(data_key, &account, &batch);
        let vk = device.public().ed25519;
        let empty = hchain::ServerRecord::new(&account, &batch);
        let r = hchain::verify(&account, &batch, &key, &vk, events, &empty);
        assert_eq!(r, if events.is_empty() { Ok(()) } else { Err(Error::HchInserted) });
        // As reported and signed, everything verifies; without the last event, it was dropped;
        // a report the device did not sign is refused before any accusation ([HCH-6]).
        let mut recorder = hchain::Recorder::new(data_key, &account, &batch);
        let mut record = hchain::ServerRecord::new(&account, &batch);
        for e in events {
            let rep = recorder.record(e, device);
            record.report(rep.event_hash, rep.signature);
        }
        assert_eq!(hchain::verify(&account, &batch, &key, &vk, events, &record), Ok(()));
        if let Some((_, head)) = events.split_last() {
            assert_eq!(hchain::verify(&account, &batch, &key, &vk, head, &record), Err(Error::HchDropped));
            let mut framed = record.clone();
            framed.report([0; 32], record.signature);
            assert_eq!(hchain::verify(&account, &batch, &key, &vk, events, &framed), Err(Error::HchSignature));
        }
    }
    // Events built from the input: encode then decode is the identity; decreasing times are refused.
    let mut b = Bytes::new(data);
    let n = b.u8() % 8;
    let mut t = 0u64;
    let mut events = Vec::new();
    let mut decreasing = false;
    for _ in 0..n {
        let step = b.u8();
        if step == 0xff && t > 0 {
            t -= 1;
            decreasing = true;
        } else {
            t += u64::from(step) << 20;
        }
        let kind = if b.u8() & 1 == 0 { EventKind::Screenshot } else { EventKind::Log };
        let len = usize::from(b.u8() % 64);
        events.push(Event { t_ms: t, kind, data: b.take(len).to_vec() });
    }
    match encode_events(&events) {
        Ok(bytes) => {
            assert!(!decreasing);
            assert_eq!(decode_events(&bytes), Ok(events), "encode then decode");
        }
        Err(e) => assert!(decreasing && e == Error::BatchEventOrder, "{e:?}"),
    }
}

/// The framings of the vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    v.of_kind("batch_events_decode").filter_map(|x| hex_field(x, "input", "events")).collect()
}
