//! Verification of what the server serves (spec 11.9): the chain
//! ([`Client::apply_chain`]) and listed items ([`Client::apply_items`]).
//! These are the pure cores of a sync: no I/O, no persistence (an operation
//! commits after them, [PERSIST-1]).

use std::collections::{BTreeMap, BTreeSet};

use super::alerts::{
    Alert, ChainLink, Step, SyncReport, classify, revision_within_step, revoked_incomplete, stale_head,
    writer_chain_break,
};
use super::persist::Persist;
use super::state::{DEVICES_COLLECTION, Record, identity};
use super::{Client, device_record, switches};
use crate::device::DeviceId;
use crate::envelope::{AuthorizedWriter, EnvelopeRef, EpochAccess, HeadEpoch, Header, OpenContext, RecordId, Stub};
use crate::error::{Error, Result};
use crate::keys::{Bucket, CollectionKey, Epoch, EpochKeys};
use crate::primitives::sha256;
use crate::server::wire::{Item, ItemKind};

/// Per subscribed bucket: the collection's name and its key in every epoch
/// this device holds (or the error deriving them gave).
type Keyring = BTreeMap<Bucket, (String, Result<Vec<(Epoch, CollectionKey)>>)>;

/// A listed item, decoded once.
enum Decoded<'a> {
    Stub(Stub),
    Envelope(EnvelopeRef<'a>),
}

/// A verified item, before the sequence checks.
struct Verified {
    header: Header,
    /// The payload, if it was an envelope of a collection this device knows.
    payload: Option<(String, Vec<u8>)>,
    /// A stub: it counts for the sequence only if superseded.
    stub: bool,
    /// `SHA-256(header ‖ body_digest)`, the same for an envelope and its
    /// stub: two different envelopes with one `(writer, writer_seq)` differ
    /// here. [SYNC-14]
    digest: [u8; 32],
    /// The position of its chain head in the verified chain. [SYNC-17]
    head_pos: u64,
    /// The server sequence number it was listed under. [SYNC-17]
    item_seq: u64,
    /// [SRV-11] a device-metadata item under another device's record id: verified (its writer
    /// signed it), counted and ranked like any item, never applied, alerted once.
    foreign_meta: bool,
}

impl<P: Persist> Client<P> {
    /// Takes a served chain: [CHAIN-10] no rollback, no fork, every new
    /// statement verified; then opens any new epoch's UMK wrapped to this
    /// device. Returns the alerts (none: the chain was taken or is the one
    /// held). On an alert the state is unchanged, except for the splits that
    /// new revocations expose: the chain is taken and every split returned. [SYNC-11] [SYNC-14]
    pub fn apply_chain(&mut self, statements: &[Vec<u8>]) -> Vec<Alert> {
        let mut next = self.state.chain.clone();
        if let Err(e) = switches::update_chain(&mut next, statements, &self.defences) {
            // [MODEL-5] weakened: a served chain that forks or is shorter is taken if it verifies
            let weakened = (e == Error::ChainFork && !self.defences.fork)
                || (e == Error::ChainRollback && !self.defences.rollback);
            match weakened.then(|| switches::verify_chain(statements, &self.defences)) {
                Some(Ok(served)) if served.account() == self.state.chain.account() => next = served,
                _ => return vec![if e == Error::ChainFork { Alert::Fork } else { Alert::Chain(e) }],
            }
        }
        if next.head() == self.state.chain.head() {
            return Vec::new(); // the same chain: nothing new to open
        }
        // [CHAIN-16] every new epoch's UMK is checked against the chain before the chain is taken:
        // a split rotation is an alert (E_KEY_CHECK) and leaves the state unchanged.
        match switches::open_epoch_umks(&next, self.state.keys.device.hpke_key(), &self.defences) {
            Ok(umks) => {
                for (e, k) in umks {
                    self.state.keys.umks.entry(e).or_insert(k);
                }
            }
            Err(e) => return vec![Alert::Chain(e)],
        }
        let split = self.revocation_split(&next);
        self.state.chain = next;
        split
    }

