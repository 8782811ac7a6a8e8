//! The order `history` shows activity in, oldest first, then by id: one
//! definition for both back ends, which read the records unordered.
//!
//! A region's user sees about 37,000 records; sorting them by comparing
//! both texts of every pair was a fifth of the command. Each record's date
//! and id are first compared as numbers made of their first sixteen bytes
//! (and their lengths), and the texts only when those cannot decide.

use std::cmp::Ordering;

use crate::model::Activity;

/// A text's first sixteen bytes, zero-padded, as a big-endian number, and
/// its length (17 for any longer text).
type Key = (u128, u8);

fn key(text: &str) -> Key {
    let bytes = text.as_bytes();
    let mut padded = [0u8; 16];
    let n = bytes.len().min(16);
    padded[..n].copy_from_slice(&bytes[..n]);
    (u128::from_be_bytes(padded), bytes.len().min(17) as u8)
}

/// How two texts compare, from their keys, where the keys decide it. If
/// the numbers differ, the first differing byte within the sixteen decides
/// both (a text that is a prefix of the other, padded with zeros, is never
/// the greater). If they are equal and both texts are at most sixteen bytes
/// long, the shorter is a prefix of the longer, or they are equal. Two
/// longer texts with the same first sixteen bytes need their texts.
fn by_keys(a: Key, b: Key) -> Option<Ordering> {
    match a.0.cmp(&b.0) {
        Ordering::Equal if a.1 > 16 || b.1 > 16 => None,
        Ordering::Equal => Some(a.1.cmp(&b.1)),
        decided => Some(decided),
    }
}

fn by_date_then_id(a: &Activity, b: &Activity) -> Ordering {
    (a.occurred_at.as_str(), a.activity_id.as_str())
        .cmp(&(b.occurred_at.as_str(), b.activity_id.as_str()))
}

/// Sorts `records` oldest first, then by activity id (the table's key, so no
/// two records compare equal and the order is the one order).
pub fn oldest_first(records: Vec<Activity>) -> Vec<Activity> {
    // Sorting the records themselves would move about 150 bytes at every
    // swap: sort their places, then move each once.
    let mut order: Vec<(Key, Key, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (key(&r.occurred_at), key(&r.activity_id), i as u32))
        .collect();
    order.sort_unstable_by(|(da, ia, a), (db, ib, b)| {
        let texts = || by_date_then_id(&records[*a as usize], &records[*b as usize]);
        match by_keys(*da, *db) {
            Some(Ordering::Equal) => by_keys(*ia, *ib).unwrap_or_else(texts),
            Some(decided) => decided,
            None => texts(),
        }
    });
    let mut slots: Vec<Option<Activity>> = records.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, _, i)| slots[i as usize].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActivityKind;
    use proptest::prelude::*;

    fn record(id: &str, at: &str) -> Activity {
        Activity {
            activity_id: id.into(),
            ods_code: "A81001".into(),
            account_id: "U1".into(),
            kind: ActivityKind::OfferMade,
            occurred_at: at.into(),
            detail: None,
        }
    }

    proptest! {
        #[test]
        fn the_order_is_the_order_of_the_two_texts(
            records in proptest::collection::vec(
                ("[A-C\\x00]{0,20}", "(20[12][0-9]-0[1-3]-[0-3][0-9])?[ T0-9:\\x00]{0,12}"), 0..60)
        ) {
            let records: Vec<Activity> = records
                .iter()
                .enumerate()
                .map(|(i, (id, at))| record(&format!("{id}{i}"), at))
                .collect();
            let mut expected = records.clone();
            expected.sort_by(by_date_then_id);
            prop_assert_eq!(oldest_first(records), expected);
        }
    }

    #[test]
    fn a_date_longer_than_sixteen_bytes_is_compared_whole() {
        let records = vec![
            record("A2", "2020-01-01T10:00:09"),
            record("A1", "2020-01-01T10:00:01"),
            record("A3", "2020-01-01T10:00:0"),
            record("A0", "2020-01-01"),
            record("A4", "2020-01-01\u{0}"),
        ];
        let ids: Vec<String> = oldest_first(records)
            .into_iter()
            .map(|r| r.activity_id)
            .collect();
        assert_eq!(ids, ["A0", "A4", "A3", "A1", "A2"]);
    }
}
