//! Push signatures: HMAC-SHA256 over `<timestamp>.<raw body>`.
//!
//! A tenant with a signing secret must send `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex MAC>`. The MAC is computed over the exact bytes received
//! (before any JSON parsing, so spacing, key order and escapes are whatever the sender
//! signed), compared in constant time, and the timestamp must lie within the tolerance
//! of now to stop replays.

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
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The two signature headers as received.
#[derive(Debug, Clone, Copy)]
pub struct SignatureHeaders<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks the signature of `body` with `secret`, at `now`, allowing `tolerance_secs`.
pub fn verify(
    secret: &SecretString,
    headers: SignatureHeaders<'_>,
    body: &[u8],
    now: OffsetDateTime,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
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
    let expected = hex::decode(hex_mac).map_err(|_| SignatureError::BadFormat)?;

    let mut mac = new_mac(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// `sha256=<hex>` for `body` signed at `timestamp`: what a sender puts in `X-Signature`.
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    let mut mac = new_mac(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn new_mac(secret: &SecretString) -> Result<Hmac<Sha256>, hmac::digest::InvalidLength> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

    fn secret() -> SecretString {
        SecretString::from("whsec_test")
    }

    fn headers<'a>(timestamp: &'a str, signature: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    #[test]
    fn a_signature_over_the_raw_bytes_is_accepted() {
        let body = "{\"name\":  \"Zoë Dvořák\"}".as_bytes();
        let ts = NOW.unix_timestamp().to_string();
        let signature = sign(&secret(), &ts, body);

        assert_eq!(
            verify(&secret(), headers(&ts, &signature), body, NOW, 300),
            Ok(())
        );
    }

    #[test]
    fn one_changed_byte_is_a_mismatch() {
        let ts = NOW.unix_timestamp().to_string();
        let signature = sign(&secret(), &ts, b"{\"a\":1}");

        let result = verify(&secret(), headers(&ts, &signature), b"{\"a\":2}", NOW, 300);

        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn an_old_timestamp_is_refused() {
        let ts = (NOW.unix_timestamp() - 301).to_string();
        let signature = sign(&secret(), &ts, b"{}");

        let result = verify(&secret(), headers(&ts, &signature), b"{}", NOW, 300);

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
            verify(&secret(), none, b"", NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&secret(), headers(&ts, "md5=00"), b"", NOW, 300),
            Err(SignatureError::BadFormat)
        );
        assert_eq!(
            verify(&secret(), headers("soon", "sha256=00"), b"", NOW, 300),
            Err(SignatureError::BadTimestamp)
        );
    }
}
