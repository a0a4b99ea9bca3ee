//! Minting of Akiles-shaped ids: a type prefix, `_`, and 20 characters.
//!
//! The first [`TIME_CHARS`] characters encode a strictly increasing number (microseconds
//! since the Unix epoch, bumped by one when two ids land in the same microsecond), so ids
//! sort by creation order both as strings and as numbers. The rest is drawn from a seeded
//! RNG, so the same seed and the same creation times give the same ids.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The 32 symbols Akiles ids use, in ASCII order (digits 1–9, letters without i, o, w).
pub const ALPHABET: &[u8; 32] = b"123456789abcdefghjklmnpqrstuvxyz";

/// Length of the part after the prefix.
pub const ID_CHARS: usize = 20;

/// Characters that carry the ordering number (55 bits, enough for microseconds until 3100).
const TIME_CHARS: usize = 11;

/// Hands out new ids; its ordering counter is persisted with the state.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdMinter {
    seed: u64,
    last: u64,
    #[serde(skip, default = "unseeded")]
    rng: StdRng,
}

fn unseeded() -> StdRng {
    StdRng::seed_from_u64(0)
}

impl IdMinter {
    /// A minter whose random parts follow `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            last: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Re-seeds the RNG after loading from a state file (the RNG state is not persisted).
    pub fn reseed_after_load(&mut self) {
        self.rng = StdRng::seed_from_u64(self.seed ^ self.last);
    }

    /// A new id with `prefix` for an object created at `at`.
    pub fn mint(&mut self, prefix: &str, at: OffsetDateTime) -> String {
        let micros = u64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(0);
        self.last = micros.max(self.last + 1);

        let mut id = String::with_capacity(prefix.len() + 1 + ID_CHARS);
        id.push_str(prefix);
        id.push('_');
        id.push_str(&encode_fixed(self.last, TIME_CHARS));
        for _ in TIME_CHARS..ID_CHARS {
            id.push(char::from(ALPHABET[self.rng.random_range(0..32)]));
        }
        id
    }

    /// The RNG, also used for generated secrets (PINs, link tokens).
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }
}

/// `value` in base 32 over [`ALPHABET`], left-padded to `width` characters.
fn encode_fixed(mut value: u64, width: usize) -> String {
    let mut out = vec![ALPHABET[0]; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 32) as usize];
        value /= 32;
    }
    out.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_have_the_akiles_shape() {
        let mut minter = IdMinter::new(7);

        let id = minter.mint("mem", datetime!(2025-01-01 0:00 UTC));

        let rest = id.strip_prefix("mem_").unwrap();
        assert_eq!(rest.len(), ID_CHARS);
        assert!(rest.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn ids_sort_in_creation_order_even_within_one_microsecond() {
        let mut minter = IdMinter::new(7);
        let at = datetime!(2025-01-01 0:00 UTC);

        let ids: Vec<String> = (0..50).map(|_| minter.mint("mp", at)).collect();

        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
    }

    #[test]
    fn the_same_seed_mints_the_same_ids() {
        let at = datetime!(2024-06-01 12:00 UTC);
        let mut a = IdMinter::new(42);
        let mut b = IdMinter::new(42);
        let mut c = IdMinter::new(43);

        let (ida, idb, idc) = (a.mint("org", at), b.mint("org", at), c.mint("org", at));

        assert_eq!(ida, idb);
        assert_ne!(ida, idc);
    }

    #[test]
    fn a_later_time_gives_a_greater_id() {
        let mut minter = IdMinter::new(1);

        let early = minter.mint("mg", datetime!(2024-01-01 0:00 UTC));
        let late = minter.mint("mg", datetime!(2025-01-01 0:00 UTC));

        assert!(late > early);
    }
}
