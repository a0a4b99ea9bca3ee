//! The deletion guard: a run that would delete many members at once holds the deletions
//! for an admin instead of applying them.
//!
//! A broken HR export (an empty file, half the rows lost, a filter applied by mistake)
//! looks exactly like a wave of leavers. Deleting a member revokes all its access at once
//! and loses what Akiles held for it, so a run (file import, push snapshot, reconcile)
//! counts the members it would delete because their employee has no access any more. When
//! that count is above the tenant's limits, every other change is applied and those
//! deletions are held, listed for an admin to approve or reject. A run that deletes a
//! single member is never held: that is an ordinary leaver.

use serde::{Deserialize, Serialize};

/// The limits of one tenant. A run is held when it would delete more than `max_deletions`
/// members, or more than `max_deletion_percent` percent of the members the sync owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionGuard {
    /// Most members one run may delete without an admin's approval.
    #[serde(default = "default_max_deletions")]
    pub max_deletions: u32,
    /// Most members one run may delete, as a percentage of the members the sync owns.
    #[serde(default = "default_max_percent")]
    pub max_deletion_percent: u8,
}

impl Default for DeletionGuard {
    fn default() -> Self {
        Self {
            max_deletions: default_max_deletions(),
            max_deletion_percent: default_max_percent(),
        }
    }
}

fn default_max_deletions() -> u32 {
    10
}

fn default_max_percent() -> u8 {
    10
}

impl DeletionGuard {
    /// Whether deleting `deletions` of `owned` members needs an admin. A single deletion
    /// never does.
    pub fn holds(&self, deletions: usize, owned: usize) -> bool {
        if deletions <= 1 {
            return false;
        }
        let over_count = deletions > self.max_deletions as usize;
        let over_share = deletions * 100 > usize::from(self.max_deletion_percent) * owned.max(1);
        over_count || over_share
    }

    /// A problem with the values, naming the field.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        (self.max_deletion_percent > 100)
            .then_some(("deletion_guard.max_deletion_percent", "must be 0 to 100"))
    }

    /// `more than 10 members or 10 % of the 40 owned`.
    pub fn describe(&self, deletions: usize, owned: usize) -> String {
        format!(
            "{deletions} of the {owned} members the sync owns would be deleted, more than the \
             tenant allows in one run ({} members or {} %)",
            self.max_deletions, self.max_deletion_percent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b15_twenty_eight_of_forty_is_held_one_of_forty_is_not() {
        let guard = DeletionGuard {
            max_deletions: 5,
            max_deletion_percent: 10,
        };

        assert!(guard.holds(28, 40));
        assert!(!guard.holds(1, 40));
        assert!(!guard.holds(4, 40));
        assert!(guard.holds(5, 40), "5 of 40 is 12.5 %");
    }

    #[test]
    fn a_single_deletion_is_never_held_even_in_a_tiny_tenant() {
        assert!(!DeletionGuard::default().holds(1, 1));
        assert!(DeletionGuard::default().holds(2, 3));
    }

    #[test]
    fn large_tenants_are_bound_by_the_count() {
        let guard = DeletionGuard::default();

        assert!(!guard.holds(10, 5000));
        assert!(guard.holds(11, 5000));
    }
}
