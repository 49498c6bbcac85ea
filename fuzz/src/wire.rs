//! Sync requests and responses built from fuzzer bytes (spec 11.2), for the
//! encode-then-decode targets and the server targets.

use blindsync::Error;
use blindsync::server::wire::{Action, Actor, AuditEntry, Item, ItemKind, Request, Response};

use crate::input::Bytes;

/// Identifiers a request may name: the server targets pass the accounts,
/// tokens and keys they know, so the fuzzer reaches past authentication.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// 32-byte values (account ids, tokens, keys, device ids, nonces) to pick from.
    pub ids: Vec<[u8; 32]>,
}

impl Known {
    fn id(&self, b: &mut Bytes<'_>) -> [u8; 32] {
        let pick = b.u8();
        match self.ids.get(usize::from(pick)) {
            Some(id) if pick < 0xf0 => *id,
            _ => b.array(),
        }
    }
}

fn small(b: &mut Bytes<'_>) -> Vec<u8> {
    let n = usize::from(b.u8());
    b.take(n).to_vec()
}

fn list(b: &mut Bytes<'_>) -> Vec<Vec<u8>> {
    (0..b.u8() % 4).map(|_| small(b)).collect()
}

/// A request of any kind, its fields from `b` (ids preferably from `k`).
pub fn request(b: &mut Bytes<'_>, k: &Known) -> Request {
    match b.u8() % 23 {
        0 => Request::Register {
            email: small(b),
            kdf: small(b),
            auth: b.array(),
            genesis: small(b),
            recovery_wrap: small(b),
            password_wrap: small(b),
        },
        1 => Request::GetKdf { email: small(b) },
        2 => Request::LoginPassword { email: small(b), auth: b.array() },
        3 => Request::Challenge { account: k.id(b), key: k.id(b) },
        4 => Request::LoginKey { account: k.id(b), key: k.id(b), nonce: k.id(b), signature: b.array() },
        5 => Request::AppendChain { token: k.id(b), statements: list(b) },
        6 => Request::GetChain { token: k.id(b) },
        7 => Request::GetWraps { token: k.id(b) },
        8 => Request::PutRecord { token: k.id(b), envelope: small(b) },
        9 => Request::ListSince { token: k.id(b), cursor: b.u8().into(), limit: b.u32() },
        10 => Request::PutBatch { token: k.id(b), batch_id: k.id(b), blob: small(b), slots: list(b) },
        11 => Request::GetBatch { token: k.id(b), batch_id: k.id(b) },
        12 => Request::ReportEvent { token: k.id(b), batch_id: k.id(b), event_hash: b.array(), signature: b.array() },
        13 => Request::SetPassword { token: k.id(b), kdf: small(b), auth: b.array(), password_wrap: small(b) },
        14 => Request::GetAudit { token: k.id(b) },
        15 => Request::PostPending { account: k.id(b), ed25519: k.id(b), x25519: k.id(b), pop: b.array() },
        16 => Request::ListPending { token: k.id(b) },
        17 => Request::PutBundle { token: k.id(b), device: k.id(b), bundle: small(b) },
        18 => Request::GetBundle { account: k.id(b), device: k.id(b) },
        19 => Request::GetSharedBatch { account: k.id(b), batch_id: k.id(b) },
        20 => Request::SetRecoveryWrap { token: k.id(b), recovery_wrap: small(b) },
        21 => Request::GetSharedChain { account: k.id(b) },
        _ => Request::PutDeviceMeta { token: k.id(b), meta: small(b) },
    }
}

fn actor(b: &mut Bytes<'_>) -> Actor {
    match b.u8() % 4 {
        0 => Actor::Anonymous,
        1 => Actor::Device(b.array()),
        2 => Actor::Password,
        _ => Actor::Recovery,
    }
}

fn action(b: &mut Bytes<'_>) -> Action {
    match b.u8() % 11 {
        0 => Action::Register,
        1 => Action::Login,
        2 => Action::AppendChain,
        3 => Action::PutRecord,
        4 => Action::PutBatch,
        5 => Action::ReportEvent,
        6 => Action::SetPassword,
        7 => Action::PostPending,
        8 => Action::PutBundle,
        9 => Action::SetRecoveryWrap,
        _ => Action::Expire,
    }
}

/// A response of any kind, its fields from `b`.
pub fn response(b: &mut Bytes<'_>) -> Response {
    match b.u8() % 14 {
        0 => Response::Ok,
        1 => Response::Error(Error::ALL[usize::from(b.u8()) % Error::ALL.len()]),
        2 => Response::Kdf { kdf: small(b) },
        3 => Response::Token { token: b.array(), expires_ms: b.u32().into() },
        4 => Response::Nonce { nonce: b.array() },
        5 => Response::Chain { statements: list(b) },
        6 => Response::Wraps { recovery_wrap: small(b), password_wrap: small(b) },
        7 => Response::Stored { seq: b.u32().into() },
        8 => Response::Items {
            items: (0..b.u8() % 4)
                .map(|_| Item {
                    seq: b.u8().into(),
                    kind: if b.u8() & 1 == 0 { ItemKind::Envelope } else { ItemKind::Stub },
                    bytes: small(b),
                })
                .collect(),
        },
        9 => Response::Batch {
            blob: small(b),
            slots: list(b),
            event_hash: b.array(),
            events: b.u8().into(),
            reported: (0..b.u8() % 4).map(|_| b.array()).collect(),
            signature: b.array(),
        },
        10 => Response::EventHash { hash: b.array() },
        11 => Response::Audit {
            entries: (0..b.u8() % 4)
                .map(|_| AuditEntry { at_ms: b.u32().into(), actor: actor(b), action: action(b) })
                .collect(),
        },
        12 => Response::Pending { devices: (0..b.u8() % 4).map(|_| (b.array(), b.array(), b.array())).collect() },
        _ => Response::Bundle { bundle: small(b) },
    }
}

/// The errors a total decoder of chapter 2 may return. [ENC-5] [SYNC-2]
pub fn is_decode_error(e: Error) -> bool {
    matches!(
        e,
        Error::DecodeTruncated | Error::DecodeTrailing | Error::DecodeLength | Error::DecodeLabel | Error::DecodeValue
    )
}
