//! Typed errors with stable codes (spec chapter 6, `spec/06-errors.md`).
//!
//! Every failure the spec names is exactly one variant of [`Error`], and every
//! variant has exactly one stable code string ([`Error::code`]) that the spec's
//! error registry and the negative test vectors share. A port matches its own
//! errors to ours by that string.
//!
//! Following rustls, errors are also classified by who is at fault
//! ([`Fault`]): malformed input, a misbehaving server or peer, or misuse of the
//! API by the caller. Errors never carry secret material.

use core::fmt;

/// Who caused an error. [ERR-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Bytes or text that do not follow the spec's formats (a typo in a
    /// recovery code, a truncated wrap, trailing bytes).
    Input,
    /// Well-formed data that fails an authenticity, freshness or policy check:
    /// what a malicious server or peer produces (a tampered wrap, weak KDF
    /// parameters offered by the server).
    Peer,
    /// The caller used the API in a way the spec forbids (an empty AAD, an
    /// operation started while another one runs, a sync before login).
    Misuse,
    /// An honest server refused for now (too many failed logins, pending-device
    /// slots full): nothing is wrong with the data; the same request may
    /// succeed later, so a client retries with back-off instead of alerting.
    Refused,
    /// The local environment failed: the device's own store could not be
    /// read or written, or holds bytes this code did not write. Not caused by
    /// the server or the input; retrying may help once the medium is fixed.
    Internal,
}

macro_rules! errors {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, $fault:ident, $msg:literal; )*) => {
        /// Every failure BlindSync names, one variant each. [ERR-1]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$doc])* $variant, )*
        }

        impl Error {
            /// Every variant, in registry order.
            pub const ALL: &'static [Error] = &[ $( Error::$variant, )* ];

            /// The stable code shared with the spec and the vectors. [ERR-1]
            pub const fn code(self) -> &'static str {
                match self { $( Error::$variant => $code, )* }
            }

            /// Who is at fault. [ERR-2]
            pub const fn fault(self) -> Fault {
                match self { $( Error::$variant => Fault::$fault, )* }
            }

            /// A short human description (no secret material, ever).
            pub const fn message(self) -> &'static str {
                match self { $( Error::$variant => $msg, )* }
            }

            /// Looks a variant up by its stable code.
            pub fn from_code(code: &str) -> Option<Error> {
                match code { $( $code => Some(Error::$variant), )* _ => None }
            }
        }
    };
}

