//! Values that must not repeat within one snapshot of employees.

use std::collections::BTreeMap;

use crate::{Employee, EmployeeId, EmploymentStatus};

/// Which unique value repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatedField {
    /// The employee id: the same person listed twice.
    Id,
    /// A work e-mail (compared ignoring case) on two active employees.
    Email,
    /// A card on two active employees.
    Card,
}

/// A value seen before, and where (a line, a record index…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat<P> {
    pub field: RepeatedField,
    pub first: P,
}

/// Notes each employee's unique values with its position in a snapshot. E-mails and cards
/// count only on active employees: a leaver's card may already be handed to a new hire.
#[derive(Debug)]
pub struct UniqueValues<P> {
    ids: BTreeMap<EmployeeId, P>,
    emails: BTreeMap<String, P>,
    cards: BTreeMap<String, P>,
}

impl<P> Default for UniqueValues<P> {
    fn default() -> Self {
        Self {
            ids: BTreeMap::new(),
            emails: BTreeMap::new(),
            cards: BTreeMap::new(),
        }
    }
}

impl<P: Copy> UniqueValues<P> {
    /// Notes `employee` at `at`; the values it repeats, each with where it was first seen.
    /// A repeated id hides the other checks (the whole entry is a duplicate).
    pub fn record(&mut self, employee: &Employee, at: P) -> Vec<Repeat<P>> {
        if let Some(first) = self.ids.get(&employee.id) {
            return vec![Repeat {
                field: RepeatedField::Id,
                first: *first,
            }];
        }
        self.ids.insert(employee.id.clone(), at);
        if employee.status != EmploymentStatus::Active {
            return Vec::new();
        }

        let mut repeats = Vec::new();
        if let Some(email) = &employee.email {
            let key = email.as_str().to_lowercase();
            if let Some(first) = first_or_insert(&mut self.emails, key, at) {
                repeats.push(Repeat {
                    field: RepeatedField::Email,
                    first,
                });
            }
        }
        if let Some(card) = &employee.card
            && let Some(first) = first_or_insert(&mut self.cards, card.value.clone(), at)
        {
            repeats.push(Repeat {
                field: RepeatedField::Card,
                first,
            });
        }
        repeats
    }
}

/// Where `key` was first seen, or `None` after noting it now at `at`.
fn first_or_insert<P: Copy>(seen: &mut BTreeMap<String, P>, key: String, at: P) -> Option<P> {
    match seen.get(&key) {
        Some(first) => Some(*first),
        None => {
            seen.insert(key, at);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, PersonName};

    fn person(id: &str, email: &str, status: EmploymentStatus) -> Employee {
        Employee {
            id: EmployeeId::parse(id).unwrap(),
            name: PersonName::parse("A").unwrap(),
            email: Some(Email::parse(email).unwrap()),
            groups: Default::default(),
            status,
            start_date: None,
            end_date: None,
            card: None,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn repeated_ids_and_active_emails_are_reported_with_the_first_position() {
        let mut seen = UniqueValues::default();
        let active = EmploymentStatus::Active;

        assert!(
            seen.record(&person("E-1", "a@example.com", active), 1)
                .is_empty()
        );
        let leaver = person("E-2", "A@example.com", EmploymentStatus::Terminated);
        assert!(
            seen.record(&leaver, 2).is_empty(),
            "a leaver may share an address"
        );
        let email = seen.record(&person("E-3", "A@Example.com", active), 3);
        let id = seen.record(&person("E-1", "z@example.com", active), 4);

        assert_eq!(
            email,
            [Repeat {
                field: RepeatedField::Email,
                first: 1
            }]
        );
        assert_eq!(
            id,
            [Repeat {
                field: RepeatedField::Id,
                first: 1
            }]
        );
    }
}
