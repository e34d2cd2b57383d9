//! The real `signpost` binary started as an operator would start it, for the tests that
//! stop it the hard way (SIGTERM, kill -9), read its log, or run two replicas.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "drill-test-admin-key-0123456789abcdef";

/// A database for one test: a fresh PostgreSQL database when SIGNPOST_TEST_POSTGRES_URL
/// names a server, else a SQLite file in `dir`. Shared by every test binary.
pub async fn fresh_database(dir: &Path) -> String {
    match std::env::var("SIGNPOST_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            use sqlx::Connection;
            let name = format!("drill_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create database");
            let (base, _) = server.rsplit_once('/').expect("a database in the URL");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("db.sqlite").display()),
    }
}

/// An HTTP client for talking to the app (the TLS provider is chosen first).
pub fn http_client() -> reqwest::Client {
    signpost::links::checker::install_tls_provider();
    reqwest::Client::new()
}

/// Searches the server at `base` until `done` holds for the result (another writer's
/// change reaches an index within seconds); fails after ten.
pub async fn wait_for_search(
    base: &str,
    query: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let client = http_client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let result: serde_json::Value = client
            .get(format!("{base}/v1/search?{query}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if done(&result) {
            return result;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{query}: the change never reached {base}'s index: {result}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn client() -> reqwest::Client {
    signpost::links::checker::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// One running server process.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `signpost serve` on a free port with the test's administrator key and waits
    /// until it is ready. `extra` goes after `serve` (e.g. `--demo`).
    pub async fn start(
        database_url: &str,
        index_dir: &Path,
        log: PathBuf,
        extra: &[&str],
    ) -> Server {
        let server = Self::spawn(database_url, index_dir, log, extra);
        server.wait_ready().await;
        server
    }

    /// Starts the process without waiting for it.
    pub fn spawn(database_url: &str, index_dir: &Path, log: PathBuf, extra: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_signpost"))
            .args(["--database-url", database_url, "--index-dir"])
            .arg(index_dir)
            .args(["serve", "--admin-key", ADMIN_KEY, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("SIGNPOST_DRILL_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub async fn wait_ready(&self) {
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(90);
        // Ready: the database answers and the risk model has learned (once per process).
        while !client
            .get(self.url("/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "the server did not start: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the process at once, as a power cut would (SIGKILL).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (up to 40 s) for the process to end.
    pub async fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.wait_exit(Duration::from_secs(40)).await
    }

    /// Waits for the process to end by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    let response = client.get(&url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Every service the database holds, read page by page through the API: id → record.
pub async fn all_services(
    client: &reqwest::Client,
    server: &Server,
) -> std::collections::HashMap<String, serde_json::Value> {
    let mut all = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url("/v1/services?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = client
            .get(url)
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            all.insert(item["id"].as_str().unwrap().to_string(), item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}
