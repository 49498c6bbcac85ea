//! Sync requests and responses and their canonical encoding (spec 11.2). [SYNC-1] [SYNC-2]
//!
//! ```text
//! request  = enc(SYNC_REQUEST,  u8 tag, fields of the tag...)
//! response = enc(SYNC_RESPONSE, u8 tag, fields of the tag...)
//! ```
//!
//! Fields follow chapter 2: integers big-endian, fixed-size fields raw,
//! variable fields `u32 length ‖ bytes` with a per-field maximum, lists
//! `u32 count ‖ items` with a maximum count. Decoding is total: any input
//! gives a value or an `E_DECODE_*` error, never a panic.

use crate::encoding::{Codec, Encoder, Reader};
use crate::envelope::MAX_ENVELOPE_LEN;
use crate::error::{Error, Result};
use crate::labels;

/// Longest email, in bytes. [SYNC-2]
pub const MAX_EMAIL: usize = 254;
/// Longest chain statement on the wire. [SYNC-2]
pub const MAX_STATEMENT: usize = 1 << 20;
/// Most statements in one append or chain response. [SYNC-2]
pub const MAX_STATEMENTS: usize = 1 << 16;
/// Longest UMK wrap, bundle wrap or opaque small blob. [SYNC-2]
pub const MAX_SMALL: usize = 1 << 16;
/// Longest batch blob ([BAT-7]). [SYNC-2]
pub const MAX_BATCH: usize = 64 << 20;
/// Most event hashes the server records for one batch. [SRV-9]
pub const MAX_EVENTS: usize = 1 << 20;
/// Most key slots per batch. [SYNC-2]
pub const MAX_SLOTS: usize = 256;
/// Most items in one list response, and the largest `limit` a client may ask. [SYNC-2]
pub const MAX_ITEMS: usize = 1024;
/// Most audit entries or pending devices in one response. [SYNC-2]
pub const MAX_LIST: usize = 1 << 16;
/// Length of a bearer token. [SYNC-4]
pub const TOKEN_LEN: usize = 32;

/// A bearer token the server issued at login. [SYNC-4]
pub type Token = [u8; TOKEN_LEN];

wire_enum! {
    /// Kind of a listed item. [SYNC-7]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ItemKind (unknown: Error::DecodeValue) {
        /// A full record envelope (chapter 7).
        Envelope = 1,
        /// A superseded envelope's stub ([ENV-15]).
        Stub = 2,
    }
}

/// One entry of a list response. [SYNC-7]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Item {
    /// The server sequence number (the cursor).
    pub seq: u64,
    /// Envelope or stub.
    pub kind: ItemKind,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Who did something, as the audit log records it. [SRV-10]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// Nobody authenticated (registration, pending devices).
    Anonymous,
    /// A device, by id.
    Device([u8; 32]),
    /// The password path (password login or its authority key).
    Password,
    /// The recovery path (its authority key).
    Recovery,
}

wire_enum! {
    /// What was done, as the audit log records it. [SRV-10]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Action (unknown: Error::DecodeValue) {
        /// Account registered.
        Register = 1,
        /// Logged in.
        Login = 2,
        /// Chain statements appended.
        AppendChain = 3,
        /// Record envelope stored.
        PutRecord = 4,
        /// Batch stored.
        PutBatch = 5,
        /// Event hash reported.
        ReportEvent = 6,
        /// Password auth value and wrap replaced.
        SetPassword = 7,
        /// Pending device posted.
        PostPending = 8,
        /// Identity bundle stored.
        PutBundle = 9,
        /// Batch deleted after retention.
        Expire = 10,
        /// Recovery-path chapter 5 wrap replaced.
        SetRecoveryWrap = 11,
    }
}

/// One audit-log entry. [SRV-10]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuditEntry {
    /// Server time, ms.
    pub at_ms: u64,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: Action,
}