    /// [SYNC-14] a revocation this device did not hold before, of a writer R that wrote
    /// (`max_seq > 0`), whose `last_envelope` is not the identity this device remembers for
    /// `(R, max_seq)`: the revoker and this device took different histories from R. The alert
    /// comes with the adopted chain, so it fires once (the next sync holds the revocation
    /// already) and holds the cursor for one sync only. Every exposed split is returned, in
    /// ascending order of the revoked device's id.
    fn revocation_split(&self, next: &crate::chain::ChainState) -> Vec<Alert> {
        if !self.defences.items.revocation_split {
            return Vec::new();
        }
        let held = self.state.chain.revoked();
        next.revoked()
            .iter()
            .filter(|(id, r)| r.max_seq > 0 && !held.contains_key(*id))
            .filter(|(id, r)| self.state.identities.get(&(**id, r.max_seq)).is_some_and(|i| *i != r.last_envelope))
            .map(|(id, r)| Alert::Equivocation { writer: *id, seq: r.max_seq })
            .collect()
    }

    /// The writers the chain authorizes, for every epoch: active devices
    /// unbounded, revoked devices up to their `max_seq`. [SYNC-8] [CHAIN-9]
    fn writers(&self) -> Vec<AuthorizedWriter> {
        let mut w: Vec<AuthorizedWriter> = self
            .state
            .chain
            .devices()
            .iter()
            .map(|(id, d)| AuthorizedWriter { device: *id, verifying_key: d.ed25519, max_seq: None })
            .collect();
        w.extend(self.state.chain.revoked().iter().map(|(id, r)| AuthorizedWriter {
            device: *id,
            verifying_key: r.public.ed25519,
            max_seq: Some(r.max_seq),
        }));
        w
    }

