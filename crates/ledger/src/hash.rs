//! The chain hash of an entry and the Merkle root of a run.

use sha2::{Digest, Sha256};

/// Domain separator of the chain hash; the `v1` changes if the formula ever does.
pub const CHAIN_DOMAIN: &[u8] = b"phasegate-ledger-v1";

/// The hash of the first entry's predecessor.
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// The chain hash of the entry at `seq`:
/// `sha256("phasegate-ledger-v1" || seq as 8 bytes big-endian || prev_hash || body)`.
///
/// `seq` is inside the hash so that moving an entry to another position breaks it, and
/// `prev_hash` so that changing any earlier entry breaks every later link.
pub fn entry_hash(seq: u64, prev_hash: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHAIN_DOMAIN);
    h.update(seq.to_be_bytes());
    h.update(prev_hash);
    h.update(body);
    h.finalize().into()
}

/// An RFC 6962 Merkle tree hash built one leaf at a time, in `O(log n)` memory: the stack
/// holds the roots of the perfect subtrees seen so far, largest first. This is what lets
/// verify follow many interleaved runs over a million records without keeping their leaves.
///
/// It serializes (for [`crate::Checkpoint`]), so a verification can stop and resume.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MerkleBuilder {
    stack: Vec<(u64, [u8; 32])>,
    leaves: u64,
}

impl MerkleBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next leaf; its leaf hash is `H(0x00 || data)`.
    pub fn push(&mut self, data: &[u8]) {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(data);
        let mut node: (u64, [u8; 32]) = (1, h.finalize().into());
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.leaves += 1;
    }

    /// Number of leaves added.
    pub fn len(&self) -> u64 {
        self.leaves
    }

    /// Whether no leaf was added.
    pub fn is_empty(&self) -> bool {
        self.leaves == 0
    }

    /// The root: `H("")` for no leaves; otherwise the subtrees folded right to left, which
    /// is RFC 6962's split at the largest power of two below `n`.
    pub fn root(&self) -> [u8; 32] {
        let mut iter = self.stack.iter().rev();
        match iter.next() {
            None => Sha256::digest(b"").into(),
            Some(&(_, last)) => iter.fold(last, |acc, (_, left)| node_hash(left, &acc)),
        }
    }
}

/// `H(0x01 || left || right)`.
fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The RFC 6962 Merkle root of `leaves`, in order.
pub fn merkle_root<T: AsRef<[u8]>>(leaves: &[T]) -> [u8; 32] {
    let mut b = MerkleBuilder::new();
    for leaf in leaves {
        b.push(leaf.as_ref());
    }
    b.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6962 section 2.1, written as the RFC states it.
    fn reference(leaves: &[Vec<u8>]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => {
                let mut h = Sha256::new();
                h.update([0u8]);
                h.update(&leaves[0]);
                h.finalize().into()
            }
            n => {
                // The largest power of two smaller than n.
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&reference(&leaves[..k]), &reference(&leaves[k..]))
            }
        }
    }

    #[test]
    fn empty_root_is_hash_of_nothing() {
        assert_eq!(
            hex::encode(merkle_root::<&[u8]>(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn matches_the_rfc_6962_test_vector() {
        // The eight leaves of certificate-transparency's merkle_tree_test.cc.
        let leaves: Vec<Vec<u8>> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect();
        assert_eq!(
            hex::encode(merkle_root(&leaves)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        assert_eq!(
            hex::encode(merkle_root(&leaves[..3])),
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
        );
    }

    proptest! {
        #[test]
        fn incremental_equals_recursive(leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..70)) {
            prop_assert_eq!(merkle_root(&leaves), reference(&leaves));
        }
    }

    #[test]
    fn chain_hash_depends_on_every_part() {
        let base = entry_hash(1, &ZERO_HASH, b"x");
        assert_ne!(base, entry_hash(2, &ZERO_HASH, b"x"));
        assert_ne!(base, entry_hash(1, &[1; 32], b"x"));
        assert_ne!(base, entry_hash(1, &ZERO_HASH, b"y"));
    }
}