/// A client-to-server request. [SYNC-3]
///
/// Its `Debug` shows the request's name and encoded length only: requests carry
/// `auth` values and bearer tokens. [PRIM-8]
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// 1: create an account.
    Register {
        /// Login email.
        email: Vec<u8>,
        /// `PasswordKdf::encode` (salt and parameters).
        kdf: Vec<u8>,
        /// The password path's `auth` value (the server stores only its hash).
        auth: [u8; 32],
        /// The genesis statement.
        genesis: Vec<u8>,
        /// UMK_0 under the recovery KEK.
        recovery_wrap: Vec<u8>,
        /// UMK_0 under the password KEK.
        password_wrap: Vec<u8>,
    },
    /// 2: salt and parameters for an email.
    GetKdf {
        /// Login email.
        email: Vec<u8>,
    },
    /// 3: password login.
    LoginPassword {
        /// Login email.
        email: Vec<u8>,
        /// The `auth` value.
        auth: [u8; 32],
    },
    /// 4: ask for a login nonce for an Ed25519 key of the account.
    Challenge {
        /// Account id.
        account: [u8; 32],
        /// Device key or unlock-path authority key.
        key: [u8; 32],
    },
    /// 5: answer the challenge.
    LoginKey {
        /// Account id.
        account: [u8; 32],
        /// The key.
        key: [u8; 32],
        /// The nonce the server sent.
        nonce: [u8; 32],
        /// Ed25519 over `enc(SYNC_LOGIN, account, key, nonce)`.
        signature: [u8; 64],
    },
    /// 6: append statements; only if they extend the head.
    AppendChain {
        /// Session token.
        token: Token,
        /// Statements, in order.
        statements: Vec<Vec<u8>>,
    },
    /// 7: the whole chain.
    GetChain {
        /// Session token.
        token: Token,
    },
    /// 8: the chapter 5 UMK_0 wraps.
    GetWraps {
        /// Session token.
        token: Token,
    },
    /// 9: store a record envelope.
    PutRecord {
        /// Session token.
        token: Token,
        /// The envelope.
        envelope: Vec<u8>,
    },
    /// 10: envelopes and stubs after a cursor.
    ListSince {
        /// Session token.
        token: Token,
        /// Last server sequence number seen.
        cursor: u64,
        /// At most this many items.
        limit: u32,
    },
    /// 11: store a batch ([BAT-7]; opaque to the server).
    PutBatch {
        /// Session token.
        token: Token,
        /// The batch reference `ref` of [HCH-3] (a digest of account and 16-byte batch id).
        batch_id: [u8; 32],
        /// `enc(BATCH_BLOB, bytes meta, bytes manifest) ‖ body`.
        blob: Vec<u8>,
        /// Key slots (HPKE wraps of the batch key), 112 bytes each.
        slots: Vec<Vec<u8>>,
    },
    /// 12: fetch a batch.
    GetBatch {
        /// Session token.
        token: Token,
        /// Batch reference.
        batch_id: [u8; 32],
    },
    /// 13: report one event hash of a batch as it happens.
    ReportEvent {
        /// Session token.
        token: Token,
        /// Batch reference.
        batch_id: [u8; 32],
        /// The event's keyed hash ([HCH-2]).
        event_hash: [u8; 32],
        /// The device's signature over the chain value after this event ([HCH-6]).
        signature: [u8; 64],
    },
    /// 14: replace the password's salt, parameters, auth value and wrap.
    SetPassword {
        /// Session token (a device or the recovery path).
        token: Token,
        /// New `PasswordKdf::encode`.
        kdf: Vec<u8>,
        /// New auth value.
        auth: [u8; 32],
        /// UMK_0 under the new password KEK.
        password_wrap: Vec<u8>,
    },
    /// 15: the account's audit log.
    GetAudit {
        /// Session token.
        token: Token,
    },
    /// 16: a new device announces its public keys (unauthenticated).
    PostPending {
        /// Account id (from the out-of-band pairing).
        account: [u8; 32],
        /// Ed25519 public key.
        ed25519: [u8; 32],
        /// X25519 public key.
        x25519: [u8; 32],
        /// The device's proof of possession for this account ([CHAIN-17]).
        pop: [u8; 64],
    },
    /// 17: pending devices.
    ListPending {
        /// Session token.
        token: Token,
    },
    /// 18: store an identity bundle for a new device.
    PutBundle {
        /// Session token.
        token: Token,
        /// The new device.
        device: [u8; 32],
        /// HPKE-wrapped bundle.
        bundle: Vec<u8>,
    },
    /// 19: a new device fetches its bundle (unauthenticated; it is wrapped to it).
    GetBundle {
        /// Account id.
        account: [u8; 32],
        /// Device id.
        device: [u8; 32],
    },
    /// 20: encrypted device metadata (name, OS) as an opaque blob.
    PutDeviceMeta {
        /// Session token (a device).
        token: Token,
        /// Opaque, encrypted by the device.
        meta: Vec<u8>,
    },
    /// 21: a partner fetches a batch by its unguessable reference (unauthenticated capability). [SRV-9]
    GetSharedBatch {
        /// Account id.
        account: [u8; 32],
        /// Batch reference.
        batch_id: [u8; 32],
    },
    /// 22: replace the recovery path's chapter 5 wrap after a new recovery code ([CHAIN-14]).
    SetRecoveryWrap {
        /// Session token (a device or the recovery path).
        token: Token,
        /// UMK_0 under the new recovery KEK.
        recovery_wrap: Vec<u8>,
    },
    /// 23: a partner fetches the account chain (unauthenticated: the chain is public). [BAT-10] [SRV-9]
    GetSharedChain {
        /// Account id.
        account: [u8; 32],
    },
}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request").field("kind", &self.name()).field("len", &self.encode().len()).finish_non_exhaustive()
    }
}

