//! Whether every receiver saw the chat in one order (a cluster's promise), counted exactly.
//!
//! Per-sender order is counted as each delivery arrives (`RunResult::out_of_order`); across senders
//! there is no order to check a delivery against until the run is over. So each receiver keeps the
//! order in which its deliveries arrived, and the reference is the receiver that got the most. For
//! every other receiver, of the deliveries both got, the fewest that must be taken out so that the
//! rest came in the reference's order: their number minus the longest run of them (not necessarily
//! adjacent) whose positions in the reference increase. 0 for every receiver means one order for all.

use std::collections::HashMap;

/// One bench message: its sender and that sender's sequence number.
pub fn key(sender: usize, seq: u64) -> u64 {
    ((sender as u64) << 40) | seq
}

/// How the receivers' orders of arrival agree with the reference receiver's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderCheck {
    /// Deliveries compared with the reference (those the reference received too).
    pub compared: u64,
    /// Of those, the fewest that are out of the reference's order.
    pub out_of_order: u64,
    /// Receivers with at least one delivery out of the reference's order.
    pub receivers_differing: usize,
}

/// Compares every receiver's order of arrival (message [`key`]s) with the longest one's.
pub fn check(arrivals: &[&[u64]]) -> OrderCheck {
    let mut result = OrderCheck::default();
    let Some((reference_index, reference)) = arrivals.iter().enumerate().max_by_key(|(i, a)| (a.len(), usize::MAX - i))
    else {
        return result;
    };
    let mut position: HashMap<u64, u32> = HashMap::with_capacity(reference.len());
    for (at, key) in reference.iter().enumerate() {
        // A duplicate delivery to the reference keeps its first position.
        position.entry(*key).or_insert(at as u32);
    }
    let mut seen = vec![false; reference.len()];
    for (index, receiver) in arrivals.iter().enumerate() {
        if index == reference_index {
            continue;
        }
        seen.fill(false);
        // Each message once: a duplicate is counted as such elsewhere, not as a reordering here.
        let positions: Vec<u32> = receiver
            .iter()
            .filter_map(|key| position.get(key).copied())
            .filter(|&at| !std::mem::replace(&mut seen[at as usize], true))
            .collect();
        let out = positions.len() - longest_increasing(&positions);
        result.compared += positions.len() as u64;
        result.out_of_order += out as u64;
        result.receivers_differing += usize::from(out > 0);
    }
    result
}

/// Length of the longest strictly increasing subsequence (patience sorting, O(n log n)).
fn longest_increasing(values: &[u32]) -> usize {
    // tails[k]: the smallest last value of an increasing subsequence of length k + 1.
    let mut tails: Vec<u32> = Vec::new();
    for &v in values {
        let at = tails.partition_point(|&t| t < v);
        if at == tails.len() {
            tails.push(v);
        } else {
            tails[at] = v;
        }
    }
    tails.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_order_for_all_is_zero() {
        let a = [key(0, 0), key(1, 0), key(0, 1), key(1, 1)];
        // Receiver 1 is sender 1 and does not get its own messages: only the common ones count.
        let b = [key(0, 0), key(0, 1)];
        let check = check(&[&a, &b, &a]);
        assert_eq!(check, OrderCheck { compared: 6, out_of_order: 0, receivers_differing: 0 });
    }

    #[test]
    fn counts_the_fewest_deliveries_out_of_the_reference_order() {
        let reference: Vec<u64> = (0..6).map(|n| key(n, 0)).collect();
        // Two senders' streams interleaved the other way round: one delivery is out of place.
        let swapped = [key(1, 0), key(0, 0), key(2, 0), key(3, 0), key(4, 0), key(5, 0)];
        // Another node's order: its three messages first, then the rest.
        let node = [key(3, 0), key(4, 0), key(5, 0), key(0, 0), key(1, 0), key(2, 0)];
        let check = check(&[&reference, &swapped, &node]);
        assert_eq!(check, OrderCheck { compared: 12, out_of_order: 1 + 3, receivers_differing: 2 });
    }

    #[test]
    fn duplicates_and_messages_the_reference_lacks_are_not_reorderings() {
        let reference = [key(0, 0), key(0, 1), key(0, 2)];
        let other = [key(0, 0), key(0, 1), key(0, 0), key(9, 9), key(0, 2)];
        assert_eq!(check(&[&reference, &other]), OrderCheck { compared: 3, out_of_order: 0, receivers_differing: 0 });
    }

    #[test]
    fn longest_increasing_subsequence() {
        assert_eq!(longest_increasing(&[]), 0);
        assert_eq!(longest_increasing(&[3, 1, 2, 5, 4, 6]), 4);
        assert_eq!(longest_increasing(&[5, 4, 3]), 1);
    }
}
