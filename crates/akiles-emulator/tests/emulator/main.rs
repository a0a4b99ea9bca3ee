//! Integration tests of the emulator over HTTP, against `spawn` on port 0.

mod credentials;
mod faults;
mod members;
mod oauth;
mod persistence;

use akiles_emulator::{EmulatorConfig, RunningEmulator, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A running emulator plus an HTTP client authenticated with its key.
struct TestApi {
    emulator: RunningEmulator,
    http: reqwest::Client,
}

impl TestApi {
    async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    async fn start_with(config: EmulatorConfig) -> Self {
        let emulator = spawn(config).await.expect("emulator starts");
        Self {
            emulator,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.emulator.base_url());
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.emulator.api_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let text = response.text().await.expect("body is read");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a member and returns its id.
    async fn create_member(&self, name: &str, metadata: Value) -> String {
        let (status, body) = self
            .post("/members", json!({"name": name, "metadata": metadata}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Follows `cursor_next` through every page of `path` (which must already have a `?`).
    async fn all_pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_owned(),
            };
            let (status, page) = self.get(&page_path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            items.extend(page["data"].as_array().unwrap().iter().cloned());
            if !page["has_next"].as_bool().unwrap() {
                assert!(page.get("cursor_next").is_none());
                return items;
            }
            cursor = Some(page["cursor_next"].as_str().unwrap().to_owned());
        }
    }
}

/// The ids of a page's items.
fn ids(page: &Value) -> Vec<String> {
    let data = page["data"].as_array().expect("a page has data");
    data.iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}
