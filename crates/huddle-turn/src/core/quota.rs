//! How many allocations one holder (a user id, a client address) has at once, against a limit.

use std::collections::HashMap;
use std::hash::Hash;

/// Allocations held per key; keys holding none are forgotten, so the map stays as small as the
/// set of current holders.
#[derive(Debug)]
pub(super) struct Quota<K> {
    limit: usize,
    held: HashMap<K, usize>,
}

impl<K: Hash + Eq> Quota<K> {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            held: HashMap::new(),
        }
    }

    pub(super) fn is_full(&self, key: &K) -> bool {
        self.held.get(key).copied().unwrap_or(0) >= self.limit
    }

    pub(super) fn take(&mut self, key: K) {
        *self.held.entry(key).or_default() += 1;
    }

    pub(super) fn give_back(&mut self, key: &K) {
        if let Some(count) = self.held.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.held.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_full_at_its_limit_until_one_is_given_back() {
        let mut quota = Quota::new(2);
        quota.take("a");
        assert!(!quota.is_full(&"a"));
        quota.take("a");
        assert!(quota.is_full(&"a"));
        assert!(!quota.is_full(&"b"));
        quota.give_back(&"a");
        assert!(!quota.is_full(&"a"));
        quota.give_back(&"a");
        assert!(quota.held.is_empty());
    }
}
