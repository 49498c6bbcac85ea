//! Wycheproof-style flags of negative vectors: a closed, documented set
//! (`vectors/README.md`, "Flags", and the `flag` enum of `vectors/schema.json`).
//!
//! Every negative vector carries at least one flag naming the check or the
//! attack class it exercises. The first flag is the class of the check that
//! refuses it, derived from the expected error code ([`Flag::of_error`]);
//! a generator adds the attack class where it says more than the check
//! (a signature with `S + L` is [`Flag::SignatureMalleability`] as well as
//! [`Flag::InvalidSignature`]). A vector with two or more faults carries
//! [`Flag::MultiFault`] first.

use blindsync::error::Error;

macro_rules! flags {
    ($( $variant:ident => $meaning:literal; )*) => {
        /// One flag of a negative vector.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Flag {
            $( #[doc = $meaning] $variant, )*
        }

        impl Flag {
            /// Every flag, in documentation order.
            pub const ALL: &'static [Flag] = &[ $( Flag::$variant, )* ];

            /// The flag's name as it appears in the vectors.
            pub const fn name(self) -> &'static str {
                match self { $( Flag::$variant => stringify!($variant), )* }
            }

            /// What the flag means (the text of the README's table).
            pub const fn meaning(self) -> &'static str {
                match self { $( Flag::$variant => $meaning, )* }
            }
        }
    };
}

flags! {
    MultiFault => "the input carries two or more faults (listed in `faults`, in the order the spec checks them); the expected error is the code of the first check, in the spec's order, that fails";
    Truncated => "the input ends before the structure, stream or record is complete";
    TrailingBytes => "bytes follow a complete structure";
    LengthOverLimit => "a length, count or size above the limit the spec sets";
    LengthMismatch => "a length or count that disagrees with the data or with a fixed size";
    WrongLabel => "a structure that does not start with the expected label";
    InvalidValue => "a field holds a value the spec does not define (an unknown kind, tag or schema, an empty list)";
    NonCanonical => "a second encoding of an accepted value (unsorted or duplicate entries, non-canonical JSON, an unreduced scalar, padding bits)";
    UnknownVersion => "a version byte the reader does not know";
    UnknownSuite => "a suite byte the reader does not know";
    InvalidPadding => "padding that is not the one the writer must produce";
    Checksum => "a checksum of a human-transferred code does not match (a typo or misread)";
    InvalidFormat => "text that is not in the code's format (a character outside the alphabet, a wrong symbol count)";
    InvalidSignature => "a signature that does not verify under the key the reader holds";
    SignatureMalleability => "an altered encoding of a signature (S + L, R = identity) that a lax verifier accepts";
    InvalidKey => "a public key that the spec's key checks refuse";
    SmallOrderKey => "a public key (Ed25519 or X25519, or an HPKE `enc`) of small order";
    ModifiedCiphertext => "a nonce, ciphertext or tag changed after sealing";
    DecryptionFailure => "an AEAD or HPKE open that does not authenticate";
    WrongKey => "opened or verified with a key other than the writer's";
    KeyCommitment => "a key commitment that does not match the key the reader derives";
    WrongContext => "data bound to another account, bucket, record, stream, batch, epoch or unlock path";
    Substitution => "a component swapped for another one (served keys, manifest, slots, identity bundle, KDF parameters)";
    KeyCheck => "a key that does not match the account chain's key check";
    ProofOfPossession => "an installed key whose proof of possession does not verify";
    Downgrade => "weaker parameters or an older version offered by a peer";
    ResourceLimit => "parameters or sizes that would exhaust a device";
    Unauthorized => "a signer, writer, epoch or recipient the reader's state does not authorize";
    RevokedKey => "a key used after its revocation or retirement";
    Rollback => "older state served as current";
    StaleState => "data that names a state the reader must refuse: a superseded epoch, an unknown chain head, an expiry passed";
    Equivocation => "two different values for one position or sequence number (a fork)";
    Withholding => "something the writer produced is missing (a write, batch or event withheld or deleted)";
    Reordering => "items out of the order the spec fixes";
    Replay => "an item served again (a duplicate or a replayed login)";
    Injection => "an item inserted that the writer never produced";
    ModifiedData => "content changed under an intact reference (an event or attachment altered)";
    BrokenLink => "a hash link that does not point to the previous statement";
    InvalidGenesis => "a missing, misplaced or malformed genesis statement";
    StateRule => "a statement the account chain's rules forbid in the current state (epoch, recipients, cascade, duplicate keys)";
    InconsistentMetadata => "signed metadata or a server record that disagrees with the content";
    RevisionJump => "a record revision that jumps by more than the allowed step";
    IntegerOverflow => "a value at the edge of 64-bit arithmetic";
    ServerPolicy => "a request the reference server refuses by its rules";
    AuthFailure => "a failed authentication to the server";
    RateLimit => "a request refused by the server's rate limit";
    Unavailable => "a request the server could not make durable (retry later)";
    ApiMisuse => "a call the API forbids (an empty AAD, an output length or a name out of range)";
    LocalStore => "the device's own store is unreadable or malformed";
    EdgeCase => "a value just past a boundary the spec sets";
}