errors! {
    // --- encoding (spec 2) ---
    /// The input ended before the structure was complete.
    DecodeTruncated => "E_DECODE_TRUNCATED", Input, "input ended before the structure was complete";
    /// Bytes remain after a complete structure.
    DecodeTrailing => "E_DECODE_TRAILING", Input, "bytes remain after a complete structure";
    /// A length prefix exceeds the limit of its field.
    DecodeLength => "E_DECODE_LENGTH", Input, "length prefix exceeds the field's limit";
    /// The structure does not start with the label its position requires.
    DecodeLabel => "E_DECODE_LABEL", Input, "structure does not start with the expected label";
    /// A field holds a value the spec does not define (an unknown kind or flag).
    DecodeValue => "E_DECODE_VALUE", Input, "field holds a value the spec does not define";

    // --- primitives (spec 4) ---
    /// An AEAD was asked to seal or open with an empty associated data.
    EmptyAad => "E_EMPTY_AAD", Misuse, "AEAD used with an empty associated data";
    /// A derivation was asked for an output length the primitive cannot give.
    KdfOutputLength => "E_KDF_OUTPUT_LENGTH", Misuse, "derivation output length out of range";

    // --- key schedule (spec 5.2) ---
    /// A collection name that is empty or longer than 255 bytes.
    CollectionName => "E_COLLECTION_NAME", Misuse, "collection name must be 1 to 255 bytes";

    // --- recovery code (spec 5.3) ---
    /// The recovery code has the wrong length or a character outside the alphabet.
    RecoveryFormat => "E_RECOVERY_FORMAT", Input, "recovery code is malformed";
    /// The recovery code's check symbols do not match: a typo.
    RecoveryChecksum => "E_RECOVERY_CHECKSUM", Input, "recovery code checksum mismatch (typo?)";

    // --- password (spec 5.4) ---
    /// Argon2id parameters below the client-side floor, whatever the server offers.
    KdfParamsTooWeak => "E_KDF_PARAMS_TOO_WEAK", Peer, "password KDF parameters are below the client floor";
    /// Argon2id parameters above the client-side ceiling (a resource-exhaustion attempt).
    KdfParamsTooLarge => "E_KDF_PARAMS_TOO_LARGE", Peer, "password KDF parameters are above the client ceiling";
    /// An Argon2 version other than 0x13.
    KdfVersion => "E_KDF_VERSION", Peer, "unsupported Argon2 version";
    /// A password salt that is not exactly 16 bytes.
    KdfSaltLength => "E_KDF_SALT_LENGTH", Input, "password salt is not 16 bytes";

    // --- key wraps (spec 5.5) ---
    /// A key wrap whose length is not the fixed wrap length.
    WrapLength => "E_WRAP_LENGTH", Input, "key wrap has the wrong length";
    /// A key wrap that does not authenticate under the key and AAD given:
    /// wrong key (e.g. wrong password), tampered nonce, ciphertext, tag or
    /// context (account, epoch, kind, KDF parameters). Deliberately uniform.
    WrapOpen => "E_WRAP_OPEN", Peer, "key wrap does not authenticate";

    // --- record envelopes (spec 7) ---
    /// An envelope or stub whose version byte is not 1.
    EnvVersion => "E_ENV_VERSION", Input, "unknown envelope version";
    /// An envelope or stub whose suite byte names no known AEAD suite.
    EnvSuite => "E_ENV_SUITE", Input, "unknown envelope suite";
    /// The header's padded length is not a padding bucket, or the body length does not match it.
    EnvLength => "E_ENV_LENGTH", Input, "padded length is not a bucket or does not match the ciphertext";
    /// A payload or padded length above the envelope limit.
    EnvTooLarge => "E_ENV_TOO_LARGE", Input, "envelope exceeds the size limit";
    /// The envelope's bucket or record id is not the one the caller asked for.
    EnvContext => "E_ENV_CONTEXT", Peer, "envelope belongs to another bucket or record";
    /// The reader has no keys or device list for the envelope's epoch.
    EnvEpoch => "E_ENV_EPOCH", Peer, "envelope epoch is not one the reader can open";
    /// The writer device is not authorized to write in the envelope's epoch.
    EnvSignerUnknown => "E_ENV_SIGNER_UNKNOWN", Peer, "writer is not authorized in the envelope's epoch";
    /// A revoked writer's sequence number is above the bound its revocation names.
    EnvWriterRevoked => "E_ENV_WRITER_REVOKED", Peer, "writer sequence number above the revoked device's bound";
    /// The envelope is sealed in an epoch older than the one in force at the chain head it cites. [ENV-16]
    EnvStaleEpoch => "E_ENV_STALE_EPOCH", Peer, "envelope sealed in an epoch superseded at the chain head it cites";
    /// The authorized writer key is not a valid point or has small order.
    EnvSignerKey => "E_ENV_SIGNER_KEY", Peer, "writer key is invalid or of small order";
    /// The Ed25519 signature does not verify strictly.
    EnvSignature => "E_ENV_SIGNATURE", Peer, "envelope signature does not verify";
    /// The key commitment does not match the key derived for the envelope.
    EnvCommitment => "E_ENV_COMMITMENT", Peer, "envelope key commitment mismatch";
    /// The AEAD does not authenticate (after the signature and commitment did).
    EnvDecrypt => "E_ENV_DECRYPT", Peer, "envelope ciphertext does not authenticate";
    /// The decrypted padded plaintext is malformed.
    EnvPadding => "E_ENV_PADDING", Peer, "envelope padding is malformed";
    /// The envelope's schema version is unknown.
    EnvSchema => "E_ENV_SCHEMA", Peer, "unknown payload schema";
    /// A schema-1 payload that is not canonical JSON.
    EnvJson => "E_ENV_JSON", Peer, "payload is not canonical JSON";

    // --- HPKE (spec 8.6) ---
    /// An HPKE wrap that does not open: wrong recipient key (a wrap to another
    /// device), wrong `info` or `aad`, tampered `enc` or ciphertext. Deliberately uniform.
    HpkeOpen => "E_HPKE_OPEN", Peer, "HPKE wrap does not open";
    /// An X25519 public key or encapsulated key of small order (all-zero shared secret).
    HpkeLowOrder => "E_HPKE_LOW_ORDER", Peer, "X25519 key of small order";

    // --- devices and pairing (spec 8.4, 8.5) ---
    /// A pairing payload with a version this client does not know.
    PairingVersion => "E_PAIRING_VERSION", Input, "unknown pairing payload or comparison QR version";
    /// A pairing payload whose checksum does not match (misread or altered QR code).
    PairingChecksum => "E_PAIRING_CHECKSUM", Input, "pairing payload checksum mismatch";
    /// A device id that is not the hash of the keys presented with it, or a
    /// chain that does not hold this device's own keys (a substituted key).
    DeviceKeyMismatch => "E_DEVICE_KEY_MISMATCH", Peer, "device id does not match the device keys";
    /// A device Ed25519 key that is not a valid point or is of small order.
    DeviceKeyInvalid => "E_DEVICE_KEY_INVALID", Peer, "device signing key is invalid or weak";

    // --- account chain (spec 8.2, 8.3) ---
    /// A chain shorter than one this device already verified.
    ChainRollback => "E_CHAIN_ROLLBACK", Peer, "account chain is shorter than one already verified";
    /// Two different statements at one position.
    ChainFork => "E_CHAIN_FORK", Peer, "two different account chain statements at one position";
    /// A statement signed by a key the chain never authorized.
    ChainSignerUnknown => "E_CHAIN_SIGNER_UNKNOWN", Peer, "chain statement signed by an unknown key";
    /// A statement signed by a revoked device or a replaced unlock-path authority.
    ChainSignerRevoked => "E_CHAIN_SIGNER_REVOKED", Peer, "chain statement signed by a revoked key";
    /// A statement whose `prev` is not the hash of the statement before it.
    ChainLink => "E_CHAIN_LINK", Peer, "chain statement does not link to the previous one";
    /// A statement whose position is not the next one (reordered, duplicated or skipped).
    ChainPosition => "E_CHAIN_POSITION", Peer, "chain statement at the wrong position";
    /// A rotate-epoch statement whose epoch is not the current epoch plus one.
    ChainEpoch => "E_CHAIN_EPOCH", Peer, "epoch does not advance by exactly one";
    /// A statement whose Ed25519 signature does not verify (strict).
    ChainSignature => "E_CHAIN_SIGNATURE", Peer, "chain statement signature does not verify";
    /// A malformed genesis, a genesis after position 0, or a chain that does not start with one.
    ChainGenesis => "E_CHAIN_GENESIS", Peer, "invalid or misplaced genesis statement";
    /// A statement kind the signer's role may not sign.
    ChainNotAuthorized => "E_CHAIN_NOT_AUTHORIZED", Peer, "signer may not sign this statement kind";
    /// A statement inconsistent with the chain state (adding a present or revoked
    /// device, revoking a device that is not active, unpinning an unpinned partner).
    ChainState => "E_CHAIN_STATE", Peer, "statement does not apply to the current chain state";
    /// UMK wraps in a rotate or replace statement that do not go to exactly the
    /// recipients the spec requires (a revoked device included, a device left out).
    ChainRecipients => "E_CHAIN_RECIPIENTS", Peer, "epoch key wraps do not match the required recipients";
    /// An installed key's proof of possession does not verify. [CHAIN-17]
    ChainPossession => "E_CHAIN_POSSESSION", Peer, "an installed key's proof of possession does not verify";
    /// A revocation leaves something the revoked device introduced neither undone nor re-confirmed. [CHAIN-20]
    ChainCascade => "E_CHAIN_CASCADE", Peer, "a revocation leaves something the revoked device introduced neither undone nor re-confirmed";
    /// A UMK (from a bundle, an epoch wrap or a chapter 5 wrap) does not match the chain's key check. [CHAIN-16]
    KeyCheck => "E_KEY_CHECK", Peer, "a UMK does not match the chain's key check for its epoch, or an identity bundle lacks or adds an epoch";
    /// The identity bundle is not the one the add-device statement commits to. [DEV-6]
    DeviceBundle => "E_DEVICE_BUNDLE", Peer, "identity bundle is not the one the add-device statement commits to";
    /// A scanned comparison code differs from the one computed here. [CHAIN-19]
    CompareMismatch => "E_COMPARE_MISMATCH", Peer, "a scanned comparison code differs from the one computed here";
    /// Served KDF salt or parameters differ from the ones the chain pins. [CHAIN-18]
    KdfNotPinned => "E_KDF_NOT_PINNED", Peer, "served KDF salt or parameters differ from the ones the chain pins";
    /// Authentication failed: unknown email, wrong auth value, bad or expired token or nonce (one uniform answer). [SRV-4]
    SrvAuth => "E_SRV_AUTH", Peer, "authentication failed";
    /// The email, batch id or pending device is already registered. [SRV-2]
    SrvExists => "E_SRV_EXISTS", Peer, "already exists";
    /// A chain append does not extend the stored head. [SRV-5]
    SrvChainHead => "E_SRV_CHAIN_HEAD", Peer, "chain append does not extend the head";
    /// A record put does not raise the record's revision. [SRV-6]
    SrvRevision => "E_SRV_REVISION", Peer, "record revision does not increase";
    /// The envelope's writer is not the authenticated device. [SRV-6]
    SrvWriter => "E_SRV_WRITER", Peer, "envelope writer is not the authenticated device";
    /// No such batch or bundle (or it expired). [SRV-9]
    SrvNotFound => "E_SRV_NOT_FOUND", Peer, "not found";
    /// An account's pending-device slots are full. [SRV-13]
    SrvPendingFull => "E_SRV_PENDING_FULL", Refused, "too many pending devices for this account";
    /// Too many failed password logins for this account in the current window. [SRV-15]
    SrvRateLimit => "E_SRV_RATE_LIMIT", Refused, "too many failed logins; try later";
    /// The server could not make the request's changes durable, or stopped after such a failure;
    /// nothing of the request was kept. [SRV-12]
    SrvUnavailable => "E_SRV_UNAVAILABLE", Refused, "the server cannot store changes now; try later";
    /// Alert: a writer sequence number was skipped, so a write was withheld. [SYNC-9]
    SyncWithheld => "E_SYNC_WITHHELD", Peer, "a write of this device was withheld";
    /// Alert: the server served an older state of a record than one already accepted. [SYNC-10]
    SyncRollback => "E_SYNC_ROLLBACK", Peer, "record rolled back to an older revision";
    /// Alert: two different envelopes carry one `(writer, writer_seq)`. [SYNC-14]
    SyncEquivocation => "E_SYNC_EQUIVOCATION", Peer, "two different envelopes signed with one writer sequence number";
    /// Alert: a revision exceeds the record's greatest known revision by more than the step bound. [SYNC-16]
    SyncRevisionStep => "E_SYNC_REVISION_STEP", Peer, "record revision jumps by more than the allowed step";
    /// Alert: a write stored after a revocation the reader knows cites a chain head older than it. [SYNC-17]
    SyncStaleHead => "E_SYNC_STALE_HEAD", Peer, "write stored after a revocation cites a chain head older than it";
    /// A listing page whose server sequence numbers are not strictly ascending above the cursor. [SYNC-7]
    SyncOrder => "E_SYNC_ORDER", Peer, "listing not strictly ascending above the cursor";

    // --- local persistence (spec 11.9) ---
    /// The device's or server's store could not be read or written (I/O failure, disk full, lock held). [PERSIST-2]
    StoreIo => "E_STORE_IO", Internal, "the local store could not be read or written";
    /// The store holds bytes that do not decode as what this code writes. [PERSIST-2]
    StoreCorrupt => "E_STORE_CORRUPT", Internal, "the local store holds malformed data";
    /// The store's format version is newer than this code or has no migration path. [PERSIST-3]
    StoreVersion => "E_STORE_VERSION", Internal, "the local store has an unsupported format version";

    // --- the device's operations (spec 11.8) ---
    /// An operation that needs a session was started before login. [CLIENT-2]
    ClientNotLoggedIn => "E_CLIENT_NOT_LOGGED_IN", Misuse, "the operation needs a session: log in first";
    /// An operation was started while another one is in progress. [CLIENT-2]
    ClientBusy => "E_CLIENT_BUSY", Misuse, "another operation is in progress";
    /// A response was handed in while no operation waits for one. [CLIENT-2]
    ClientNoOperation => "E_CLIENT_NO_OPERATION", Misuse, "no operation is waiting for a response";
    /// A write was started while a signed write still waits to be resubmitted. [SYNC-6] [CLIENT-2]
    ClientOutboxPending => "E_CLIENT_OUTBOX_PENDING", Misuse, "a signed write waits to be resubmitted: flush first";
    /// This device's own writer sequence number is exhausted. [CLIENT-2]
    ClientOverflow => "E_CLIENT_OVERFLOW", Misuse, "this device's writer sequence number is exhausted";
    /// A reopened device must sync to the end of the listing before its first write. [CLIENT-5]
    ClientSyncFirst => "E_CLIENT_SYNC_FIRST", Misuse, "a reopened device must sync before it writes";
    /// A write of `blindsync/devices` under a record id other than this device's own. [SRV-11]
    ClientDeviceRecord => "E_CLIENT_DEVICE_RECORD", Misuse, "a device writes only its own record of blindsync/devices";
    /// The server answered with a response of another kind than the request's. [CLIENT-1]
    ClientUnexpectedResponse => "E_CLIENT_UNEXPECTED_RESPONSE", Peer, "the server answered with a response of the wrong kind";
    /// The device's own state contradicts itself (its last write has no remembered identity). [PERSIST-2]
    ClientState => "E_CLIENT_STATE", Internal, "the device's own state is inconsistent";

    // --- streams (spec 9) ---
    /// A manifest with no chunk or a last-chunk length above 64 KiB.
    StreamLength => "E_STREAM_LENGTH", Input, "stream manifest chunk count or last-chunk length out of range";
    /// A stream above the chunk-count limit.
    StreamTooLarge => "E_STREAM_TOO_LARGE", Input, "stream exceeds the chunk-count limit";
    /// A manifest whose last chunk is empty in a stream of more than one chunk.
    StreamEmptyChunk => "E_STREAM_EMPTY_CHUNK", Peer, "stream ends with an empty chunk";
    /// A manifest for another stream, context or suite than the reader expects (a swapped manifest).
    StreamContext => "E_STREAM_CONTEXT", Peer, "stream manifest belongs to another stream";
    /// The manifest signature does not verify strictly (or the writer key is invalid).
    StreamSignature => "E_STREAM_SIGNATURE", Peer, "stream manifest signature does not verify";
    /// The key commitment does not match the key derived for the stream.
    StreamCommitment => "E_STREAM_COMMITMENT", Peer, "stream key commitment mismatch";
    /// The body ended before the last chunk.
    StreamTruncated => "E_STREAM_TRUNCATED", Peer, "stream body ends before its last chunk";
    /// A chunk arrived again at a later position.
    StreamDuplicate => "E_STREAM_DUPLICATE", Peer, "stream chunk duplicated";
    /// A chunk arrived before its position.
    StreamReordered => "E_STREAM_REORDERED", Peer, "stream chunk out of order";
    /// A chunk whose digest is not in the manifest.
    StreamForeign => "E_STREAM_FOREIGN", Peer, "stream chunk is not one of the manifest's";
    /// A chunk whose digest matched but whose AEAD does not authenticate (a misbehaving writer).
    StreamDecrypt => "E_STREAM_DECRYPT", Peer, "stream chunk does not authenticate";

    // --- batches and the verification hash chain (spec 10) ---
    /// A key slot to, or from, a recipient the account chain neither pins nor lists as an active device.
    BatchUnpinned => "E_BATCH_UNPINNED", Peer, "batch key slot recipient is not pinned in the account chain";
    /// The batch has no key slot for the reader's key.
    BatchNoSlot => "E_BATCH_NO_SLOT", Peer, "batch has no key slot for this reader";
    /// Batch events whose timestamps decrease.
    BatchEventOrder => "E_BATCH_EVENT_ORDER", Peer, "batch event timestamps decrease";
    /// The server's reported hashes do not fold to the running value it serves.
    HchRecord => "E_HCH_RECORD", Peer, "server hash-chain record is inconsistent";
    /// The batch lacks events the device reported.
    HchDropped => "E_HCH_DROPPED", Peer, "batch is missing reported events";
    /// The batch holds events the device never reported.
    HchInserted => "E_HCH_INSERTED", Peer, "batch holds events that were never reported";
    /// The batch holds the reported events in another order.
    HchReordered => "E_HCH_REORDERED", Peer, "batch events are out of the reported order";
    /// The batch's events differ from the reported ones.
    HchAltered => "E_HCH_ALTERED", Peer, "batch events differ from the reported ones";
    /// The metadata names another batch than the one asked for (swapped metadata).
    BatchId => "E_BATCH_ID", Peer, "batch metadata names another batch";
    /// The metadata's writer is not an active device of the reader's chain.
    BatchWriter => "E_BATCH_WRITER", Peer, "batch writer is not an active device of the account";
    /// The metadata's signature does not verify under the writer's key.
    BatchSignature => "E_BATCH_SIGNATURE", Peer, "batch metadata signature does not verify";
    /// The batch is read at or after its signed retention expiry.
    BatchExpired => "E_BATCH_EXPIRED", Peer, "batch is past its retention expiry";
    /// The key slots differ from the ones the metadata signs.
    BatchSlots => "E_BATCH_SLOTS", Peer, "batch key slots are not the ones the metadata signs";
    /// The body's stream manifest differs from the one the metadata signs.
    BatchManifest => "E_BATCH_MANIFEST", Peer, "batch stream manifest is not the one the metadata signs";
    /// The body holds another number of events than the metadata states.
    BatchCount => "E_BATCH_COUNT", Peer, "batch event count differs from the metadata";
    /// An event's timestamp lies outside the metadata's recording window.
    BatchTime => "E_BATCH_TIME", Peer, "batch event outside the batch's time range";
    /// The metadata's start, end and expiry are not in order.
    BatchRange => "E_BATCH_RANGE", Peer, "batch time range or expiry inconsistent";
    /// An attachment whose plaintext does not hash to its id.
    AttachmentId => "E_ATTACHMENT_ID", Peer, "attachment plaintext does not match its id";
    /// A hash-chain record whose report signature does not verify under the batch writer's key. [HCH-6]
    HchSignature => "E_HCH_SIGNATURE", Peer, "hash-chain record is not signed by the batch's writer";
    /// Batch metadata names a chain head the reader's verified chain does not have. [BAT-10]
    BatchChainHead => "E_BATCH_CHAIN_HEAD", Peer, "batch names an account chain head the reader does not know";
    /// Batch metadata does not link to the writer's previous batch the reader saw. [BAT-11]
    BatchGap => "E_BATCH_GAP", Peer, "a batch of this writer is missing";
    /// An attachment whose padded plaintext is not in the padding format. [ATT-6]
    AttachmentPadding => "E_ATTACHMENT_PADDING", Peer, "attachment padding is malformed";
}

