//! `/members/{member_id}/pins`: keypad PINs, unique among the organization's live PINs.
//!
//! Create and reveal return the digits; GET, list and expand never do.

use std::collections::BTreeSet;
use std::sync::Arc;

use akiles_types::{MemberPin, MetadataOnlyPatch, NewMemberPin, Page};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use rand::{Rng, RngExt};

use super::members::hide_pin;
use super::{delete_owned, owned, patch_owned};
use crate::body::{JsonBody, check_metadata};
use crate::error::ApiError;
use crate::faults::OrgId;
use crate::list::{ListOptions, Params, paginate};
use crate::state::{OrgState, Shared, now};

type Api<T> = Result<Json<T>, ApiError>;

/// Length of a generated PIN when the request gives neither `pin` nor `length` (a guess).
pub const DEFAULT_PIN_LENGTH: usize = 6;

const PIN_LENGTHS: std::ops::RangeInclusive<usize> = 4..=20;

/// Random tries before falling back to scanning for a free generated PIN.
const GENERATE_ATTEMPTS: usize = 1000;

/// What a PIN create asks for, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum PinRequest {
    /// Use these digits.
    Given(String),
    /// Generate this many digits.
    Generate(usize),
}

/// Applies the PIN rules to the `pin` and `length` of a create body.
pub fn check_pin_request(pin: Option<&str>, length: Option<i32>) -> Result<PinRequest, ApiError> {
    let length = match length {
        None => None,
        Some(n) => Some(
            usize::try_from(n)
                .ok()
                .filter(|n| PIN_LENGTHS.contains(n))
                .ok_or_else(|| ApiError::invalid("length", "length must be between 4 and 20"))?,
        ),
    };
    let Some(pin) = pin else {
        return Ok(PinRequest::Generate(length.unwrap_or(DEFAULT_PIN_LENGTH)));
    };

    if !PIN_LENGTHS.contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_because(
            "pin",
            "invalid_format",
            "a PIN is 4 to 20 digits",
        ));
    }
    if length.is_some_and(|n| n != pin.len()) {
        let message = "length does not match the length of pin";
        return Err(ApiError::invalid_because("length", "mismatch", message));
    }
    Ok(PinRequest::Given(pin.to_owned()))
}

/// Random digits of `length` not in `taken`, or `None` when every PIN of that length is taken.
pub fn generate_pin(rng: &mut impl Rng, length: usize, taken: &BTreeSet<&str>) -> Option<String> {
    let random = (0..GENERATE_ATTEMPTS).find_map(|_| {
        let pin: String = (0..length)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        (!taken.contains(pin.as_str())).then_some(pin)
    });
    // A nearly full space: scan in order; at most `taken.len() + 1` candidates are needed.
    random.or_else(|| {
        (0..=taken.len())
            .map(|n| format!("{n:0length$}"))
            .find(|pin| pin.len() == length && !taken.contains(pin.as_str()))
    })
}

fn live_pins(org: &OrgState) -> BTreeSet<&str> {
    let live = org.pins.values().filter(|p| !p.is_deleted);
    live.filter_map(|p| p.pin.as_deref()).collect()
}

pub(super) async fn list_pins(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    params: Params,
) -> Api<Page<MemberPin>> {
    let options = ListOptions::parse(&params)?;
    shared.read(&org_id, |org| {
        org.member(&member_id)?;
        let mut page = paginate(&org.pins, &options, |p| p.member_id == member_id);
        page.data.iter_mut().for_each(|p| p.pin = None);
        Ok(Json(page))
    })
}

pub(super) async fn get_pin(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, pin_id)): Path<(String, String)>,
) -> Api<MemberPin> {
    shared.read(&org_id, |org| {
        Ok(Json(hide_pin(owned(org, &org.pins, &member_id, &pin_id)?)))
    })
}