impl Flag {
    /// Looks a flag up by its name.
    pub fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The error codes whose check class is this flag (the README's third column).
    pub fn codes(self) -> Vec<&'static str> {
        Error::ALL.iter().filter(|e| Flag::of_error(**e) == Some(self)).map(|e| e.code()).collect()
    }

    /// The class of the check that refuses with `e`: the first flag of a
    /// single-fault negative vector. `None` for a code no check class covers
    /// (a test keeps this total over [`Error::ALL`]).
    pub fn of_error(e: Error) -> Option<Flag> {
        use Flag::*;
        Some(match e.code() {
            "E_DECODE_TRUNCATED" | "E_STREAM_TRUNCATED" => Truncated,
            "E_DECODE_TRAILING" => TrailingBytes,
            "E_DECODE_LENGTH" | "E_ENV_TOO_LARGE" | "E_STREAM_TOO_LARGE" => LengthOverLimit,
            "E_ENV_LENGTH" | "E_WRAP_LENGTH" | "E_KDF_SALT_LENGTH" | "E_STREAM_LENGTH" | "E_STREAM_EMPTY_CHUNK" => {
                LengthMismatch
            }
            "E_DECODE_LABEL" => WrongLabel,
            "E_DECODE_VALUE" | "E_ENV_SCHEMA" | "E_CLIENT_UNEXPECTED_RESPONSE" => InvalidValue,
            "E_ENV_JSON" => NonCanonical,
            "E_ENV_VERSION" | "E_PAIRING_VERSION" => UnknownVersion,
            "E_ENV_SUITE" => UnknownSuite,
            "E_ENV_PADDING" | "E_ATTACHMENT_PADDING" => InvalidPadding,
            "E_RECOVERY_CHECKSUM" | "E_PAIRING_CHECKSUM" => Checksum,
            "E_RECOVERY_FORMAT" => InvalidFormat,
            "E_ENV_SIGNATURE" | "E_CHAIN_SIGNATURE" | "E_STREAM_SIGNATURE" | "E_BATCH_SIGNATURE"
            | "E_HCH_SIGNATURE" => InvalidSignature,
            "E_ENV_SIGNER_KEY" | "E_DEVICE_KEY_INVALID" => InvalidKey,
            "E_HPKE_LOW_ORDER" => SmallOrderKey,
            "E_WRAP_OPEN" | "E_HPKE_OPEN" | "E_ENV_DECRYPT" | "E_STREAM_DECRYPT" => DecryptionFailure,
            "E_ENV_COMMITMENT" | "E_STREAM_COMMITMENT" => KeyCommitment,
            "E_ENV_CONTEXT" | "E_STREAM_CONTEXT" | "E_BATCH_ID" => WrongContext,
            "E_DEVICE_KEY_MISMATCH"
            | "E_COMPARE_MISMATCH"
            | "E_BATCH_SLOTS"
            | "E_BATCH_MANIFEST"
            | "E_DEVICE_BUNDLE"
            | "E_KDF_NOT_PINNED" => Substitution,
            "E_KEY_CHECK" => KeyCheck,
            "E_CHAIN_POSSESSION" => ProofOfPossession,
            "E_KDF_PARAMS_TOO_WEAK" | "E_KDF_VERSION" => Downgrade,
            "E_KDF_PARAMS_TOO_LARGE" => ResourceLimit,
            "E_ENV_EPOCH"
            | "E_ENV_SIGNER_UNKNOWN"
            | "E_CHAIN_SIGNER_UNKNOWN"
            | "E_CHAIN_NOT_AUTHORIZED"
            | "E_BATCH_WRITER"
            | "E_BATCH_UNPINNED"
            | "E_BATCH_NO_SLOT" => Unauthorized,
            "E_ENV_WRITER_REVOKED" | "E_CHAIN_SIGNER_REVOKED" => RevokedKey,
            "E_CHAIN_ROLLBACK" | "E_SYNC_ROLLBACK" => Rollback,
            "E_ENV_STALE_EPOCH" | "E_SYNC_STALE_HEAD" | "E_BATCH_CHAIN_HEAD" | "E_BATCH_EXPIRED" => StaleState,
            "E_CHAIN_FORK" | "E_SYNC_EQUIVOCATION" => Equivocation,
            "E_SYNC_WITHHELD" | "E_BATCH_GAP" | "E_HCH_DROPPED" => Withholding,
            "E_STREAM_REORDERED" | "E_HCH_REORDERED" | "E_SYNC_ORDER" | "E_CHAIN_POSITION" | "E_BATCH_EVENT_ORDER" => {
                Reordering
            }
            "E_STREAM_DUPLICATE" => Replay,
            "E_STREAM_FOREIGN" | "E_HCH_INSERTED" => Injection,
            "E_HCH_ALTERED" | "E_ATTACHMENT_ID" => ModifiedData,
            "E_CHAIN_LINK" => BrokenLink,
            "E_CHAIN_GENESIS" => InvalidGenesis,
            "E_CHAIN_STATE" | "E_CHAIN_EPOCH" | "E_CHAIN_RECIPIENTS" | "E_CHAIN_CASCADE" => StateRule,
            "E_BATCH_COUNT" | "E_BATCH_TIME" | "E_BATCH_RANGE" | "E_HCH_RECORD" => InconsistentMetadata,
            "E_SYNC_REVISION_STEP" => RevisionJump,
            "E_SRV_EXISTS" | "E_SRV_CHAIN_HEAD" | "E_SRV_REVISION" | "E_SRV_WRITER" | "E_SRV_NOT_FOUND"
            | "E_SRV_PENDING_FULL" => ServerPolicy,
            "E_SRV_AUTH" => AuthFailure,
            "E_SRV_RATE_LIMIT" => RateLimit,
            "E_SRV_UNAVAILABLE" => Unavailable,
            "E_EMPTY_AAD"
            | "E_KDF_OUTPUT_LENGTH"
            | "E_COLLECTION_NAME"
            | "E_CLIENT_NOT_LOGGED_IN"
            | "E_CLIENT_BUSY"
            | "E_CLIENT_NO_OPERATION"
            | "E_CLIENT_OUTBOX_PENDING"
            | "E_CLIENT_SYNC_FIRST"
            | "E_CLIENT_DEVICE_RECORD" => ApiMisuse,
            "E_CLIENT_OVERFLOW" => IntegerOverflow,
            "E_STORE_IO" | "E_STORE_CORRUPT" | "E_STORE_VERSION" | "E_CLIENT_STATE" => LocalStore,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // every error code has a check class, so every negative vector gets a first flag
    #[test]
    fn every_error_has_a_flag() {
        for e in Error::ALL {
            assert!(Flag::of_error(*e).is_some(), "{} has no flag", e.code());
        }
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in Flag::ALL {
            assert_eq!(Flag::from_name(f.name()), Some(*f));
            assert!(!f.meaning().is_empty());
        }
        assert_eq!(Flag::from_name("Unknown"), None);
    }

    // the README's table and the schema's enum are exactly this set, in this order
    #[test]
    fn documented_set_is_the_closed_set() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let rows: Vec<(String, String, String)> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| flag | meaning | first flag of |"))
            .skip(2)
            .take_while(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.trim().trim_matches('|').rsplitn(2, '|').map(str::trim).collect();
                let (name, meaning) = cells[1].split_once('|').unwrap();
                (name.trim().trim_matches('`').to_owned(), meaning.trim().to_owned(), cells[0].to_owned())
            })
            .collect();
        let want: Vec<(String, String, String)> = Flag::ALL
            .iter()
            .map(|f| {
                let codes: Vec<String> = f.codes().iter().map(|c| format!("`{c}`")).collect();
                (
                    f.name().to_owned(),
                    f.meaning().to_owned(),
                    if codes.is_empty() { "–".to_owned() } else { codes.join(", ") },
                )
            })
            .collect();
        assert_eq!(rows, want, "vectors/README.md's flag table differs from Flag::ALL");
        let schema: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("schema.json")).unwrap()).unwrap();
        let names: Vec<&str> =
            schema["$defs"]["flag"]["enum"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(names, Flag::ALL.iter().map(|f| f.name()).collect::<Vec<_>>(), "schema.json's flag enum");
    }
}
