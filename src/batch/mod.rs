//! Batches of monitoring events and the verification hash chain (spec
//! chapter 10, `spec/10-batches.md`).
//!
//! This module has the event framing ([`encode_events`], [`decode_events`])
//! and the verification hash chain ([`hchain`]). The batch body is a stream
//! (chapter 9) of the framed events.
//!
//! ```
//! use blindsync::batch::{BatchId, Event, EventKind, decode_events, encode_events, hchain, sealed};
//! use blindsync::device::DeviceKeys;
//! use blindsync::keys::AccountId;
//! use blindsync::primitives::SeededRng;
//!
//! let mut rng = SeededRng::from_label("doc");
//! let (account, batch, device) = (AccountId([1; 32]), BatchId([2; 16]), DeviceKeys::generate(&mut rng));
//! let events = vec![
//!     Event { t_ms: 1_000, kind: EventKind::Screenshot, data: vec![0xff; 10] },
//!     Event { t_ms: 2_000, kind: EventKind::Log, data: b"opened app".to_vec() },
//! ];
//! // The device opens the batch (its data key keys the event hashes), then reports and signs
//! // each event's hash as it happens; the server folds them and keeps the latest signature.
//! let data_key = sealed::new_data_key(&mut rng);
//! let mut recorder = hchain::Recorder::new(&data_key, &account, &batch);
//! let mut record = hchain::ServerRecord::new(&account, &batch);
//! for e in &events {
//!     let r = recorder.record(e, &device);
//!     record.report(r.event_hash, r.signature);
//! }
//! // A partner decrypts the batch body and checks it against the server's record.
//! let key = hchain::event_key(&data_key, &account, &batch);
//! let writer = device.public().ed25519;
//! let decoded = decode_events(&encode_events(&events)?)?;
//! hchain::verify(&account, &batch, &key, &writer, &decoded, &record)?;
//! assert!(hchain::verify(&account, &batch, &key, &writer, &decoded[..1], &record).is_err());
//! # Ok::<(), blindsync::Error>(())
//! ```

pub mod hchain;
pub mod sealed;
pub mod slots;

use crate::encoding::{Encoder, Reader};
use crate::error::{Error, Result};
use crate::labels;

/// Largest event payload: 16 MiB. [BAT-2]
pub const MAX_EVENT_LEN: usize = 16 * 1024 * 1024;
/// Bytes of an event's framing: `u64 t_ms ‖ u8 kind ‖ u32 len`. [BAT-2]
pub const EVENT_OVERHEAD: usize = 8 + 1 + 4;

/// A batch id: 128 random bits, also the stream id of the batch body. [BAT-1]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub [u8; 16]);

wire_enum! {
    /// What an event records; any other kind byte is `E_DECODE_VALUE`. [BAT-2]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum EventKind (unknown: Error::DecodeValue) {
        /// A (low-quality) screenshot image.
        Screenshot = 1,
        /// A log line.
        Log = 2,
    }
}

/// One event of a batch. [BAT-2] Its `Debug` shows the time, kind and length, never the
/// bytes (a screenshot, a log line). [PRIM-8]
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened, in ms since the Unix epoch.
    pub t_ms: u64,
    /// What it is.
    pub kind: EventKind,
    /// Its bytes (an image, a log line).
    pub data: Vec<u8>,
}

impl core::fmt::Debug for Event {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Event")
            .field("t_ms", &self.t_ms)
            .field("kind", &self.kind)
            .field("data_len", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// The batch body's plaintext. [BAT-2]
///
/// ```text
/// events = enc(BATCH_EVENTS, u32 count) ‖ (u64 t_ms ‖ u8 kind ‖ u32 len(data) ‖ data) × count
/// ```
///
/// Timestamps MUST NOT decrease; an event larger than 16 MiB is `E_DECODE_LENGTH`.
pub fn encode_events(events: &[Event]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(framed_len(events));
    encode_events_to(events, &mut out)?;
    Ok(out)
}

/// Length of [`encode_events`]'s output. [BAT-2]
pub fn framed_len(events: &[Event]) -> usize {
    let header = 4 + labels::BATCH_EVENTS.len() + 4;
    events.iter().fold(header, |n, e| n.saturating_add(EVENT_OVERHEAD).saturating_add(e.data.len()))
}

/// [`encode_events`] into any writer (a stream body buffer: one copy of the events). [BAT-2]
pub fn encode_events_to<W: std::io::Write>(events: &[Event], out: &mut W) -> Result<()> {
    let count = u32::try_from(events.len()).map_err(|_| Error::DecodeLength)?;
    let io = |_| Error::DecodeLength;
    out.write_all(&Encoder::new(labels::BATCH_EVENTS).u32(count).finish()).map_err(io)?;
    let mut prev = 0u64;
    for e in events {
        if e.data.len() > MAX_EVENT_LEN {
            return Err(Error::DecodeLength);
        }
        if e.t_ms < prev {
            return Err(Error::BatchEventOrder);
        }
        prev = e.t_ms;
        let mut head = [0u8; EVENT_OVERHEAD];
        head[..8].copy_from_slice(&e.t_ms.to_be_bytes());
        head[8] = e.kind as u8;
        head[9..].copy_from_slice(&(e.data.len() as u32).to_be_bytes());
        out.write_all(&head).map_err(io)?;
        out.write_all(&e.data).map_err(io)?;
    }
    Ok(())
}

/// Decodes [`encode_events`]'s framing. [BAT-2]
///
/// ```text
/// decode(bytes):
///   label BATCH_EVENTS                                else E_DECODE_LABEL
///   count; count * 13 <= bytes left                   else E_DECODE_TRUNCATED
///   per event: t_ms, kind in {1, 2} (E_DECODE_VALUE), len <= 16 MiB (E_DECODE_LENGTH), data
///              t_ms >= previous t_ms                  else E_BATCH_EVENT_ORDER
///   nothing follows                                   else E_DECODE_TRAILING
/// ```
/// Reads and checks in the order of [BAT-2]'s list; an event's order is checked after its data. [ENC-7]
pub fn decode_events(bytes: &[u8]) -> Result<Vec<Event>> {
    let mut r = Reader::new(bytes);
    r.expect_label(labels::BATCH_EVENTS)?;
    let count = r.u32()? as usize;
    if count.saturating_mul(EVENT_OVERHEAD) > r.remaining() {
        return Err(Error::DecodeTruncated);
    }
    let mut events = Vec::with_capacity(count);
    let mut prev = 0u64;
    for _ in 0..count {
        let t_ms = r.u64()?;
        let kind = EventKind::from_u8(r.u8()?)?;
        let data = r.bytes(MAX_EVENT_LEN)?.to_vec();
        if t_ms < prev {
            return Err(Error::BatchEventOrder);
        }
        prev = t_ms;
        events.push(Event { t_ms, kind, data });
    }
    r.finish()?;
    Ok(events)
}

#[cfg(test)]
mod tests;
