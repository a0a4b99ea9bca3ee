//! The organizations every fresh emulator starts with, modelled on Akiles' "Office" and
//! "Hotel" templates. The office is the default one (bound to the static API keys); the
//! hotel exists so the OAuth consent page offers a real choice.
//!
//! Its ids depend only on the seed: every object gets a fixed creation time, and the random
//! part of each id comes from the seeded RNG in a fixed order. Tests and example configs
//! rely on this, so keep the order of creation below stable.

use std::collections::BTreeMap;

use akiles_types::{
    AccessMethods, Gadget, GadgetAction, MemberGroup, Metadata, Organization, PermissionRule,
    Presence, Site,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::ids::IdMinter;
use crate::oauth::OAuthState;
use crate::state::{OrgState, Store};

/// Name of the seeded default organization.
pub const ORG_NAME: &str = "Acme Office (emulator)";

/// Name of the second seeded organization, reachable only through OAuth.
pub const HOTEL_ORG_NAME: &str = "Seaside Hotel (emulator)";

/// Names of the seeded member groups: everyone, then one per HR department.
pub const GROUP_NAMES: [&str; 7] = [
    "All staff",
    "Production",
    "IT/IS",
    "Sales",
    "Software Engineering",
    "Admin Offices",
    "Executive Office",
];

/// Creation time of the first seeded object; later ones follow a second apart.
const SEED_EPOCH: OffsetDateTime = datetime!(2024-03-13 16:56:51.766836837 UTC);

struct Seeder {
    ids: IdMinter,
    tick: i64,
}

impl Seeder {
    fn next(&mut self, prefix: &str) -> (String, OffsetDateTime) {
        let at = SEED_EPOCH + Duration::seconds(self.tick);
        self.tick += 1;
        (self.ids.mint(prefix, at), at)
    }
}

/// A store holding the seeded organizations. The office is seeded first, so its ids do
/// not depend on what the hotel holds.
pub fn seeded_store(seed: u64) -> Store {
    let mut seeder = Seeder {
        ids: IdMinter::new(seed),
        tick: 0,
    };
    let (org_id, created_at) = seeder.next("org");
    let organization = Organization {
        id: org_id.clone(),
        name: ORG_NAME.to_owned(),
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    };
    let mut org = OrgState::new(organization);

    let hq = add_site(&mut seeder, &mut org, "Headquarters", "Europe/Madrid");
    let warehouse = add_site(&mut seeder, &mut org, "Warehouse", "Europe/Madrid");
    let street = add_gadget(&mut seeder, &mut org, &hq, "Street door");
    let main = add_gadget(&mut seeder, &mut org, &hq, "Main entrance");
    let floor1 = add_gadget(&mut seeder, &mut org, &hq, "Floor 1 door");
    let floor2 = add_gadget(&mut seeder, &mut org, &hq, "Floor 2 door");
    let server = add_gadget(&mut seeder, &mut org, &hq, "Server room");
    let gate = add_gadget(&mut seeder, &mut org, &warehouse, "Warehouse gate");

    let rules_by_group: [Vec<PermissionRule>; 7] = [
        vec![gadget_rule(&street), gadget_rule(&main)],
        vec![gadget_rule(&street), gadget_rule(&gate)],
        vec![
            gadget_rule(&floor1),
            gadget_rule(&floor2),
            gadget_rule(&server),
        ],
        vec![gadget_rule(&floor1)],
        vec![gadget_rule(&floor2)],
        vec![gadget_rule(&floor1)],
        vec![site_rule(&hq), site_rule(&warehouse)],
    ];
    for (name, permissions) in GROUP_NAMES.into_iter().zip(rules_by_group) {
        add_group(&mut seeder, &mut org, name, permissions);
    }

    let hotel = seed_hotel(&mut seeder);

    Store {
        default_org: org_id.clone(),
        orgs: BTreeMap::from([(org_id, org), (hotel.organization.id.clone(), hotel)]),
        ids: seeder.ids,
        tokens: BTreeMap::new(),
        oauth: OAuthState::default(),
        version: 0,
    }
}

fn seed_hotel(seeder: &mut Seeder) -> OrgState {
    let (org_id, created_at) = seeder.next("org");
    let mut org = OrgState::new(Organization {
        id: org_id,
        name: HOTEL_ORG_NAME.to_owned(),
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    });

    let hotel = add_site(seeder, &mut org, "Seaside Hotel", "Atlantic/Canary");
    let front = add_gadget(seeder, &mut org, &hotel, "Front door");
    let room_101 = add_gadget(seeder, &mut org, &hotel, "Room 101");
    let room_102 = add_gadget(seeder, &mut org, &hotel, "Room 102");
    add_group(seeder, &mut org, "Hotel staff", vec![site_rule(&hotel)]);
    let guest_rules = |room: &str| vec![gadget_rule(&front), gadget_rule(room)];
    add_group(seeder, &mut org, "Guests room 101", guest_rules(&room_101));
    add_group(seeder, &mut org, "Guests room 102", guest_rules(&room_102));
    org
}

fn add_site(seeder: &mut Seeder, org: &mut OrgState, name: &str, timezone: &str) -> String {
    let (id, created_at) = seeder.next("site");
    let site = Site {
        id: id.clone(),
        organization_id: org.organization.id.clone(),
        name: name.to_owned(),
        timezone: Some(timezone.to_owned()),
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    };
    org.sites.insert(id.clone(), site);
    id
}

fn add_gadget(seeder: &mut Seeder, org: &mut OrgState, site_id: &str, name: &str) -> String {
    let (device_id, _) = seeder.next("dev");
    let (id, created_at) = seeder.next("gad");
    let gadget = Gadget {
        id: id.clone(),
        organization_id: org.organization.id.clone(),
        site_id: site_id.to_owned(),
        device_id: Some(device_id),
        name: name.to_owned(),
        actions: vec![GadgetAction {
            id: "open".to_owned(),
            name: "Open".to_owned(),
        }],
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    };
    org.gadgets.insert(id.clone(), gadget);
    id
}

fn add_group(seeder: &mut Seeder, org: &mut OrgState, name: &str, rules: Vec<PermissionRule>) {
    let (id, created_at) = seeder.next("mg");
    let group = MemberGroup {
        id: id.clone(),
        organization_id: org.organization.id.clone(),
        name: name.to_owned(),
        permissions: rules,
        is_deleted: false,
        created_at: Some(created_at),
        metadata: Metadata::new(),
    };
    org.member_groups.insert(id, group);
}

fn every_method() -> AccessMethods {
    AccessMethods {
        online: true,
        bluetooth: true,
        mobile_nfc: true,
        pin: true,
        card: true,
    }
}

fn gadget_rule(gadget_id: &str) -> PermissionRule {
    PermissionRule {
        gadget_id: Some(gadget_id.to_owned()),
        presence: Presence::None,
        access_methods: every_method(),
        ..PermissionRule::default()
    }
}

fn site_rule(site_id: &str) -> PermissionRule {
    PermissionRule {
        site_id: Some(site_id.to_owned()),
        presence: Presence::None,
        access_methods: every_method(),
        ..PermissionRule::default()
    }
}