    /// Verifies one item: structure, then every [ENV-12] check (for an
    /// envelope of a collection this device knows) or the signature checks
    /// (for a stub, or an envelope of another collection), with the epoch in
    /// force at its chain head ([ENV-16]), then that its chain head is in the
    /// verified chain. [SYNC-8]
    fn verify(
        &self,
        item: &Item,
        writers: &[AuthorizedWriter],
        keyring: &Keyring,
        heads: &BTreeMap<[u8; 32], (u64, Epoch)>,
    ) -> Result<Verified> {
        let account = self.state.chain.account();
        // Each item is decoded once: its header routes it, the decoded form is opened.
        let decoded = match item.kind {
            ItemKind::Stub => Decoded::Stub(Stub::decode(&item.bytes)?),
            ItemKind::Envelope => Decoded::Envelope(EnvelopeRef::decode(&item.bytes)?),
        };
        let header = match &decoded {
            Decoded::Stub(s) => s.header,
            Decoded::Envelope(e) => e.header,
        };
        let at_head = heads.get(&header.chain_head).copied();
        let he: Vec<HeadEpoch> =
            at_head.iter().map(|(_, epoch)| HeadEpoch { head: header.chain_head, epoch: *epoch }).collect();
        let head_pos = at_head.map_or(0, |(p, _)| p);
        let dummy = CollectionKey::from_bytes([0; 32]);
        let sig_epochs: Vec<EpochAccess<'_>> = (0..=self.state.chain.epoch())
            .map(|epoch| EpochAccess { epoch, collection_key: &dummy, writers })
            .collect();
        let sig_ctx = OpenContext { account, epochs: &sig_epochs, bucket: None, record_id: None, heads: &he };
        // [SYNC-11] an item signed by an authorized writer at a chain head this device has not
        // verified is a fork alert before any payload check (key commitment, decryption: keys of
        // another branch's epoch) can mask it as a forgery; the other branch may have started an
        // epoch this chain does not have, so the writer's key and signature decide, whatever the
        // epoch number.
        // Only the item's own epoch is offered (the lookup matches it exactly): nothing is sized
        // by the header's epoch, which is not authenticated yet.
        if self.defences.fork && at_head.is_none() {
            let own_epoch = [EpochAccess { epoch: header.epoch, collection_key: &dummy, writers }];
            let ctx = OpenContext { epochs: &own_epoch, ..sig_ctx };
            let stub = match &decoded {
                Decoded::Stub(s) => switches::verify_stub(s, &ctx, &self.defences),
                Decoded::Envelope(e) => switches::verify_stub(&e.stub(), &ctx, &self.defences),
            };
            stub?;
            return Err(Error::ChainFork);
        }
        let v = match decoded {
            Decoded::Stub(stub) => {
                switches::verify_stub(&stub, &sig_ctx, &self.defences)?;
                let digest = identity(&stub);
                Verified {
                    header: stub.header,
                    payload: None,
                    stub: true,
                    digest,
                    head_pos,
                    item_seq: item.seq,
                    foreign_meta: false,
                }
            }
            Decoded::Envelope(env) => match keyring.get(&env.header.bucket) {
                // [SYNC-11] an envelope signed by an authorized writer at a chain head this device
                // has not verified is a fork alert before any payload check (key commitment,
                // decryption: keys of another branch's epoch) can mask it as a forgery
                Some((name, keys)) => {
                    let keys = keys.as_ref().map_err(|e| *e)?;
                    let epochs: Vec<EpochAccess<'_>> = keys
                        .iter()
                        .map(|(epoch, ck)| EpochAccess { epoch: *epoch, collection_key: ck, writers })
                        .collect();
                    let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None, heads: &he };
                    let opened = switches::open(&env, &ctx, &self.defences)?;
                    let digest = identity(&env.stub());
                    Verified {
                        header: opened.header,
                        payload: Some((name.clone(), opened.into_payload())),
                        stub: false,
                        digest,
                        head_pos,
                        item_seq: item.seq,
                        foreign_meta: false,
                    }
                }
                None => {
                    let stub = env.stub();
                    switches::verify_stub(&stub, &sig_ctx, &self.defences)?;
                    let digest = identity(&stub);
                    Verified {
                        header: env.header,
                        payload: None,
                        stub: false,
                        digest,
                        head_pos,
                        item_seq: item.seq,
                        foreign_meta: false,
                    }
                }
            },
        };
        // [SYNC-11] the writer's chain head must be one this device verified.
        if self.defences.fork && at_head.is_none() {
            return Err(Error::ChainFork);
        }
        // [SRV-11] a device's metadata is taken only from that device: an item of the reserved
        // collection whose record id is not its (authenticated) writer's device-id prefix is never
        // applied. Its writer signed it, so it is counted for its writer's sequence and ranked for
        // the stubs below it like an item of a collection this device does not read (the server
        // ranked it so, [SRV-6]); `apply_items` raises its alert once.
        let mut v = v;
        if self.defences.items.device_meta_owner
            && keyring.get(&v.header.bucket).is_some_and(|(name, _)| name == DEVICES_COLLECTION)
            && v.header.record_id != device_record(&v.header.writer)
        {
            v.payload = None;
            v.foreign_meta = true;
        }
        Ok(v)
    }

    /// [SYNC-15] a revoked writer's item refused by its bound ([ENV-10] comes before [ENV-9])
    /// is remembered as refused only if its writer signed it: the signature checks of
    /// [ENV-15] under the revoked writer's key, in the item's own epoch, the bound ignored.
    /// An item that fails them is a forgery with that check's code, never remembered.
    fn signed_above_bound(&self, item: &Item, writers: &[AuthorizedWriter]) -> Result<()> {
        if !self.defences.items.above_bound_signature {
            return Ok(());
        }
        let stub = match item.kind {
            ItemKind::Stub => Stub::decode(&item.bytes)?,
            ItemKind::Envelope => EnvelopeRef::decode(&item.bytes)?.stub(),
        };
        let unbounded: Vec<AuthorizedWriter> = writers
            .iter()
            .filter(|w| w.device == stub.header.writer)
            .map(|w| AuthorizedWriter { max_seq: None, ..*w })
            .collect();
        let dummy = CollectionKey::from_bytes([0; 32]);
        let own_epoch = [EpochAccess { epoch: stub.header.epoch, collection_key: &dummy, writers: &unbounded }];
        let account = self.state.chain.account();
        let ctx = OpenContext { account, epochs: &own_epoch, bucket: None, record_id: None, heads: &[] };
        switches::verify_stub(&stub, &ctx, &self.defences)
    }

    /// The pure verification core of [`Client::sync`]: verifies every item,
    /// checks writer sequence numbers and revisions, then merges by
    /// last-writer-wins on `(revision, writer id)`. [SYNC-8] [SYNC-9] [SYNC-10] [SYNC-13]
    ///
    /// ```text
    /// for each item, in listing order: verify (ENV-12 with ENV-16, or the stub checks) and its chain head
    ///                                                                  else Forged / Fork
    ///   revision <= greatest known revision of its record + 2^16          else Forged(E_SYNC_REVISION_STEP)
    /// per writer: identities and prev links (writer_chain_break)          else Equivocation, stop w there
    /// for each writer w, its verified items ascending by writer_seq:
    ///   seq <= last[w]:  a full envelope older than the record's accepted state  -> Rollback; else ignore
    ///   seq != last[w]+1                                                         -> Withheld(last[w]+1), stop w
    ///   a stub not superseded by a verified newer revision                       -> Withheld(seq), stop w
    ///   last[w] = seq; merge: (revision, writer) > accepted[record] -> record := payload
    ///   listed after a known revocation's boundary, head before it         -> StaleHead (still applied)
    /// ```
    pub fn apply_items(&mut self, items: &[Item]) -> SyncReport {
        let writers = self.writers();
        // The collection keys of every epoch, derived once per pass, not per item, from each
        // epoch's keys derived once, not per collection; buckets from epoch 0's routing key
        // (what `Client::bucket` and `Client::collection_key` derive).
        let account = self.state.chain.account();
        let epochs: Vec<EpochKeys> =
            self.state.keys.umks.iter().map(|(e, umk)| EpochKeys::derive(umk, &account, *e)).collect();
        let routing = epochs.first().filter(|k| k.epoch() == 0).map(EpochKeys::routing_key);
        let mut keyring = Keyring::new();
        for c in &self.state.collections {
            if let Some(Ok(b)) = routing.as_ref().map(|r| r.bucket(c)) {
                let keys = epochs.iter().map(|k| k.collection_key(c).map(|ck| (k.epoch(), ck))).collect();
                keyring.insert(b, (c.clone(), keys));
            }
        }
        let mut report = SyncReport::default();
        let mut by_writer: BTreeMap<DeviceId, BTreeMap<u64, Verified>> = BTreeMap::new();
        let mut equivocated: BTreeSet<(DeviceId, u64)> = BTreeSet::new();
        // the greatest verified (revision, writer) per record: a stub below it is superseded
        let mut newest: BTreeMap<(Bucket, RecordId), (u64, DeviceId)> = self.state.accepted.clone();
        // [ENV-16] [SYNC-17] the position and epoch in force at every verified head
        // (one pass over the chain, not one per position)
        let heads: BTreeMap<[u8; 32], (u64, Epoch)> = self.state.chain.head_epochs();
        // [SYNC-16] the greatest revision known per record, in listing order
        let mut base: BTreeMap<(Bucket, RecordId), u64> =
            self.state.accepted.iter().map(|(k, (r, _))| (*k, *r)).collect();
        for item in items {
            match self.verify(item, &writers, &keyring, &heads) {
                Ok(v) => {
                    let key = (v.header.bucket, v.header.record_id);
                    let known = base.get(&key).copied().unwrap_or(0);
                    let within = !self.defences.revision_step || revision_within_step(known, v.header.revision);
                    // [SRV-11] forged E_ENV_CONTEXT (its check comes before the revision step): once
                    // per item within the step, remembered with the refused items ([PERSIST-4]), since
                    // repeated at every listing it would hold the cursor for ever; beyond the step it
                    // is not counted either
                    if v.foreign_meta {
                        if !within {
                            report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::EnvContext });
                            continue;
                        }
                        if self.state.refused_above_bound.insert(sha256(&[&item.bytes])) {
                            report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::EnvContext });
                        }
                    }
                    if !within {
                        report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::SyncRevisionStep });
                        continue;
                    }
                    base.insert(key, known.max(v.header.revision));
                    if !v.stub {
                        let n = newest.entry((v.header.bucket, v.header.record_id)).or_insert((0, v.header.writer));
                        *n = (*n).max((v.header.revision, v.header.writer));
                    }
                    let (writer, seq) = (v.header.writer, v.header.writer_seq);
                    match by_writer.entry(writer).or_default().entry(seq) {
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(v);
                        }
                        // [SYNC-14] one sequence number, two different signed envelopes
                        std::collections::btree_map::Entry::Occupied(mut e) => {
                            if e.get().digest != v.digest {
                                equivocated.insert((writer, seq));
                            } else if e.get().stub && !v.stub {
                                // [SYNC-21] one identity counts once: an envelope and its stub
                                // (in either order), as the envelope
                                e.insert(v);
                            }
                        }
                    }
                }
                Err(Error::ChainFork) => report.alerts.push(Alert::Fork),
                // [SYNC-15] a revoked writer's write above its bound: refused and alerted once, if
                // its writer signed it; an unsigned one is a forgery at every listing
                Err(Error::EnvWriterRevoked) => match self.signed_above_bound(item, &writers) {
                    Ok(()) => {
                        if self.state.refused_above_bound.insert(sha256(&[&item.bytes])) {
                            report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::EnvWriterRevoked });
                        }
                    }
                    Err(error) => report.alerts.push(Alert::Forged { item_seq: item.seq, error }),
                },
                Err(error) => report.alerts.push(Alert::Forged { item_seq: item.seq, error }),
            }
        }
        // [SYNC-14] across syncs: a pair seen before with another identity, and a revoked writer's
        // envelope at its bound that is not the one its revoke statement pins ([CHAIN-20]);
        // [SYNC-15] every item's prev is the identity of the writer's item before it, where held.
        for (writer, seqs) in &by_writer {
            let pinned = self.state.chain.revoked().get(writer).map(|r| (r.max_seq, r.last_envelope));
            let known = |s: u64| {
                self.state
                    .identities
                    .get(&(*writer, s))
                    .copied()
                    .or_else(|| pinned.filter(|(m, _)| *m == s).map(|(_, l)| l))
            };
            let listed: BTreeMap<u64, ChainLink> =
                seqs.iter().map(|(s, v)| (*s, ChainLink { identity: v.digest, prev: v.header.prev })).collect();
            let last = self.state.writer_seq.get(writer).copied().unwrap_or(0);
            if let Some(s) = writer_chain_break(last, known, &listed, self.defences.writer_chain) {
                equivocated.insert((*writer, s));
            }
        }
        for (writer, seqs) in by_writer {
            let mut last = self.state.writer_seq.get(&writer).copied().unwrap_or(0);
            // [SYNC-15] a revoked writer's items only up to its bound, complete, or none of them
            if self.defences.writer_chain
                && let Some(r) = self.state.chain.revoked().get(&writer)
                && let Some(missing_seq) = revoked_incomplete(last, r.max_seq, |s| seqs.contains_key(&s))
                && seqs.keys().any(|s| *s > last)
            {
                // [SYNC-15] alerted once per accepted sequence number of the writer: an unreachable
                // bound (an inflated max_seq, a tail the server keeps back) alerts, then stops
                // holding the cursor; none of the writer's items is taken either way
                if self.state.bound_alerted.insert(writer, last) != Some(last) {
                    report.alerts.push(Alert::Withheld { writer, missing_seq });
                }
                // [SYNC-14] [SYNC-15] a split or broken `prev` link in the writer's signed history is
                // reported all the same: it is evidence from the writer's own signatures (and the
                // bound alert above may be silent now, so nothing else would show it)
                if let Some(&(_, seq)) = equivocated.range((writer, 0)..=(writer, u64::MAX)).next() {
                    report.alerts.push(Alert::Equivocation { writer, seq });
                }
                continue;
            }
            for (seq, v) in seqs {
                if equivocated.contains(&(writer, seq)) {
                    report.alerts.push(Alert::Equivocation { writer, seq });
                    break;
                }
                let key = (v.header.bucket, v.header.record_id);
                let acc = self.state.accepted.get(&key).copied();
                let d = self.defences;
                let older = d.rollback && !v.stub && acc.is_some_and(|a| a > (v.header.revision, writer));
                let superseded = newest.get(&key).is_some_and(|n| *n > (v.header.revision, writer));
                // [MODEL-5] weakened: without the gap check, any later item is the next one
                let expected = if d.sequence_gaps { last } else { last.max(seq.saturating_sub(1)) };
                let step = classify(expected, seq, v.stub, superseded || !d.sequence_gaps, older);
                match step {
                    // [MODEL-5] weakened: without high-water marks, a replay is applied again
                    Ok(Step::Ignore) if d.rollback => continue,
                    Ok(Step::Ignore) => {}
                    Ok(Step::Accept) => {}
                    Err(Error::SyncRollback) => {
                        report.alerts.push(Alert::Rollback { writer, seq });
                        continue;
                    }
                    Err(_) => {
                        let missing_seq = if seq == last.saturating_add(1) { seq } else { last.saturating_add(1) };
                        report.alerts.push(Alert::Withheld { writer, missing_seq });
                        break;
                    }
                }
                // [SYNC-17] a write listed after a known revocation's boundary that cites an older head
                if d.stale_head
                    && step == Ok(Step::Accept)
                    && !self.state.chain.revoked().contains_key(&writer)
                    && stale_head(&self.state.revocations, v.item_seq, v.head_pos)
                {
                    report.alerts.push(Alert::StaleHead { writer, seq });
                }
                last = last.max(seq);
                self.state.identities.entry((writer, seq)).or_insert(v.digest);
                // [SYNC-8] [SYNC-16] a record of a collection this device does not read: its greatest
                // (revision, writer) is still kept, so the revision step has a base.
                if v.payload.is_none() && !v.stub && acc.is_none_or(|a| (v.header.revision, writer) > a) {
                    self.state.accepted.insert(key, (v.header.revision, writer));
                }
                // [SYNC-13] last writer wins on (revision, writer id).
                if let Some((collection, value)) = v.payload
                    && (acc.is_none_or(|a| (v.header.revision, writer) > a) || !d.rollback)
                {
                    self.state.accepted.insert(key, (v.header.revision, writer));
                    self.state.records.insert(
                        (collection, v.header.record_id),
                        Record { revision: v.header.revision, writer, value },
                    );
                    report.applied += 1;
                }
            }
            self.state.writer_seq.insert(writer, last);
        }
        // [SYNC-6] our own outbox write, listed: it was stored (its answer was lost)
        if self
            .state
            .outbox
            .as_ref()
            .is_some_and(|o| self.state.writer_seq.get(&self.id()).is_some_and(|l| *l >= o.seq))
        {
            self.confirm();
        }
        // one alert per distinct problem, in the order first found (linear: a set of those seen)
        let mut seen = std::collections::HashSet::new();
        report.alerts.retain(|a| seen.insert(*a));
        report
    }
}