/// `auth` values and bearer tokens leave memory when a request is dropped. [PRIM-8]
impl Drop for Request {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Request::Register { auth, .. } | Request::LoginPassword { auth, .. } => auth.zeroize(),
            Request::SetPassword { token, auth, .. } => {
                token.zeroize();
                auth.zeroize();
            }
            Request::AppendChain { token, .. }
            | Request::GetChain { token }
            | Request::GetWraps { token }
            | Request::PutRecord { token, .. }
            | Request::ListSince { token, .. }
            | Request::PutBatch { token, .. }
            | Request::GetBatch { token, .. }
            | Request::ReportEvent { token, .. }
            | Request::GetAudit { token }
            | Request::ListPending { token }
            | Request::PutBundle { token, .. }
            | Request::PutDeviceMeta { token, .. }
            | Request::SetRecoveryWrap { token, .. } => token.zeroize(),
            Request::GetKdf { .. }
            | Request::Challenge { .. }
            | Request::LoginKey { .. }
            | Request::PostPending { .. }
            | Request::GetBundle { .. }
            | Request::GetSharedBatch { .. }
            | Request::GetSharedChain { .. } => {}
        }
    }
}

/// A server-to-client response. [SYNC-3]
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// 0: done.
    Ok,
    /// 1: refused, with the error code.
    Error(Error),
    /// 2: salt and parameters.
    Kdf {
        /// `PasswordKdf::encode`.
        kdf: Vec<u8>,
    },
    /// 3: a session.
    Token {
        /// Bearer token.
        token: Token,
        /// Expiry, server ms.
        expires_ms: u64,
    },
    /// 4: a login nonce.
    Nonce {
        /// Fresh random nonce.
        nonce: [u8; 32],
    },
    /// 5: the chain.
    Chain {
        /// Statements from genesis.
        statements: Vec<Vec<u8>>,
    },
    /// 6: UMK_0 wraps.
    Wraps {
        /// Under the recovery KEK.
        recovery_wrap: Vec<u8>,
        /// Under the password KEK.
        password_wrap: Vec<u8>,
    },
    /// 7: stored at this server sequence number.
    Stored {
        /// Sequence number.
        seq: u64,
    },
    /// 8: listed items.
    Items {
        /// Items, ascending by `seq`.
        items: Vec<Item>,
    },
    /// 9: a batch.
    Batch {
        /// The signed batch.
        blob: Vec<u8>,
        /// Key slots.
        slots: Vec<Vec<u8>>,
        /// The running verification hash of the reported events.
        event_hash: [u8; 32],
        /// How many events were reported.
        events: u64,
        /// The reported event hashes, in arrival order ([HCH-4]).
        reported: Vec<[u8; 32]>,
        /// The latest report's signature, all zero before the first ([HCH-6]).
        signature: [u8; 64],
    },
    /// 10: the running verification hash after a report.
    EventHash {
        /// Hash.
        hash: [u8; 32],
    },
    /// 11: the audit log.
    Audit {
        /// Entries, oldest first.
        entries: Vec<AuditEntry>,
    },
    /// 12: pending devices `(ed25519, x25519, pop)`.
    Pending {
        /// Devices with their proofs of possession ([CHAIN-17]).
        devices: Vec<([u8; 32], [u8; 32], [u8; 64])>,
    },
    /// 13: an identity bundle.
    Bundle {
        /// HPKE-wrapped bundle.
        bundle: Vec<u8>,
    },
}