/// `CODE: description`, with no secret material and no detail. [ERR-3]
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

/// Result type of the crate.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    // [ERR-1] codes are unique and round-trip through from_code.
    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for e in Error::ALL {
            assert!(e.code().starts_with("E_"), "{}", e.code());
            assert!(seen.insert(e.code()), "duplicate code {}", e.code());
            assert_eq!(Error::from_code(e.code()), Some(*e));
        }
        assert_eq!(Error::from_code("E_NOPE"), None);
    }

    // [ERR-2] fault classes follow who is at fault.
    #[test]
    fn fault_classes() {
        assert_eq!(Error::DecodeTruncated.fault(), Fault::Input);
        assert_eq!(Error::RecoveryChecksum.fault(), Fault::Input);
        assert_eq!(Error::KdfParamsTooWeak.fault(), Fault::Peer);
        assert_eq!(Error::WrapOpen.fault(), Fault::Peer);
        assert_eq!(Error::EmptyAad.fault(), Fault::Misuse);
        assert_eq!(Error::ClientNotLoggedIn.fault(), Fault::Misuse);
        assert_eq!(Error::SrvRateLimit.fault(), Fault::Refused);
        assert_eq!(Error::SrvPendingFull.fault(), Fault::Refused);
        assert_eq!(Error::SrvUnavailable.fault(), Fault::Refused);
        assert_eq!(Error::ClientUnexpectedResponse.fault(), Fault::Peer);
        assert_eq!(Error::ClientState.fault(), Fault::Internal);
    }

    // [ERR-3] Display starts with the code and names the failure.
    #[test]
    fn display_starts_with_code() {
        for e in Error::ALL {
            let s = e.to_string();
            assert!(s.starts_with(e.code()));
            assert!(s.len() > e.code().len() + 4);
        }
    }
}
