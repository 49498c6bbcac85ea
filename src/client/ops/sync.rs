//! Sync as a state machine: the chain, then every listing page after the
//! cursor, then verification of everything listed. [SYNC-7] [SYNC-8] [CLIENT-3]
//!
//! ```text
//! GetChain          -> Chain:  apply_chain (an alert ends the sync, nothing changed)
//! ListSince(cursor) -> Items:  a page out of order ends the sync with an alert (SYNC-7);
//!                              an empty or non-advancing page ends the listing, else next page
//! a chunk of MAX_SYNC_ITEMS items or MAX_SYNC_BYTES bytes gathered (CLIENT-4):
//!                              apply_items on it; an alert ends the sync; else the cursor
//!                              moves to its last item, one commit, and the listing goes on
//! end of listing:              apply_items; missing revoked-writer items (SYNC-15);
//!                              no alert -> cursor and revocation boundaries move
//! whatever ends the sync:      one commit of everything it changed ([PERSIST-5])
//! ```

use super::{Next, Op, Outcome, unexpected};
use crate::client::alerts::{Alert, SyncReport, listing_in_order};
use crate::client::persist::Persist;
use crate::client::state::State;
use crate::client::{Client, Result};
use crate::server::wire::{Item, MAX_ITEMS, Request, Response, Token};

/// Most items one sync holds before it verifies and commits what it has and lists on. [CLIENT-4]
pub const MAX_SYNC_ITEMS: usize = 1 << 16;
/// Most listed bytes one sync holds before it verifies and commits what it has. [CLIENT-4]
pub const MAX_SYNC_BYTES: usize = 64 << 20;

/// Where a sync stands: listing from `cursor`, with the items gathered so far.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SyncOp {
    token: Token,
    /// `None`: waiting for the chain.
    cursor: Option<u64>,
    items: Vec<Item>,
    /// Bytes of `items`.
    bytes: usize,
    /// What the chunks already applied and committed did. [CLIENT-4]
    report: SyncReport,
    /// The state when the sync (or its current chunk) started: the commit at its end holds
    /// every change since. [PERSIST-5]
    before: Option<Box<State>>,
}

impl<P: Persist> Client<P> {
    /// Starts a sync: the chain, then every item after the cursor. [SYNC-7] [SYNC-8]
    pub fn start_sync(&mut self) -> Result<()> {
        let token = self.session()?;
        let op =
            SyncOp { token, cursor: None, items: Vec::new(), bytes: 0, report: SyncReport::default(), before: None };
        self.begin(Op::Sync(op), Request::GetChain { token })
    }

    fn list(&self, mut s: SyncOp, cursor: u64) -> Next {
        s.cursor = Some(cursor);
        let token = s.token;
        Next::Send(Op::Sync(s), Request::ListSince { token, cursor, limit: MAX_ITEMS as u32 })
    }

    pub(super) fn step_sync(&mut self, mut s: SyncOp, response: Response) -> Next {
        let mut before = s.before.take().or_else(|| self.snapshot().map(Box::new));
        match self.sync_step(s, response) {
            // [CLIENT-4] a full chunk: verify and apply it, commit, list on from its last item
            Next::Send(Op::Sync(mut s), Request::ListSince { token, cursor, limit })
                if s.items.len() >= MAX_SYNC_ITEMS || s.bytes >= MAX_SYNC_BYTES =>
            {
                let chunk = self.apply_items(&s.items);
                s.items.clear();
                s.bytes = 0;
                s.report.applied += chunk.applied;
                s.report.alerts.extend(chunk.alerts);
                if !s.report.alerts.is_empty() {
                    let report = core::mem::take(&mut s.report);
                    return self.end_sync(Ok(Outcome::Synced(report)), before);
                }
                self.state.cursor = cursor;
                if let Err(e) = self.commit_since(before.map(|b| *b)) {
                    return Next::Done(Err(e));
                }
                before = self.snapshot().map(Box::new);
                s.before = before;
                Next::Send(Op::Sync(s), Request::ListSince { token, cursor, limit })
            }
            Next::Send(Op::Sync(mut s), r) => {
                s.before = before;
                Next::Send(Op::Sync(s), r)
            }
            // [PERSIST-5] a sync commits once, when it ends (even when it ends with an error or
            // an alert: the chain it adopted stays adopted, as in memory)
            Next::Done(result) => self.end_sync(result, before),
            other => other,
        }
    }

