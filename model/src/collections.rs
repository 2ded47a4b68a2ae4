//! Small, cheap-to-clone collections for model state.
//!
//! The checker clones, hashes and compares millions of states; `BTreeSet`/`BTreeMap` allocate per
//! node. The domains here are tiny (a few producers, partitions, attempts), so sets are bitmasks,
//! maps are sorted vectors, and both keep their first few entries inline ([`InlineVec`]), so copying
//! them allocates nothing. (A state's larger parts are shared between the states that did not change
//! them: [`crate::shared`].) Iteration order is deterministic (by index / by key), as stateright needs.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// A vector whose first `N` items live inline (no allocation); more spill to the heap.
pub type InlineVec<T, const N: usize> = smallvec::SmallVec<[T; N]>;

/// Types with a small index (below 32) that [`IndexSet`] can hold.
pub trait Indexed: Copy {
    /// The element's bit, in `0..32`.
    fn index(self) -> u32;
    /// The element with bit `index`.
    fn from_index(index: u32) -> Self;
}

/// A set of [`Indexed`] elements as a 32-bit mask.
pub struct IndexSet<T> {
    bits: u32,
    marker: PhantomData<T>,
}

impl<T: Indexed> IndexSet<T> {
    /// The empty set.
    pub const fn new() -> Self {
        IndexSet { bits: 0, marker: PhantomData }
    }

    /// Adds `x`; true if it was not there.
    pub fn insert(&mut self, x: T) -> bool {
        let bit = 1u32 << x.index();
        let fresh = self.bits & bit == 0;
        self.bits |= bit;
        fresh
    }

    /// Removes `x`; true if it was there.
    pub fn remove(&mut self, x: &T) -> bool {
        let bit = 1u32 << x.index();
        let present = self.bits & bit != 0;
        self.bits &= !bit;
        present
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: &T) -> bool {
        self.bits & (1u32 << x.index()) != 0
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.bits.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.bits = 0;
    }

    /// Whether no element is in both.
    pub fn is_disjoint(&self, other: &Self) -> bool {
        self.bits & other.bits == 0
    }

    /// Whether every element of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.bits & !other.bits == 0
    }

    /// The elements, by index.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mut rest = self.bits;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let index = rest.trailing_zeros();
                rest &= rest - 1;
                T::from_index(index)
            })
        })
    }

    /// The set with every element mapped by `f`.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        self.iter().map(f).collect()
    }

    /// The set as its bit mask (bit `i` for the element with index `i`).
    pub fn bits(&self) -> u32 {
        self.bits
    }
}

impl<T: Indexed> FromIterator<T> for IndexSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut set = IndexSet::new();
        for x in items {
            set.insert(x);
        }
        set
    }
}

impl<T, const N: usize> From<[T; N]> for IndexSet<T>
where
    T: Indexed,
{
    fn from(items: [T; N]) -> Self {
        items.into_iter().collect()
    }
}

// Derives would require `T: Trait`; the set is just its bits.
impl<T> Clone for IndexSet<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for IndexSet<T> {}
impl<T> Default for IndexSet<T> {
    fn default() -> Self {
        IndexSet { bits: 0, marker: PhantomData }
    }
}
impl<T> PartialEq for IndexSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<T> Eq for IndexSet<T> {}
impl<T> PartialOrd for IndexSet<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for IndexSet<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bits.cmp(&other.bits)
    }
}
impl<T> std::hash::Hash for IndexSet<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state)
    }
}
impl<T: Indexed + fmt::Display> fmt::Debug for IndexSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.iter().map(|x| x.to_string()).collect();
        write!(f, "{{{}}}", items.join(", "))
    }
}
impl<T: Indexed + Serialize> Serialize for IndexSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}
impl<'de, T: Indexed + Deserialize<'de>> Deserialize<'de> for IndexSet<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items: Vec<T> = Vec::deserialize(d)?;
        Ok(items.into_iter().collect())
    }
}