fn list(mut e: Encoder, items: &[Vec<u8>]) -> Encoder {
    e = e.u32(items.len() as u32);
    for i in items {
        e = e.bytes(i);
    }
    e
}

fn read_list(r: &mut Reader<'_>, max_count: usize, max_len: usize) -> Result<Vec<Vec<u8>>> {
    let n = r.u32()? as usize;
    if n > max_count {
        return Err(Error::DecodeLength);
    }
    let mut out = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        out.push(r.bytes(max_len)?.to_vec());
    }
    Ok(out)
}

fn count(r: &mut Reader<'_>, max: usize) -> Result<usize> {
    let n = r.u32()? as usize;
    if n > max { Err(Error::DecodeLength) } else { Ok(n) }
}

wire_enum! {
    /// The tag and name of each request: the one table [`Request::encode`],
    /// [`Request::decode`] and [`Request::name`] share. [SYNC-2]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RequestKind (unknown: Error::DecodeValue) {
        /// `register`.
        Register = 1 => "register",
        /// `get_kdf`.
        GetKdf = 2 => "get_kdf",
        /// `login_password`.
        LoginPassword = 3 => "login_password",
        /// `challenge`.
        Challenge = 4 => "challenge",
        /// `login_key`.
        LoginKey = 5 => "login_key",
        /// `append_chain`.
        AppendChain = 6 => "append_chain",
        /// `get_chain`.
        GetChain = 7 => "get_chain",
        /// `get_wraps`.
        GetWraps = 8 => "get_wraps",
        /// `put_record`.
        PutRecord = 9 => "put_record",
        /// `list_since`.
        ListSince = 10 => "list_since",
        /// `put_batch`.
        PutBatch = 11 => "put_batch",
        /// `get_batch`.
        GetBatch = 12 => "get_batch",
        /// `report_event`.
        ReportEvent = 13 => "report_event",
        /// `set_password`.
        SetPassword = 14 => "set_password",
        /// `get_audit`.
        GetAudit = 15 => "get_audit",
        /// `post_pending`.
        PostPending = 16 => "post_pending",
        /// `list_pending`.
        ListPending = 17 => "list_pending",
        /// `put_bundle`.
        PutBundle = 18 => "put_bundle",
        /// `get_bundle`.
        GetBundle = 19 => "get_bundle",
        /// `put_device_meta`.
        PutDeviceMeta = 20 => "put_device_meta",
        /// `get_shared_batch`.
        GetSharedBatch = 21 => "get_shared_batch",
        /// `set_recovery_wrap`.
        SetRecoveryWrap = 22 => "set_recovery_wrap",
        /// `get_shared_chain`.
        GetSharedChain = 23 => "get_shared_chain",
    }
}

