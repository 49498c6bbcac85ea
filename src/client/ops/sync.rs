//! Sync as a state machine: the chain, then every listing page after the
//! cursor, then (if a listed item cites a head the chain lacks) the chain once
//! more, then verification of everything listed. [SYNC-7] [SYNC-8] [SYNC-11] [CLIENT-3]
//!
//! ```text
//! GetChain          -> Chain:  apply_chain (an alert ends the sync, nothing listed)
//! ListSince(cursor) -> Items:  a non-empty page out of order (or not above the cursor) ends
//!                              the sync with an alert (SYNC-7); an empty page ends the listing,
//!                              else the next page from its last item
//! end of listing:              an item citing a head not in the verified chain -> GetChain, once
//! GetChain          -> Chain:  apply_chain (an alert ends the sync, nothing applied); a new
//!                              revocation -> the listing is not judged (SYNC-11)
//! then:                        apply_items; missing revoked-writer items (SYNC-15);
//!                              no alert -> cursor and revocation boundaries move
//! whatever ends the sync:      one commit of everything it changed ([PERSIST-5])
//! ```

use super::{Next, Op, Outcome, unexpected};
use crate::client::alerts::{Alert, SyncReport, listing_in_order};
use crate::client::persist::Persist;
use crate::client::state::State;
use crate::client::{Client, Result};
use crate::device::DeviceId;
use crate::envelope::{HEADER_LEN, Header};
use crate::server::wire::{Item, MAX_ITEMS, Request, Response, Token};

/// Where a sync waits. [SYNC-7] [SYNC-11]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    /// For the chain.
    Chain,
    /// For a listing page asked from this cursor.
    Listing(u64),
    /// For the chain once more: the listing ended at this cursor and an item
    /// cites a head the verified chain lacks. [SYNC-11]
    Refetch(u64),
}

/// Where a sync stands, with the items gathered so far.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SyncOp {
    token: Token,
    phase: Phase,
    items: Vec<Item>,
    /// The state when the sync started: the one commit at its end holds every change since. [PERSIST-5]
    before: Option<Box<State>>,
}

impl<P: Persist> Client<P> {
    /// Starts a sync: the chain, then every item after the cursor. [SYNC-7] [SYNC-8]
    pub fn start_sync(&mut self) -> Result<()> {
        let token = self.session()?;
        let op = SyncOp { token, phase: Phase::Chain, items: Vec::new(), before: None };
        self.begin(Op::Sync(op), Request::GetChain { token })
    }

    fn list(&self, mut s: SyncOp, cursor: u64) -> Next {
        s.phase = Phase::Listing(cursor);
        let token = s.token;
        Next::Send(Op::Sync(s), Request::ListSince { token, cursor, limit: MAX_ITEMS as u32 })
    }

    pub(super) fn step_sync(&mut self, mut s: SyncOp, response: Response) -> Next {
        let before = s.before.take().or_else(|| self.snapshot().map(Box::new));
        let (next, own_writes_known) = self.sync_step(s, response);
        match next {
            Next::Send(Op::Sync(mut s), r) => {
                s.before = before;
                Next::Send(Op::Sync(s), r)
            }
            // [PERSIST-5] a sync commits once, when it ends (even when it ends with an error or
            // an alert: the chain it adopted stays adopted, as in memory)
            Next::Done(result) => {
                // [PERSIST-6] a durable device keeps the alerts with the commit that made them
                // fire, until the application acknowledges them
                if P::DURABLE
                    && let Ok(Outcome::Synced(report)) = &result
                {
                    self.remember_alerts(&report.alerts);
                }
                match self.commit_since(before.map(|b| *b)) {
                    Ok(()) => {
                        // [CLIENT-5] the listing was judged to the end, and committed: this
                        // device's own writes are known (a failed commit restored the state
                        // before the sync, so the gate stays)
                        if own_writes_known {
                            self.reopened = false;
                        }
                        Next::Done(result)
                    }
                    Err(e) => Next::Done(Err(e)),
                }
            }
            other => other,
        }
    }

