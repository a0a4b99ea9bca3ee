//! Sealing personal data before it reaches the database.
//!
//! A [`DataKey`] is one AES-256-GCM key. [`DataKey::seal`] turns a plaintext into
//! `format byte ‖ 12-byte random nonce ‖ ciphertext and tag`; [`DataKey::open`] reverses it.
//! Both take associated data (AAD) that names where the value lives, for example
//! `employee\0acme\0E-1007`: the AAD is not stored, it is rebuilt from the row on read, so a
//! sealed value moved to another row, tenant or column no longer opens.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Length of a data key in bytes.
const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce in bytes.
const NONCE_LEN: usize = 12;
/// First byte of every sealed value: the layout and key generation it was written with.
/// A later key rotation introduces a new format byte that also carries a key id.
const FORMAT_V1: u8 = 1;

/// Why a data key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataKeyError {
    /// The text is not standard base64.
    #[error("data key is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// The text decodes to the wrong number of bytes.
    #[error("data key is {actual} bytes long; it must be {KEY_LEN} bytes")]
    WrongLength { actual: usize },
}

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The operating system gave no random nonce.
    #[error("no random nonce is available")]
    NoRandomness,
    /// The plaintext is longer than AES-GCM can seal under one nonce.
    #[error("value is too long to seal")]
    TooLong,
    /// The sealed value is shorter than its header and tag.
    #[error("sealed value is truncated")]
    Truncated,
    /// The sealed value starts with a format byte this program does not know.
    #[error("sealed value has unknown format {0}")]
    UnknownFormat(u8),
    /// Authentication failed: another key, another place (AAD), or a changed byte.
    #[error("sealed value does not open with this key in this place")]
    Rejected,
}

/// The AES-256-GCM key that seals personal data at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct DataKey {
    key: Key<Aes256Gcm>,
}

impl DataKey {
    /// Reads a key from standard base64 of exactly 32 bytes; surrounding whitespace (such as
    /// the newline at the end of a key file) is ignored.
    pub fn from_base64(text: &str) -> Result<Self, DataKeyError> {
        let bytes = STANDARD.decode(text.trim()).map_err(DataKeyError::Base64)?;
        let key = Key::<Aes256Gcm>::try_from(bytes.as_slice()).map_err(|_| {
            DataKeyError::WrongLength {
                actual: bytes.len(),
            }
        })?;
        Ok(Self { key })
    }

    /// A new random key from the operating system's generator.
    ///
    /// # Panics
    ///
    /// When the operating system has no random source, which leaves nothing safe to do.
    pub fn generate() -> Self {
        Self {
            key: Key::<Aes256Gcm>::generate(),
        }
    }

    /// The key as standard base64, for writing to a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key.as_slice())
    }

    /// Seals `plaintext` for the place named by `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = Nonce::<Aes256Gcm>::try_generate().map_err(|_| SealError::NoRandomness)?;
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError::TooLong)?;

        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(nonce.as_slice());
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed by [`DataKey::seal`] with the same key and the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some((&format, rest)) = sealed.split_first() else {
            return Err(SealError::Truncated);
        };
        if format != FORMAT_V1 {
            return Err(SealError::UnknownFormat(format));
        }
        let Some((nonce, ciphertext)) = rest.split_at_checked(NONCE_LEN) else {
            return Err(SealError::Truncated);
        };
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| SealError::Truncated)?;

        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| SealError::Rejected)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"employee\0acme\0E-1007";

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_place() {
        let key = DataKey::generate();

        let sealed = key.seal(b"Zoe Dvorak", AAD).unwrap();

        assert_eq!(sealed[0], FORMAT_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + b"Zoe Dvorak".len() + 16);
        assert_eq!(key.open(&sealed, AAD).unwrap(), b"Zoe Dvorak");
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces() {
        let key = DataKey::generate();

        let first = key.seal(b"same", AAD).unwrap();
        let second = key.seal(b"same", AAD).unwrap();

        assert_ne!(first, second);
    }

    #[test]
    fn another_key_cannot_open_a_sealed_value() {
        let sealed = DataKey::generate().seal(b"secret", AAD).unwrap();

        let result = DataKey::generate().open(&sealed, AAD);

        assert_eq!(result, Err(SealError::Rejected));
    }

    #[test]
    fn a_sealed_value_moved_to_another_place_does_not_open() {
        let key = DataKey::generate();
        let sealed = key.seal(b"secret", AAD).unwrap();

        let other_employee = key.open(&sealed, b"employee\0acme\0E-1008");
        let other_tenant = key.open(&sealed, b"employee\0globex\0E-1007");
        let other_column = key.open(&sealed, b"history\0acme\0E-1007");

        assert_eq!(other_employee, Err(SealError::Rejected));
        assert_eq!(other_tenant, Err(SealError::Rejected));
        assert_eq!(other_column, Err(SealError::Rejected));
    }

    #[test]
    fn any_changed_byte_makes_the_value_unopenable() {
        let key = DataKey::generate();
        let sealed = key.seal(b"secret", AAD).unwrap();

        for index in 1..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert_eq!(
                key.open(&tampered, AAD),
                Err(SealError::Rejected),
                "byte {index}"
            );
        }
    }

    #[test]
    fn truncated_or_unknown_format_values_are_refused() {
        let key = DataKey::generate();
        let mut sealed = key.seal(b"secret", AAD).unwrap();

        assert_eq!(key.open(&[], AAD), Err(SealError::Truncated));
        assert_eq!(key.open(&sealed[..8], AAD), Err(SealError::Truncated));
        sealed[0] = 2;
        assert_eq!(key.open(&sealed, AAD), Err(SealError::UnknownFormat(2)));
    }

    #[test]
    fn a_key_survives_a_base64_round_trip() {
        let key = DataKey::generate();
        let sealed = key.seal(b"secret", AAD).unwrap();

        let text = key.to_base64();
        let restored = DataKey::from_base64(&format!("{text}\n")).unwrap();

        assert_eq!(text.len(), 44);
        assert_eq!(restored.open(&sealed, AAD).unwrap(), b"secret");
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        let short = STANDARD.encode([7u8; 16]);

        let result = DataKey::from_base64(&short);

        assert!(matches!(
            result,
            Err(DataKeyError::WrongLength { actual: 16 })
        ));
    }

    #[test]
    fn a_key_that_is_not_base64_is_refused() {
        let result = DataKey::from_base64("not base64 at all!");

        assert!(matches!(result, Err(DataKeyError::Base64(_))));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = DataKey::from_base64(&STANDARD.encode([0xab; 32])).unwrap();

        let shown = format!("{key:?}");

        assert_eq!(shown, "DataKey([redacted])");
        assert!(!shown.contains(&key.to_base64()));
    }
}