impl Codec<'_> for Request {
    fn encode(&self) -> Vec<u8> {
        Request::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.expect_label(labels::SYNC_REQUEST)?;
        let req = match RequestKind::from_u8(r.u8()?)? {
            RequestKind::Register => Request::Register {
                email: r.bytes(MAX_EMAIL)?.to_vec(),
                kdf: r.bytes(MAX_SMALL)?.to_vec(),
                auth: r.array()?,
                genesis: r.bytes(MAX_STATEMENT)?.to_vec(),
                recovery_wrap: r.bytes(MAX_SMALL)?.to_vec(),
                password_wrap: r.bytes(MAX_SMALL)?.to_vec(),
            },
            RequestKind::GetKdf => Request::GetKdf { email: r.bytes(MAX_EMAIL)?.to_vec() },
            RequestKind::LoginPassword => {
                Request::LoginPassword { email: r.bytes(MAX_EMAIL)?.to_vec(), auth: r.array()? }
            }
            RequestKind::Challenge => Request::Challenge { account: r.array()?, key: r.array()? },
            RequestKind::LoginKey => {
                Request::LoginKey { account: r.array()?, key: r.array()?, nonce: r.array()?, signature: r.array()? }
            }
            RequestKind::AppendChain => {
                Request::AppendChain { token: r.array()?, statements: read_list(r, MAX_STATEMENTS, MAX_STATEMENT)? }
            }
            RequestKind::GetChain => Request::GetChain { token: r.array()? },
            RequestKind::GetWraps => Request::GetWraps { token: r.array()? },
            RequestKind::PutRecord => {
                Request::PutRecord { token: r.array()?, envelope: r.bytes(MAX_ENVELOPE_LEN)?.to_vec() }
            }
            RequestKind::ListSince => Request::ListSince { token: r.array()?, cursor: r.u64()?, limit: r.u32()? },
            RequestKind::PutBatch => Request::PutBatch {
                token: r.array()?,
                batch_id: r.array()?,
                blob: r.bytes(MAX_BATCH)?.to_vec(),
                slots: read_list(r, MAX_SLOTS, MAX_SMALL)?,
            },
            RequestKind::GetBatch => Request::GetBatch { token: r.array()?, batch_id: r.array()? },
            RequestKind::ReportEvent => Request::ReportEvent {
                token: r.array()?,
                batch_id: r.array()?,
                event_hash: r.array()?,
                signature: r.array()?,
            },
            RequestKind::SetPassword => Request::SetPassword {
                token: r.array()?,
                kdf: r.bytes(MAX_SMALL)?.to_vec(),
                auth: r.array()?,
                password_wrap: r.bytes(MAX_SMALL)?.to_vec(),
            },
            RequestKind::GetAudit => Request::GetAudit { token: r.array()? },
            RequestKind::PostPending => {
                Request::PostPending { account: r.array()?, ed25519: r.array()?, x25519: r.array()?, pop: r.array()? }
            }
            RequestKind::ListPending => Request::ListPending { token: r.array()? },
            RequestKind::PutBundle => {
                Request::PutBundle { token: r.array()?, device: r.array()?, bundle: r.bytes(MAX_SMALL)?.to_vec() }
            }
            RequestKind::GetBundle => Request::GetBundle { account: r.array()?, device: r.array()? },
            RequestKind::PutDeviceMeta => {
                Request::PutDeviceMeta { token: r.array()?, meta: r.bytes(MAX_SMALL)?.to_vec() }
            }
            RequestKind::GetSharedBatch => Request::GetSharedBatch { account: r.array()?, batch_id: r.array()? },
            RequestKind::SetRecoveryWrap => {
                Request::SetRecoveryWrap { token: r.array()?, recovery_wrap: r.bytes(MAX_SMALL)?.to_vec() }
            }
            RequestKind::GetSharedChain => Request::GetSharedChain { account: r.array()? },
        };
        Ok(req)
    }
}