    /// One step; with it, whether the sync ended having judged the whole
    /// listing with no alert that could concern this device's own writes. [CLIENT-5]
    fn sync_step(&mut self, mut s: SyncOp, response: Response) -> (Next, bool) {
        let synced = |alerts: Vec<Alert>| Next::Done(Ok(Outcome::Synced(SyncReport { applied: 0, alerts })));
        match (s.phase, response) {
            (Phase::Chain, Response::Chain { statements }) => {
                let alerts = self.apply_chain(&statements);
                if !alerts.is_empty() {
                    return (synced(alerts), false);
                }
                let cursor = self.state.cursor;
                (self.list(s, cursor), false)
            }
            (Phase::Listing(cursor), Response::Items { items: page }) => {
                // [SYNC-7] only an empty page ends the listing
                let Some(last) = page.last().map(|i| i.seq) else {
                    // [SYNC-11] an item citing a head the verified chain lacks: the chain once more
                    if self.cites_unknown_head(&s.items) {
                        s.phase = Phase::Refetch(cursor);
                        let token = s.token;
                        return (Next::Send(Op::Sync(s), Request::GetChain { token }), false);
                    }
                    return self.finish_sync(&s.items, cursor);
                };
                // [SYNC-7] every non-empty page: strictly ascending, all above the cursor it was
                // asked from (relabelled, replayed or non-advancing numbers), else refused whole
                let seqs: Vec<u64> = page.iter().map(|i| i.seq).collect();
                if self.defences.listing_order
                    && let Err(e) = listing_in_order(cursor, &seqs)
                {
                    return (synced(vec![Alert::Chain(e)]), false);
                }
                if last <= cursor {
                    // [MODEL-5] weakened (no order check): a page that does not advance ends the
                    // listing, unused, so that a replaying server cannot loop the device
                    return self.finish_sync(&s.items, cursor);
                }
                // [CLIENT-4] the whole listing is held until it ends (1.6 item 19)
                s.items.extend(page);
                (self.list(s, last), false)
            }
            (Phase::Refetch(cursor), Response::Chain { statements }) => {
                // [SYNC-11] [CHAIN-10] the second chain is checked as the first: an alert ends the
                // sync and nothing listed is applied
                let held = self.state.chain.head().len;
                let alerts = self.apply_chain(&statements);
                if !alerts.is_empty() {
                    return (synced(alerts), false);
                }
                // [SYNC-11] [SYNC-15] [SYNC-17] a revocation first held now came after the listing
                // ended: the revoked writer's writes up to its bound may lie after it, and no
                // boundary can be taken from it. The listing is not judged; the next sync lists it
                // again with the revocation held from its start.
                if self.state.chain.revoked().values().any(|r| r.at >= held) {
                    return (synced(Vec::new()), false);
                }
                self.finish_sync(&s.items, cursor)
            }
            (_, r) => (Next::Done(unexpected(r)), false),
        }
    }

    /// Whether a held item's header cites a chain head the verified chain does
    /// not contain (an item whose header does not decode is left to
    /// [`Client::apply_items`]). [SYNC-11]
    fn cites_unknown_head(&self, items: &[Item]) -> bool {
        let heads = self.state.chain.head_epochs();
        items.iter().any(|i| {
            i.bytes
                .get(..HEADER_LEN)
                .and_then(|h| Header::decode(h).ok())
                .is_some_and(|h| !heads.contains_key(&h.chain_head))
        })
    }

    /// Verifies and applies the whole listing, and ends the sync. [SYNC-8]
    fn finish_sync(&mut self, items: &[Item], cursor: u64) -> (Next, bool) {
        let mut report = self.apply_items(items);
        // [SYNC-15] a listing to the end that leaves a revoked writer short of its bound is
        // withheld data: the chain says it wrote up to max_seq. Alerted once per accepted
        // sequence number of the writer (remembered with the sync's commit): an inflated max_seq
        // cannot hold every device's cursor and boundaries for ever.
        if self.defences.writer_chain {
            let revoked: Vec<(DeviceId, u64)> =
                self.state.chain.revoked().iter().map(|(id, r)| (*id, r.max_seq)).collect();
            for (id, max_seq) in revoked {
                let last = self.state.writer_seq.get(&id).copied().unwrap_or(0);
                if last >= max_seq {
                    self.state.bound_alerted.remove(&id);
                    continue;
                }
                let alerted =
                    report.alerts.iter().any(|a| matches!(a, Alert::Withheld { writer, .. } if *writer == id));
                if !alerted && self.state.bound_alerted.get(&id) != Some(&last) {
                    self.state.bound_alerted.insert(id, last);
                    report.alerts.push(Alert::Withheld { writer: id, missing_seq: last.saturating_add(1) });
                }
            }
        }
        if report.alerts.is_empty() {
            self.state.cursor = cursor;
            // [SYNC-17] a revocation held since the chain step before this listing, in a sync
            // that raised no alert: what this listing showed may predate it; whatever is listed
            // after it was stored after this device held the revocation. (A sync with an alert
            // sets no boundary: a server cannot raise the boundary by listing one bad item under
            // a huge number. A revocation first held by the refetch of [SYNC-11] ends the sync
            // before this.)
            let revoked: Vec<u64> = self.state.chain.revoked().values().map(|r| r.at).collect();
            for at in revoked {
                self.state.revocations.entry(at).or_insert(cursor);
            }
        }
        // [CLIENT-5] the chain was adopted and the listing judged to the end: this device's own
        // writes are known unless an alert could concern them (one naming this device, or a
        // refused or forked item, whose writer is not authenticated)
        let me = self.id();
        let own_writes_known = report.alerts.iter().all(|a| match a {
            Alert::Withheld { writer, .. }
            | Alert::Rollback { writer, .. }
            | Alert::Equivocation { writer, .. }
            | Alert::StaleHead { writer, .. } => *writer != me,
            Alert::Fork | Alert::Chain(_) | Alert::Forged { .. } => false,
        });
        (Next::Done(Ok(Outcome::Synced(report))), own_writes_known)
    }
}
