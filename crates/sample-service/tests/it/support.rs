//! The test harness: start a service, talk to it, stop it.

use std::path::PathBuf;
use std::time::Duration;

use phasegate_sample_service::{Config, Error, Flaw, SEED_PASSWORD, serve, sign_callback};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const MEMBER: &str = "member@example.com";
pub const PLATFORM: &str = "platform@example.com";
pub const SUPPORT: &str = "support@example.com";
pub const AUDITOR: &str = "auditor@example.com";

/// A running service in its own temp dir.
pub struct Service {
    pub base: String,
    pub db: PathBuf,
    pub config: Config,
    pub client: Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), Error>>>,
    _dir: TempDir,
}

pub fn client() -> Client {
    // reqwest is built without a default crypto provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

impl Service {
    /// A clean service. The rate limit is raised so tests that sign in a lot are not throttled;
    /// rate-limit tests set it back.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn with_flaw(flaw: Flaw) -> Self {
        Self::start_with(|config| {
            config.flaws.insert(flaw);
        })
        .await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("membership.db");
        let mut config = Config::new(&db);
        config.rate_limit = 1000;
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, config.clone(), async move {
            let _ = rx.await;
        }));
        let service = Service {
            base,
            db,
            config,
            client: client(),
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        };
        // serve() opens the database before accepting; wait until it answers.
        for _ in 0..200 {
            if service
                .client
                .get(service.url("/health/live"))
                .send()
                .await
                .is_ok()
            {
                return service;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("service did not come up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_as(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in_response(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/sign-in"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Signs in a seed user and returns the bearer token.
    pub async fn token(&self, email: &str) -> String {
        let response = self.sign_in_response(email, SEED_PASSWORD).await;
        assert_eq!(response.status(), 200, "sign-in of {email}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Sends a provider callback signed with the service's secret at `timestamp`.
    pub async fn callback_at(&self, body: &Value, timestamp: i64) -> Response {
        let raw = serde_json::to_vec(body).unwrap();
        let signature = sign_callback(&self.config.webhook_secret, timestamp, &raw);
        self.callback_raw(raw, timestamp, &signature).await
    }

    pub async fn callback(&self, body: &Value) -> Response {
        self.callback_at(body, now()).await
    }

    pub async fn callback_raw(&self, raw: Vec<u8>, timestamp: i64, signature: &str) -> Response {
        self.client
            .post(self.url("/api/v1/payments/callback"))
            .header("content-type", "application/json")
            .header("x-timestamp", timestamp.to_string())
            .header("x-signature", signature)
            .body(raw)
            .send()
            .await
            .unwrap()
    }

    /// Checks out as `token` and returns the payment id.
    pub async fn checkout(&self, token: &str) -> String {
        let response = self.post_as("/api/v1/checkout", token, json!({})).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["payment_id"].as_str().unwrap().to_owned()
    }

    /// Checks out as `token` with `Idempotency-Key: key` and `body`.
    pub async fn checkout_with_key(&self, token: &str, key: &str, body: Value) -> Response {
        self.client
            .post(self.url("/api/v1/checkout"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Makes `token`'s user an active subscriber.
    pub async fn subscribe(&self, token: &str) {
        let payment_id = self.checkout(token).await;
        let response = self
            .callback(&json!({
                "event_id": format!("evt-{payment_id}"),
                "payment_id": payment_id,
                "amount_cents": phasegate_sample_service::PLAN_AMOUNT_CENTS,
                "currency": phasegate_sample_service::PLAN_CURRENCY,
                "status": "paid",
            }))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Triggers graceful shutdown and waits for serve() to return.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }

    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn join(mut self) -> Result<(), Error> {
        self.handle.take().unwrap().await.unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}