impl Request {
    /// The request's tag and name.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Register { .. } => RequestKind::Register,
            Request::GetKdf { .. } => RequestKind::GetKdf,
            Request::LoginPassword { .. } => RequestKind::LoginPassword,
            Request::Challenge { .. } => RequestKind::Challenge,
            Request::LoginKey { .. } => RequestKind::LoginKey,
            Request::AppendChain { .. } => RequestKind::AppendChain,
            Request::GetChain { .. } => RequestKind::GetChain,
            Request::GetWraps { .. } => RequestKind::GetWraps,
            Request::PutRecord { .. } => RequestKind::PutRecord,
            Request::ListSince { .. } => RequestKind::ListSince,
            Request::PutBatch { .. } => RequestKind::PutBatch,
            Request::GetBatch { .. } => RequestKind::GetBatch,
            Request::ReportEvent { .. } => RequestKind::ReportEvent,
            Request::SetPassword { .. } => RequestKind::SetPassword,
            Request::GetAudit { .. } => RequestKind::GetAudit,
            Request::PostPending { .. } => RequestKind::PostPending,
            Request::ListPending { .. } => RequestKind::ListPending,
            Request::PutBundle { .. } => RequestKind::PutBundle,
            Request::GetBundle { .. } => RequestKind::GetBundle,
            Request::PutDeviceMeta { .. } => RequestKind::PutDeviceMeta,
            Request::GetSharedBatch { .. } => RequestKind::GetSharedBatch,
            Request::SetRecoveryWrap { .. } => RequestKind::SetRecoveryWrap,
            Request::GetSharedChain { .. } => RequestKind::GetSharedChain,
        }
    }

    /// Canonical encoding. [SYNC-2]
    pub fn encode(&self) -> Vec<u8> {
        let e = Encoder::new(labels::SYNC_REQUEST).u8(self.kind().to_u8());
        match self {
            Request::Register { email, kdf, auth, genesis, recovery_wrap, password_wrap } => {
                e.bytes(email).bytes(kdf).fixed(auth).bytes(genesis).bytes(recovery_wrap).bytes(password_wrap)
            }
            Request::GetKdf { email } => e.bytes(email),
            Request::LoginPassword { email, auth } => e.bytes(email).fixed(auth),
            Request::Challenge { account, key } => e.fixed(account).fixed(key),
            Request::LoginKey { account, key, nonce, signature } => {
                e.fixed(account).fixed(key).fixed(nonce).fixed(signature)
            }
            Request::AppendChain { token, statements } => list(e.fixed(token), statements),
            Request::GetChain { token } => e.fixed(token),
            Request::GetWraps { token } => e.fixed(token),
            Request::PutRecord { token, envelope } => e.fixed(token).bytes(envelope),
            Request::ListSince { token, cursor, limit } => e.fixed(token).u64(*cursor).u32(*limit),
            Request::PutBatch { token, batch_id, blob, slots } => {
                list(e.fixed(token).fixed(batch_id).bytes(blob), slots)
            }
            Request::GetBatch { token, batch_id } => e.fixed(token).fixed(batch_id),
            Request::ReportEvent { token, batch_id, event_hash, signature } => {
                e.fixed(token).fixed(batch_id).fixed(event_hash).fixed(signature)
            }
            Request::SetPassword { token, kdf, auth, password_wrap } => {
                e.fixed(token).bytes(kdf).fixed(auth).bytes(password_wrap)
            }
            Request::GetAudit { token } => e.fixed(token),
            Request::PostPending { account, ed25519, x25519, pop } => {
                e.fixed(account).fixed(ed25519).fixed(x25519).fixed(pop)
            }
            Request::ListPending { token } => e.fixed(token),
            Request::PutBundle { token, device, bundle } => e.fixed(token).fixed(device).bytes(bundle),
            Request::GetBundle { account, device } => e.fixed(account).fixed(device),
            Request::PutDeviceMeta { token, meta } => e.fixed(token).bytes(meta),
            Request::GetSharedBatch { account, batch_id } => e.fixed(account).fixed(batch_id),
            Request::SetRecoveryWrap { token, recovery_wrap } => e.fixed(token).bytes(recovery_wrap),
            Request::GetSharedChain { account } => e.fixed(account),
        }
        .finish()
    }

    /// Total decoder. [SYNC-2]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// The request's name (vectors, narration).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

fn actor_encode(e: Encoder, a: &Actor) -> Encoder {
    match a {
        Actor::Anonymous => e.u8(0).fixed(&[0; 32]),
        Actor::Device(d) => e.u8(1).fixed(d),
        Actor::Password => e.u8(2).fixed(&[0; 32]),
        Actor::Recovery => e.u8(3).fixed(&[0; 32]),
    }
}

fn actor_decode(r: &mut Reader<'_>) -> Result<Actor> {
    let tag = r.u8()?;
    let id: [u8; 32] = r.array()?;
    let zero = id == [0; 32];
    Ok(match tag {
        0 if zero => Actor::Anonymous,
        1 => Actor::Device(id),
        2 if zero => Actor::Password,
        3 if zero => Actor::Recovery,
        _ => return Err(Error::DecodeValue),
    })
}

