//! Push signatures: HMAC-SHA256 over `<timestamp>.<METHOD>.<target>.<raw body>`.
//!
//! A tenant with a signing secret must send `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex MAC>`. The MAC is computed over the bytes of
//! [`canonical`]: the timestamp exactly as sent in its header, a dot, the HTTP method in
//! upper case (`PUT`, `DELETE`, `POST`), a dot, the request target — path and query
//! exactly as sent, `?` included when there is a query, percent-encoding untouched — a
//! dot, then the exact body bytes received (before any JSON parsing, so spacing, key
//! order and escapes are whatever the sender signed; empty for DELETE). So a signature
//! made for one employee, method or `?version=` is worthless for any other.
//!
//! The MAC is compared in constant time, the timestamp must lie within the tolerance of
//! now, and [`ReplayGuard`] accepts each signature once within that window.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use time::OffsetDateTime;

/// Header with the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// Header with `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-signature";

/// Why a signature was refused. The messages are safe to send to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed: X-Signature and X-Signature-Timestamp are required")]
    Missing,
    #[error("X-Signature-Timestamp must be a Unix time in seconds")]
    BadTimestamp,
    #[error("X-Signature-Timestamp is outside the accepted window")]
    Expired,
    #[error("X-Signature must be sha256=<hex>")]
    BadFormat,
    #[error("the signature does not match the method, target and body of the request")]
    Mismatch,
    #[error("this signature was already used; sign each request anew")]
    Replayed,
}

/// The two signature headers as received.
#[derive(Debug, Clone, Copy)]
pub struct SignatureHeaders<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// What a signature covers: the request as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method, upper case as on the wire (`PUT`).
    pub method: &'a str,
    /// The path and query as sent (`/api/v1/employees/E-1?version=3`), not decoded.
    pub target: &'a str,
    /// The raw body.
    pub body: &'a [u8],
}

/// A signature that matched: when it was made and its MAC, for [`ReplayGuard::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signing time, in Unix seconds.
    pub signed_at: i64,
    /// The MAC's bytes (so `ABCD` and `abcd` in the header are the same signature).
    pub mac: [u8; 32],
}

/// Checks the signature of `request` with `secret`, at `now`, allowing `tolerance_secs`.
/// Does not look for replays: pass the result to [`ReplayGuard::admit`].
pub fn verify(
    secret: &SecretString,
    headers: SignatureHeaders<'_>,
    request: SignedRequest<'_>,
    now: OffsetDateTime,
    tolerance_secs: u64,
) -> Result<Verified, SignatureError> {
    let (Some(timestamp), Some(signature)) = (headers.timestamp, headers.signature) else {
        return Err(SignatureError::Missing);
    };
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let age = now.unix_timestamp().abs_diff(signed_at);
    if age > tolerance_secs {
        return Err(SignatureError::Expired);
    }
    let hex_mac = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::BadFormat)?;
    let mut received = [0_u8; 32];
    hex::decode_to_slice(hex_mac, &mut received).map_err(|_| SignatureError::BadFormat)?;

    let mut mac = new_mac(secret).map_err(|_| SignatureError::Mismatch)?;
    feed(&mut mac, timestamp, request);
    mac.verify_slice(&received)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(Verified {
        signed_at,
        mac: received,
    })
}

/// `sha256=<hex>` for `request` signed at `timestamp`: what a sender puts in
/// `X-Signature`.
pub fn sign(secret: &SecretString, timestamp: &str, request: SignedRequest<'_>) -> String {
    let mut mac = new_mac(secret).expect("HMAC takes keys of any length");
    feed(&mut mac, timestamp, request);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The exact bytes that are signed: `<timestamp>.<METHOD>.<target>.<body>`.
pub fn canonical(timestamp: &str, request: SignedRequest<'_>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(
        timestamp.len() + request.method.len() + request.target.len() + request.body.len() + 3,
    );
    for (i, part) in parts(timestamp, request).into_iter().enumerate() {
        if i > 0 {
            bytes.push(b'.');
        }
        bytes.extend_from_slice(part);
    }
    bytes
}

fn parts<'a>(timestamp: &'a str, request: SignedRequest<'a>) -> [&'a [u8]; 4] {
    [
        timestamp.as_bytes(),
        request.method.as_bytes(),
        request.target.as_bytes(),
        request.body,
    ]
}

