//! Each tenant's way into its Akiles organization: a token source and one shared client.
//!
//! The token source comes from a [`TokenSourceFactory`], so the refreshing OAuth source
//! can replace [`StoredAccessTokens`] (which hands out the connection's stored access
//! token as it is, and asks for a reconnect when there is none). Clients are cached per
//! tenant and organization, so every worker shares that organization's rate budget. The
//! live member groups are cached per tenant for `akiles.groups_cache_secs`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use akiles_client::{Client, ClientConfig, ClientError, RateLimit, TokenError, TokenSource};
use akiles_types::MemberGroup;
use futures_util::future::BoxFuture;
use secrecy::SecretString;
use sync_engine::Akiles;
use sync_store::{ConnectionState, Store};
use tokio::time::Instant;

use crate::settings::AkilesSettings;

/// Makes the token source of a tenant's Akiles connection.
pub trait TokenSourceFactory: Send + Sync + fmt::Debug {
    /// The token source for `tenant`; asked for a token before every Akiles call.
    fn token_source(&self, tenant: &str) -> Arc<dyn TokenSource>;
}

/// The token sources the service should use: refreshing OAuth tokens when an OAuth client
/// is configured (`akiles.client_id` and `akiles.client_secret`), else the stored access
/// token as it is (an Akiles API key saved as the connection's token).
pub fn token_sources(
    settings: &crate::Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn hr_domain::Clock>,
) -> Arc<dyn TokenSourceFactory> {
    match crate::admin::oauth_client(settings, clock.clone()) {
        Some(oauth) => Arc::new(RefreshingTokens::new(store, oauth, clock)),
        None => Arc::new(StoredAccessTokens::new(store)),
    }
}

/// Refreshing OAuth token sources, one per tenant and process, so refreshes of one
/// connection are single-flight here and claimed in the store across instances (see
/// [`akiles_oauth::ConnectionTokens`]).
pub struct RefreshingTokens {
    store: Arc<dyn Store>,
    oauth: Arc<akiles_oauth::AkilesOAuth>,
    clock: Arc<dyn hr_domain::Clock>,
    sources: Mutex<HashMap<String, Arc<akiles_oauth::ConnectionTokens>>>,
}

impl RefreshingTokens {
    /// Sources over `store`, refreshing through `oauth`.
    pub fn new(
        store: Arc<dyn Store>,
        oauth: Arc<akiles_oauth::AkilesOAuth>,
        clock: Arc<dyn hr_domain::Clock>,
    ) -> Self {
        Self {
            store,
            oauth,
            clock,
            sources: Mutex::new(HashMap::new()),
        }
    }
}

impl fmt::Debug for RefreshingTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingTokens")
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

impl TokenSourceFactory for RefreshingTokens {
    fn token_source(&self, tenant: &str) -> Arc<dyn TokenSource> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let source = sources.entry(tenant.to_owned()).or_insert_with(|| {
            let tokens = akiles_oauth::ConnectionTokens::new(
                self.store.clone(),
                tenant,
                self.oauth.clone(),
                self.clock.clone(),
            );
            Arc::new(tokens)
        });
        source.clone()
    }
}

/// Hands out the access token stored in a tenant's connection, unchanged.
///
/// Good for an Akiles API key saved as the access token, and for tests. It never
/// refreshes: an expired OAuth token stays expired until the OAuth source replaces this.
#[derive(Debug, Clone)]
pub struct StoredAccessTokens {
    store: Arc<dyn Store>,
}

impl StoredAccessTokens {
    /// Tokens read from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

impl TokenSourceFactory for StoredAccessTokens {
    fn token_source(&self, tenant: &str) -> Arc<dyn TokenSource> {
        Arc::new(StoredAccessToken {
            store: self.store.clone(),
            tenant: tenant.to_owned(),
        })
    }
}

struct StoredAccessToken {
    store: Arc<dyn Store>,
    tenant: String,
}

impl TokenSource for StoredAccessToken {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, TokenError>> {
        Box::pin(async move {
            let connection = self
                .store
                .connection(&self.tenant)
                .await
                .map_err(|e| TokenError::Unavailable(Box::new(e)))?;
            match connection {
                Some(c) if c.state == ConnectionState::Connected => {
                    c.access_token.ok_or(TokenError::ReconnectRequired)
                }
                _ => Err(TokenError::ReconnectRequired),
            }
        })
    }

