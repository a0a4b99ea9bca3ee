//! The emulator's in-memory state: organizations, their objects, and the token table.
//!
//! All objects sit behind one `std::sync::Mutex`, locked for short, non-async critical
//! sections through [`Shared::read`] and [`Shared::write`]. A poisoned lock becomes a 500.
//! When a state file is configured, every successful write is saved to it (temp file +
//! rename), newest version wins.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use akiles_types::{
    Card, Gadget, GroupAssociation, Member, MemberCard, MemberEmail, MemberGroup, MemberMagicLink,
    MemberPin, Organization, Site,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::EmulatorConfig;
use crate::error::ApiError;
use crate::faults::FaultState;
use crate::ids::IdMinter;
use crate::oauth::{Lifetimes, OAuthSettings, OAuthState, TokenCheck};
use crate::seed;

/// The current time. The one place the emulator reads the clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the emulator's one place that reads the OS clock"
)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Everything one organization holds, each kind keyed by id (so in creation order).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgState {
    /// The organization object itself.
    pub organization: Organization,
    #[serde(default)]
    pub sites: BTreeMap<String, Site>,
    #[serde(default)]
    pub gadgets: BTreeMap<String, Gadget>,
    #[serde(default)]
    pub member_groups: BTreeMap<String, MemberGroup>,
    /// Members, stored without expand arrays.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    #[serde(default)]
    pub emails: BTreeMap<String, MemberEmail>,
    /// Magic links, stored with their `link`.
    #[serde(default)]
    pub magic_links: BTreeMap<String, MemberMagicLink>,
    /// PINs, stored with their digits.
    #[serde(default)]
    pub pins: BTreeMap<String, MemberPin>,
    #[serde(default)]
    pub member_cards: BTreeMap<String, MemberCard>,
    /// The organization's card inventory.
    #[serde(default)]
    pub cards: BTreeMap<String, Card>,
    #[serde(default)]
    pub group_associations: BTreeMap<String, GroupAssociation>,
}

impl OrgState {
    /// An empty organization.
    pub fn new(organization: Organization) -> Self {
        Self {
            organization,
            sites: BTreeMap::new(),
            gadgets: BTreeMap::new(),
            member_groups: BTreeMap::new(),
            members: BTreeMap::new(),
            emails: BTreeMap::new(),
            magic_links: BTreeMap::new(),
            pins: BTreeMap::new(),
            member_cards: BTreeMap::new(),
            cards: BTreeMap::new(),
            group_associations: BTreeMap::new(),
        }
    }

    /// The member, deleted or not; 404 when unknown.
    pub fn member(&self, member_id: &str) -> Result<&Member, ApiError> {
        self.members
            .get(member_id)
            .ok_or_else(|| ApiError::not_found("member"))
    }

    /// The member if it exists and is live: sub-objects can only be created under it.
    pub fn live_member(&self, member_id: &str) -> Result<&Member, ApiError> {
        match self.members.get(member_id) {
            Some(member) if !member.is_deleted => Ok(member),
            _ => Err(ApiError::not_found("member").arg("member_id", member_id)),
        }
    }
}

/// The persisted part of the emulator: all organizations and the id minter.
#[derive(Debug, Serialize, Deserialize)]
pub struct Store {
    /// The organization the static API keys are bound to.
    pub default_org: String,
    /// Organization id → its objects.
    pub orgs: BTreeMap<String, OrgState>,
    /// Source of new ids.
    pub ids: IdMinter,
    /// Static API key → organization id. Rebuilt from the config at start, never saved.
    #[serde(skip)]
    pub tokens: BTreeMap<String, String>,
    /// OAuth codes, grants and access tokens (absent in state files from before OAuth).
    #[serde(default)]
    pub oauth: OAuthState,
    /// Bumped by every write, so concurrent saves keep the newest.
    #[serde(skip)]
    pub version: u64,
}

/// State shared by all requests.
#[derive(Debug)]
pub struct Shared {
    store: Mutex<Store>,
    state_file: Option<PathBuf>,
    saved_version: Mutex<u64>,
    /// Call counters, `"METHOD /path-template"` → count.
    pub calls: Mutex<BTreeMap<String, u64>>,
    /// Injected faults and the rate-limit bucket.
    pub faults: Mutex<FaultState>,
    /// The static API keys, first one first.
    pub api_keys: Vec<String>,
    /// Registered OAuth applications and token lifetimes.
    pub oauth: OAuthSettings,
    /// Successful `refresh_token` grants since start.
    pub token_refreshes: AtomicU64,
    /// How far tests moved the emulator's clock ahead of the OS clock, in microseconds.
    clock_offset_us: AtomicU64,
}

