//! The Kademlia key space: every PeerId and every record key is hashed (SHA-256) to a point of
//! 256 bits, and the distance between two points is their XOR read as a number.

use std::fmt;

use libp2p::PeerId;
use sha2::{Digest, Sha256};

/// A point of the key space: SHA-256 of a key's bytes (for a peer, of its PeerId's bytes),
/// as libp2p-kad hashes them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPoint(pub [u8; 32]);

/// XOR of two points, compared as a 256-bit number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Distance(pub [u8; 32]);

impl KeyPoint {
    pub fn of_bytes(bytes: &[u8]) -> KeyPoint {
        KeyPoint(Sha256::digest(bytes).into())
    }

    pub fn of_peer(peer: &PeerId) -> KeyPoint {
        KeyPoint::of_bytes(&peer.to_bytes())
    }

    pub fn distance(&self, other: &KeyPoint) -> Distance {
        let mut xor = [0; 32];
        for (byte, (a, b)) in xor.iter_mut().zip(self.0.iter().zip(other.0)) {
            *byte = a ^ b;
        }
        Distance(xor)
    }

    /// Where the point sits on a circle drawn of the key space, from 0 to 1 (its first 52 bits).
    pub fn fraction(&self) -> f64 {
        let mut top = [0; 8];
        top.copy_from_slice(&self.0[..8]);
        (u64::from_be_bytes(top) >> 12) as f64 / (1u64 << 52) as f64
    }

    /// The first `bits` bits, as `0`s and `1`s.
    pub fn prefix(&self, bits: usize) -> String {
        (0..bits.min(256))
            .map(|i| {
                if self.0[i / 8] & (0x80 >> (i % 8)) == 0 {
                    '0'
                } else {
                    '1'
                }
            })
            .collect()
    }
}

impl Distance {
    /// How many leading bits the two points share: 256 for a point and itself.
    pub fn common_prefix(&self) -> u32 {
        let mut bits = 0;
        for byte in self.0 {
            bits += byte.leading_zeros();
            if byte != 0 {
                break;
            }
        }
        bits
    }

    /// The integer part of log2 of the distance (None for 0): libp2p-kad's bucket index, 255
    /// for peers whose point differs from the local one in the very first bit.
    pub fn log2(&self) -> Option<u32> {
        255u32.checked_sub(self.common_prefix())
    }

    /// The distance as a fraction of the largest one (for charts), from its first 52 bits.
    pub fn fraction(&self) -> f64 {
        KeyPoint(self.0).fraction()
    }
}

impl fmt::Debug for KeyPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPoint({})", crate::labels::hex(&self.0[..4]))
    }
}

impl fmt::Debug for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.log2() {
            Some(log2) => write!(f, "Distance(2^{log2}…)"),
            None => write!(f, "Distance(0)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::kad::KBucketKey;

    #[test]
    fn distances_and_buckets_agree_with_libp2p_kad() {
        for seed in 0..20u64 {
            let a = crate::identity::keypair(seed, 0).public().to_peer_id();
            let b = crate::identity::keypair(seed, 1).public().to_peer_id();
            let ours = KeyPoint::of_peer(&a).distance(&KeyPoint::of_peer(&b));
            let theirs = KBucketKey::from(a).distance(&KBucketKey::from(b));
            assert_eq!(ours.log2(), theirs.ilog2());
        }
        let key = b"some record".to_vec();
        let peer = crate::identity::keypair(1, 1).public().to_peer_id();
        let ours = KeyPoint::of_bytes(&key).distance(&KeyPoint::of_peer(&peer));
        let theirs = KBucketKey::new(key).distance(&KBucketKey::from(peer));
        assert_eq!(ours.log2(), theirs.ilog2());
    }

    #[test]
    fn the_common_prefix_counts_shared_leading_bits() {
        let zero = KeyPoint([0; 32]);
        let mut one = [0; 32];
        one[1] = 0b0010_0000;
        let d = zero.distance(&KeyPoint(one));
        assert_eq!(d.common_prefix(), 10);
        assert_eq!(d.log2(), Some(245));
        assert_eq!(zero.distance(&zero).common_prefix(), 256);
        assert_eq!(zero.distance(&zero).log2(), None);
        assert_eq!(KeyPoint(one).prefix(12), "000000000010");
    }
}
