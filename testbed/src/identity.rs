//! Peer identities derived from the scenario seed, so a seed always gives the same PeerIds
//! and a shared scenario rebuilds the same network.

use libp2p::identity::Keypair;
use rand::rngs::ChaCha20Rng;
use rand::Rng;
use rand::SeedableRng;

/// The ed25519 keypair of peer `index` in a network built from `seed`.
///
/// Each peer draws its secret from its own ChaCha20 stream (stream = index), so adding peers
/// never changes the identities of the ones already there.
pub fn keypair(seed: u64, index: usize) -> Keypair {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    Keypair::ed25519_from_bytes(secret).expect("any 32 bytes are a valid ed25519 secret key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_index_give_the_same_peer_id() {
        assert_eq!(
            keypair(42, 3).public().to_peer_id(),
            keypair(42, 3).public().to_peer_id()
        );
    }

    #[test]
    fn different_indexes_and_seeds_give_different_peer_ids() {
        let a = keypair(42, 0).public().to_peer_id();
        assert_ne!(a, keypair(42, 1).public().to_peer_id());
        assert_ne!(a, keypair(43, 0).public().to_peer_id());
    }
}
