//! PKCE (RFC 7636): the challenge sent with the authorization request and its check
//! against the verifier sent with the code exchange.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How the challenge was derived from the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeMethod {
    /// The challenge is the verifier itself.
    #[serde(rename = "plain")]
    Plain,
    /// The challenge is base64url (no padding) of the verifier's SHA-256.
    S256,
}

/// A code challenge remembered with an authorization code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeChallenge {
    /// The challenge as the client sent it.
    pub challenge: String,
    /// How to compare a verifier with it.
    pub method: ChallengeMethod,
}

impl CodeChallenge {
    /// Reads the two request parameters; `Ok(None)` when the client sent no challenge.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Self>, String> {
        let Some(challenge) = challenge else {
            return match method {
                Some(_) => Err("code_challenge_method was sent without code_challenge".into()),
                None => Ok(None),
            };
        };
        let method = match method {
            None | Some("plain") => ChallengeMethod::Plain,
            Some("S256") => ChallengeMethod::S256,
            Some(other) => return Err(format!("unsupported code_challenge_method `{other}`")),
        };
        if !is_pkce_string(challenge) {
            return Err("code_challenge must be 43 to 128 unreserved characters".into());
        }
        Ok(Some(Self {
            challenge: challenge.to_owned(),
            method,
        }))
    }

    /// Whether `verifier` answers this challenge.
    pub fn accepts(&self, verifier: &str) -> bool {
        match self.method {
            ChallengeMethod::Plain => verifier == self.challenge,
            ChallengeMethod::S256 => s256(verifier) == self.challenge,
        }
    }
}

/// Whether a verifier has the shape RFC 7636 asks for (43–128 unreserved characters).
pub fn is_pkce_string(value: &str) -> bool {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    (43..=128).contains(&value.len()) && value.bytes().all(unreserved)
}

/// The S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "emulator-test-verifier-0123456789-abcdefghijklmnop";

    #[test]
    fn s256_challenge_accepts_its_verifier_only() {
        let challenge = CodeChallenge::parse(Some(&s256(VERIFIER)), Some("S256"))
            .unwrap()
            .unwrap();

        assert!(challenge.accepts(VERIFIER));
        assert!(!challenge.accepts(&VERIFIER.replace('0', "1")));
    }

    #[test]
    fn a_challenge_without_method_is_plain() {
        let challenge = CodeChallenge::parse(Some(VERIFIER), None).unwrap().unwrap();

        assert_eq!(challenge.method, ChallengeMethod::Plain);
        assert!(challenge.accepts(VERIFIER));
    }

    #[test]
    fn malformed_challenges_and_methods_are_rejected() {
        assert!(CodeChallenge::parse(Some("short"), Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some(VERIFIER), Some("S512")).is_err());
        assert!(CodeChallenge::parse(None, Some("S256")).is_err());
        assert_eq!(CodeChallenge::parse(None, None), Ok(None));
    }
}