pub(super) async fn create_pin(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path(member_id): Path<String>,
    JsonBody(new): JsonBody<NewMemberPin>,
) -> Api<MemberPin> {
    let request = check_pin_request(new.pin.as_deref(), new.length)?;
    check_metadata(&new.metadata)?;

    shared.write(&org_id, |org, ids| {
        org.live_member(&member_id)?;
        let taken = live_pins(org);
        let digits = match request {
            PinRequest::Given(pin) if taken.contains(pin.as_str()) => {
                let message = "the PIN is already in use in this organization";
                return Err(ApiError::invalid_because("pin", "already_in_use", message));
            }
            PinRequest::Given(pin) => pin,
            PinRequest::Generate(length) => {
                generate_pin(ids.rng(), length, &taken).ok_or_else(|| {
                    let message = "no free PIN of this length could be found";
                    ApiError::invalid_because("length", "exhausted", message)
                })?
            }
        };

        let created_at = now();
        let pin = MemberPin {
            id: ids.mint("mp", created_at),
            organization_id: org_id.clone(),
            member_id: member_id.clone(),
            length: i32::try_from(digits.len()).unwrap_or(0),
            is_deleted: false,
            created_at: Some(created_at),
            metadata: new.metadata,
            pin: Some(digits),
        };
        org.pins.insert(pin.id.clone(), pin.clone());
        Ok(Json(pin))
    })
}

pub(super) async fn reveal_pin(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, pin_id)): Path<(String, String)>,
) -> Api<MemberPin> {
    shared.read(&org_id, |org| {
        Ok(Json(owned(org, &org.pins, &member_id, &pin_id)?.clone()))
    })
}

pub(super) async fn patch_pin(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, pin_id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<MetadataOnlyPatch>,
) -> Api<MemberPin> {
    shared.write(&org_id, |org, _| {
        let pin = patch_owned(org, |o| &mut o.pins, &member_id, &pin_id, &patch.metadata)?;
        Ok(Json(hide_pin(&pin)))
    })
}

pub(super) async fn delete_pin(
    State(shared): State<Arc<Shared>>,
    Extension(OrgId(org_id)): Extension<OrgId>,
    Path((member_id, pin_id)): Path<(String, String)>,
) -> Api<MemberPin> {
    shared.write(&org_id, |org, _| {
        let pin = delete_owned(org, |o| &mut o.pins, &member_id, &pin_id)?;
        Ok(Json(hide_pin(&pin)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn field(result: Result<PinRequest, ApiError>) -> String {
        result.unwrap_err().body.args["field"].clone()
    }

    #[test]
    fn pin_must_be_four_to_twenty_digits() {
        assert_eq!(field(check_pin_request(Some("123"), None)), "pin");
        assert_eq!(field(check_pin_request(Some(&"1".repeat(21)), None)), "pin");
        assert_eq!(field(check_pin_request(Some("12a4"), None)), "pin");
        assert_eq!(field(check_pin_request(Some("１２３４"), None)), "pin");
        assert_eq!(
            check_pin_request(Some("0123"), None).unwrap(),
            PinRequest::Given("0123".into())
        );
    }

    #[test]
    fn length_must_be_in_range_and_agree_with_the_pin() {
        assert_eq!(field(check_pin_request(None, Some(3))), "length");
        assert_eq!(field(check_pin_request(None, Some(21))), "length");
        assert_eq!(field(check_pin_request(Some("12345"), Some(6))), "length");
        assert_eq!(
            check_pin_request(Some("123456"), Some(6)).unwrap(),
            PinRequest::Given("123456".into())
        );
    }

    #[test]
    fn without_pin_a_pin_is_generated_of_the_given_or_default_length() {
        assert_eq!(
            check_pin_request(None, Some(8)).unwrap(),
            PinRequest::Generate(8)
        );
        assert_eq!(
            check_pin_request(None, None).unwrap(),
            PinRequest::Generate(6)
        );
    }

    #[test]
    fn generated_pins_avoid_taken_ones() {
        let mut rng = StdRng::seed_from_u64(3);
        let all_but_one: Vec<String> = (0..10_000).map(|n| format!("{n:04}")).collect();
        let mut taken: BTreeSet<&str> = all_but_one.iter().map(String::as_str).collect();
        taken.remove("4711");

        let pin = generate_pin(&mut rng, 4, &taken);

        assert_eq!(pin.as_deref(), Some("4711"));
        taken.insert("4711");
        assert_eq!(generate_pin(&mut rng, 4, &taken), None);
        let fresh = generate_pin(&mut StdRng::seed_from_u64(4), 6, &taken).unwrap();
        assert_eq!(fresh.len(), 6);
    }
}
