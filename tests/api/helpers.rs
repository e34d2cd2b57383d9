//! Starts the real server on port 0 with its own database and index directory.

use serde_json::{Value, json};
use signpost::search::SearchSettings;
use signpost::startup::{Application, Settings};
use std::path::PathBuf;
use std::time::Duration;

pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pub index_dir: PathBuf,
    /// Kept so the folder lives as long as the app.
    pub _dir: tempfile::TempDir,
    pub stopper: Option<signpost::startup::Stopper>,
}

pub use crate::support::{fresh_database, http_client, wait_for_search};

/// The real reference files beside the project (`../shared/data/geo`).
pub fn shared_geo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/geo")
}

/// True when the shared reference files are present; tests that need them skip, saying
/// why, when they are not.
pub fn have_shared_geo() -> bool {
    let ok = shared_geo_dir().join("epraccur_dse_2026-02.csv").exists();
    if !ok {
        eprintln!("skipped: ../shared/data/geo is not present");
    }
    ok
}

pub fn settings(database_url: &str, index_dir: PathBuf, demo: bool) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.to_string(),
        index_dir,
        demo,
        geo_dir: Some(shared_geo_dir()),
        admin_key: Some(ADMIN_KEY.into()),
        search: SearchSettings {
            poll_interval: Duration::from_millis(200),
            ..SearchSettings::default()
        },
        workers: 2,
        reopen_every: Duration::from_millis(200),
        link_check: None,
        source_pull: None,
        reminders: None,
        limits: Default::default(),
        retention: Default::default(),
    }
}

pub async fn start(settings: Settings) -> (String, signpost::startup::Stopper) {
    let app = Application::build(settings)
        .await
        .expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let stopper = app.stopper();
    tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    (address, stopper)
}

pub async fn spawn_app() -> TestApp {
    spawn_with(false).await
}

pub async fn spawn_demo_app() -> TestApp {
    spawn_with(true).await
}

/// A server whose database holds the real reference files from ../shared/data/geo.
pub async fn spawn_geo_app(demo: bool) -> TestApp {
    spawn_inner(demo, true).await
}

async fn spawn_with(demo: bool) -> TestApp {
    spawn_inner(demo, false).await
}

async fn spawn_inner(demo: bool, geo: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    if geo {
        let store = signpost::startup::open_store(&database_url)
            .await
            .expect("open the database");
        signpost::reference_data::import_dir(&store, &shared_geo_dir(), false)
            .await
            .expect("import reference data");
        store.close().await;
    }
    let index_dir = dir.path().join("index");
    let (address, stopper) = start(settings(&database_url, index_dir.clone(), demo)).await;
    TestApp {
        address,
        client: http_client(),
        database_url,
        index_dir,
        _dir: dir,
        stopper: Some(stopper),
    }
}

/// A server on `database_url` (a fresh database when `None`) with its own index under
/// `dir`, its settings changed by `configure` (reminders, sources…).
pub async fn spawn_configured(
    dir: &std::path::Path,
    database_url: Option<&str>,
    demo: bool,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let database_url = match database_url {
        Some(u) => u.to_string(),
        None => fresh_database(dir).await,
    };
    let index_dir = dir.join(format!("index-{}", uuid::Uuid::new_v4().simple()));
    let mut s = settings(&database_url, index_dir.clone(), demo);
    configure(&mut s);
    let (address, stopper) = start(s).await;
    TestApp {
        address,
        client: http_client(),
        database_url,
        index_dir,
        _dir: tempfile::tempdir().expect("temp dir"),
        stopper: Some(stopper),
    }
}

impl TestApp {
    /// Stops the server and releases its index and database.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stopper.take() {
            s.stop().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// An administrator's request that must succeed (200).
    pub async fn send_ok(&self, method: reqwest::Method, path: &str, body: &Value) {
        let r = self.send(method, path, body).await;
        assert_eq!(r.status(), 200, "{path}: {:?}", r.text().await);
    }

    /// A request with `key` (none: anonymous) and an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut r = self.client.request(method, self.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let r = r.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates an API key with the administrator key; returns (id, secret).
    pub async fn create_key(&self, role: &str, org: Option<&str>) -> (String, String) {
        let mut body = json!({"name": format!("{role} key"), "role": role});
        if let Some(o) = org {
            body["organization_id"] = json!(o);
        }
        let (status, created) = self.post("/v1/admin/keys", &body).await;
        assert_eq!(status, 201, "{created}");
        (
            created["key"]["id"].as_str().unwrap().to_string(),
            created["secret"].as_str().unwrap().to_string(),
        )
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.send(reqwest::Method::POST, path, body).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_organization(&self, name: &str) -> String {
        let (status, body) = self.post("/v1/organizations", &json!({"name": name})).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    pub async fn create_service(&self, body: &Value) -> Value {
        let (status, created) = self.post("/v1/services", body).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    pub async fn search(&self, query: &str) -> Value {
        let (status, body) = self.get_json(&format!("/v1/search?{query}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Searches until `done` holds for the result; see [`wait_for_search`].
    pub async fn wait_for_search(&self, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        wait_for_search(&self.address, query, done).await
    }
}

/// A valid service body for `organization_id`, with `name` and `description`.
pub fn service_body(org: &str, name: &str, description: &str) -> Value {
    json!({
        "organization_id": org,
        "name": name,
        "description": description,
        "categories": ["debt"],
        "delivery_modes": ["in_person", "telephone"],
        "referral": {"route": "self_referral", "url": "https://example.org/refer"},
        "url": "https://example.org/",
        "email": "help@example.org",
        "phones": [{"number": "0161 234 5678"}],
        "capacity": {"accepting": "open"},
        "assured_date": chrono::Utc::now().date_naive().to_string(),
        "coverage": {"include": [{"type": "district", "value": "M14"}]}
    })
}

pub fn names(search: &Value) -> Vec<String> {
    search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["service"]["name"].as_str().unwrap().to_string())
        .collect()
}
