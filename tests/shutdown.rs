//! SIGTERM (as from systemd, Docker or Kubernetes) stops the real binary in order: it
//! answers what it was asked, finishes the index writer, marks the index as properly
//! stopped and exits with success; the next start finds every acknowledged write.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "shutdown-test-admin-key-0123456789";

fn serve(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.join("db.sqlite").display()),
            "--index-dir",
            &dir.join("index").display().to_string(),
            "serve",
            "--demo",
            "--admin-key",
            ADMIN_KEY,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("log-{port}"))).unwrap())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(client: &reqwest::Client, base: &str, dir: &Path, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/ready")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            std::fs::read_to_string(dir.join(format!("log-{port}"))).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn sigterm_stops_in_order_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    signpost::links::checker::install_tls_provider();
    let client = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    wait_ready(&client, &base, dir.path(), port).await;

    let found: serde_json::Value =
        get_json(&client, format!("{base}/v1/search?q=debt&limit=1")).await;
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let written = client
        .put(format!("{base}/v1/services/{id}/capacity"))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({"accepting": "waitlist", "waiting_weeks": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = std::fs::read_to_string(dir.path().join(format!("log-{port}"))).unwrap();
    assert!(status.success(), "{status:?}: {log}");
    assert!(log.contains("stopped"), "{log}");
    let index = dir.path().join("index");
    let current = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    assert!(
        index.join(current.trim()).join("CLEAN").exists(),
        "the index is marked as properly stopped"
    );

    // The next start uses the index as it is and finds the write.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    wait_ready(&client, &base, dir.path(), port).await;
    let service: serde_json::Value = get_json(&client, format!("{base}/v1/services/{id}")).await;
    assert_eq!(service["capacity"]["waiting_weeks"], 7);
    let found: serde_json::Value = get_json(
        &client,
        format!("{base}/v1/search?q=debt&accepting=waitlist&limit=50"),
    )
    .await;
    assert!(
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["service"]["id"] == id.as_str()),
        "{found}"
    );
    assert_eq!(
        std::fs::read_to_string(index.join("CURRENT")).unwrap(),
        current,
        "no rebuild"
    );
    let _ = child.kill();
    let _ = child.wait();
}
