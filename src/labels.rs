//! The label registry (spec chapter 3, `spec/03-labels.md`).
//!
//! Every domain-separation string BlindSync uses is a constant here and a row
//! in the spec's registry table; `tests/traceability.rs` checks that the two
//! lists are identical. [LBL-1] [LBL-2]

/// How a label is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// The HKDF-Extract salt is the canonical encoding starting with the label.
    HkdfSalt,
    /// The HKDF-Expand `info` is the canonical encoding starting with the label.
    HkdfInfo,
    /// An AEAD associated data starts with the label.
    Aad,
    /// An HMAC message starts with the label.
    Hmac,
    /// A SHA-256 input starts with the label.
    Hash,
    /// A BLAKE3 input (hash or keyed hash) starts with the label.
    Blake3,
    /// An Ed25519 signed message starts with the label.
    Signature,
    /// An HPKE `info` is the canonical encoding starting with the label.
    HpkeInfo,
    /// A wire structure (or encrypted plaintext) starts with the label.
    Wire,
    /// Only in examples and encoding vectors.
    Example,
}

macro_rules! labels {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $use:ident; )*) => {
        $( $(#[$doc])* pub const $name: &str = $value; )*
        /// Every label with its use, in registry order. [LBL-1]
        pub const ALL: &[(&str, Use)] = &[ $( ($value, Use::$use), )* ];
    };
}

labels! {
    /// HKDF-Extract salt of the recovery-code PRK. [KEY-4]
    RECOVERY_EXTRACT = "blindsync/v1/recovery/extract", HkdfSalt;
    /// HKDF info of the recovery KEK that wraps the UMK. [KEY-4]
    RECOVERY_KEK = "blindsync/v1/recovery/kek", HkdfInfo;
    /// HKDF info of the recovery path's Ed25519 authority seed. [KEY-4]
    RECOVERY_AUTHORITY = "blindsync/v1/recovery/authority", HkdfInfo;
    /// HKDF-Extract salt of the password PRK (over the Argon2id output). [KEY-7]
    PASSWORD_EXTRACT = "blindsync/v1/password/extract", HkdfSalt;
    /// HKDF info of the password `auth` value sent to the server. [KEY-7]
    PASSWORD_AUTH = "blindsync/v1/password/auth", HkdfInfo;
    /// HKDF info of the password KEK that wraps the UMK. [KEY-7]
    PASSWORD_KEK = "blindsync/v1/password/kek", HkdfInfo;
    /// HKDF info of the password path's Ed25519 authority seed. [KEY-7]
    PASSWORD_AUTHORITY = "blindsync/v1/password/authority", HkdfInfo;
    /// SHA-256 input of the auth hash the server stores. [KEY-8]
    PASSWORD_AUTH_HASH = "blindsync/v1/password/auth-hash", Hash;
    /// HKDF-Extract salt of an epoch's PRK (binds account id and epoch). [KEY-10]
    EPOCH_EXTRACT = "blindsync/v1/epoch/extract", HkdfSalt;
    /// HKDF info of the account routing key (from epoch 0). [KEY-11]
    ROUTING_KEY = "blindsync/v1/key/routing", HkdfInfo;
    /// HKDF info of a per-collection, per-epoch key. [KEY-12]
    COLLECTION_KEY = "blindsync/v1/key/collection", HkdfInfo;
    /// HMAC message of an opaque collection bucket. [KEY-13]
    BUCKET = "blindsync/v1/bucket", Hmac;
    /// AAD of a UMK wrap under the recovery or the password KEK. [WRAP-2]
    AAD_UMK_WRAP = "blindsync/v1/aad/umk-wrap", Aad;
    /// HKDF info of an envelope's AEAD key. [ENV-6]
    ENVELOPE_KEY = "blindsync/v1/envelope/key", HkdfInfo;
    /// HKDF info of an envelope's key commitment. [ENV-6]
    ENVELOPE_COMMIT = "blindsync/v1/envelope/commit", HkdfInfo;
    /// AAD of a record envelope. [ENV-5]
    AAD_RECORD = "blindsync/v1/aad/record", Aad;
    /// SHA-256 input of an envelope body digest. [ENV-8]
    HASH_ENVELOPE_BODY = "blindsync/v1/hash/envelope-body", Hash;
    /// SHA-256 input of the digest a writer signs for an envelope. [ENV-9]
    SIG_RECORD = "blindsync/v1/sig/record", Hash;
    /// HKDF info of the recovery path's X25519 sealing key (from the recovery PRK). [CHAIN-13]
    RECOVERY_SEALING = "blindsync/v1/recovery/sealing", HkdfInfo;
    /// HKDF info of the password path's X25519 sealing key (from the password PRK). [CHAIN-13]
    PASSWORD_SEALING = "blindsync/v1/password/sealing", HkdfInfo;
    /// SHA-256 input of a device id. [DEV-1]
    DEVICE_ID = "blindsync/v1/device/id", Hash;
    /// SHA-256 input of the pairing payload checksum. [DEV-3]
    PAIRING_PAYLOAD = "blindsync/v1/pairing/payload", Hash;
    /// SHA-256 input of the pairing code (160-bit text, 256-bit QR). [DEV-4]
    PAIRING_CODE = "blindsync/v1/pairing/code", Hash;
    /// Plaintext of the identity bundle wrapped to a new device. [DEV-5]
    IDENTITY_BUNDLE = "blindsync/v1/device/bundle", Wire;
    /// HPKE info of the identity bundle wrap. [DEV-5]
    HPKE_DEVICE_BUNDLE = "blindsync/v1/hpke/device-bundle", HpkeInfo;
    /// HPKE AAD of the identity bundle wrap (binds account id and target device id). [DEV-5]
    AAD_DEVICE_BUNDLE = "blindsync/v1/aad/device-bundle", Aad;
    /// HPKE info of an epoch UMK wrap inside a chain statement. [CHAIN-12]
    HPKE_EPOCH_UMK = "blindsync/v1/hpke/epoch-umk", HpkeInfo;
    /// HPKE AAD of an epoch UMK wrap (binds account id, epoch and recipient key). [CHAIN-12]
    AAD_EPOCH_UMK = "blindsync/v1/aad/epoch-umk", Aad;
    /// Wire encoding of an account chain statement. [CHAIN-1]
    CHAIN_STATEMENT = "blindsync/v1/chain/statement", Wire;
    /// Ed25519 signed message of an account chain statement. [CHAIN-2]
    CHAIN_SIGNED = "blindsync/v1/chain/signed", Signature;
    /// SHA-256 input of a statement hash (the link and the chain head). [CHAIN-3]
    CHAIN_LINK = "blindsync/v1/chain/link", Hash;
    /// SHA-256 input of the account id (over the genesis statement). [CHAIN-4]
    ACCOUNT_ID = "blindsync/v1/chain/account-id", Hash;
    /// SHA-256 input of the account fingerprint. [CHAIN-5]
    ACCOUNT_FINGERPRINT = "blindsync/v1/chain/fingerprint", Hash;
    /// SHA-256 input of a partner key's fingerprint. [CHAIN-5]
    PARTNER_FINGERPRINT = "blindsync/v1/chain/partner-fingerprint", Hash;
    /// Ed25519 signed message of a proof of possession of an installed key. [CHAIN-17]
    CHAIN_POSSESSION = "blindsync/v1/chain/possession", Signature;
    /// SHA-256 input of the anchor of a genesis's proofs of possession. [CHAIN-17]
    CHAIN_GENESIS_ANCHOR = "blindsync/v1/chain/genesis-anchor", Hash;
    /// SHA-256 input of the bundle commitment in an add-device statement. [DEV-5]
    BUNDLE_COMMIT = "blindsync/v1/device/bundle-commit", Hash;
    /// HMAC message of an epoch's key-check value (keyed by the UMK). [KEY-14] [CHAIN-16]
    KEY_CHECK = "blindsync/v1/key/check", Hmac;
    /// Wire encoding of a sync request (client to server). [SYNC-1]
    SYNC_REQUEST = "blindsync/v1/sync/request", Wire;
    /// Wire encoding of a sync response (server to client). [SYNC-1]
    SYNC_RESPONSE = "blindsync/v1/sync/response", Wire;
    /// Ed25519 signed message of a challenge-response login. [SYNC-4]
    SYNC_LOGIN = "blindsync/v1/sync/login", Signature;
    /// HMAC message of the decoy KDF salt of an unknown email. [SRV-3]
    SERVER_DECOY_SALT = "blindsync/v1/server/decoy-salt", Hmac;
    /// HMAC message of a stateless login nonce's tag. [SRV-14]
    SERVER_LOGIN_NONCE = "blindsync/v1/server/login-nonce", Hmac;
    /// HKDF info of a stream's AEAD key. [STR-3]
    STREAM_KEY = "blindsync/v1/stream/key", HkdfInfo;
    /// HKDF info of a stream's key commitment. [STR-3]
    STREAM_COMMIT = "blindsync/v1/stream/commit", HkdfInfo;
    /// AAD of one stream chunk. [STR-5]
    AAD_STREAM_CHUNK = "blindsync/v1/aad/stream-chunk", Aad;
    /// SHA-256 input of the digest a writer signs for a stream manifest. [STR-7]
    SIG_STREAM = "blindsync/v1/sig/stream", Hash;
    /// BLAKE3 input of a chunk digest in a stream manifest. [STR-6]
    HASH_STREAM_CHUNK = "blindsync/v1/hash/stream-chunk", Blake3;
    /// Plaintext framing of a batch's events. [BAT-2]
    BATCH_EVENTS = "blindsync/v1/batch/events", Wire;
    /// Keyed BLAKE3 input of an event hash in the verification hash chain. [HCH-2]
    HCH_EVENT = "blindsync/v1/hch/event", Blake3;
    /// HKDF info of a batch's event key (from the data key). [HCH-2]
    HCH_EVENT_KEY = "blindsync/v1/hch/event-key", HkdfInfo;
    /// SHA-256 input of the digest a recording device signs for each report. [HCH-6]
    SIG_HCH_REPORT = "blindsync/v1/sig/hch-report", Hash;
    /// SHA-256 input of a batch's reference, the 32-byte key the server stores it under. [HCH-3]
    BATCH_REF = "blindsync/v1/batch/ref", Hash;
    /// SHA-256 input of one link of the verification hash chain. [HCH-3]
    HCH_LINK = "blindsync/v1/hch/link", Hash;
    /// HPKE info of a batch key slot. [BAT-3]
    HPKE_BATCH_KEY = "blindsync/v1/hpke/batch-key", HpkeInfo;
    /// HPKE AAD of a batch key slot (binds account id, batch id and recipient key). [BAT-3]
    AAD_BATCH_SLOT = "blindsync/v1/aad/batch-slot", Aad;
    /// Signed batch metadata. [BAT-5]
    BATCH_META = "blindsync/v1/batch/meta", Wire;
    /// SHA-256 input of the digest a writer signs for batch metadata. [BAT-5]
    SIG_BATCH_META = "blindsync/v1/sig/batch-meta", Hash;
    /// SHA-256 input of the digest of a batch's key slots. [BAT-5]
    HASH_BATCH_SLOTS = "blindsync/v1/hash/batch-slots", Hash;
    /// SHA-256 input of the digest of a batch body's stream manifest. [BAT-5]
    HASH_BATCH_MANIFEST = "blindsync/v1/hash/batch-manifest", Hash;
    /// SHA-256 input of a batch body's stream context. [BAT-6]
    HASH_BATCH_CONTEXT = "blindsync/v1/hash/batch-context", Hash;
    /// HKDF info of a batch body's stream key source (from the data key). [BAT-6]
    BATCH_STREAM_KEY = "blindsync/v1/batch/stream-key", HkdfInfo;
    /// A batch as the server stores it: metadata, manifest, body. [BAT-7]
    BATCH_BLOB = "blindsync/v1/batch/blob", Wire;
    /// HKDF info of an epoch's attachment key (from that epoch's PRK). [ATT-1]
    ATTACHMENT_KEY = "blindsync/v1/key/attachment", HkdfInfo;
    /// HMAC message of an attachment id. [ATT-2]
    ATTACHMENT_ID = "blindsync/v1/attachment/id", Hmac;
    /// HKDF info of an attachment blob's stream key source. [ATT-3]
    ATTACHMENT_SOURCE = "blindsync/v1/attachment/source", HkdfInfo;
    /// Padded plaintext of an attachment blob. [ATT-6]
    ATTACHMENT_PADDED = "blindsync/v1/attachment/padded", Wire;
    /// SHA-256 input of a device's conformance state digest (never sent or stored). [CONF-1]
    CONFORMANCE_STATE = "blindsync/v1/conformance/state", Hash;
    /// The label of the encoding chapter's examples and vectors; never used by the protocol. [ENC-4]
    EXAMPLE = "blindsync/v1/example", Example;
}

#[cfg(test)]
mod tests {
    use super::*;

    // [LBL-1] [LBL-2] every label is registered once, versioned, unique and short enough for the encoding.
    #[test]
    fn labels_are_versioned_unique_and_short() {
        let mut seen = std::collections::BTreeSet::new();
        for (l, _) in ALL {
            assert!(l.starts_with("blindsync/v1/"), "{l}");
            assert!(l.len() <= crate::encoding::MAX_LABEL_LEN, "{l}");
            assert!(l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/-".contains(&b)), "{l}");
            assert!(seen.insert(*l), "duplicate {l}");
        }
    }
}