    fn token_rejected(&self, _token: &SecretString) {
        // A stored token cannot be renewed here; the retry fails the same way.
    }
}

/// Why no client could be made for a tenant.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The tenant has no working connection; an admin must connect Akiles.
    #[error("the tenant's Akiles connection needs to be (re)connected")]
    ReconnectNeeded,
    /// The client could not be built (a bad API URL or rate setting).
    #[error("cannot build the Akiles client")]
    Build(#[source] akiles_client::BuildError),
    /// The store failed.
    #[error("the store failed")]
    Store(#[from] sync_store::StoreError),
}

struct CachedClient {
    organization: Option<String>,
    client: Client,
}

struct CachedGroups {
    read_at: Instant,
    groups: Vec<MemberGroup>,
}

/// Clients and member groups, per tenant.
pub struct Connections {
    settings: AkilesSettings,
    store: Arc<dyn Store>,
    tokens: Arc<dyn TokenSourceFactory>,
    clients: Mutex<HashMap<String, CachedClient>>,
    groups: Mutex<HashMap<String, CachedGroups>>,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("api_url", &self.settings.api_url.as_str())
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// Connections built from `settings`, with tokens from `tokens`.
    pub fn new(
        settings: AkilesSettings,
        store: Arc<dyn Store>,
        tokens: Arc<dyn TokenSourceFactory>,
    ) -> Self {
        Self {
            settings,
            store,
            tokens,
            clients: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// The client of `tenant`'s connected organization.
    pub async fn client(&self, tenant: &str) -> Result<Client, ConnectionError> {
        let connection = self.store.connection(tenant).await?;
        let Some(connection) = connection.filter(|c| c.state == ConnectionState::Connected) else {
            return Err(ConnectionError::ReconnectNeeded);
        };
        let organization = connection.organization_id;

        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = clients.get(tenant)
            && cached.organization == organization
        {
            return Ok(cached.client.clone());
        }
        let client = self.build(tenant)?;
        let cached = CachedClient {
            organization,
            client: client.clone(),
        };
        clients.insert(tenant.to_owned(), cached);
        drop(clients);
        self.forget_groups(tenant);
        Ok(client)
    }

    fn build(&self, tenant: &str) -> Result<Client, ConnectionError> {
        let mut config = ClientConfig::new(self.settings.api_url.clone());
        config.timeout = self.settings.timeout();
        config.rate = RateLimit {
            per_second: self.settings.rate_per_second,
            burst: self.settings.rate_per_second,
        };
        config.user_agent = concat!("akiles-hr-sync/", env!("CARGO_PKG_VERSION")).to_owned();
        Client::new(config, self.tokens.token_source(tenant)).map_err(ConnectionError::Build)
    }

    /// The live member groups of `tenant`'s organization, read at most once per cache
    /// period.
    pub async fn member_groups(
        &self,
        tenant: &str,
        api: &dyn Akiles,
    ) -> Result<Vec<MemberGroup>, ClientError> {
        let ttl = self.settings.groups_cache();
        if let Some(cached) = self.cached_groups(tenant)
            && cached.read_at.elapsed() < ttl
        {
            return Ok(cached.groups);
        }
        let groups = api.member_groups().await?;
        let mut cache = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(
            tenant.to_owned(),
            CachedGroups {
                read_at: Instant::now(),
                groups: groups.clone(),
            },
        );
        Ok(groups)
    }

    fn cached_groups(&self, tenant: &str) -> Option<CachedGroups> {
        let cache = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(tenant).map(|c| CachedGroups {
            read_at: c.read_at,
            groups: c.groups.clone(),
        })
    }

    /// Drops a tenant's cached member groups (after its settings change).
    pub fn forget_groups(&self, tenant: &str) {
        let mut cache = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        cache.remove(tenant);
    }

    /// Drops everything cached for a tenant (after it is deleted).
    pub fn forget(&self, tenant: &str) {
        self.forget_groups(tenant);
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.remove(tenant);
    }
}