impl Shared {
    /// Loads the state file when it exists, else seeds a fresh organization.
    pub fn new(config: &EmulatorConfig) -> io::Result<Self> {
        let lifetimes = Lifetimes {
            access_token: config.access_token_ttl,
            auth_code: config.auth_code_ttl,
        };
        let oauth = OAuthSettings::new(&config.oauth_clients, lifetimes)?;
        let mut store = match &config.state_file {
            Some(path) if path.exists() => load(path)?,
            _ => seed::seeded_store(config.seed),
        };
        for key in &config.api_keys {
            store.tokens.insert(key.clone(), store.default_org.clone());
        }

        Ok(Self {
            store: Mutex::new(store),
            state_file: config.state_file.clone(),
            saved_version: Mutex::new(0),
            calls: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(FaultState::from_config(config)),
            api_keys: config.api_keys.clone(),
            oauth,
            token_refreshes: AtomicU64::new(0),
            clock_offset_us: AtomicU64::new(0),
        })
    }

    /// The emulator's current time: the OS clock plus what tests advanced it by.
    pub fn now(&self) -> OffsetDateTime {
        let offset = self.clock_offset_us.load(Ordering::Relaxed);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        now().saturating_add(time::Duration::microseconds(offset))
    }

    /// Moves the emulator's clock forward (it never goes back).
    pub fn advance_clock(&self, by: Duration) {
        let micros = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        let _ =
            self.clock_offset_us
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                    Some(current.saturating_add(micros))
                });
    }

    /// Locks the store; a poisoned lock is a 500.
    pub fn lock(&self) -> Result<MutexGuard<'_, Store>, ApiError> {
        self.store.lock().map_err(|_| ApiError::internal())
    }

    /// Locks the store even if a panic poisoned it (for the read-only test hooks).
    pub fn lock_for_inspection(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a Bearer token is worth: a static API key, an OAuth access token, or nothing.
    pub fn check_token(&self, token: &str) -> Result<TokenCheck, ApiError> {
        let now = self.now();
        let store = self.lock()?;
        if let Some(org_id) = store.tokens.get(token) {
            return Ok(TokenCheck::Valid(org_id.clone()));
        }
        Ok(store.oauth.check_access_token(token, now))
    }

    /// Every organization as (id, name), the default one first.
    pub fn organizations(&self) -> Result<Vec<(String, String)>, ApiError> {
        let store = self.lock()?;
        let mut organizations: Vec<(String, String)> = store
            .orgs
            .iter()
            .map(|(id, org)| (id.clone(), org.organization.name.clone()))
            .collect();
        organizations.sort_by_key(|(id, _)| *id != store.default_org);
        Ok(organizations)
    }

    /// Runs a read-only step against one organization.
    pub fn read<T>(
        &self,
        org_id: &str,
        step: impl FnOnce(&OrgState) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let store = self.lock()?;
        let org = store
            .orgs
            .get(org_id)
            .ok_or_else(|| ApiError::not_found("organization"))?;
        step(org)
    }

    /// Runs a mutating step against one organization, then saves the state file if any.
    pub fn write<T>(
        &self,
        org_id: &str,
        step: impl FnOnce(&mut OrgState, &mut IdMinter) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.write_store(|store| {
            let org = store
                .orgs
                .get_mut(org_id)
                .ok_or_else(|| ApiError::not_found("organization"))?;
            step(org, &mut store.ids)
        })
    }

    /// Runs a mutating step against the whole store, then saves the state file if any.
    /// A failed step is not saved (what it changed stays in memory until the next save).
    pub fn write_store<T, E: From<ApiError>>(
        &self,
        step: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let (result, snapshot) = {
            let mut guard = self.lock()?;
            let store = &mut *guard;
            let result = step(store)?;
            store.version += 1;
            let snapshot = match self.state_file {
                Some(_) => Some((store.version, serialize(store)?)),
                None => None,
            };
            (result, snapshot)
        };

        if let Some((version, bytes)) = snapshot {
            self.save(version, &bytes)?;
        }
        Ok(result)
    }

    /// A JSON dump of every organization (for `/_emulator/state`).
    pub fn dump(&self) -> Result<serde_json::Value, ApiError> {
        let store = self.lock()?;
        serde_json::to_value(&*store).map_err(|_| ApiError::internal())
    }

    fn save(&self, version: u64, bytes: &[u8]) -> Result<(), ApiError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let mut saved = self
            .saved_version
            .lock()
            .map_err(|_| ApiError::internal())?;
        if *saved >= version {
            return Ok(());
        }
        write_atomically(path, bytes).map_err(|error| {
            tracing::error!(path = %path.display(), %error, "Could not save the emulator state");
            ApiError::internal()
        })?;
        *saved = version;
        Ok(())
    }
}

fn serialize(store: &Store) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec_pretty(store).map_err(|_| ApiError::internal())
}

fn load(path: &Path) -> io::Result<Store> {
    let bytes = std::fs::read(path)?;
    let mut store: Store = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad state file {}: {e}", path.display()),
        )
    })?;
    store.ids.reseed_after_load();
    Ok(store)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}