fn feed(mac: &mut Hmac<Sha256>, timestamp: &str, request: SignedRequest<'_>) {
    for (i, part) in parts(timestamp, request).into_iter().enumerate() {
        if i > 0 {
            mac.update(b".");
        }
        mac.update(part);
    }
}

fn new_mac(secret: &SecretString) -> Result<Hmac<Sha256>, hmac::digest::InvalidLength> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
}

/// Most signatures remembered per tenant. Past it, new signed writes of that tenant are
/// refused until older signatures leave the window (a signature is only remembered once
/// it matched, so only a holder of the tenant's secret can fill its set).
pub const MAX_SEEN_PER_TENANT: usize = 100_000;

/// The signatures accepted in the last tolerance window, per tenant, in this process.
///
/// Each process keeps its own: with several instances behind a load balancer, a replay
/// sent to another instance within the window is not caught.
#[derive(Debug)]
pub struct ReplayGuard {
    max_per_tenant: usize,
    seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    /// `(last second the signature is valid, MAC)`, oldest first.
    by_expiry: BTreeSet<(i64, [u8; 32])>,
    macs: HashSet<[u8; 32]>,
}

/// Why [`ReplayGuard::admit`] refused a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Already accepted within the window.
    Replayed,
    /// The tenant's set is full of signatures still in the window.
    Full,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(MAX_SEEN_PER_TENANT)
    }
}

impl ReplayGuard {
    /// A guard remembering at most `max_per_tenant` signatures per tenant.
    pub fn new(max_per_tenant: usize) -> Self {
        Self {
            max_per_tenant,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records `verified` for `tenant`, or refuses it when it was already recorded.
    /// A signature is remembered until `signed_at + tolerance_secs`, after which
    /// [`verify`] refuses it as expired anyway.
    pub fn admit(
        &self,
        tenant: &str,
        verified: Verified,
        now: OffsetDateTime,
        tolerance_secs: u64,
    ) -> Result<(), Refused> {
        let now = now.unix_timestamp();
        let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
        let valid_until = verified.signed_at.saturating_add(tolerance);
        let mut all = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, seen| {
            seen.forget_before(now);
            !seen.macs.is_empty()
        });
        let seen = all.entry(tenant.to_owned()).or_default();
        if seen.macs.contains(&verified.mac) {
            return Err(Refused::Replayed);
        }
        if seen.macs.len() >= self.max_per_tenant {
            return Err(Refused::Full);
        }
        seen.macs.insert(verified.mac);
        seen.by_expiry.insert((valid_until, verified.mac));
        Ok(())
    }
}

impl Seen {
    /// Drops the signatures whose window ended before `now`.
    fn forget_before(&mut self, now: i64) {
        while let Some(&(valid_until, mac)) = self.by_expiry.first() {
            if valid_until >= now {
                break;
            }
            self.by_expiry.pop_first();
            self.macs.remove(&mac);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);
    const TARGET: &str = "/api/v1/employees/E-1";

    fn secret() -> SecretString {
        SecretString::from("whsec_test")
    }

    fn headers<'a>(timestamp: &'a str, signature: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    fn put(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            method: "PUT",
            target: TARGET,
            body,
        }
    }

    #[test]
    fn the_canonical_form_joins_timestamp_method_target_and_body_with_dots() {
        let request = SignedRequest {
            method: "DELETE",
            target: "/api/v1/employees/E%2D1?version=3",
            body: b"",
        };

        assert_eq!(
            canonical("1772438400", request),
            b"1772438400.DELETE./api/v1/employees/E%2D1?version=3.".to_vec()
        );
        let mut mac = new_mac(&secret()).unwrap();
        mac.update(&canonical("1772438400", request));
        let by_hand = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sign(&secret(), "1772438400", request), by_hand);
    }

    #[test]
    fn a_signature_over_the_raw_bytes_is_accepted() {
        let body = "{\"name\":  \"Zoë Dvořák\"}".as_bytes();
        let ts = NOW.unix_timestamp().to_string();
        let signature = sign(&secret(), &ts, put(body));

        let verified = verify(&secret(), headers(&ts, &signature), put(body), NOW, 300);

        assert_eq!(verified.map(|v| v.signed_at), Ok(NOW.unix_timestamp()));
    }