/// A map with few entries, as a vector sorted by key whose first `N` entries are inline.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SmallMap<K, V, const N: usize = 4> {
    entries: InlineVec<(K, V), N>,
}

impl<K: Ord + Copy, V, const N: usize> SmallMap<K, V, N> {
    /// The empty map.
    pub const fn new() -> Self {
        SmallMap { entries: InlineVec::new_const() }
    }

    fn find(&self, k: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(key, _)| key.cmp(k))
    }

    /// The value of `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `k`, mutably.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.find(k).ok().map(|i| &mut self.entries[i].1)
    }

    /// Sets `k` to `v`; returns the old value.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, v)),
            Err(i) => {
                self.entries.insert(i, (k, v));
                None
            }
        }
    }

    /// Removes `k`; returns its value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.find(k).ok().map(|i| self.entries.remove(i).1)
    }

    /// Lets `f` change the value of `k` and removes the entry if `f` returns true (one search where
    /// `get_mut` then `remove` would take two); false if `k` has no value.
    pub fn update_or_remove(&mut self, k: &K, f: impl FnOnce(&mut V) -> bool) -> bool {
        let Ok(i) = self.find(k) else { return false };
        if f(&mut self.entries[i].1) {
            self.entries.remove(i);
        }
        true
    }

    /// The value of `k`, inserting `make()` first if absent.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (k, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Whether `k` has a value.
    pub fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_ok()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Copy, V, const N: usize> Default for SmallMap<K, V, N> {
    fn default() -> Self {
        SmallMap::new()
    }
}

impl<K: Ord + Copy, V, const N: usize> FromIterator<(K, V)> for SmallMap<K, V, N> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(items: I) -> Self {
        let mut map = SmallMap::new();
        for (k, v) in items {
            map.insert(k, v);
        }
        map
    }
}

impl<K: fmt::Debug, V: fmt::Debug, const N: usize> fmt::Debug for SmallMap<K, V, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(k, v)| (k, v))).finish()
    }
}

/// Partition indices (and other small numbers) index themselves.
impl Indexed for u8 {
    fn index(self) -> u32 {
        debug_assert!(self < 32, "index {self} does not fit an IndexSet");
        u32::from(self)
    }
    fn from_index(index: u32) -> Self {
        index as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitset behaves as a set: insert, remove, subset, ordered iteration.
    #[test]
    fn index_set_is_a_set() {
        let mut s: IndexSet<u8> = IndexSet::new();
        assert!(s.insert(3) && s.insert(0) && !s.insert(3));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3]);
        assert!(IndexSet::from([3u8]).is_subset(&s) && !s.is_subset(&IndexSet::from([3u8])));
        assert!(s.remove(&0) && !s.remove(&0));
        assert_eq!(s.len(), 1);
    }

    /// The small map keeps keys sorted and replaces values on insert.
    #[test]
    fn small_map_is_a_sorted_map() {
        let mut m: SmallMap<u8, &str> = SmallMap::new();
        m.insert(5, "five");
        m.insert(1, "one");
        assert_eq!(m.insert(5, "FIVE"), Some("five"));
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), vec![1, 5]);
        *m.get_or_insert_with(3, || "three") = "3";
        assert_eq!(m.get(&3), Some(&"3"));
        assert_eq!(m.remove(&1), Some("one"));
        assert!(!m.contains_key(&1) && m.len() == 2);
    }

    /// A count kept as a map's value goes down one at a time, and its entry goes at zero.
    #[test]
    fn update_or_remove_counts_down() {
        let mut copies: SmallMap<u8, u8> = [(7, 2)].into_iter().collect();
        let take = |m: &mut SmallMap<u8, u8>| {
            m.update_or_remove(&7, |n| {
                *n -= 1;
                *n == 0
            })
        };
        assert!(take(&mut copies) && copies.get(&7) == Some(&1));
        assert!(take(&mut copies) && !copies.contains_key(&7));
        assert!(!take(&mut copies), "nothing left to take");
    }
}