/// Shows the response's kind and encoded length, the error code of an error, and never a
/// session's bearer token. [PRIM-8]
impl core::fmt::Debug for Response {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self {
            Response::Ok => "Ok",
            Response::Error(e) => return f.debug_tuple("Error").field(e).finish(),
            Response::Kdf { .. } => "Kdf",
            Response::Token { expires_ms, .. } => {
                return f.debug_struct("Token").field("expires_ms", expires_ms).finish_non_exhaustive();
            }
            Response::Nonce { .. } => "Nonce",
            Response::Chain { .. } => "Chain",
            Response::Wraps { .. } => "Wraps",
            Response::Stored { seq } => return f.debug_struct("Stored").field("seq", seq).finish(),
            Response::Items { .. } => "Items",
            Response::Batch { .. } => "Batch",
            Response::EventHash { .. } => "EventHash",
            Response::Audit { .. } => "Audit",
            Response::Pending { .. } => "Pending",
            Response::Bundle { .. } => "Bundle",
        };
        f.debug_struct(kind).field("len", &self.encode().len()).finish_non_exhaustive()
    }
}

wire_enum! {
    /// The tag and name of each response: the one table [`Response::encode`]
    /// and [`Response::decode`] share. [SYNC-2]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ResponseKind (unknown: Error::DecodeValue) {
        /// `ok`.
        Ok = 0 => "ok",
        /// `error`.
        Error = 1 => "error",
        /// `kdf`.
        Kdf = 2 => "kdf",
        /// `token`.
        Token = 3 => "token",
        /// `nonce`.
        Nonce = 4 => "nonce",
        /// `chain`.
        Chain = 5 => "chain",
        /// `wraps`.
        Wraps = 6 => "wraps",
        /// `stored`.
        Stored = 7 => "stored",
        /// `items`.
        Items = 8 => "items",
        /// `batch`.
        Batch = 9 => "batch",
        /// `event_hash`.
        EventHash = 10 => "event_hash",
        /// `audit`.
        Audit = 11 => "audit",
        /// `pending`.
        Pending = 12 => "pending",
        /// `bundle`.
        Bundle = 13 => "bundle",
    }
}

impl Codec<'_> for Response {
    fn encode(&self) -> Vec<u8> {
        Response::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.expect_label(labels::SYNC_RESPONSE)?;
        let resp = match ResponseKind::from_u8(r.u8()?)? {
            ResponseKind::Ok => Response::Ok,
            ResponseKind::Error => {
                // [SYNC-18] at most 64 bytes, UTF-8, a code of chapter 6.
                let code = core::str::from_utf8(r.bytes(64)?).map_err(|_| Error::DecodeValue)?;
                Response::Error(Error::from_code(code).ok_or(Error::DecodeValue)?)
            }
            ResponseKind::Kdf => Response::Kdf { kdf: r.bytes(MAX_SMALL)?.to_vec() },
            ResponseKind::Token => Response::Token { token: r.array()?, expires_ms: r.u64()? },
            ResponseKind::Nonce => Response::Nonce { nonce: r.array()? },
            ResponseKind::Chain => Response::Chain { statements: read_list(r, MAX_STATEMENTS, MAX_STATEMENT)? },
            ResponseKind::Wraps => Response::Wraps {
                recovery_wrap: r.bytes(MAX_SMALL)?.to_vec(),
                password_wrap: r.bytes(MAX_SMALL)?.to_vec(),
            },
            ResponseKind::Stored => Response::Stored { seq: r.u64()? },
            ResponseKind::Items => {
                let n = count(r, MAX_ITEMS)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let seq = r.u64()?;
                    let kind = ItemKind::from_u8(r.u8()?)?;
                    items.push(Item { seq, kind, bytes: r.bytes(MAX_ENVELOPE_LEN)?.to_vec() });
                }
                Response::Items { items }
            }
            ResponseKind::Batch => Response::Batch {
                blob: r.bytes(MAX_BATCH)?.to_vec(),
                slots: read_list(r, MAX_SLOTS, MAX_SMALL)?,
                event_hash: r.array()?,
                // [SYNC-20] the server's count of reports: not checked against `n`.
                events: r.u64()?,
                reported: {
                    // [SYNC-19] n <= 2^20, checked on the count before any hash is read.
                    let n = count(r, MAX_EVENTS)?;
                    let mut v = Vec::with_capacity(n.min(r.remaining() / 32));
                    for _ in 0..n {
                        v.push(r.array()?);
                    }
                    v
                },
                signature: r.array()?,
            },
            ResponseKind::EventHash => Response::EventHash { hash: r.array()? },
            ResponseKind::Audit => {
                let n = count(r, MAX_LIST)?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let at_ms = r.u64()?;
                    let actor = actor_decode(r)?;
                    entries.push(AuditEntry { at_ms, actor, action: Action::from_u8(r.u8()?)? });
                }
                Response::Audit { entries }
            }
            ResponseKind::Pending => {
                let n = count(r, MAX_LIST)?;
                let mut devices = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    devices.push((r.array()?, r.array()?, r.array()?));
                }
                Response::Pending { devices }
            }
            ResponseKind::Bundle => Response::Bundle { bundle: r.bytes(MAX_SMALL)?.to_vec() },
        };
        Ok(resp)
    }
}

