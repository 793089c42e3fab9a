//! Integrity-protected SEP-2322 `requestState`: `<hex payload>.<hex HMAC-SHA256>` under a key
//! drawn once per process, so a client can echo the state back but not forge or alter it
//! (RFC 2104 HMAC, written over `sha2` to avoid another dependency).

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

/// Seals and opens `requestState` strings with one secret key.
pub(crate) struct Sealer {
    key: [u8; 32],
}

impl Sealer {
    /// A sealer with a key from the operating system's random source.
    pub(crate) fn random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self, payload: &[u8]) -> [u8; 32] {
        let mut padded = [0u8; BLOCK];
        for (slot, byte) in padded.iter_mut().zip(self.key.iter()) {
            *slot = *byte;
        }
        let inner_key: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
        let outer_key: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&inner_key)
            .chain_update(payload)
            .finalize();
        Sha256::new()
            .chain_update(&outer_key)
            .chain_update(inner)
            .finalize()
            .into()
    }

    /// Seals `payload` (plain text the server wants back unchanged).
    pub(crate) fn seal(&self, payload: &str) -> String {
        format!(
            "{}.{}",
            hex(payload.as_bytes()),
            hex(&self.mac(payload.as_bytes()))
        )
    }

    /// The payload of a state this sealer produced; `None` for anything altered or foreign.
    pub(crate) fn open(&self, sealed: &str) -> Option<String> {
        let (payload, tag) = sealed.split_once('.')?;
        let payload = unhex(payload)?;
        let tag = unhex(tag)?;
        let expected = self.mac(&payload);
        // Constant time: every byte is compared whatever the first difference.
        let same = tag.len() == expected.len()
            && tag
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return None;
        }
        String::from_utf8(payload).ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe"), to prove the hand-written HMAC is HMAC-SHA256.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let sealer = Sealer { key };
        assert_eq!(
            hex(&sealer.mac(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sealed_state_round_trips_and_rejects_tampering() {
        let sealer = Sealer::random();
        let sealed = sealer.seal("multi_round:2");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("multi_round:2"));
        assert_eq!(sealer.open(&format!("{sealed}-TAMPERED")), None);
        assert_eq!(sealer.open("6869.00"), None);
        assert_eq!(Sealer::random().open(&sealed), None);
    }
}