    #[test]
    fn one_changed_byte_is_a_mismatch() {
        let ts = NOW.unix_timestamp().to_string();
        let signature = sign(&secret(), &ts, put(b"{\"a\":1}"));

        let result = verify(
            &secret(),
            headers(&ts, &signature),
            put(b"{\"a\":2}"),
            NOW,
            300,
        );

        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn another_method_target_or_query_is_a_mismatch() {
        let ts = NOW.unix_timestamp().to_string();
        let signed = SignedRequest {
            method: "DELETE",
            target: "/api/v1/employees/E-1?version=3",
            body: b"",
        };
        let signature = sign(&secret(), &ts, signed);
        let others = [
            SignedRequest {
                method: "PUT",
                ..signed
            },
            SignedRequest {
                target: "/api/v1/employees/E-2?version=3",
                ..signed
            },
            SignedRequest {
                target: "/api/v1/employees/E-1?version=9223372036854775807",
                ..signed
            },
            SignedRequest {
                target: "/api/v1/employees/E%2D1?version=3",
                ..signed
            },
        ];

        for other in others {
            let result = verify(&secret(), headers(&ts, &signature), other, NOW, 300);
            assert_eq!(result, Err(SignatureError::Mismatch), "{other:?}");
        }
        assert!(verify(&secret(), headers(&ts, &signature), signed, NOW, 300).is_ok());
    }

    #[test]
    fn an_old_timestamp_is_refused() {
        let ts = (NOW.unix_timestamp() - 301).to_string();
        let signature = sign(&secret(), &ts, put(b"{}"));

        let result = verify(&secret(), headers(&ts, &signature), put(b"{}"), NOW, 300);

        assert_eq!(result, Err(SignatureError::Expired));
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let ts = NOW.unix_timestamp().to_string();
        let none = SignatureHeaders {
            timestamp: None,
            signature: None,
        };

        assert_eq!(
            verify(&secret(), none, put(b""), NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&secret(), headers(&ts, "md5=00"), put(b""), NOW, 300),
            Err(SignatureError::BadFormat)
        );
        assert_eq!(
            verify(&secret(), headers(&ts, "sha256=00"), put(b""), NOW, 300),
            Err(SignatureError::BadFormat)
        );
        assert_eq!(
            verify(&secret(), headers("soon", "sha256=00"), put(b""), NOW, 300),
            Err(SignatureError::BadTimestamp)
        );
    }

    fn verified(signed_at: i64, byte: u8) -> Verified {
        Verified {
            signed_at,
            mac: [byte; 32],
        }
    }

    #[test]
    fn a_signature_is_admitted_once_per_tenant_within_the_window() {
        let guard = ReplayGuard::default();
        let at = NOW.unix_timestamp();

        assert_eq!(guard.admit("acme", verified(at, 1), NOW, 300), Ok(()));
        assert_eq!(
            guard.admit("acme", verified(at, 1), NOW, 300),
            Err(Refused::Replayed)
        );
        assert_eq!(guard.admit("other", verified(at, 1), NOW, 300), Ok(()));
        assert_eq!(guard.admit("acme", verified(at, 2), NOW, 300), Ok(()));
        let last_second = NOW + time::Duration::seconds(300);
        assert_eq!(
            guard.admit("acme", verified(at, 1), last_second, 300),
            Err(Refused::Replayed)
        );
    }

    #[test]
    fn signatures_are_forgotten_once_their_window_ends() {
        let guard = ReplayGuard::default();
        let at = NOW.unix_timestamp();
        guard.admit("acme", verified(at, 1), NOW, 300).unwrap();

        let later = NOW + time::Duration::seconds(301);
        guard
            .admit("acme", verified(at + 301, 2), later, 300)
            .unwrap();

        let seen = guard.seen.lock().unwrap();
        assert_eq!(seen["acme"].macs.len(), 1);
        assert_eq!(seen["acme"].by_expiry.len(), 1);
    }

    #[test]
    fn a_full_tenant_set_refuses_new_signatures_until_old_ones_expire() {
        let guard = ReplayGuard::new(2);
        let at = NOW.unix_timestamp();
        guard.admit("acme", verified(at, 1), NOW, 300).unwrap();
        guard.admit("acme", verified(at + 10, 2), NOW, 300).unwrap();

        assert_eq!(
            guard.admit("acme", verified(at, 3), NOW, 300),
            Err(Refused::Full)
        );
        assert_eq!(guard.admit("other", verified(at, 3), NOW, 300), Ok(()));
        let later = NOW + time::Duration::seconds(301);
        assert_eq!(
            guard.admit("acme", verified(at + 301, 3), later, 300),
            Ok(())
        );
    }
}