impl Response {
    /// The response's tag and name.
    pub fn kind(&self) -> ResponseKind {
        match self {
            Response::Ok => ResponseKind::Ok,
            Response::Error(..) => ResponseKind::Error,
            Response::Kdf { .. } => ResponseKind::Kdf,
            Response::Token { .. } => ResponseKind::Token,
            Response::Nonce { .. } => ResponseKind::Nonce,
            Response::Chain { .. } => ResponseKind::Chain,
            Response::Wraps { .. } => ResponseKind::Wraps,
            Response::Stored { .. } => ResponseKind::Stored,
            Response::Items { .. } => ResponseKind::Items,
            Response::Batch { .. } => ResponseKind::Batch,
            Response::EventHash { .. } => ResponseKind::EventHash,
            Response::Audit { .. } => ResponseKind::Audit,
            Response::Pending { .. } => ResponseKind::Pending,
            Response::Bundle { .. } => ResponseKind::Bundle,
        }
    }

    /// Canonical encoding. [SYNC-2]
    pub fn encode(&self) -> Vec<u8> {
        let e = Encoder::new(labels::SYNC_RESPONSE).u8(self.kind().to_u8());
        match self {
            Response::Ok => e,
            Response::Error(err) => e.bytes(err.code().as_bytes()),
            Response::Kdf { kdf } => e.bytes(kdf),
            Response::Token { token, expires_ms } => e.fixed(token).u64(*expires_ms),
            Response::Nonce { nonce } => e.fixed(nonce),
            Response::Chain { statements } => list(e, statements),
            Response::Wraps { recovery_wrap, password_wrap } => e.bytes(recovery_wrap).bytes(password_wrap),
            Response::Stored { seq } => e.u64(*seq),
            Response::Items { items } => {
                let mut e = e.u32(items.len() as u32);
                for i in items {
                    e = e.u64(i.seq).u8(i.kind.to_u8()).bytes(&i.bytes);
                }
                e
            }
            Response::Batch { blob, slots, event_hash, events, reported, signature } => {
                let mut e = list(e.bytes(blob), slots).fixed(event_hash).u64(*events).u32(reported.len() as u32);
                for h in reported {
                    e = e.fixed(h);
                }
                e.fixed(signature)
            }
            Response::EventHash { hash } => e.fixed(hash),
            Response::Audit { entries } => {
                let mut e = e.u32(entries.len() as u32);
                for a in entries {
                    e = actor_encode(e.u64(a.at_ms), &a.actor).u8(a.action.to_u8());
                }
                e
            }
            Response::Pending { devices } => {
                let mut e = e.u32(devices.len() as u32);
                for (ed, x, pop) in devices {
                    e = e.fixed(ed).fixed(x).fixed(pop);
                }
                e
            }
            Response::Bundle { bundle } => e.bytes(bundle),
        }
        .finish()
    }

    /// Total decoder. [SYNC-2]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }
}
