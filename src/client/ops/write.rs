//! Writing as a state machine: seal into the outbox (committed), send, and
//! apply once stored (committed). [SYNC-6] [CLIENT-3]
//!
//! ```text
//! start_write(c, id, v, rng): outbox empty (else E_CLIENT_OUTBOX_PENDING)
//!   rev = accepted[c, id].revision + 1 (or 1); seq = last[me] + 1
//!   outbox = seal(rev, seq, epoch, head, prev, v); commit        -- before the envelope leaves
//!   PutRecord(outbox.bytes) -> Stored: last[me] = seq; merge (rev, me); outbox = none; commit
//!                           -> refused: the outbox stays, resubmitted byte for byte by start_flush
//! ```

use super::{Next, Op, Outcome, unexpected};
use crate::client::Client;
use crate::client::persist::Persist;
use crate::client::state::{Outbox, Record, identity};
use crate::envelope::payload::Schema;
use crate::envelope::{EnvelopeRef, RecordId, RecordMeta, Suite};
use crate::error::{Error, Result};
use crate::primitives::CryptoRng;
use crate::server::wire::{Request, Response};

impl<P: Persist> Client<P> {
    /// Starts resubmitting the outbox's exact bytes; with an empty outbox the
    /// operation ends at once with [`Outcome::Flushed`]. [SYNC-6]
    pub fn start_flush(&mut self) -> Result<()> {
        let token = self.session()?;
        match &self.state.outbox {
            Some(o) => {
                let envelope = o.envelope.clone();
                self.begin(Op::Flush, Request::PutRecord { token, envelope })
            }
            None => {
                // [CLIENT-2] nothing to send: still no start over a running or untaken operation
                if self.op.is_some() || self.done.is_some() {
                    return Err(Error::ClientBusy);
                }
                self.done = Some(Ok(Outcome::Flushed));
                Ok(())
            }
        }
    }

    /// Starts a write: seals `value` as the next revision of the record (writer
    /// sequence number one above this device's last stored write, the chain
    /// head and the current epoch in the header), commits it to the outbox,
    /// then sends it. Refused while a write waits in the outbox
    /// ([`Error::ClientOutboxPending`]: [`Client::start_flush`] first), so no
    /// sequence number is ever signed twice. [SYNC-6]
    pub fn start_write<R: CryptoRng + ?Sized>(
        &mut self,
        collection: &str,
        record_id: RecordId,
        value: &[u8],
        rng: &mut R,
    ) -> Result<()> {
        let token = self.session()?;
        // [CLIENT-2] refused before anything is signed or committed
        if self.op.is_some() || self.done.is_some() {
            return Err(Error::ClientBusy);
        }
        if self.state.outbox.is_some() {
            return Err(Error::ClientOutboxPending);
        }
        let bucket = self.bucket(collection)?;
        let me = self.id();
        // [SRV-11] a device's metadata record is its own: every reader refuses any other
        if self.defences.items.device_meta_write
            && collection == super::super::DEVICES_COLLECTION
            && record_id != super::super::device_record(&me)
        {
            return Err(Error::ClientDeviceRecord);
        }
        // [SYNC-16] accepted revisions are bounded by the step rule; saturate rather than fail, so no
        // received value can make this device's writes impossible.
        let revision = self.state.accepted.get(&(bucket, record_id)).map_or(1, |(r, _)| r.saturating_add(1));
        let last = self.state.writer_seq.get(&me).copied().unwrap_or(0);
        let seq = last.checked_add(1).ok_or(Error::ClientOverflow)?;
        // [SYNC-15] commit to this device's previous envelope: the stored outbox write ([SYNC-6]).
        let prev = match last {
            0 => [0; 32],
            l => self.state.identities.get(&(me, l)).copied().ok_or(Error::ClientState)?,
        };
        // [CLIENT-5] a reopened device first learns its own last writer sequence number from
        // a sync to the end of the listing (its store may be a restored, older copy)
        if self.reopened {
            return Err(Error::ClientSyncFirst);
        }
        let epoch = self.state.chain.epoch();
        // [ENV-16] never seal in an epoch that the head this write cites has superseded.
        let head = self.state.chain.head().hash;
        if self.state.chain.epoch_at_head(&head).is_some_and(|(_, e)| e > epoch) {
            return Err(Error::EnvStaleEpoch);
        }
        let ck = self.collection_key(collection, epoch)?;
        let meta = RecordMeta {
            suite: Suite::Aes256Gcm,
            bucket,
            record_id,
            revision,
            writer: me,
            writer_seq: seq,
            epoch,
            schema: Schema::Raw,
            chain_head: head,
            prev,
        };
        let sk = self.state.keys.device.signing_key();
        let account = self.state.chain.account();
        let envelope = crate::client::switches::seal(&account, &meta, &ck, sk, value, &self.defences, rng)?;
        let before = self.snapshot();
        self.state.outbox = Some(Outbox {
            collection: collection.to_owned(),
            record_id,
            bucket,
            revision,
            seq,
            value: value.to_vec(),
            envelope: envelope.clone(),
        });
        // [SYNC-6] [PERSIST-1] the signed envelope is durable before it leaves the device
        self.commit_since(before)?;
        self.begin(Op::Write(revision), Request::PutRecord { token, envelope })
    }

    pub(super) fn step_write(&mut self, op: Op, response: Response) -> Next {
        match response {
            Response::Stored { .. } => {
                let before = self.snapshot();
                self.confirm();
                if let Err(e) = self.commit_since(before) {
                    return Next::Done(Err(e));
                }
                Next::Done(Ok(match op {
                    Op::Write(revision) => Outcome::Written { revision },
                    _ => Outcome::Flushed,
                }))
            }
            r => Next::Done(unexpected(r)),
        }
    }

    /// The outbox's write is stored: apply it by the merge rule. [SYNC-6] [SYNC-13]
    pub(crate) fn confirm(&mut self) {
        let Some(o) = self.state.outbox.take() else { return };
        let me = self.id();
        if let Ok(env) = EnvelopeRef::decode(&o.envelope) {
            // [SYNC-14] an identity already taken from a listing is never replaced
            self.state.identities.entry((me, o.seq)).or_insert(identity(&env.stub()));
        }
        self.state.collections.insert(o.collection.clone());
        let last = self.state.writer_seq.entry(me).or_insert(0);
        *last = (*last).max(o.seq);
        let key = (o.bucket, o.record_id);
        if self.state.accepted.get(&key).is_none_or(|a| (o.revision, me) > *a) {
            self.state.accepted.insert(key, (o.revision, me));
            self.state
                .records
                .insert((o.collection, o.record_id), Record { revision: o.revision, writer: me, value: o.value });
        }
    }
}
