//! Shared set-up: an emulator on port 0 and a client pointed at it.

use std::sync::Arc;
use std::time::Duration;

use akiles_client::types::NewMember;
use akiles_client::{Client, ClientConfig, RateLimit, RetryPolicy, StaticToken};
use akiles_emulator::{EmulatorConfig, RunningEmulator};

/// A running emulator and a client with fast test timings.
pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: Client,
}

impl Harness {
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }

    /// How many times the emulator saw `"METHOD /v2/template"`.
    pub fn calls(&self, key: &str) -> u64 {
        self.emulator.calls().get(key).copied().unwrap_or(0)
    }
}

pub async fn spawn() -> Harness {
    spawn_with(|_| {}).await
}

/// Starts an emulator and a client whose config `tweak` may adjust.
pub async fn spawn_with(tweak: impl FnOnce(&mut ClientConfig)) -> Harness {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let client = client_for(&emulator.base_url(), &emulator.api_key(), tweak);
    Harness { emulator, client }
}

/// Retries fast enough for tests, and a budget that never throttles them.
pub fn test_config(base_url: &str) -> ClientConfig {
    let mut config = ClientConfig::new(base_url.parse().expect("valid base URL"));
    config.timeout = Duration::from_secs(10);
    config.rate = RateLimit {
        per_second: 10_000,
        burst: 10_000,
    };
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    config
}

pub fn client_for(base_url: &str, key: &str, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = test_config(base_url);
    tweak(&mut config);
    Client::new(config, Arc::new(StaticToken::new(key.to_owned()))).expect("client builds")
}

/// A member tagged with `batch` so each test can list only its own members.
pub fn new_member(name: &str, batch: &str) -> NewMember {
    let mut member = NewMember {
        name: name.to_owned(),
        ..NewMember::default()
    };
    member.metadata.insert("batch".to_owned(), batch.to_owned());
    member
}
