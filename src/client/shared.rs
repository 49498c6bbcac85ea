//! Copy-on-write sharing of a client's persistent state.

use std::sync::Arc;

/// A value that clones share until one of them changes it: a clone costs a reference count,
/// and the first change through a shared copy copies the value first (`Arc::make_mut`). Reads,
/// equality and hashing are those of the value. The model checker keeps many copies of a few
/// device states ([MODEL-19]); a device keeps one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shared<T: Clone>(Arc<T>);

impl<T: Clone> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T: Clone> core::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> core::ops::DerefMut for Shared<T> {
    // copy on write: a value shared with a clone is copied before it changes
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn a_change_through_one_clone_leaves_the_other() {
        let a = Shared::new(vec![1u8]);
        let mut b = a.clone();
        b.push(2);
        assert_eq!(*a, vec![1]);
        assert_eq!(*b, vec![1, 2]);
        assert!(a != b, "the clones differ");
    }
}