    /// The end of a sync: its alerts kept as unread, one commit. [PERSIST-5] [PERSIST-6]
    fn end_sync(&mut self, result: Result<Outcome>, before: Option<Box<State>>) -> Next {
        // [PERSIST-6] a durable device keeps the alerts with the commit that made them
        // fire, until the application acknowledges them
        if P::DURABLE
            && let Ok(Outcome::Synced(report)) = &result
        {
            self.remember_alerts(&report.alerts);
        }
        match self.commit_since(before.map(|b| *b)) {
            Ok(()) => Next::Done(result),
            Err(e) => Next::Done(Err(e)),
        }
    }

    fn sync_step(&mut self, mut s: SyncOp, response: Response) -> Next {
        match (s.cursor, response) {
            (None, Response::Chain { statements }) => {
                if let Some(a) = self.apply_chain(&statements) {
                    return Next::Done(Ok(Outcome::Synced(SyncReport { applied: 0, alerts: vec![a] })));
                }
                let cursor = self.state.cursor;
                self.list(s, cursor)
            }
            (Some(cursor), Response::Items { items: page }) => {
                match page.last().map(|i| i.seq) {
                    // an empty page, or a server that does not advance, ends the listing
                    Some(last) if last > cursor => {
                        // [SYNC-7] a page out of order (relabelled or replayed numbers) is refused whole
                        let seqs: Vec<u64> = page.iter().map(|i| i.seq).collect();
                        if self.defences.listing_order
                            && let Err(e) = listing_in_order(cursor, &seqs)
                        {
                            let mut report = core::mem::take(&mut s.report);
                            report.alerts.push(Alert::Chain(e));
                            return Next::Done(Ok(Outcome::Synced(report)));
                        }
                        s.bytes = page.iter().fold(s.bytes, |n, i| n.saturating_add(i.bytes.len()));
                        s.items.extend(page);
                        self.list(s, last)
                    }
                    _ => {
                        let mut report = core::mem::take(&mut s.report);
                        let last = self.finish_sync(&s.items, cursor);
                        report.applied += last.applied;
                        report.alerts.extend(last.alerts);
                        Next::Done(Ok(Outcome::Synced(report)))
                    }
                }
            }
            (_, r) => Next::Done(unexpected(r)),
        }
    }

    /// Verifies and applies the whole listing. [SYNC-8]
    fn finish_sync(&mut self, items: &[Item], cursor: u64) -> SyncReport {
        let mut report = self.apply_items(items);
        // [SYNC-15] a listing to the end that leaves a revoked writer short of its bound is
        // withheld data: the chain says it wrote up to max_seq.
        if self.defences.writer_chain {
            for (id, r) in self.state.chain.revoked() {
                let last = self.state.writer_seq.get(id).copied().unwrap_or(0);
                let alerted = report.alerts.iter().any(|a| matches!(a, Alert::Withheld { writer, .. } if writer == id));
                if last < r.max_seq && !alerted {
                    report.alerts.push(Alert::Withheld { writer: *id, missing_seq: last.saturating_add(1) });
                }
            }
        }
        if report.alerts.is_empty() {
            // [CLIENT-5] listed to the end without an alert: this device's own writes are known
            self.reopened = false;
            self.state.cursor = cursor;
            // [SYNC-17] a revocation held for the first time, in a sync that commits: what this
            // listing showed may predate it; whatever is listed after it was stored after this
            // device held the revocation. (A sync with an alert commits nothing, not even this:
            // a server cannot raise the boundary by listing one bad item under a huge number.)
            let revoked: Vec<u64> = self.state.chain.revoked().values().map(|r| r.at).collect();
            for at in revoked {
                self.state.revocations.entry(at).or_insert(cursor);
            }
        }
        report
    }
}
