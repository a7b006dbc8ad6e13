//! Sealing of what a shared session store holds: each value is serialised with `postcard` and
//! sealed with XChaCha20-Poly1305 under a key derived from the deployment's hash key, bound to
//! the name of the key it is stored under (the associated data), so that whoever reads the
//! store (a copy of Redis, `MONITOR`, a dump) sees neither answers (national codes) nor a
//! value moved from one caller's key to another's.
//!
//! XChaCha20's 24-byte nonces are drawn at random for each value: at that size a repeat is not
//! a concern at any rate of writes, where a 12-byte random nonce would need counting.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::de::DeserializeOwned;
use serde::Serialize;

const NONCE_LEN: usize = 24;

/// Seals and opens values with one key. Its `Debug` never shows the key.
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { .. }")
    }
}

/// Why a value could not be sealed or opened; it never holds the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SealError {
    #[error("a value could not be serialised")]
    Serialise,
    #[error("no random nonce could be drawn")]
    Random,
    #[error("a stored value is too short to be sealed")]
    Short,
    #[error(
        "a stored value does not open with this key (is the hash key the same on every node?)"
    )]
    Forged,
    #[error("a stored value opened but does not read as this version's value")]
    Unreadable,
}

impl Sealer {
    pub(crate) fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `value` serialised and sealed for the key named `place`: the nonce, then the sealed bytes.
    pub(crate) fn seal<T: Serialize>(&self, value: &T, place: &[u8]) -> Result<Vec<u8>, SealError> {
        let plain = postcard::to_allocvec(value).map_err(|_| SealError::Serialise)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let payload = Payload {
            msg: &plain,
            aad: place,
        };
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError::Serialise)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The value `sealed` holds, if it was sealed with this key for the key named `place`.
    pub(crate) fn open<T: DeserializeOwned>(
        &self,
        sealed: &[u8],
        place: &[u8],
    ) -> Result<T, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Short);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Short)?;
        let payload = Payload {
            msg: body,
            aad: place,
        };
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError::Forged)?;
        postcard::from_bytes(&plain).map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_place() {
        let sealer = Sealer::new([7; 32]);
        let value = ("national code", "0012345679".to_string());
        let sealed = sealer.seal(&value, b"place-a").expect("sealed");
        assert!(
            !sealed.windows(10).any(|w| w == b"0012345679"),
            "nothing in clear"
        );
        assert_eq!(
            sealer
                .open::<(String, String)>(&sealed, b"place-a")
                .expect("opens")
                .1,
            value.1
        );
        assert_eq!(
            sealer.open::<(String, String)>(&sealed, b"place-b"),
            Err(SealError::Forged),
            "moved to another key"
        );
        let other = Sealer::new([8; 32]);
        assert_eq!(
            other.open::<(String, String)>(&sealed, b"place-a"),
            Err(SealError::Forged),
            "another deployment's key"
        );
        let again = sealer.seal(&value, b"place-a").expect("sealed");
        assert_ne!(sealed, again, "a fresh nonce each time");
    }

    #[test]
    fn garbage_empty_and_tampered_values_are_refused() {
        let sealer = Sealer::new([7; 32]);
        assert_eq!(sealer.open::<String>(b"", b"p"), Err(SealError::Short));
        assert_eq!(
            sealer.open::<String>(&[0u8; 23], b"p"),
            Err(SealError::Short)
        );
        assert_eq!(
            sealer.open::<String>(&[0u8; 24], b"p"),
            Err(SealError::Forged)
        );
        assert_eq!(
            sealer.open::<String>(&vec![0xff; 100_000], b"p"),
            Err(SealError::Forged)
        );
        let mut sealed = sealer.seal(&"value".to_string(), b"p").expect("sealed");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(sealer.open::<String>(&sealed, b"p"), Err(SealError::Forged));
        let wrong_shape = sealer.seal(&(1u8,), b"p").expect("sealed");
        assert_eq!(
            sealer.open::<(String, String, String)>(&wrong_shape, b"p"),
            Err(SealError::Unreadable)
        );
    }
}
