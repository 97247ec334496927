//! Rendered slot listings, kept until the next write: a rush of shoppers refreshing the same
//! days is answered from memory instead of re-reading and re-rendering the counts for each.
//!
//! An entry is valid only at the data version it was rendered at ([`Writes::version`]), which
//! every write of the inventory and every change of schedule, zone or closure moves on, so a
//! listing is never served after a change that could alter it. The entries are the object
//! instance's memory only: a new instance starts empty (and with a new tag prefix, see
//! [`safemarket_engine::listing_etag`]).
//!
//! [`Writes::version`]: super::sqlite::Writes::version

use std::cell::RefCell;
use std::rc::Rc;

use chrono::NaiveDate;

/// Listings kept at once (distinct date ranges): a 31-day listing of 10-minute slots is about
/// 665 KB, so at most a few MB.
const MAX_ENTRIES: usize = 4;

struct Entry {
    version: u64,
    from: NaiveDate,
    to: NaiveDate,
    json: Rc<Vec<u8>>,
}

/// The rendered listings of one object instance.
#[derive(Default)]
pub struct ListingCache {
    entries: RefCell<Vec<Entry>>,
}

impl ListingCache {
    /// The listing of `from..=to` rendered at `version`, if kept.
    pub fn get(&self, version: u64, from: NaiveDate, to: NaiveDate) -> Option<Rc<Vec<u8>>> {
        self.entries
            .borrow()
            .iter()
            .find(|e| e.version == version && e.from == from && e.to == to)
            .map(|e| e.json.clone())
    }

    /// Keeps a listing rendered at `version`; entries of older versions are dropped (they can
    /// never be served again), and the oldest entry when full.
    pub fn put(&self, version: u64, from: NaiveDate, to: NaiveDate, json: Rc<Vec<u8>>) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|e| e.version == version && !(e.from == from && e.to == to));
        if entries.len() >= MAX_ENTRIES {
            entries.remove(0);
        }
        entries.push(Entry {
            version,
            from,
            to,
            json,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).unwrap()
    }

    #[test]
    fn serves_only_the_version_and_range_it_rendered() {
        let cache = ListingCache::default();
        cache.put(3, day(1), day(2), Rc::new(b"a".to_vec()));
        assert_eq!(
            cache.get(3, day(1), day(2)).as_deref(),
            Some(&b"a".to_vec())
        );
        assert!(cache.get(4, day(1), day(2)).is_none());
        assert!(cache.get(3, day(1), day(3)).is_none());
        // A newer version drops every older entry.
        cache.put(4, day(5), day(5), Rc::new(b"b".to_vec()));
        assert!(cache.get(3, day(1), day(2)).is_none());
        assert!(cache.get(4, day(5), day(5)).is_some());
    }

    #[test]
    fn keeps_at_most_a_few_ranges() {
        let cache = ListingCache::default();
        for d in 1..=(MAX_ENTRIES as u32 + 1) {
            cache.put(1, day(d), day(d), Rc::new(vec![d as u8]));
        }
        assert!(cache.get(1, day(1), day(1)).is_none());
        for d in 2..=(MAX_ENTRIES as u32 + 1) {
            assert!(cache.get(1, day(d), day(d)).is_some());
        }
        assert_eq!(cache.entries.borrow().len(), MAX_ENTRIES);
    }
}
