//! Parts of a state shared by the states that have not changed them (copy on write), each remembering
//! its fingerprints.
//!
//! stateright clones a state for every action and fingerprints the result; most actions change one
//! client, one partition or the coordinator, and leave the rest as they were. A [`Shared`] part is a
//! reference-counted pointer: cloning a state copies pointers, and the first change through
//! `DerefMut` copies just that part. Each part also memoises the two fingerprints symmetry reduction
//! asks of it over and over: its signature (renaming-blind), its fingerprint under one renaming (the
//! renaming the parent state's canonical form used, which is usually the child's too) and under none
//! (the state's hash). A change forgets them all, so a memoised fingerprint is always that of the
//! current value.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A state part shared until changed; equality, order, hashing and `Debug` are the value's.
#[derive(Clone, Default)]
pub struct Shared<T>(Arc<Memoised<T>>);

/// The value and what is known about it. The checker's threads share parts, so what is known is kept
/// in atomics; 0 means "not known yet" (a fingerprint that happens to be 0 is just never remembered).
#[derive(Default)]
struct Memoised<T> {
    value: T,
    /// The renaming-blind signature.
    signature: AtomicU64,
    /// The fingerprint under no renaming (the state's hash needs it).
    identity: AtomicU64,
    /// The renaming whose fingerprint `fingerprint` holds (0: none yet; [`Memoised::WRITING`]: being
    /// written), for the first renaming asked about; set once.
    key: AtomicU64,
    /// The fingerprint under the renaming `key`.
    fingerprint: AtomicU64,
}

impl<T> Memoised<T> {
    /// `key` while `fingerprint` is being written.
    const WRITING: u64 = u64::MAX;

    fn new(value: T) -> Memoised<T> {
        let unknown = || AtomicU64::new(0);
        Memoised { value, signature: unknown(), identity: unknown(), key: unknown(), fingerprint: unknown() }
    }

    fn forget(&mut self) {
        for known in [&mut self.signature, &mut self.identity, &mut self.key, &mut self.fingerprint] {
            *known.get_mut() = 0;
        }
    }
}

/// A copy knows nothing yet (it is about to be changed).
impl<T: Clone> Clone for Memoised<T> {
    fn clone(&self) -> Self {
        Memoised::new(self.value.clone())
    }
}

/// The memoised value of `slot`, or `compute`'s, remembered.
fn remembered(slot: &AtomicU64, compute: impl FnOnce() -> u64) -> u64 {
    match slot.load(Ordering::Relaxed) {
        0 => {
            let value = compute();
            slot.store(value, Ordering::Relaxed);
            value
        }
        known => known,
    }
}

impl<T> Shared<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Shared<T> {
        Shared(Arc::new(Memoised::new(value)))
    }

    /// The value's signature, computed by `compute` the first time.
    pub fn signature(&self, compute: impl FnOnce(&T) -> u64) -> u64 {
        remembered(&self.0.signature, || compute(&self.0.value))
    }

    /// The value's fingerprint under the renaming with `key` (not 0), or under no renaming if
    /// `identity`; computed by `compute` unless it is one remembered.
    pub fn fingerprint(&self, key: u64, identity: bool, compute: impl FnOnce(&T) -> u64) -> u64 {
        let m = &self.0;
        if identity {
            return remembered(&m.identity, || compute(&m.value));
        }
        debug_assert!(key != 0 && key != Memoised::<T>::WRITING);
        match m.key.load(Ordering::Acquire) {
            known if known == key => m.fingerprint.load(Ordering::Relaxed),
            0 => {
                let fingerprint = compute(&m.value);
                // Publish (key after fingerprint) unless another thread is publishing its own.
                if m.key.compare_exchange(0, Memoised::<T>::WRITING, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    m.fingerprint.store(fingerprint, Ordering::Relaxed);
                    m.key.store(key, Ordering::Release);
                }
                fingerprint
            }
            _ => compute(&m.value),
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

/// A change copies the value if another state shares it, and forgets what was known about it.
impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        let memoised = Arc::make_mut(&mut self.0);
        memoised.forget();
        &mut memoised.value
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.value == other.0.value
    }
}
impl<T: Eq> Eq for Shared<T> {}
impl<T: PartialOrd> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.0.value.partial_cmp(&other.0.value)
    }
}
impl<T: Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.value.cmp(&other.0.value)
    }
}
impl<T: Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.value.hash(h)
    }
}
impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change copies a shared value and forgets its memoised fingerprints; the other copy keeps them.
    #[test]
    fn changes_copy_and_forget() {
        let mut a = Shared::new(vec![1]);
        assert_eq!(a.fingerprint(7, false, |v| v.len() as u64), 1);
        assert_eq!(a.fingerprint(7, false, |_| 99), 1, "remembered");
        assert_eq!(a.fingerprint(8, false, |_| 99), 99, "another renaming is computed");
        assert_eq!(a.fingerprint(0, true, |_| 5), 5);
        assert_eq!(a.fingerprint(0, true, |_| 99), 5, "the identity is remembered too");
        let b = a.clone();
        a.push(2);
        assert_eq!((a.len(), b.len()), (2, 1));
        assert_eq!(a.fingerprint(7, false, |v| v.len() as u64), 2, "forgotten on change");
        assert_eq!(a.fingerprint(0, true, |v| v.len() as u64), 2, "forgotten on change");
        assert_eq!(b.fingerprint(7, false, |_| 99), 1, "the unchanged copy remembers");
        assert_eq!(a.signature(|v| v.len() as u64 * 10), 20);
    }
}
